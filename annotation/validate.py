"""Check pulled annotations against the document text and the schema; collect every problem.

A bad span or relation is taken out of its annotation and reported (the Problem says what was
removed); every valid span, relation and annotation survives. Result indexes count regions
first, then relations, as the Label Studio editor writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .records import AnnotatedTask, Annotation
from .schema import Schema

FIX_LABEL = (
    "Fix the label in Label Studio or add it to configs/schema.yaml and run push --update-config"
)
FIX_REGION = "Redraw the region in Label Studio"
FIX_RELATION = "Fix or delete the relation in Label Studio"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a pulled task, with where it is and what was removed."""

    code: str  # machine-readable: span_text_mismatch, span_out_of_range, unknown_label, ...
    message: str  # full sentence: location, bad value, rule, next step
    task_id: int | None
    doc_id: str | None = None
    annotation_id: int | None = None
    result_index: int | None = None
    removed: str | None = None  # "span 'x1'", "relation x1 -> x2", or None when nothing was removed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _where(task: AnnotatedTask, annotation: Annotation | None, index: int | None) -> str:
    task_name = task.task_id if task.task_id is not None else task.meta.get("task_key", task.doc_id)
    parts = [f"Task {task_name}"]
    if annotation is not None:
        parts.append(
            f"annotation {annotation.id}"
            if annotation.id is not None
            else f"annotation by {annotation.annotator}"
        )
    if index is not None:
        parts.append(f"result {index}")
    return ", ".join(parts)


def check_annotation(
    task: AnnotatedTask, annotation: Annotation, *, schema: Schema
) -> tuple[Annotation, list[Problem]]:
    """The annotation without its bad spans and relations, and a Problem for each one removed."""
    problems: list[Problem] = []

    def report(code: str, index: int, detail: str, fix: str, removed: str) -> None:
        problems.append(
            Problem(
                code=code,
                message=(
                    f"{_where(task, annotation, index)}: {detail}. {fix}; "
                    f"{removed} was left out of the pull."
                ),
                task_id=task.task_id,
                doc_id=task.doc_id,
                annotation_id=annotation.id,
                result_index=index,
                removed=removed,
            )
        )

    kept_spans = []
    for index, span in enumerate(annotation.spans):
        what = f"span {span.id!r}"
        if not (task.chunk_start <= span.start < span.end <= task.chunk_start + len(task.text)):
            report(
                "span_out_of_range",
                index,
                f"{what} [{span.start}, {span.end}) is outside this task's text "
                f"[{task.chunk_start}, {task.chunk_start + len(task.text)}) or empty",
                FIX_REGION,
                what,
            )
            continue
        actual = task.text[span.start - task.chunk_start : span.end - task.chunk_start]
        if actual != span.text:
            report(
                "span_text_mismatch",
                index,
                f"{what} says {span.text!r} but the document has {actual!r} at "
                f"[{span.start}, {span.end})",
                FIX_REGION,
                what,
            )
            continue
        label_problem = schema.label_problem(span.label)
        if label_problem:
            report("unknown_label", index, f"{what}: {label_problem}", FIX_LABEL, what)
            continue
        kept_spans.append(span)
    by_id = {s.id: s for s in kept_spans}
    all_ids = {s.id for s in annotation.spans}
    kept_relations = []
    for offset, relation in enumerate(annotation.relations):
        index = len(annotation.spans) + offset
        what = f"relation {relation.label or '(no label)'} {relation.head} -> {relation.tail}"
        head, tail = by_id.get(relation.head), by_id.get(relation.tail)
        if head is None or tail is None:
            missing = relation.head if head is None else relation.tail
            why = "was removed above" if missing in all_ids else "does not exist"
            report(
                "relation_missing_span",
                index,
                f"{what} points to span {missing!r}, which {why}",
                FIX_RELATION,
                what,
            )
            continue
        relation_problem = schema.relation_problem(relation.label, head.label, tail.label)
        if relation_problem:
            code = (
                "unknown_relation"
                if schema.relation(relation.label) is None
                else "relation_labels_not_allowed"
            )
            report(code, index, f"{what}: {relation_problem}", FIX_RELATION, what)
            continue
        kept_relations.append(relation)
    cleaned = annotation.with_(spans=tuple(kept_spans), relations=tuple(kept_relations))
    return cleaned, problems


def validate_tasks(
    tasks: Sequence[AnnotatedTask], *, schema: Schema
) -> tuple[list[AnnotatedTask], list[Problem]]:
    """Every task with bad spans/relations taken out of its annotations, and every problem found.

    Predictions are checked before push, so only annotations are checked here.
    """
    cleaned_tasks: list[AnnotatedTask] = []
    problems: list[Problem] = []
    for task in tasks:
        version = task.meta.get("schema_version")
        if version != schema.version:
            problems.append(
                Problem(
                    code="schema_version_mismatch",
                    message=(
                        f"{_where(task, None, None)}: the task was pushed with schema "
                        f"version {version!r}, "
                        f"but configs/schema.yaml is v{schema.version}. Re-push the "
                        "tasks with this schema "
                        "or pull with the schema they were made for; its annotations are kept."
                    ),
                    task_id=task.task_id,
                    doc_id=task.doc_id,
                )
            )
        annotations = []
        for annotation in task.annotations:
            cleaned, found = check_annotation(task, annotation, schema=schema)
            annotations.append(cleaned)
            problems.extend(found)
        cleaned_tasks.append(task.with_(annotations=tuple(annotations)))
    return cleaned_tasks, problems


def problems_to_markdown(problems: Sequence[Problem], *, total_tasks: int) -> str:
    """The validation report for people (validation.md)."""
    lines = [
        "# Validation report",
        "",
        f"{total_tasks} tasks checked, {len(problems)} problems found.",
        "",
    ]
    if not problems:
        lines.append("Every span and relation matches the document text and the schema.")
        return "\n".join(lines) + "\n"
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.code] = counts.get(p.code, 0) + 1
    lines += ["| problem | count |", "| --- | --- |"]
    lines += [f"| {code} | {n} |" for code, n in sorted(counts.items())]
    lines += ["", "## Every problem", ""]
    lines += [f"- `{p.code}` {p.message}" for p in problems]
    return "\n".join(lines) + "\n"
