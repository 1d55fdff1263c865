"""Convert the tasks of a Label Studio export into our records (`export_to_tasks`), pure.

Label Studio user ids and emails become annotator pseudonyms here; task offsets become document
offsets (through converters.results_to_annotation). `record_to_plain` makes a record JSON-ready.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields, is_dataclass
from typing import Any, NamedTuple

from ..pseudonym import annotator_pseudonym
from ..records import SOURCE_ANNOTATION, SOURCE_PREDICTION, AnnotatedTask, Annotation
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
    annotator = _Pseudonyms(secret=secret, emails=user_emails or {})
    records: list[AnnotatedTask] = []
    problems: list[Problem] = []
    for task in export:
        data = task.get("data") or {}
        text = str(data.get(TEXT_DATA_KEY) or "")
        chunk_start = int(data.get("chunk_start") or 0)
        where = _TaskPlace(task.get("id"), str(data.get("doc_id") or f"task-{task.get('id')}"))
        annotations = [
            _annotation(item, where, text, chunk_start, annotator=annotator, problems=problems)
            for item in task.get("annotations") or []
        ]
        task_predictions = [
            _prediction(item, text, chunk_start)
            for item in _full_predictions(task, where, predictions or {}, problems=problems)
        ]
        records.append(
            AnnotatedTask(
                doc_id=where.doc_id,
                task_id=where.task_id,
                text=text,
                chunk_start=chunk_start,
                chunk_end=int(data.get("chunk_end") or chunk_start + len(text)),
                meta={key: data.get(key) for key in META_KEYS},
                annotations=tuple(annotations),
                predictions=tuple(task_predictions),
            )
        )
    return records, problems


class _TaskPlace(NamedTuple):
    """Where a result comes from, as a Problem names it."""

    task_id: Any
    doc_id: str


class _Pseudonyms:
    """An annotator's pseudonym from their email (else their user id): one HMAC per
    annotator, not one per annotation."""

    def __init__(self, *, secret: str, emails: Mapping[int, str]):
        self.secret = secret
        self.emails = emails
        self.known: dict[Any, str] = {}

    def __call__(self, completed_by: Any) -> str:
        email = _user_email(completed_by, self.emails)
        key = email or _user_id(completed_by)
        if key not in self.known:
            self.known[key] = annotator_pseudonym(
                email=email, user_id=_user_id(completed_by), secret=self.secret
            )
        return self.known[key]


def _annotation(
    item: Mapping[str, Any],
    where: _TaskPlace,
    text: str,
    chunk_start: int,
    *,
    annotator: _Pseudonyms,
    problems: list[Problem],
) -> Annotation:
    """One exported annotation as a record; each result that cannot be read is a Problem."""
    unreadable: list[tuple[int, str]] = []
    annotation = results_to_annotation(
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
    problems.extend(
        Problem(
            code="unreadable_result",
            message=(
                f"Task {where.task_id}, annotation {item.get('id')}, result {index}: {why}. "
                f"Delete it in Label Studio; result {index} was left out of the pull."
            ),
            task_id=where.task_id,
            doc_id=where.doc_id,
            annotation_id=item.get("id"),
            result_index=index,
            removed=f"result {index}",
        )
        for index, why in unreadable
    )
    return annotation


def _full_predictions(
    task: Mapping[str, Any],
    where: _TaskPlace,
    predictions: Mapping[int, Mapping[str, Any]],
    *,
    problems: list[Problem],
) -> Iterator[Mapping[str, Any]]:
    """The task's predictions as full objects: an id is looked up in `predictions` (listed
    apart from the export); an id missing there is a Problem."""
    for item in task.get("predictions") or []:
        if isinstance(item, Mapping):
            yield item
            continue
        found = predictions.get(item)
        if found is not None:
            yield found
            continue
        problems.append(
            Problem(
                code="prediction_not_exported",
                message=(
                    f"Task {where.task_id}, prediction {item}: the export lists its id but the "
                    "predictions list does not have it (made or deleted during the pull?). "
                    "Pull again; the prediction was left out of this pull."
                ),
                task_id=where.task_id,
                doc_id=where.doc_id,
                removed=f"prediction {item}",
            )
        )


def _prediction(item: Mapping[str, Any], text: str, chunk_start: int) -> Annotation:
    """One prediction as a record, its model version as the annotator."""
    return results_to_annotation(
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
