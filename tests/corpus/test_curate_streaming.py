"""The streaming curate writes the same corpus rows and report as the in-memory path."""

import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from corpus.clean import clean_documents, load_clean_config
from corpus.curate import curate, write_corpus
from corpus.dedup import ScanAccumulator, find_duplicates, load_dedup_config
from corpus.ingest import iter_pages
from corpus.report import render_report

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from synthetic import generate_corpus  # noqa: E402

SEEDS = ROOT / "seeds"


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def _in_memory(sources: list[Path], out: Path) -> tuple[list[dict], str]:
    """The pre-streaming curate: everything in one list, cleaned and deduplicated at once."""
    from corpus.dedup import deduplicate

    docs = clean_documents(list(iter_pages(sources)), config=load_clean_config(), workers=1)
    docs = deduplicate(docs, config=load_dedup_config())
    out.mkdir(parents=True)
    write_corpus(docs, out / "corpus.parquet")
    return _rows(out / "corpus.parquet"), render_report(docs)


def _write_synthetic(root: Path, n: int, sites: int) -> list[Path]:
    for i, page in enumerate(generate_corpus(n, seed=7).pages):
        site_dir = root / f"site{i % sites}"
        site_dir.mkdir(parents=True, exist_ok=True)
        (site_dir / f"{i:05d}_{Path(page.source).stem}.txt").write_text(page.raw, "utf-8")
    (root / "site0" / "empty.txt").write_bytes(b"")  # a rejected row among the others
    return [root]


def _assert_same_rows(streamed: list[dict], expected: list[dict]) -> None:
    assert len(streamed) == len(expected)
    for got, want in zip(streamed, expected, strict=True):
        assert list(got) == list(want)
        for column, value in want.items():
            assert got[column] == value, (want["source"], column)


def test_curate_streaming_matches_in_memory_on_seeds(tmp_path):
    expected, report = _in_memory([SEEDS], tmp_path / "old")
    summary = curate([SEEDS], out_dir=tmp_path / "new", progress=False)
    _assert_same_rows(_rows(summary.corpus_path), expected)
    assert summary.report_path.read_text("utf-8") == report


@pytest.mark.parametrize("workers", [1, 2])
def test_curate_streaming_matches_in_memory_on_synthetic_sites(tmp_path, monkeypatch, workers):
    import corpus.curate as curate_module

    monkeypatch.setattr(curate_module, "_CHUNK_PAGES", 25)  # several row groups and scans
    sources = _write_synthetic(tmp_path / "in", 300, sites=3)
    expected, report = _in_memory(sources, tmp_path / "old")
    summary = curate(
        sources, out_dir=tmp_path / "new", progress=False, workers=workers, report_documents=400
    )
    streamed = _rows(summary.corpus_path)
    _assert_same_rows(streamed, expected)
    assert {r["status"] for r in streamed} == {"kept", "duplicate", "rejected"}
    assert any(r["duplicate_paragraphs"] for r in streamed)
    assert pq.ParquetFile(summary.corpus_path).num_row_groups > 1
    assert summary.report_path.read_text("utf-8") == report
    assert summary.pages_in == 301 and summary.rejected == {"empty_file": 1}
    assert not list((tmp_path / "new").glob(".*")), "the temporary table is removed"


def test_curate_report_shows_only_the_first_documents(tmp_path):
    sources = _write_synthetic(tmp_path / "in", 40, sites=2)
    summary = curate(sources, out_dir=tmp_path / "out", progress=False, report_documents=5)
    html = summary.report_path.read_text("utf-8")
    assert html.count("<details>") == 5
    assert f"{summary.kept + summary.duplicate - 5} more document(s) not shown" in html


def test_scan_accumulator_in_batches_decides_like_find_duplicates():
    pages = generate_corpus(120, seed=3).pages
    texts = [p.body for p in pages]
    published = [p.published for p in pages]
    config = load_dedup_config()
    whole = find_duplicates(texts, published=published, config=config)
    stream = ScanAccumulator(config=config)
    for lo in range(0, len(texts), 17):
        stream.add(texts[lo : lo + 17], published[lo : lo + 17])
    decided = stream.decide(lambda rows: [texts[int(r)] for r in rows])
    pd.testing.assert_frame_equal(decided.rows, whole.rows)
    assert decided.n_candidates == whole.n_candidates > 0
