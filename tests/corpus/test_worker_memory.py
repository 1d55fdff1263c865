"""Cleaning workers forget their memos at partition (Dask) or every-N-pages (local curate)
boundaries, so what they hold does not grow with the corpus; the rows stay the same."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.clean import Cleaner, load_clean_config
from corpus.curate import ChunkCleaner, _clean_chunk_job
from corpus.dedup import load_dedup_config
from corpus.engines.memory import MemoClock, memo_sizes
from corpus.engines.partitioned import PartitionCleaner, _clean_partition_job, plan_partitions
from corpus.ingest import iter_pages

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
sys.path.insert(0, str(ROOT / "scripts"))

from synthetic import generate_corpus  # noqa: E402


@pytest.fixture(scope="module")
def pages_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds (English: glue repair and word frequencies run) and 120 synthetic pages."""
    root = tmp_path_factory.mktemp("pages")
    for seed in sorted(SEEDS.glob("*.txt")):
        (root / seed.name).write_bytes(seed.read_bytes())
    for i, page in enumerate(generate_corpus(120, seed=5).pages):
        (root / f"synthetic-{i:04d}.txt").write_text(page.raw, "utf-8")
    return root


def _docs(pages_dir: Path) -> list:
    return list(iter_pages([pages_dir]))


def test_memo_sizes_count_what_cleaning_memoised(pages_dir: Path) -> None:
    """The check below means something: cleaning these pages fills every memo."""
    cleaner = Cleaner(load_clean_config())
    cleaner.forget_memos()
    cleaner.clean_pages(_docs(pages_dir), learned={})
    sizes = memo_sizes(cleaner)
    assert all(n > 0 for n in sizes.values()), sizes


def test_partition_worker_holds_no_memo_after_each_partition(
    pages_dir: Path, tmp_path: Path
) -> None:
    """After every partition a Dask worker's cleaner holds no memoised line or word: what
    it keeps is the same after 3 partitions as after 1, however many pages came."""
    cleaner = Cleaner(load_clean_config())
    state = PartitionCleaner(
        cleaner=cleaner,
        dedup_config=replace(load_dedup_config(), workers=1),
        learned={},
        parts_dir=str(tmp_path),
        chunk_pages=40,
    )
    partitions = plan_partitions([pages_dir], files_per_partition=45)
    assert len(partitions) == 3
    rows = 0
    for partition in partitions:
        done = _clean_partition_job(state, (partition, {}))
        rows += done.num_rows
        assert memo_sizes(cleaner) == dict.fromkeys(memo_sizes(cleaner), 0)
    assert rows == len(_docs(pages_dir))


def test_memo_clock_forgets_every_n_pages(pages_dir: Path) -> None:
    """A local curate worker forgets its memos once it has cleaned `pages` pages since the
    last time, not before."""
    docs = _docs(pages_dir)
    cleaner = Cleaner(load_clean_config())
    cleaner.forget_memos()
    state = ChunkCleaner(cleaner, load_dedup_config(), {}, MemoClock(cleaner, pages=60))
    _clean_chunk_job(state, docs[:40])
    assert sum(memo_sizes(cleaner).values()) > 0  # 40 pages: kept
    _clean_chunk_job(state, docs[40:80])
    assert sum(memo_sizes(cleaner).values()) == 0  # 80 >= 60: forgotten, count restarts
    _clean_chunk_job(state, docs[80:120])
    assert sum(memo_sizes(cleaner).values()) > 0


@pytest.mark.parametrize("pages", [0, -5, True, 2.5])
def test_memo_clock_refuses_a_page_count_that_is_not_one(pages: object) -> None:
    with pytest.raises(ValueError, match="pages=.* must be an integer >= 1"):
        MemoClock(Cleaner(load_clean_config()), pages=pages)  # type: ignore[arg-type]


def test_forgetting_memos_leaves_the_rows_unchanged(pages_dir: Path) -> None:
    """Memos only change speed: chunks cleaned by a worker that forgets after every chunk
    give the same rows, edits and scans as one that never forgets."""
    docs = _docs(pages_dir)
    config, dedup = load_clean_config(), load_dedup_config()
    keeping = Cleaner(config)
    forgetting = Cleaner(config)
    keep = ChunkCleaner(keeping, dedup, {}, MemoClock(keeping, pages=10**9))
    forget = ChunkCleaner(forgetting, dedup, {}, MemoClock(forgetting, pages=1))
    for start in range(0, len(docs), 25):
        chunk = docs[start : start + 25]
        a, b = _clean_chunk_job(keep, chunk), _clean_chunk_job(forget, chunk)
        assert a.rows.equals(b.rows)
        assert a.kept_rows == b.kept_rows
        assert (a.edit_counts, a.edit_chars) == (b.edit_counts, b.edit_chars)
        assert sum(memo_sizes(forgetting).values()) == 0
    assert sum(memo_sizes(keeping).values()) > 0


def test_partition_files_are_the_same_with_memos_forgotten(pages_dir: Path, tmp_path: Path) -> None:
    """One partition of all pages against three: the worker forgets its memos twice more in
    between, and the rows written are the same."""
    config, dedup = load_clean_config(), replace(load_dedup_config(), workers=1)
    tables = []
    for n, size in ((1, 10_000), (3, 45)):
        out = tmp_path / str(n)
        out.mkdir()
        state = PartitionCleaner(Cleaner(config), dedup, {}, str(out), 40)
        paths = [
            _clean_partition_job(state, (p, {})).path
            for p in plan_partitions([pages_dir], files_per_partition=size)
        ]
        assert len(paths) == n
        tables.append([row for path in paths for row in pq.read_table(path).to_pylist()])
    assert tables[0] == tables[1]


def test_local_dask_workers_keep_no_profile_history() -> None:
    """The local cluster's workers run without Dask's statistical profiler, whose history
    (one profile a second, for 1,000 seconds) made their memory grow with the run."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from corpus.engines.dask_cluster import dask_executor

    def profiling(dask_worker) -> tuple[bool, int]:  # noqa: ANN001 - Dask's Worker
        return "profile" in dask_worker.periodic_callbacks, len(dask_worker.profile_history)

    with dask_executor(workers=1, progress=False) as executor:
        seen = executor.client.run(profiling)
    assert list(seen.values()) == [(False, 0)]
