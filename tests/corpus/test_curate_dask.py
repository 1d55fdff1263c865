"""curate on Dask (`--engine dask`) writes the same rows and report as the single-machine
curate, whatever the partitioning, on a two-worker local cluster."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from unittest import mock

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.curate import CleaningError, curate
from corpus.engines import partitioned
from corpus.errors import InputError
from corpus.parallel import DaskExecutor, InProcessExecutor

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
sys.path.insert(0, str(ROOT / "scripts"))

from synthetic import generate_corpus  # noqa: E402


@pytest.fixture(scope="module")
def dask_client():
    """Two single-threaded workers in this process (fast to start; the same tasks as a
    cluster of processes, since every task's state and items are serialised to it)."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _write_corpus(root: Path, n: int) -> list[Path]:
    """Seeds, `n` synthetic pages over 4 sites, a page copied into another site's far
    files (one page in two partitions), a JSONL file naming a URL twice and an empty page."""
    pages = generate_corpus(n, seed=11).pages
    for i, page in enumerate(pages):
        site = root / "synthetic" / f"site{i % 4}"
        site.mkdir(parents=True, exist_ok=True)
        (site / f"{i:05d}.txt").write_text(page.raw, "utf-8")
    (root / "synthetic" / "site3" / "99999-copy.txt").write_text(pages[0].raw, "utf-8")
    (root / "synthetic" / "site0" / "empty.txt").write_bytes(b"")
    feed = root / "feed"
    feed.mkdir()
    for name, index in (("a.jsonl", 1), ("b.jsonl", 2)):
        line = {"url": "https://news.example.org/seizure", "text": pages[index].raw}
        (feed / name).write_text(json.dumps(line) + "\n", "utf-8")
    return [SEEDS, root / "synthetic", feed]


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def _assert_same_rows(got: list[dict], want: list[dict]) -> None:
    """Row by row (row number = position), column by column, cluster ids included."""
    assert len(got) == len(want)
    for row, (a, b) in enumerate(zip(got, want, strict=True)):
        assert list(a) == list(b)
        for column in b:
            assert a[column] == b[column], (row, b["source"], column)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    """A small corpus and its single-machine curate (rows, report)."""
    root = tmp_path_factory.mktemp("small")
    sources = _write_corpus(root / "in", 60)
    summary = curate(sources, out_dir=root / "local", progress=False, workers=1)
    return sources, _rows(summary.corpus_path), summary.report_path.read_text("utf-8"), root


@pytest.mark.slow
def test_dask_matches_local_on_seeds_and_synthetic_pages_in_16_partitions(tmp_path, dask_client):
    sources = _write_corpus(tmp_path / "in", 2000)
    local = curate(sources, out_dir=tmp_path / "local", progress=False, workers=2)
    files = sum(1 for _ in partitioned.iter_source_files(sources))
    plans = []
    real_plan = partitioned.plan_partitions

    def plan(*args, **kwargs):
        plans.append(real_plan(*args, **kwargs))
        return plans[-1]

    with mock.patch.object(partitioned, "plan_partitions", plan):
        on_dask = curate(
            sources,
            out_dir=tmp_path / "dask",
            progress=False,
            executor=DaskExecutor(dask_client),
            files_per_partition=-(-files // 16),
        )
    assert len(plans[0]) == 16
    expected = _rows(local.corpus_path)
    _assert_same_rows(_rows(on_dask.corpus_path), expected)
    assert on_dask.report_path.read_text("utf-8") == local.report_path.read_text("utf-8")
    assert (on_dask.pages_in, on_dask.kept, on_dask.duplicate, on_dask.rejected) == (
        local.pages_in,
        local.kept,
        local.duplicate,
        local.rejected,
    )
    assert on_dask.removals == local.removals
    statuses = {r["status"] for r in expected}
    assert statuses == {"kept", "duplicate", "rejected"}
    assert any(r["duplicate_of"] for r in expected) and any(
        r["duplicate_paragraphs"] for r in expected
    )
    renamed = [json.loads(r["metadata"]).get("same_url_as") for r in expected]
    assert sum(1 for value in renamed if value) == 1, "the second page of the URL names the first"
    assert not list((tmp_path / "dask").glob(".*")), "the partition files are removed"


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cuts=st.lists(st.integers(min_value=1, max_value=70), max_size=6))
def test_dask_rows_do_not_depend_on_partition_boundaries(small_corpus, dask_client, cuts):
    sources, expected, report, root = small_corpus
    files = list(partitioned.iter_source_files(sources))
    parts = partitioned.split_files([(str(p), i) for p, i in files], cuts)
    out = root / f"dask-{'-'.join(map(str, sorted(set(cuts)))) or 'one'}"
    shutil.rmtree(out, ignore_errors=True)
    with mock.patch.object(partitioned, "plan_partitions", lambda *a, **k: parts):
        summary = curate(sources, out_dir=out, progress=False, executor=DaskExecutor(dask_client))
    _assert_same_rows(_rows(summary.corpus_path), expected)
    assert summary.report_path.read_text("utf-8") == report


def test_partitioned_curate_in_process_matches_local(small_corpus, tmp_path):
    sources, expected, report, _ = small_corpus
    summary = curate(
        sources,
        out_dir=tmp_path / "out",
        progress=False,
        executor=InProcessExecutor(),
        files_per_partition=7,
    )
    _assert_same_rows(_rows(summary.corpus_path), expected)
    assert summary.report_path.read_text("utf-8") == report


def test_a_page_that_breaks_the_cleaner_is_named_by_the_worker(tmp_path, dask_client):
    from corpus.clean import Cleaner

    real = Cleaner.clean_pages

    def breaks_on_one_page(self, docs, **kwargs):
        if any(d.source.endswith("00003.txt") for d in docs):
            raise KeyError("boom")
        return real(self, docs, **kwargs)

    sources = _write_corpus(tmp_path / "in", 8)
    with (
        mock.patch.object(Cleaner, "clean_pages", breaks_on_one_page),
        pytest.raises(CleaningError, match=r"page .*site3/00003\.txt .*KeyError: 'boom'"),
    ):
        curate(
            sources, out_dir=tmp_path / "out", progress=False, executor=DaskExecutor(dask_client)
        )


def test_engine_dask_without_the_extra_says_how_to_install_it(tmp_path):
    with (
        mock.patch.dict(sys.modules, {"distributed": None}),
        pytest.raises(InputError, match=r"pip install '\.\[dask\]'"),
    ):
        curate([SEEDS], out_dir=tmp_path / "out", progress=False, engine="dask", workers=1)


def test_cli_refuses_a_scheduler_without_the_dask_engine(tmp_path):
    from annotation.cli import main

    result = CliRunner().invoke(
        main, ["curate", str(SEEDS), "--out", str(tmp_path), "--scheduler", "tcp://x:8786"]
    )
    assert result.exit_code != 0
    assert "--scheduler needs --engine dask" in result.output


@pytest.mark.slow
def test_cli_curate_engine_dask_with_two_local_worker_processes(tmp_path):
    from annotation.cli import main

    local = curate([SEEDS], out_dir=tmp_path / "local", progress=False)
    result = CliRunner().invoke(
        main,
        [
            "curate",
            str(SEEDS),
            "--out",
            str(tmp_path / "dask"),
            "--engine",
            "dask",
            "--workers",
            "2",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == local.summary_line().replace(
        str(tmp_path / "local"), str(tmp_path / "dask")
    )
    _assert_same_rows(_rows(tmp_path / "dask" / "corpus.parquet"), _rows(local.corpus_path))


def test_partitioned_curate_refuses_unreadable_input_as_the_local_one_does(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    (tmp_path / "in" / "blank.jsonl").write_text("\n", "utf-8")
    with pytest.raises(InputError) as local:
        curate([tmp_path / "in"], out_dir=tmp_path / "a", progress=False, workers=1)
    with pytest.raises(InputError) as partitioned_run:
        curate(
            [tmp_path / "in"],
            out_dir=tmp_path / "b",
            progress=False,
            executor=InProcessExecutor(),
            files_per_partition=1,
        )
    assert str(partitioned_run.value) == str(local.value)
    assert "could be read" in str(local.value)
    assert not (tmp_path / "b").exists(), "nothing is written for unreadable input"


def test_local_cluster_workers_keep_large_blocks_on_the_heap():
    """Dask's nanny fixes glibc's mmap threshold at 128 KiB (MALLOC_TRIM_THRESHOLD_): the
    cleaner's arrays were then mapped and zeroed afresh each time (1.7x the CPU per page).
    The local cluster's workers start with the threshold at 32 MiB."""
    from corpus.engines.dask_cluster import WORKER_ENVIRON, dask_executor

    with dask_executor(workers=1, progress=False) as executor:
        seen = executor.client.run(lambda: os.environ.get("MALLOC_MMAP_THRESHOLD_"))
    assert list(seen.values()) == [WORKER_ENVIRON["MALLOC_MMAP_THRESHOLD_"]]


def test_workers_of_a_running_cluster_without_the_mmap_threshold_are_warned_about(dask_client):
    """The test cluster's workers run in this process: its environment is theirs."""
    from corpus.engines.dask_cluster import slow_worker_warning

    with mock.patch.dict("os.environ", {"MALLOC_TRIM_THRESHOLD_": "65536"}):
        os.environ.pop("MALLOC_MMAP_THRESHOLD_", None)
        warning = slow_worker_warning(dask_client)
        assert warning is not None
        assert "2 of 2 Dask worker(s)" in warning
        assert "MALLOC_MMAP_THRESHOLD_=33554432" in warning
        os.environ["MALLOC_MMAP_THRESHOLD_"] = "33554432"
        assert slow_worker_warning(dask_client) is None


def test_curate_on_a_running_scheduler_prints_the_warning(dask_client, capsys):
    from corpus.engines.dask_cluster import dask_executor

    address = dask_client.scheduler.address
    with mock.patch.dict("os.environ", {"MALLOC_TRIM_THRESHOLD_": "65536"}):
        os.environ.pop("MALLOC_MMAP_THRESHOLD_", None)
        with dask_executor(scheduler=address, progress=False) as executor:
            assert executor.workers == 2
    assert "start the workers with MALLOC_MMAP_THRESHOLD_=33554432" in capsys.readouterr().err
