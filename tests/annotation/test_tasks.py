"""Tasks: one per kept document, or chunks on paragraph boundaries that tile the clean text."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from annotation.schema import load_schema
from annotation.tasks import documents_to_tasks, split_into_chunks
from corpus.records import STATUS_DUPLICATE, Document

SCHEMA = load_schema()


def make_doc(doc_id: str, text: str, **fields) -> Document:
    return Document(id=doc_id, source=f"{doc_id}.txt", raw_text=text, clean_text=text, **fields)


def test_tasks_one_task_per_short_kept_document_with_its_metadata():
    doc = make_doc(
        "d1", "Customs seized 5 kg of heroin.", url="https://x.test/a", title="T", site="x.test"
    )
    dup = make_doc("d2", "Customs seized 5 kg of heroin.", status=STATUS_DUPLICATE)
    tasks = documents_to_tasks([doc, dup], schema=SCHEMA)
    assert [t.key for t in tasks] == ["d1:0"]
    data = tasks[0].data
    assert data["text"] == doc.clean_text
    assert (data["doc_id"], data["chunk_start"], data["chunk_end"]) == (
        "d1",
        0,
        len(doc.clean_text),
    )
    assert (data["url"], data["title"], data["site"]) == ("https://x.test/a", "T", "x.test")
    assert data["content_hash"] == hashlib.sha1(doc.clean_text.encode()).hexdigest()
    assert data["schema_version"] == SCHEMA.version
    assert data["task_key"] == "d1:0"


def test_tasks_long_document_is_cut_after_paragraph_breaks_and_tiles_the_text():
    paragraphs = [f"Paragraph {i} about a seizure of {i} kg of drugs." * 3 for i in range(12)]
    text = "\n\n".join(paragraphs)
    tasks = documents_to_tasks([make_doc("long", text)], schema=SCHEMA, max_chars=400)
    assert len(tasks) > 1
    assert "".join(t.text for t in tasks) == text
    for task in tasks:
        assert text[task.chunk_start : task.chunk_end] == task.text
        assert len(task.text) <= 400
        assert task.key == f"long:{task.chunk_start}"
    for task in tasks[:-1]:
        assert task.text.endswith("\n\n")


def test_tasks_paragraph_longer_than_limit_is_cut_at_a_space():
    text = "word " * 100
    chunks = split_into_chunks(text, max_chars=42)
    assert "".join(text[a:b] for a, b in chunks) == text
    assert all(text[b - 1] == " " for _, b in chunks[:-1])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab \n", max_size=300), st.integers(min_value=1, max_value=60))
def test_tasks_chunks_always_tile_and_respect_the_limit(text: str, max_chars: int):
    chunks = split_into_chunks(text, max_chars=max_chars)
    assert "".join(text[a:b] for a, b in chunks) == text
    assert all(b - a <= max_chars for a, b in chunks)
    assert all(b > a for a, b in chunks) or text == ""
