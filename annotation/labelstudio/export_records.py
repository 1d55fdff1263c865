"""Convert the tasks of a Label Studio export into our records (`export_to_tasks`), pure.

Label Studio user ids and emails become annotator pseudonyms here; task offsets become document
offsets (through converters.results_to_annotation). `record_to_plain` makes a record JSON-ready.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from typing import Any

from ..pseudonym import annotator_pseudonym
from ..records import SOURCE_ANNOTATION, SOURCE_PREDICTION, AnnotatedTask
from ..schema import TEXT_DATA_KEY
from ..validate import Problem
from .converters import results_to_annotation

META_KEYS = (
    "task_key",
    "url",
    "title",
    "published",
    "site",
    "cluster_id",
    "content_hash",
    "schema_version",
)


def _user_id(completed_by: Any) -> Any:
    return completed_by.get("id") if isinstance(completed_by, Mapping) else completed_by


def _user_email(completed_by: Any, user_emails: Mapping[int, str]) -> str | None:
    """The email of an annotation's author: in the export itself, else from the users list."""
    if isinstance(completed_by, Mapping) and completed_by.get("email"):
        return str(completed_by["email"])
    try:
        return user_emails.get(int(_user_id(completed_by)))
    except (TypeError, ValueError):
        return None


def export_to_tasks(
    export: Sequence[Mapping[str, Any]],
    *,
    secret: str,
    user_emails: Mapping[int, str] | None = None,
    predictions: Mapping[int, Mapping[str, Any]] | None = None,
    server_url: str | None = None,
) -> tuple[list[AnnotatedTask], list[Problem]]:
    """Raw export tasks -> AnnotatedTask records (document offsets, pseudonymous annotators).

    Annotators are pseudonymised from their email (`user_emails`: user id -> email, as
    LabelStudio.list_user_emails reads it; or the email in an expanded completed_by), so
    the pseudonyms survive restarts, other ports and server moves; a user with no known
    email (deleted) falls back to the user id. `server_url` is not used (kept for callers
    of the older signature).
    A task's predictions are full objects, or ids looked up in `predictions` (prediction id ->
    prediction as the predictions API sends it). Results that are not a labelled region or a
    relation, and prediction ids with no prediction, cannot become records: each is a Problem.
    """
    del server_url
    emails = user_emails or {}
    records: list[AnnotatedTask] = []
    problems: list[Problem] = []
    pseudonyms: dict[Any, str] = {}  # one HMAC per annotator, not per annotation

    def annotator(completed_by: Any) -> str:
        email = _user_email(completed_by, emails)
        key = email or _user_id(completed_by)
        if key not in pseudonyms:
            pseudonyms[key] = annotator_pseudonym(
                email=email, user_id=_user_id(completed_by), secret=secret
            )
        return pseudonyms[key]

    for task in export:
        data = task.get("data") or {}
        text = str(data.get(TEXT_DATA_KEY) or "")
        chunk_start = int(data.get("chunk_start") or 0)
        doc_id = str(data.get("doc_id") or f"task-{task.get('id')}")
        annotations = []
        for item in task.get("annotations") or []:
            unreadable: list[tuple[int, str]] = []
            annotations.append(
                results_to_annotation(
                    item.get("result") or [],
                    chunk_start=chunk_start,
                    task_text=text,
                    unreadable=unreadable,
                    annotator=annotator(item.get("completed_by")),
                    source=SOURCE_ANNOTATION,
                    id=item.get("id"),
                    ground_truth=bool(item.get("ground_truth")),
                    cancelled=bool(item.get("was_cancelled")),
                    created_at=item.get("created_at"),
                    updated_at=item.get("updated_at"),
                    lead_time=item.get("lead_time"),
                )
            )
            problems.extend(
                Problem(
                    code="unreadable_result",
                    message=(
                        f"Task {task.get('id')}, annotation {item.get('id')}, result "
                        f"{index}: {why}. "
                        f"Delete it in Label Studio; result {index} was left out of the pull."
                    ),
                    task_id=task.get("id"),
                    doc_id=doc_id,
                    annotation_id=item.get("id"),
                    result_index=index,
                    removed=f"result {index}",
                )
                for index, why in unreadable
            )
        task_predictions = []
        for item in task.get("predictions") or []:
            if not isinstance(item, Mapping):  # an id: the full prediction was listed apart
                found = (predictions or {}).get(item)
                if found is None:
                    problems.append(
                        Problem(
                            code="prediction_not_exported",
                            message=(
                                f"Task {task.get('id')}, prediction {item}: the export lists "
                                "its id but the predictions list does not have it (made or "
                                "deleted during the pull?). Pull again; the prediction was "
                                "left out of this pull."
                            ),
                            task_id=task.get("id"),
                            doc_id=doc_id,
                            removed=f"prediction {item}",
                        )
                    )
                    continue
                item = found
            task_predictions.append(
                results_to_annotation(
                    item.get("result") or [],
                    chunk_start=chunk_start,
                    task_text=text,
                    annotator=str(item.get("model_version") or "unknown-model"),
                    source=SOURCE_PREDICTION,
                    id=item.get("id"),
                    score=item.get("score"),
                    created_at=item.get("created_at"),
                    updated_at=item.get("updated_at"),
                )
            )
        records.append(
            AnnotatedTask(
                doc_id=doc_id,
                task_id=task.get("id"),
                text=text,
                chunk_start=chunk_start,
                chunk_end=int(data.get("chunk_end") or chunk_start + len(text)),
                meta={key: data.get(key) for key in META_KEYS},
                annotations=tuple(annotations),
                predictions=tuple(task_predictions),
            )
        )
    return records, problems


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_SCALARS = (str, int, float, bool, type(None))


def record_to_plain(value: Any) -> Any:
    """The JSON value of a record: the same JSON as `dataclasses.asdict`, about 3x faster.

    asdict deep-copies every value on the way; the records are frozen and hold only JSON
    scalars, tuples, lists, dicts and other records, so building the dicts is enough.
    """
    cls = type(value)
    if cls in _SCALARS:
        return value
    names = _FIELD_NAMES.get(cls)
    if names is None:
        if not is_dataclass(value):
            if cls is tuple or cls is list:
                return [record_to_plain(item) for item in value]
            if cls is dict:
                return {key: record_to_plain(item) for key, item in value.items()}
            return value
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(value))
    plain = {}
    for name in names:
        item = getattr(value, name)
        plain[name] = item if type(item) in _SCALARS else record_to_plain(item)
    return plain


def predictions_by_id(raw: bytes) -> dict[int, dict[str, Any]]:
    """Prediction id -> prediction, from a predictions list body."""
    return {int(item["id"]): item for item in json.loads(raw)}
