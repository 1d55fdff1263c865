"""Offset-map property test on every real seed page: clean spans map back to exact raw characters."""
# ruff: noqa: E501
# (real seed sentences and page fixtures stay on one line)

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.clean import clean_documents, load_clean_config
from corpus.offsets import apply_edits
from corpus.records import Document, stable_id

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))
_DOCS = clean_documents(
    [
        Document(
            id=stable_id(str(p), p.read_text("utf-8")),
            source=str(p),
            raw_text=p.read_text("utf-8"),
            site="seeds",
        )
        for p in SEEDS
    ],
    config=load_clean_config(),
)


def _reapply(doc: Document, rs: int, re_: int, *, first_copy: bool, last_copy: bool) -> str:
    """raw[rs:re_] with only the edits lying inside that raw range applied."""
    inside = []
    for e in doc.edits:
        if not (rs <= e.start and e.end <= re_):
            continue
        if e.start == e.end and ((e.start == rs and first_copy) or (e.start == re_ and last_copy)):
            continue  # an insertion just outside the span's copied characters
        inside.append(type(e)(e.start - rs, e.end - rs, e.replacement, e.reason))
    text, _ = apply_edits(doc.raw_text[rs:re_], inside)
    return text


@pytest.mark.parametrize("doc", _DOCS, ids=[Path(d.source).name for d in _DOCS])
def test_offsets_segments_tile_clean_text_and_copies_are_identical(doc):
    clean_pos = raw_pos = 0
    for seg in doc.offset_map.segments:
        assert seg.clean_start == clean_pos and seg.raw_start == raw_pos
        if seg.copy:
            assert (
                doc.raw_text[seg.raw_start : seg.raw_end]
                == doc.clean_text[seg.clean_start : seg.clean_end]
            )
        clean_pos, raw_pos = seg.clean_end, seg.raw_end
    assert clean_pos == len(doc.clean_text) and raw_pos == len(doc.raw_text)
    assert apply_edits(doc.raw_text, doc.edits)[0] == doc.clean_text


@pytest.mark.parametrize("doc", _DOCS, ids=[Path(d.source).name for d in _DOCS])
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_offsets_random_clean_spans_map_back_to_raw(doc, data):
    n = len(doc.clean_text)
    s = data.draw(st.integers(0, n - 1))
    e = data.draw(st.integers(s + 1, n))
    rs, re_ = doc.offset_map.to_raw(s, e)
    first_copy = doc.offset_map._segment_at(s).copy
    last_copy = doc.offset_map._segment_at(e - 1).copy
    again = _reapply(doc, rs, re_, first_copy=first_copy, last_copy=last_copy)
    if first_copy and last_copy:
        assert again == doc.clean_text[s:e]
    else:
        assert doc.clean_text[s:e] in again
