"""The push side's one canonical record: a `Document` (one input page).

Every stage takes documents (or a pandas batch of their rows) and returns documents.
The corpus table written by `contraband curate` has exactly the columns of
`Document.to_row()`; `CORPUS_COLUMNS` documents them.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from array import array
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .offsets import Edit, OffsetMap

STATUS_KEPT = "kept"
STATUS_DUPLICATE = "duplicate"
STATUS_REJECTED = "rejected"

CORPUS_COLUMNS: dict[str, str] = {
    "id": "document identity from the source, 16 hex chars: sha1 of the canonical URL when the "
    "input gives one (JSONL `url`), else of the source (file path, plus ':LINE' for JSONL); "
    "the same page edited later keeps its id (its content_hash changes)",
    "source": "where the page came from: file path, plus ':LINE' for JSONL",
    "url": "page URL when known, else null",
    "site": "site key (URL host, or the directory name for dumps); boilerplate is learned per site",
    "title": "headline moved out of the body, or null",
    "published": "publication date/time as ISO 8601, or null",
    "authors": "list of bylines / photo credits moved out of the body",
    "clean_text": "the text annotators see",
    "raw_text": "the decoded input page, unchanged",
    "removals": "list of {reason, raw_start, raw_end, text, replacement}: every edit made",
    "offset_map": "segments {clean_start, clean_end, raw_start, raw_end, copy} mapping clean -> raw",
    "content_hash": "sha1 of the normalised clean text (exact-duplicate key)",
    "status": "kept | duplicate | rejected",
    "reject_reason": "machine-readable reason for a rejected row (empty_file, binary_file, ...)",
    "duplicate_of": "id of the kept document this one duplicates, or null",
    "cluster_id": "duplicate-cluster id shared by a keeper and its duplicates",
    "similarity": "measured Jaccard similarity to duplicate_of (1.0 for exact), or null",
    "containment": "share of the shorter of this text and duplicate_of's found in the other "
    "(1.0 for exact), or null",
    "duplicate_paragraphs": "list of {start, end, cluster} clean ranges also found in other documents",
    "metadata": "JSON object: any other input fields (JSONL extras, HTML metadata)",
}


# Query parameters that only track a visit; two URLs differing in them are one page.
_TRACKING_PARAMETERS = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid|ref|ref_src)$", re.I)


def canonical_url(url: str) -> str | None:
    """The page a URL names, for identity: no scheme, fragment, default port, "www.", tracking
    parameters or trailing slash; host lowercased, query sorted. None when it has no host."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host:
        return None
    port = parts.port if parts.port not in (None, 80, 443) else None
    path = posixpath.normpath(parts.path) if parts.path not in ("", "/") else ""
    path = path.rstrip("/")
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMETERS.match(k)
        )
    )
    netloc = f"{host}:{port}" if port else host
    return urlunsplit(("", netloc, path, query, "")).lstrip("/")


def document_id(source: str, *, url: str | None = None) -> str:
    """A document's identity, from where it came from and never from its content.

    The canonical URL when there is one (the same article scraped again, or into another
    dump, keeps its id), else the source: the file path, plus ":LINE" for a JSONL line. An
    edited page therefore keeps its id and only its content_hash changes, so push can update
    its task (or report it, when it is annotated) instead of importing a second version.
    """
    canonical = canonical_url(url) if url else None
    key = f"url:{canonical}" if canonical else f"source:{source}"
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def stable_id(source: str, raw: str | bytes = "") -> str:
    """The id of a page known only by its source (`document_id` without a URL).

    `raw` is ignored: identity no longer depends on the content (kept for old callers)."""
    del raw
    return document_id(source)


def content_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Document:
    """One input page as it moves through ingest -> clean -> dedup."""

    id: str
    source: str
    raw_text: str
    url: str | None = None
    site: str | None = None
    title: str | None = None
    published: str | None = None
    authors: tuple[str, ...] = ()
    clean_text: str = ""
    edits: tuple[Edit, ...] = ()
    offset_map: OffsetMap | None = None
    status: str = STATUS_KEPT
    reject_reason: str | None = None
    duplicate_of: str | None = None
    cluster_id: str | None = None
    similarity: float | None = None
    containment: float | None = None
    duplicate_paragraphs: tuple[dict, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def __reduce__(self) -> tuple:
        """Pickle the edits as four columns: cleaning workers send back tens of edits per
        page, and one tuple per edit costs more to pickle than the rest of the page."""
        values = self.__dict__
        state = [values[name] for name in _FIELD_ORDER]
        edits = self.edits
        if edits:  # (a page on its way to cleaning has none: nothing to pack)
            state[_EDITS_AT] = (
                array("q", [e.start for e in edits]),
                array("q", [e.end for e in edits]),
                tuple(e.replacement for e in edits),
                tuple(e.reason for e in edits),
            )
        return (_document_from_state, (tuple(state),))

    def with_(self, **changes: Any) -> Document:
        """A copy with some fields changed (records are immutable): `dataclasses.replace`
        without re-running `__init__` field by field (cleaning makes one copy per page)."""
        unknown = changes.keys() - _FIELD_NAMES
        if unknown:
            raise TypeError(f"Document has no field(s) {sorted(unknown)}")
        copy = object.__new__(Document)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(changes)
        return copy

    def to_row(self) -> dict[str, Any]:
        """The corpus-table row (see CORPUS_COLUMNS)."""
        return {
            "id": self.id,
            "source": self.source,
            "url": self.url,
            "site": self.site,
            "title": self.title,
            "published": self.published,
            "authors": list(self.authors),
            "clean_text": self.clean_text,
            "raw_text": self.raw_text,
            "removals": [
                {
                    "reason": e.reason,
                    "raw_start": e.start,
                    "raw_end": e.end,
                    "text": self.raw_text[e.start : e.end],
                    "replacement": e.replacement,
                }
                for e in self.edits
            ],
            "offset_map": (self.offset_map or OffsetMap([])).to_columns(),
            "content_hash": content_hash(self.clean_text),
            "status": self.status,
            "reject_reason": self.reject_reason,
            "duplicate_of": self.duplicate_of,
            "cluster_id": self.cluster_id,
            "similarity": self.similarity,
            "containment": self.containment,
            "duplicate_paragraphs": [dict(p) for p in self.duplicate_paragraphs],
            "metadata": json.dumps(self.metadata, ensure_ascii=False, sort_keys=True, default=str),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Document:
        """Inverse of `to_row` (accepts a pandas row as a dict; pandas' NaN/NA read as None)."""
        row = {k: _missing_to_none(v) for k, v in row.items()}
        meta = row.get("metadata") or "{}"
        offset_map = row.get("offset_map")
        return cls(
            id=row["id"],
            source=row["source"],
            raw_text=row["raw_text"],
            url=row.get("url"),
            site=row.get("site"),
            title=row.get("title"),
            published=row.get("published"),
            authors=tuple(row.get("authors") or ()),
            clean_text=row.get("clean_text") or "",
            edits=tuple(
                Edit(int(r["raw_start"]), int(r["raw_end"]), r["replacement"], r["reason"])
                for r in (row.get("removals") or ())
            ),
            offset_map=OffsetMap.from_columns(offset_map) if offset_map is not None else None,
            status=row.get("status") or STATUS_KEPT,
            reject_reason=row.get("reject_reason"),
            duplicate_of=row.get("duplicate_of"),
            cluster_id=row.get("cluster_id"),
            similarity=None if row.get("similarity") is None else float(row["similarity"]),
            containment=None if row.get("containment") is None else float(row["containment"]),
            duplicate_paragraphs=tuple(dict(p) for p in (row.get("duplicate_paragraphs") or ())),
            metadata=json.loads(meta) if isinstance(meta, str) else dict(meta),
        )


_FIELDS = fields(Document)
_EDITS_AT = [f.name for f in _FIELDS].index("edits")
_FIELD_ORDER = tuple(f.name for f in _FIELDS)
_FIELD_NAMES = frozenset(_FIELD_ORDER)


def _document_from_state(state: tuple) -> Document:
    """Inverse of `Document.__reduce__` (the fields as `with_` sets them: no __init__)."""
    document = object.__new__(Document)
    values = document.__dict__
    values.update(zip(_FIELD_ORDER, state, strict=True))
    if state[_EDITS_AT]:
        starts, ends, replacements, reasons = state[_EDITS_AT]
        values["edits"] = tuple(
            map(Edit._make, zip(starts, ends, replacements, reasons, strict=True))
        )
    return document


def _missing_to_none(value: Any) -> Any:
    """pandas reads a null string as NaN (or pd.NA): turn scalar missing values into None;
    array-likes (lists read back as numpy arrays) become lists."""
    if value is None or isinstance(value, (str, bytes, dict, bool, int)):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:
        return list(value)
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def read_corpus(path: str) -> list[Document]:
    """Read a corpus Parquet file written by `contraband curate` (DIR/corpus.parquet or the file)."""
    import os

    import pandas as pd

    if os.path.isdir(path):
        path = os.path.join(path, "corpus.parquet")
    frame = pd.read_parquet(path)
    return [Document.from_row(row) for row in frame.to_dict("records")]
