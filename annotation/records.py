"""The pull side's one canonical record: an `AnnotatedTask` with its `Annotation`s.

Offsets of every `Span` are character offsets into the *document's clean text*
(task text offsets + `chunk_start`), so a span maps to the raw page through the
document's offset map without knowing how it was chunked.

Annotators are only ever stored as pseudonyms (see annotation.pseudonym); Label
Studio user ids and emails stay in the raw export, which is never released.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

SOURCE_ANNOTATION = "annotation"  # made by a person in Label Studio
SOURCE_PREDICTION = "prediction"  # made by a model (pre-annotation)
SOURCE_ADJUDICATED = "adjudicated"  # the one released version per document


@dataclass(frozen=True)
class Span:
    """A labelled character range [start, end) of the document's clean text."""

    id: str
    start: int
    end: int
    label: str
    text: str


@dataclass(frozen=True)
class Relation:
    """A directed, labelled link between two spans (by span id) of the same annotation."""

    head: str
    tail: str
    label: str


@dataclass(frozen=True)
class Annotation:
    """One annotator's (or one model's) complete labelling of one task."""

    annotator: str  # pseudonym, or the model version for predictions
    spans: tuple[Span, ...] = ()
    relations: tuple[Relation, ...] = ()
    source: str = SOURCE_ANNOTATION
    id: int | None = None  # Label Studio annotation / prediction id
    ground_truth: bool = False  # a reviewer marked it as the reference
    cancelled: bool = False  # skipped by the annotator
    created_at: str | None = None
    updated_at: str | None = None
    lead_time: float | None = None
    score: float | None = None

    def span(self, span_id: str) -> Span | None:
        return next((s for s in self.spans if s.id == span_id), None)

    def with_(self, **changes: Any) -> Annotation:
        return replace(self, **changes)


@dataclass(frozen=True)
class AnnotatedTask:
    """One Label Studio task (a document, or a chunk of one) with everything said about it."""

    doc_id: str
    task_id: int | None
    text: str  # the task text (document clean text [chunk_start:chunk_end])
    chunk_start: int = 0
    chunk_end: int = 0
    meta: dict[str, Any] = field(
        default_factory=dict
    )  # url, title, published, site, cluster_id, content_hash, schema_version
    annotations: tuple[Annotation, ...] = ()
    predictions: tuple[Annotation, ...] = ()
    adjudicated: Annotation | None = None  # the one version released (annotation.adjudicate)
    adjudication: str | None = (
        None  # how it was chosen: ground_truth | single | agreement | majority | needs_review
    )

    def with_(self, **changes: Any) -> AnnotatedTask:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (for JSONL files)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnnotatedTask:
        def ann(a: dict[str, Any]) -> Annotation:
            return Annotation(
                **{
                    **a,
                    "spans": tuple(Span(**s) for s in a.get("spans", ())),
                    "relations": tuple(Relation(**r) for r in a.get("relations", ())),
                }
            )

        return cls(
            doc_id=d["doc_id"],
            task_id=d.get("task_id"),
            text=d["text"],
            chunk_start=d.get("chunk_start", 0),
            chunk_end=d.get("chunk_end", len(d["text"])),
            meta=dict(d.get("meta") or {}),
            annotations=tuple(ann(a) for a in d.get("annotations", ())),
            predictions=tuple(ann(a) for a in d.get("predictions", ())),
            adjudicated=ann(d["adjudicated"]) if d.get("adjudicated") else None,
            adjudication=d.get("adjudication"),
        )
