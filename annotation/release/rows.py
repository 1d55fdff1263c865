"""Rows of a release from adjudicated tasks: Hugging Face `Features` and one row per document
(adjudicated spans) and per (document, annotator) (pure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import datasets

from corpus.errors import ReleaseError

from ..records import SOURCE_ANNOTATION, AnnotatedTask, Annotation
from ..schema import Schema
from .layout import DOCUMENT_META, PSEUDONYM


# --------------------------------------------------------------------------- features
def _span_feature(schema: Schema) -> dict[str, Any]:
    return {
        "start": datasets.Value("int32"),
        "end": datasets.Value("int32"),
        "label": datasets.ClassLabel(names=schema.entity_names),
        "text": datasets.Value("string"),
    }


def _relation_feature(schema: Schema) -> dict[str, Any]:
    return {
        "head": datasets.Value("int32"),
        "tail": datasets.Value("int32"),
        "label": datasets.ClassLabel(names=schema.relation_names),
    }


def features(schema: Schema) -> datasets.Features:
    """Features of the default config: one document with its adjudicated spans and relations.

    Span and relation labels are ClassLabels whose names are the schema's, in schema order;
    relation head/tail are indices into the same row's `spans` list.
    """
    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "text": datasets.Value("string"),
            "spans": datasets.List(_span_feature(schema)),
            "relations": datasets.List(_relation_feature(schema)),
            **{name: datasets.Value("string") for name in DOCUMENT_META},
            "adjudication": datasets.Value("string"),
        }
    )


def annotation_features(schema: Schema) -> datasets.Features:
    """Features of the `annotations` config: one annotator's own labelling of one document."""
    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "annotator": datasets.Value("string"),
            "text": datasets.Value("string"),
            "spans": datasets.List(_span_feature(schema)),
            "relations": datasets.List(_relation_feature(schema)),
            "ground_truth": datasets.Value("bool"),
            "chunks_annotated": datasets.Value("int32"),
            "chunks_total": datasets.Value("int32"),
            "cluster_id": datasets.Value("string"),
        }
    )


# --------------------------------------------------------------------------- tasks -> rows
@dataclass(frozen=True)
class DocumentRows:
    """What `documents_from_tasks` makes of the tasks: rows per config plus what was left out."""

    documents: list[dict[str, Any]]  # default config rows (labels as names), sorted by id
    annotations: list[dict[str, Any]]  # annotations config rows, sorted by (id, annotator)
    excluded: list[dict[str, str]]  # {"id", "reason"}: documents without an adjudicated version
    skipped_annotations: Counter[str] = field(default_factory=Counter)  # reason -> count


def _document_text(doc_id: str, chunks: list[AnnotatedTask], problems: list[str]) -> str:
    expected = 0
    for task in chunks:
        if task.chunk_start != expected:
            problems.append(
                f"document {doc_id}, task {task.task_id}: chunk starts at {task.chunk_start} "
                f"but the previous chunks end at {expected}; chunk texts must tile the "
                "document (re-pull the "
                "project or drop the stray task)"
            )
        expected = task.chunk_start + len(task.text)
    return "".join(t.text for t in chunks)


def _merge_annotations(
    doc_id: str,
    text: str,
    parts: list[tuple[AnnotatedTask, Annotation]],
    schema: Schema,
    problems: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One document's spans and relations from per-chunk annotations (document offsets).

    Identical spans (same start, end, label) from two chunks become one; relations point at
    span indices of the merged, sorted list.
    """
    keyed: dict[tuple[int, int, str], dict[str, Any]] = {}
    span_key: dict[tuple[int, str], tuple[int, int, str]] = {}
    for part, (task, ann) in enumerate(parts):
        for span in ann.spans:
            where = (
                f"document {doc_id}, task {task.task_id}, annotator {ann.annotator}, span {span.id}"
            )
            if (bad := schema.label_problem(span.label)) is not None:
                problems.append(f"{where}: {bad}; fix it in Label Studio and pull again")
                continue
            if not 0 <= span.start < span.end <= len(text):
                problems.append(
                    f"{where}: offsets [{span.start}, {span.end}) fall outside the document "
                    f"(length {len(text)}); spans must use document offsets"
                )
                continue
            if text[span.start : span.end] != span.text:
                problems.append(
                    f"{where}: span text {span.text!r} differs from the document text "
                    f"{text[span.start : span.end]!r} at [{span.start}, {span.end}); "
                    "re-pull the task"
                )
                continue
            key = (span.start, span.end, span.label)
            keyed[key] = {
                "start": span.start,
                "end": span.end,
                "label": span.label,
                "text": span.text,
            }
            span_key[(part, span.id)] = key
    order = sorted(keyed, key=lambda k: (k[0], k[1], schema.entity_names.index(k[2])))
    index = {key: i for i, key in enumerate(order)}
    relations: set[tuple[int, int, str]] = set()
    for part, (task, ann) in enumerate(parts):
        for rel in ann.relations:
            where = (
                f"document {doc_id}, task {task.task_id}, annotator {ann.annotator}, "
                f"relation {rel.label}"
            )
            head, tail = span_key.get((part, rel.head)), span_key.get((part, rel.tail))
            if head is None or tail is None:
                problems.append(
                    f"{where}: points at span {rel.head if head is None else rel.tail!r}, "
                    "which is not a valid span of the same annotation"
                )
                continue
            if (bad := schema.relation_problem(rel.label, head[2], tail[2])) is not None:
                problems.append(f"{where}: {bad}; fix it in Label Studio and pull again")
                continue
            relations.add((index[head], index[tail], rel.label))
    rel_order = sorted(relations, key=lambda r: (r[0], r[1], schema.relation_names.index(r[2])))
    return (
        [keyed[k] for k in order],
        [{"head": h, "tail": t, "label": label} for h, t, label in rel_order],
    )


def _meta_value(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def documents_from_tasks(tasks: Sequence[AnnotatedTask], *, schema: Schema) -> DocumentRows:
    """Group tasks into documents and build the rows of the default and annotations configs.

    A document is released in the default config only when every one of its chunks has an
    adjudicated annotation (not `needs_review`); the others are listed in `excluded` with the
    reason. Annotators must be pseudonyms (annotation.pseudonym); anything else (an email, a
    name, a user id) stops the release. Every problem is collected and raised together.
    """
    problems: list[str] = []
    by_doc: dict[str, list[AnnotatedTask]] = defaultdict(list)
    for task in tasks:
        by_doc[task.doc_id].append(task)
    documents: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    excluded: list[dict[str, str]] = []
    skipped: Counter[str] = Counter()
    for doc_id in sorted(by_doc):
        chunks = sorted(by_doc[doc_id], key=lambda t: t.chunk_start)
        text = _document_text(doc_id, chunks, problems)
        meta = {key: _meta_value(chunks[0].meta.get(key)) for key in DOCUMENT_META}
        meta["cluster_id"] = meta["cluster_id"] or doc_id
        pending = [t for t in chunks if t.adjudicated is None or t.adjudication == "needs_review"]
        if pending:
            reasons = sorted({t.adjudication or "no adjudicated annotation" for t in pending})
            tasks_txt = ", ".join(str(t.task_id) for t in pending)
            excluded.append({"id": doc_id, "reason": f"{'/'.join(reasons)} (task {tasks_txt})"})
        else:
            parts = [(t, t.adjudicated) for t in chunks if t.adjudicated is not None]
            spans, relations = _merge_annotations(doc_id, text, parts, schema, problems)
            methods = sorted({t.adjudication or "unknown" for t in chunks})
            documents.append(
                {
                    "id": doc_id,
                    "text": text,
                    "spans": spans,
                    "relations": relations,
                    **meta,
                    "adjudication": methods[0]
                    if len(methods) == 1
                    else "mixed:" + ",".join(methods),
                }
            )
        per_annotator: dict[str, list[tuple[AnnotatedTask, Annotation]]] = defaultdict(list)
        for task in chunks:
            for ann in task.annotations:
                if ann.source != SOURCE_ANNOTATION:
                    skipped[f"source {ann.source}"] += 1
                    continue
                if ann.cancelled:
                    skipped["cancelled"] += 1
                    continue
                if not PSEUDONYM.match(ann.annotator):
                    problems.append(
                        f"document {doc_id}, task {task.task_id}: annotator {ann.annotator!r} "
                        "is not a pseudonym (annotator-<10 hex>); releases never carry "
                        "emails, names or user "
                        "ids. Pull again so annotation.pseudonym replaces it."
                    )
                    continue
                per_annotator[ann.annotator].append((task, ann))
        for annotator in sorted(per_annotator):
            parts = per_annotator[annotator]
            spans, relations = _merge_annotations(doc_id, text, parts, schema, problems)
            annotations.append(
                {
                    "id": doc_id,
                    "annotator": annotator,
                    "text": text,
                    "spans": spans,
                    "relations": relations,
                    "ground_truth": any(ann.ground_truth for _, ann in parts),
                    "chunks_annotated": len({t.chunk_start for t, _ in parts}),
                    "chunks_total": len(chunks),
                    "cluster_id": meta["cluster_id"],
                }
            )
    problems.extend(same_source_problems(by_doc))
    if problems:
        raise ReleaseError(
            f"{len(problems)} problem(s) in the adjudicated tasks; no release was written:\n  "
            + "\n  ".join(problems)
        )
    return DocumentRows(documents, annotations, excluded, skipped)


# --------------------------------------------------------------------------- splits


def same_source_problems(by_doc: Mapping[str, Sequence[AnnotatedTask]]) -> list[str]:
    """One problem per page (canonical URL) that is in the tasks as several documents.

    Push never imports a second version of a page (document ids come from the source), but a
    project pushed by an older version, whose ids came from the content, can hold two."""
    from corpus.records import canonical_url

    by_url: dict[str, list[str]] = defaultdict(list)
    for doc_id, chunks in by_doc.items():
        url = chunks[0].meta.get("url")
        canonical = canonical_url(url) if isinstance(url, str) and url else None
        if canonical:
            by_url[canonical].append(doc_id)
    problems = []
    for url, doc_ids in sorted(by_url.items()):
        if len(doc_ids) < 2:
            continue
        versions = "; ".join(
            f"document {d} (task {', '.join(str(t.task_id) for t in by_doc[d])})"
            for d in sorted(doc_ids)
        )
        problems.append(
            f"{len(doc_ids)} versions of the page {url} are in the project: {versions}. A "
            "release holds one version per page: delete the outdated task(s) in Label Studio, "
            "then pull and release again"
        )
    return problems
