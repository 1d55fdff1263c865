"""The curate report: an HTML page a researcher reads to trust (or question) the corpus.

Counts by removal reason, rejected pages with their reasons, duplicate clusters, and per
document the raw page with every removed range struck through (reason on hover) and every
inserted text marked, next to the title/date/authors that were moved out of the body.
Pure: documents in, one HTML string out; `ReportBuilder` gathers the same content one
document at a time with bounded memory (for the streaming `curate`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from html import escape

from .offsets import Edit
from .records import STATUS_DUPLICATE, STATUS_REJECTED, Document

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
.raw{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:.85rem;background:#fafafa;
border:1px solid #ddd;padding:.75rem;max-height:40rem;overflow:auto}
del{background:#fde2e2;color:#8a1c1c}ins{background:#d9f7d9;color:#135f13;text-decoration:none;font-weight:bold}
details{margin:.75rem 0}summary{cursor:pointer;font-weight:600}.muted{color:#777}
"""


def render_report(docs: Sequence[Document]) -> str:
    """The whole report as one self-contained HTML page (every document shown)."""
    builder = ReportBuilder(max_documents=None, max_rows=None)
    for d in docs:
        builder.count_edits(d.edits)
    by_id = {d.id: d for d in docs}
    for d in docs:
        builder.add_final(d, keeper_source=_keeper_source(d, by_id))
    return builder.render()


def _keeper_source(doc: Document, by_id: dict[str, Document]) -> str | None:
    keeper = by_id.get(doc.duplicate_of) if doc.duplicate_of else None
    return keeper.source if keeper else None


class ReportBuilder:
    """The report's content gathered one document at a time, with bounded memory.

    Counts are exact; the rejected pages and duplicate tables keep at most `max_rows` rows
    and the raw-vs-clean views at most `max_documents` documents (the first ones, in input
    order); the report says how many are not shown. None = no limit (`render_report`).
    """

    def __init__(self, *, max_documents: int | None = 200, max_rows: int | None = 10_000) -> None:
        self.max_documents = max_documents
        self.max_rows = max_rows
        self.status: Counter[str] = Counter()
        self.edits: Counter[str] = Counter()
        self.edit_chars: Counter[str] = Counter()
        self.rejected: list[list[str]] = []
        self.n_rejected = 0
        self.duplicates: dict[str, list[list[str]]] = defaultdict(list)
        self.n_duplicates = 0
        self.documents: list[str] = []
        self.n_documents = 0

    def count_edits(self, edits: Sequence[Edit]) -> None:
        """Count one document's edits by reason (call in input order)."""
        for e in edits:
            self.edits[e.reason] += 1
            self.edit_chars[e.reason] += e.end - e.start

    def add_status(
        self,
        status: str,
        *,
        source: str,
        reject_reason: str | None = None,
        error: str = "",
        duplicate_of: str | None = None,
        cluster_id: str | None = None,
        similarity: float | None = None,
        containment: float | None = None,
        keeper_source: str | None = None,
    ) -> None:
        """Record one document's final status (call in input order)."""
        self.status[status] += 1
        if status == STATUS_REJECTED:
            self.n_rejected += 1
            if self.max_rows is None or len(self.rejected) < self.max_rows:
                self.rejected.append([source, reject_reason or "", error])
        elif status == STATUS_DUPLICATE and duplicate_of:
            self.n_duplicates += 1
            if self.max_rows is None or self.n_duplicates <= self.max_rows:
                self.duplicates[duplicate_of].append(
                    [
                        cluster_id or "",
                        keeper_source or duplicate_of,
                        source,
                        "" if similarity is None else f"{similarity:.3f}",
                        "" if containment is None else f"{containment:.3f}",
                    ]
                )

    def wants_document(self) -> bool:
        """Whether the next non-rejected document would get its raw-vs-clean view."""
        return self.max_documents is None or len(self.documents) < self.max_documents

    def add_document(self, doc: Document) -> None:
        """The raw-vs-clean view of one non-rejected document (if under the limit)."""
        if self.wants_document():
            self.documents.append(_document(doc))
        self.n_documents += 1

    def add_document_unshown(self) -> None:
        """Count a non-rejected document whose view is over the limit (no need to build it)."""
        self.n_documents += 1

    def add_final(self, doc: Document, *, keeper_source: str | None = None) -> None:
        """`add_status` and, for a non-rejected document, `add_document`."""
        self.add_status(
            doc.status,
            source=doc.source,
            reject_reason=doc.reject_reason,
            error=doc.metadata.get("error", ""),
            duplicate_of=doc.duplicate_of,
            cluster_id=doc.cluster_id,
            similarity=doc.similarity,
            containment=doc.containment,
            keeper_source=keeper_source,
        )
        if doc.status != STATUS_REJECTED:
            self.add_document(doc)

    def render(self) -> str:
        """The whole report as one self-contained HTML page."""
        parts = [
            "<!doctype html><html><head><meta charset='utf-8'><title>Corpus curation report</title>",
            f"<style>{_STYLE}</style></head><body>",
            "<h1>Corpus curation report</h1>",
            _table(
                ["pages in", "kept", "duplicate", "rejected"],
                [
                    [
                        sum(self.status.values()),
                        self.status["kept"],
                        self.status["duplicate"],
                        self.status["rejected"],
                    ]
                ],
            ),
            _removal_counts(self.edits, self.edit_chars),
            self._rejected(),
            self._clusters(),
            "<h2>Documents</h2>",
            "<p class='muted'>Raw page: <del>struck</del> text was removed (hover for the reason), "
            "<ins>marked</ins> text was inserted.</p>",
        ]
        parts.extend(self.documents)
        hidden = self.n_documents - len(self.documents)
        if hidden:
            parts.append(
                f"<p class='muted'>{hidden} more document(s) not shown: the report shows the "
                f"first {len(self.documents)}; read corpus.parquet for all of them.</p>"
            )
        parts.append("</body></html>")
        return "\n".join(parts)

    def _rejected(self) -> str:
        if not self.rejected:
            return "<h2>Rejected pages</h2><p>None.</p>"
        return (
            "<h2>Rejected pages</h2>"
            + _table(["source", "reason", "message"], self.rejected)
            + _not_shown(self.n_rejected - len(self.rejected), "rejected page")
        )

    def _clusters(self) -> str:
        if not self.duplicates:
            return "<h2>Duplicate clusters</h2><p>None.</p>"
        rows = [row for dups in self.duplicates.values() for row in dups]
        return (
            "<h2>Duplicate clusters</h2>"
            + _table(["cluster", "keeper", "duplicate", "similarity", "containment"], rows)
            + _not_shown(self.n_duplicates - len(rows), "duplicate")
        )


def _not_shown(hidden: int, what: str) -> str:
    if hidden <= 0:
        return ""
    return f"<p class='muted'>{hidden} more {what}(s) not shown; read corpus.parquet.</p>"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _removal_counts(edits: Counter[str], chars: Counter[str]) -> str:
    rows = [[reason, n, chars[reason]] for reason, n in edits.most_common()]
    return "<h2>Edits by reason</h2>" + _table(["reason", "edits", "raw characters"], rows)


def _raw_view(doc: Document) -> str:
    raw = doc.raw_text
    out: list[str] = []
    pos = 0
    for e in sorted(doc.edits, key=lambda e: (e.start, e.end != e.start, e.end)):
        out.append(escape(raw[pos : e.start]))
        reason = escape(e.reason, quote=True)
        if e.end > e.start:
            out.append(f"<del title='{reason}'>{escape(raw[e.start : e.end])}</del>")
        if e.replacement:
            out.append(f"<ins title='{reason}'>{escape(e.replacement)}</ins>")
        pos = max(pos, e.end)
    out.append(escape(raw[pos:]))
    return "".join(out)


def _document(doc: Document) -> str:
    meta = [
        ["title", doc.title or ""],
        ["published", doc.published or ""],
        ["authors", ", ".join(doc.authors)],
        [
            "status",
            doc.status
            + (
                f" (duplicate of {doc.duplicate_of}, similarity {doc.similarity},"
                f" containment {doc.containment})"
                if doc.status == STATUS_DUPLICATE
                else ""
            ),
        ],
        [
            "edits",
            ", ".join(f"{k} {v}" for k, v in Counter(e.reason for e in doc.edits).most_common()),
        ],
    ]
    return (
        f"<details><summary>{escape(doc.source)} "
        f"<span class='muted'>{escape(doc.id)}</span></summary>"
        + _table(["field", "value"], meta)
        + f"<div class='raw'>{_raw_view(doc)}</div></details>"
    )
