"""Pure converters between our records (document offsets) and Label Studio's JSON (task offsets).

No I/O and no label_studio_sdk here: `ls_offset = span.start - chunk_start` both ways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..records import Annotation, Relation, Span
from ..schema import LABELS_FROM_NAME, TEXT_TO_NAME


def annotation_to_results(annotation: Annotation, *, chunk_start: int) -> list[dict[str, Any]]:
    """Label Studio result list (task offsets) for an annotation with document offsets.

    Regions come first, then relations, as the Label Studio editor writes them.
    """
    results: list[dict[str, Any]] = []
    for span in annotation.spans:
        results.append(
            {
                "id": span.id,
                "from_name": LABELS_FROM_NAME,
                "to_name": TEXT_TO_NAME,
                "type": "labels",
                "value": {
                    "start": span.start - chunk_start,
                    "end": span.end - chunk_start,
                    "text": span.text,
                    "labels": [span.label],
                },
            }
        )
    for relation in annotation.relations:
        results.append(
            {
                "type": "relation",
                "from_id": relation.head,
                "to_id": relation.tail,
                "direction": "right",
                "labels": [relation.label],
            }
        )
    return results


def results_to_annotation(
    results: Sequence[Mapping[str, Any]],
    *,
    chunk_start: int,
    annotator: str,
    task_text: str | None = None,
    unreadable: list[tuple[int, str]] | None = None,
    **fields: Any,
) -> Annotation:
    """An `Annotation` (document offsets) from a Label Studio result list (task offsets).

    Nothing is checked against the schema here (validate.py does that), so a wrong label or
    offset survives conversion and can be reported. Results that cannot be represented at all
    (not a region with labels, not a relation) are added to `unreadable` as (result index, why).
    A region with several labels becomes one span per label (ids `<id>`, `<id>#<label>`).
    `fields` go to the Annotation (source, id, ground_truth, cancelled, created_at, ...).
    """
    spans: list[Span] = []
    relations: list[Relation] = []
    for index, result in enumerate(results):
        kind = result.get("type")
        if kind == "relation":
            labels = list(result.get("labels") or [""])
            head, tail = str(result.get("from_id")), str(result.get("to_id"))
            if result.get("direction") == "left":
                head, tail = tail, head
            relations.extend(Relation(head=head, tail=tail, label=str(label)) for label in labels)
            continue
        value = result.get("value") or {}
        labels = value.get("labels")
        if kind != "labels" or not labels or "start" not in value or "end" not in value:
            if unreadable is not None:
                unreadable.append(
                    (
                        index,
                        f"type {kind!r} with value keys {sorted(value)} is not a "
                        "labelled text region or a "
                        "relation (the labeling config only has <Labels "
                        f"name={LABELS_FROM_NAME!r}> and relations)",
                    )
                )
            continue
        start = int(value["start"]) + chunk_start
        end = int(value["end"]) + chunk_start
        text = value.get("text")
        if text is None and task_text is not None:
            text = task_text[int(value["start"]) : int(value["end"])]
        region_id = str(result.get("id"))
        for n, label in enumerate(labels):
            span_id = region_id if n == 0 else f"{region_id}#{label}"
            spans.append(
                Span(id=span_id, start=start, end=end, label=str(label), text=str(text or ""))
            )
    return Annotation(annotator=annotator, spans=tuple(spans), relations=tuple(relations), **fields)


def pages_to_tasks(pages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The tasks of tasks-list pages (see LabelStudio.list_tasks_raw_pages), in page order."""
    return [dict(task) for page in pages for task in page.get("tasks") or []]


def prediction_to_payload(annotation: Annotation, *, chunk_start: int) -> dict[str, Any]:
    """A prediction as Label Studio imports it (model_version from `annotator`)."""
    payload: dict[str, Any] = {
        "model_version": annotation.annotator,
        "result": annotation_to_results(annotation, chunk_start=chunk_start),
    }
    if annotation.score is not None:
        payload["score"] = annotation.score
    return payload
