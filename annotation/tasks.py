"""Documents -> Label Studio task payloads: one task per kept document, or per chunk of a long one.

Chunks are cut on paragraph boundaries ("\\n\\n") and TILE the document's clean text: joining
the chunk texts in order gives the clean text back, so document offsets are task offsets plus
`chunk_start` and the release can rebuild each document from its tasks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from corpus.records import STATUS_KEPT, Document, content_hash

from .schema import TEXT_DATA_KEY, Schema

_PARAGRAPH_BREAK = re.compile(r"\n\n+")


@dataclass(frozen=True)
class TaskPayload:
    """One Label Studio task as we send it: `data` is exactly task["data"]."""

    key: str  # "<doc_id>:<chunk_start>", unique per project
    data: dict[str, Any]
    doc_id: str
    chunk_start: int
    chunk_end: int
    text: str

    @property
    def content_hash(self) -> str:
        return str(self.data["content_hash"])


def task_key(doc_id: str, chunk_start: int) -> str:
    """The task key stored in task data and used to find a task again."""
    return f"{doc_id}:{chunk_start}"


def _cut_long_piece(text: str, start: int, end: int, max_chars: int) -> list[int]:
    """Cut points in [start, end) so no part exceeds max_chars: after a newline/space, else hard."""
    cuts: list[int] = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        at = max(window.rfind("\n"), window.rfind(" "))
        cut = start + at + 1 if at > 0 else start + max_chars
        cuts.append(cut)
        start = cut
    return cuts


def split_into_chunks(text: str, *, max_chars: int = 10_000) -> list[tuple[int, int]]:
    """[start, end) ranges that tile `text`, each at most max_chars, cut after paragraph breaks.

    A single paragraph longer than max_chars is cut at its last newline or space that fits.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if len(text) <= max_chars:
        return [(0, len(text))]
    boundaries = [m.end() for m in _PARAGRAPH_BREAK.finditer(text) if m.end() < len(text)]
    cut_points: list[int] = []
    previous = 0
    for boundary in [*boundaries, len(text)]:
        cut_points.extend(_cut_long_piece(text, previous, boundary, max_chars))
        cut_points.append(boundary)
        previous = boundary
    chunks: list[tuple[int, int]] = []
    start = 0
    last_fit = 0
    for point in cut_points:
        if point - start > max_chars:
            chunks.append((start, last_fit))
            start = last_fit
        last_fit = point
    chunks.append((start, len(text)))
    return chunks


def document_to_tasks(
    doc: Document, *, schema: Schema, max_chars: int = 10_000
) -> list[TaskPayload]:
    """The tasks of one document (one, or one per chunk)."""
    tasks = []
    for start, end in split_into_chunks(doc.clean_text, max_chars=max_chars):
        text = doc.clean_text[start:end]
        key = task_key(doc.id, start)
        data = {
            TEXT_DATA_KEY: text,
            "task_key": key,
            "doc_id": doc.id,
            "chunk_start": start,
            "chunk_end": end,
            "url": doc.url,
            "title": doc.title,
            "published": doc.published,
            "site": doc.site,
            "cluster_id": doc.cluster_id,
            "content_hash": content_hash(text),
            "schema_version": schema.version,
        }
        tasks.append(
            TaskPayload(
                key=key, data=data, doc_id=doc.id, chunk_start=start, chunk_end=end, text=text
            )
        )
    return tasks


def documents_to_tasks(
    docs: Sequence[Document], *, schema: Schema, max_chars: int = 10_000
) -> list[TaskPayload]:
    """Tasks for every kept document (duplicates and rejected pages are not annotated)."""
    tasks: list[TaskPayload] = []
    for doc in docs:
        if doc.status == STATUS_KEPT and doc.clean_text:
            tasks.extend(document_to_tasks(doc, schema=schema, max_chars=max_chars))
    return tasks
