"""The curate report: an HTML page a researcher reads to trust (or question) the corpus.

Counts by removal reason, rejected pages with their reasons, duplicate clusters, and per
document the raw page with every removed range struck through (reason on hover) and every
inserted text marked, next to the title/date/authors that were moved out of the body.
Pure: documents in, one HTML string out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from html import escape

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
    """The whole report as one self-contained HTML page."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Corpus curation report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Corpus curation report</h1>",
        _overview(docs),
        _removal_counts(docs),
        _rejected(docs),
        _clusters(docs),
        "<h2>Documents</h2>",
        "<p class='muted'>Raw page: <del>struck</del> text was removed (hover for the reason), "
        "<ins>marked</ins> text was inserted.</p>",
    ]
    parts.extend(_document(d) for d in docs if d.status != STATUS_REJECTED)
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _overview(docs: Sequence[Document]) -> str:
    status = Counter(d.status for d in docs)
    return _table(
        ["pages in", "kept", "duplicate", "rejected"],
        [[len(docs), status["kept"], status["duplicate"], status["rejected"]]],
    )


def _removal_counts(docs: Sequence[Document]) -> str:
    edits = Counter(e.reason for d in docs for e in d.edits)
    chars = Counter()
    for d in docs:
        for e in d.edits:
            chars[e.reason] += e.end - e.start
    rows = [[reason, n, chars[reason]] for reason, n in edits.most_common()]
    return "<h2>Edits by reason</h2>" + _table(["reason", "edits", "raw characters"], rows)


def _rejected(docs: Sequence[Document]) -> str:
    rows = [
        [d.source, d.reject_reason or "", d.metadata.get("error", "")]
        for d in docs
        if d.status == STATUS_REJECTED
    ]
    if not rows:
        return "<h2>Rejected pages</h2><p>None.</p>"
    return "<h2>Rejected pages</h2>" + _table(["source", "reason", "message"], rows)


def _clusters(docs: Sequence[Document]) -> str:
    members: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        if d.status == STATUS_DUPLICATE and d.duplicate_of:
            members[d.duplicate_of].append(d)
    if not members:
        return "<h2>Duplicate clusters</h2><p>None.</p>"
    by_id = {d.id: d for d in docs}
    rows = []
    for keeper_id, dups in members.items():
        keeper = by_id.get(keeper_id)
        for dup in dups:
            rows.append(
                [
                    dup.cluster_id or "",
                    keeper.source if keeper else keeper_id,
                    dup.source,
                    "" if dup.similarity is None else f"{dup.similarity:.3f}",
                ]
            )
    return "<h2>Duplicate clusters</h2>" + _table(
        ["cluster", "keeper", "duplicate", "similarity"], rows
    )


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
                f" (duplicate of {doc.duplicate_of}, similarity {doc.similarity})"
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
