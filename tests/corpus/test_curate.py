"""curate (corpus.curate) end to end on the real seeds, and its failure modes."""

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus.curate import count_letters, curate, has_letters, reject_if_nearly_empty
from corpus.errors import InputError
from corpus.records import CORPUS_COLUMNS, Document, read_corpus
from corpus.report import render_report

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def test_curate_writes_corpus_and_report_for_the_seeds(tmp_path):
    summary = curate([SEEDS], out_dir=tmp_path / "out", progress=False)
    frame = pd.read_parquet(summary.corpus_path)
    assert list(frame.columns) == list(CORPUS_COLUMNS)
    assert len(frame) == 5 and set(frame["status"]) == {"kept"}
    assert summary.pages_in == 5 and summary.kept == 5 and summary.rejected == {}
    assert summary.removals["glued_word"] >= 20
    line = summary.summary_line()
    assert (
        line.startswith("curate: 5 pages in, 5 kept, 0 duplicate, 0 rejected;")
        and str(tmp_path / "out") in line
    )
    docs = read_corpus(str(tmp_path / "out"))
    d0 = next(d for d in docs if d.source.endswith("000_3f055ddc5c6ac13f.txt"))
    assert d0.published == "2019-05-24T10:10:00" and d0.authors == ("Thai Binh", "Ngoc Loan")
    start = d0.clean_text.index("Nguyen Phi Hung")
    rs, re_ = d0.offset_map.to_raw(start, start + len("Nguyen Phi Hung"))
    assert d0.raw_text[rs:re_] == "Nguyen Phi Hung"
    html = summary.report_path.read_text(encoding="utf-8")
    assert (
        "<del title='related_block'>Related News" in html
        and "<ins title='glued_word'> </ins>" in html
    )


def test_curate_keeps_rejected_rows_and_strict_raises_after_writing(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(
        (SEEDS / "004_2ee445b95a1b3d37.txt").read_text("utf-8"), "utf-8"
    )
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    summary = curate([tmp_path / "in"], out_dir=tmp_path / "out", progress=False)
    assert summary.rejected == {"empty_file": 1} and summary.kept == 1
    assert "1 rejected (empty_file 1)" in summary.summary_line()
    with pytest.raises(InputError, match="empty.txt"):
        curate([tmp_path / "in"], out_dir=tmp_path / "strict", progress=False, strict=True)
    assert len(pd.read_parquet(tmp_path / "strict" / "corpus.parquet")) == 2


def test_curate_raises_when_nothing_could_be_read(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(InputError, match="none of the 1 page"):
        curate([tmp_path / "empty.txt"], out_dir=tmp_path / "out", progress=False)
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(InputError, match="no page found"):
        curate([tmp_path / "emptydir"], out_dir=tmp_path / "out", progress=False)


def test_render_report_lists_rejected_pages_and_escapes_text():
    from corpus.records import Document

    docs = [
        Document(
            id="x",
            source="bad.jsonl:3",
            raw_text="",
            status="rejected",
            reject_reason="malformed_json",
            metadata={"error": "bad.jsonl:3: not valid JSON"},
        ),
    ]
    html = render_report(docs)
    assert "malformed_json" in html and "bad.jsonl:3: not valid JSON" in html


@given(st.text(max_size=60), st.integers(min_value=-1, max_value=30))
def test_has_letters_is_the_letter_count_reaching_n(text, n):
    assert has_letters(text, n) == (count_letters(text) >= n)


def test_a_page_cleaned_to_a_few_letters_is_rejected_and_the_reason_counts_them():
    def kept(text: str) -> Document:
        return Document(id="p", source="p.txt", raw_text=text, site="s", clean_text=text)

    assert reject_if_nearly_empty(kept("Police seized 500 kg of ketamine.")).status == "kept"
    short = reject_if_nearly_empty(kept("1 2 3 ab cd ef"))
    assert short.status == "rejected" and short.reject_reason == "empty_text"
    assert "6 letter(s)" in short.metadata["error"]
