"""Curate's two passes over partitions of the input files, on any corpus executor (a Dask
cluster for `contraband curate --engine dask`).

A partition is a run of consecutive page files (`iter_source_files` order); its pages carry
their global row number (the partition's first row plus their place in it), so the rows,
ids and dedup decisions are the same however the files are partitioned, and the same as
the single-machine curate:

1. **census and boilerplate** (one task per partition): read the pages, count them, and
   return the ids of the readable ones, a 128-bit marker per page, and per site a
   frequent-items sketch of its line keys. The caller finds copies of a page across
   partitions (same marker, a later row) and re-sketches the few partitions that have
   some without them, merges the sketches per site and learns the boilerplate; it also
   finds second pages of an already-read URL (`same_url_as`), as `iter_pages` does.
2. **clean, rows and dedup scan** (one task per partition, the learned boilerplate
   handed to every worker once): today's chunk function `_clean_and_scan_chunk` over the
   partition's pages, the rows written to the partition's own Parquet file, and back only
   the compact facts: dedup's scan of the kept pages, the rows that take part in dedup,
   their dates, edit and rejection counts. The worker then forgets its cleaner's memos, so
   its memory does not grow with the number of partitions (`corpus.engines.memory`).

The caller then decides duplicates on the compact arrays (candidates from band keys and
anchors, verified on their true similarity, components, keepers: `decide_duplicates`) and
writes corpus.parquet and the report from the partition files (`corpus.curate`).
Partition files are written by the workers: on a cluster, the output directory must be on
a file system every worker and the client see.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..boilerplate import page_line_keys
from ..clean import CleanConfig, Cleaner, boilerplate_counter
from ..dedup import DedupConfig, Scan, ScanAccumulator, band_buckets, bucket_pairs
from ..ingest import iter_file_pages, iter_source_files
from ..parallel import Executor, Job
from ..records import STATUS_REJECTED, Document, document_id
from .memory import forget_memos

PARTITION_PAGES = 2_000  # page files per partition by default: a few chunks of 500 each
# A document of the band-key files is (partition << DOC_BITS) | its number in the partition:
# unique and in row order before the partitions' offsets are known.
DOC_BITS = 40
KEY_ROW_BYTES = 24  # doc, bucket, exact: three 64-bit numbers per band-key row


@dataclass(frozen=True)
class Partition:
    """A run of consecutive page files: (path, identity) as `iter_source_files` gives them."""

    index: int
    files: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """The partition for messages: its number and first and last file."""
        if not self.files:
            return f"partition {self.index} (no file)"
        first, last = self.files[0][0], self.files[-1][0]
        span = first if first == last else f"{first} .. {last}"
        return f"partition {self.index} ({len(self.files)} file(s): {span})"


def plan_partitions(
    sources: Sequence[str | Path], *, files_per_partition: int = PARTITION_PAGES, minimum: int = 1
) -> list[Partition]:
    """The page files of `sources` cut into partitions of at most `files_per_partition`
    files, and into at least `minimum` partitions when there are that many files."""
    files = [(str(path), identity) for path, identity in iter_source_files(sources)]
    if files_per_partition < 1:
        raise ValueError(f"files_per_partition={files_per_partition} must be >= 1")
    count = max(-(-len(files) // files_per_partition), min(minimum, len(files)), 1)
    size = -(-len(files) // count) if files else 1
    return split_files(files, list(range(size, len(files), size)))


def split_files(files: Sequence[tuple[str, str]], cuts: Iterable[int]) -> list[Partition]:
    """Partitions of `files` cut before each index of `cuts` (sorted, duplicates ignored)."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(files)}), len(files)]
    return [
        Partition(index=i, files=tuple(files[lo:hi]))
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    ]


def read_partition(
    partition: Partition, renames: dict[int, str] | None = None
) -> Iterator[Document]:
    """The pages of a partition in order; `renames` maps a row (in the partition) to the
    source that read the same URL first: that page takes the id of its own source and
    names the first in `metadata["same_url_as"]` (as `iter_pages` does in one pass)."""
    renames = renames or {}
    row = 0
    for path, identity in partition.files:
        for doc in iter_file_pages(Path(path), identity=identity):
            first = renames.get(row)
            if first is not None:
                doc = doc.with_(
                    id=document_id(doc.source), metadata={**doc.metadata, "same_url_as": first}
                )
            yield doc
            row += 1


# ------------------------------------------------------------------ pass 1: census, boilerplate


@dataclass(frozen=True)
class PartitionCensus:
    """Pass 1 of one partition: counts, ids, page markers and per-site line-key sketches."""

    index: int
    pages: int
    readable: int
    reasons: Counter[str | None]
    first_error: str  # metadata error of the partition's first page ("" if none)
    ids: pd.DataFrame  # row, id, source of each readable page (rows in the partition)
    markers: pd.DataFrame  # row, high, low: 128-bit marker of each page first in the partition
    sites: dict[str, tuple[int, bytes]]  # BoilerplateCounter.site_counts of those pages


def _census_job(config: CleanConfig, task: tuple[Partition, frozenset[int]]) -> PartitionCensus:
    """Pass 1 of a partition, leaving the rows of `task[1]` (copies of a page read in an
    earlier partition) out of the sketches."""
    partition, excluded = task
    counter = boilerplate_counter(config)
    max_words = config.boilerplate_max_words
    pages = readable = 0
    reasons: Counter[str | None] = Counter()
    first_error = ""
    ids: dict[str, list] = {"row": [], "id": [], "source": []}
    markers: dict[str, list] = {"row": [], "high": [], "low": []}
    seen: set[int] = set()
    for row, doc in enumerate(read_partition(partition)):
        if row == 0:
            first_error = doc.metadata.get("error", "")
        pages += 1
        if doc.status == STATUS_REJECTED:
            reasons[doc.reject_reason] += 1
        else:
            readable += 1
            ids["row"].append(row)
            ids["id"].append(doc.id)
            ids["source"].append(doc.source)
        keys = page_line_keys(doc, max_words=max_words)
        if keys is None or keys[1] in seen:
            continue
        seen.add(keys[1])
        markers["row"].append(row)
        markers["high"].append(keys[1] >> 64)
        markers["low"].append(keys[1] & 0xFFFF_FFFF_FFFF_FFFF)
        if row not in excluded:
            counter.add(keys)
    return PartitionCensus(
        index=partition.index,
        pages=pages,
        readable=readable,
        reasons=reasons,
        first_error=first_error,
        ids=pd.DataFrame(ids, columns=["row", "id", "source"]).astype({"row": np.int64}),
        markers=pd.DataFrame(
            {
                "row": np.asarray(markers["row"], dtype=np.int64),
                "high": np.asarray(markers["high"], dtype=np.uint64),
                "low": np.asarray(markers["low"], dtype=np.uint64),
            }
        ),
        sites=counter.site_counts(),
    )


@dataclass(frozen=True)
class Learned:
    """What pass 1 tells pass 2: where each partition starts, the boilerplate, the renames."""

    censuses: list[PartitionCensus]
    starts: np.ndarray  # global row of each partition's first page (len = partitions + 1)
    boilerplate: dict[str, frozenset[str]]
    renames: dict[int, dict[int, str]]  # partition -> row in it -> first source of its URL

    @property
    def pages(self) -> int:
        return int(self.starts[-1])


def learn_partitions(
    partitions: Sequence[Partition], *, config: CleanConfig, executor: Executor
) -> Learned:
    """Pass 1 over every partition on `executor`: the same boilerplate as `learn_boilerplate`
    over all the pages in order (exactly while each site's sketch is exact), the global row
    of each partition's first page and the `same_url_as` renames."""
    job = Job(_census_job, config)
    censuses = list(executor.map(job, ((p, frozenset()) for p in partitions)))
    starts = np.concatenate(([0], np.cumsum([c.pages for c in censuses]))).astype(np.int64)
    copies = _copies_across_partitions(censuses, starts)
    if copies:  # rare: the same page in two partitions; sketch those partitions without it
        redone = executor.map(job, ((partitions[i], frozenset(rows)) for i, rows in copies.items()))
        for index, census in zip(copies, redone, strict=True):
            censuses[index] = census
    counter = boilerplate_counter(config)
    for census in censuses:
        counter.merge_site_counts(census.sites)
    return Learned(
        censuses=censuses,
        starts=starts,
        boilerplate=counter.learned(),
        renames=_same_url_renames(censuses, starts),
    )


def _copies_across_partitions(
    censuses: Sequence[PartitionCensus], starts: np.ndarray
) -> dict[int, list[int]]:
    """Per partition, its rows whose page (marker) was first read in an earlier partition."""
    frame = _global(censuses, starts, "markers")
    later = frame.duplicated(["high", "low"], keep="first").to_numpy()
    rows = frame["row"].to_numpy()[later]
    out: dict[int, list[int]] = {}
    for row in rows.tolist():
        part = int(np.searchsorted(starts, row, side="right")) - 1
        out.setdefault(part, []).append(row - int(starts[part]))
    return out


def _same_url_renames(
    censuses: Sequence[PartitionCensus], starts: np.ndarray
) -> dict[int, dict[int, str]]:
    """Per partition, row -> first source of its id for every readable page whose id was
    read earlier from another source (`iter_pages`' `same_url_as`)."""
    frame = _global(censuses, starts, "ids")
    first = frame.groupby("id", sort=False)["source"].transform("first")
    renamed = frame[frame["source"] != first]
    out: dict[int, dict[int, str]] = {}
    for row, source in zip(renamed["row"].tolist(), first[renamed.index].tolist(), strict=True):
        part = int(np.searchsorted(starts, row, side="right")) - 1
        out.setdefault(part, {})[row - int(starts[part])] = source
    return out


def _global(censuses: Sequence[PartitionCensus], starts: np.ndarray, name: str) -> pd.DataFrame:
    """One frame of every partition's `name` frame, rows made global, in row order."""
    frames = [getattr(c, name) for c in censuses]
    frame = pd.concat(frames, ignore_index=True)
    shift = np.repeat(starts[:-1], [len(f) for f in frames])
    return frame.assign(row=frame["row"].to_numpy(dtype=np.int64) + shift)


# ------------------------------------------------------------------ pass 2: clean, rows, scan


@dataclass(frozen=True)
class PartitionCleaner:
    """What pass 2 needs on every worker: handed over once per run."""

    cleaner: Cleaner
    dedup_config: DedupConfig  # workers=1: the partitions are the parallelism
    learned: dict[str, frozenset[str]]
    parts_dir: str
    chunk_pages: int


@dataclass(frozen=True)
class CleanedPartition:
    """Pass 2 of one partition: where its rows are, and the compact facts of them."""

    index: int
    path: str  # its rows (CORPUS_SCHEMA, dedup columns not filled in yet), one row group a chunk
    num_rows: int
    kept_rows: list[int]  # rows (in the partition) of the pages that take part in dedup
    published: list[str | None]
    scan: Scan | None  # without its band keys: those are in keys_path
    keys_path: str = ""  # doc, bucket, exact of each band key (doc: see DOC_BITS)
    key_rows: int = 0
    edit_counts: Counter[str] = field(default_factory=Counter)
    edit_chars: Counter[str] = field(default_factory=Counter)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def _clean_partition_job(
    state: PartitionCleaner, task: tuple[Partition, dict[int, str]]
) -> CleanedPartition:
    """Clean, write and scan one partition, chunk by chunk (`_clean_and_scan_chunk`); then
    the worker forgets the cleaner's memos (`memory.forget_memos`)."""
    from ..curate import CORPUS_SCHEMA, _chunked, _clean_and_scan_chunk

    partition, renames = task
    path = Path(state.parts_dir) / f"part-{partition.index:06d}.parquet"
    out = CleanedPartition(
        index=partition.index, path=str(path), num_rows=0, kept_rows=[], published=[], scan=None
    )
    scans = ScanAccumulator(config=state.dedup_config)
    rows = 0
    with pq.ParquetWriter(path, CORPUS_SCHEMA) as writer:
        for docs in _chunked(read_partition(partition, renames), state.chunk_pages):
            chunk = _clean_and_scan_chunk(docs, state.cleaner, state.dedup_config, state.learned)
            writer.write_table(chunk.rows)
            out.kept_rows.extend(rows + row for row in chunk.kept_rows)
            out.published.extend(chunk.published)
            if chunk.scan is not None:
                scans.add_scan(chunk.scan, chunk.published)
            out.edit_counts.update(chunk.edit_counts)
            out.edit_chars.update(chunk.edit_chars)
            out.rejected.extend(chunk.rejected)
            rows += chunk.rows.num_rows
    forget_memos(state.cleaner)  # what the worker holds does not grow with the partitions
    scan = scans.scan() if scans.n else None
    keys_path = Path(state.parts_dir) / f"keys-{partition.index:06d}.parquet"
    key_rows = _write_band_keys(scan, partition.index, keys_path)
    if scan is not None:
        scan = replace(scan, keys=scan.keys.iloc[:0])
    return replace(out, num_rows=rows, scan=scan, keys_path=str(keys_path), key_rows=key_rows)


def _write_band_keys(scan: Scan | None, index: int, path: Path) -> int:
    """Write the band keys of a partition's scan as (doc, bucket, exact) rows, for the
    shuffle on bucket (`find_band_pairs`); returns how many rows."""
    if scan is None:
        frame = pd.DataFrame(
            {
                "doc": np.zeros(0, np.int64),
                "bucket": np.zeros(0, np.uint64),
                "exact": np.zeros(0, np.uint64),
            }
        )
    else:
        local = scan.keys["doc"].to_numpy(dtype=np.int64)
        frame = pd.DataFrame(
            {
                "doc": (np.int64(index) << np.int64(DOC_BITS)) | local,
                "bucket": band_buckets(scan.keys),
                "exact": scan.exact_hash[local].astype(np.uint64),
            }
        )
    frame.to_parquet(path, index=False)
    return len(frame)


def find_band_pairs(
    partitions: Sequence[CleanedPartition], offsets: np.ndarray, *, client: Any = None
) -> pd.DataFrame:
    """Pairs (a, b) of dedup documents (global numbers: `offsets[p]` is the first of
    partition p) that share a band bucket: the band keys shuffled on bucket across the
    Dask cluster of `client` and paired partition by partition (`bucket_pairs`), or all in
    this process without a client. Only the pairs come back."""
    paths = [p.keys_path for p in partitions if p.key_rows]
    meta = pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64)})
    if not paths:
        return meta
    if client is None:
        pairs = bucket_pairs(pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True))
    else:
        import dask.dataframe as dd

        keys = dd.read_parquet(paths)
        shuffled = keys.shuffle(on="bucket", npartitions=max(1, keys.npartitions))
        pairs = client.compute(shuffled.map_partitions(bucket_pairs, meta=meta)).result()
    mask = np.int64((1 << DOC_BITS) - 1)
    a, b = pairs["a"].to_numpy(np.int64), pairs["b"].to_numpy(np.int64)
    return pd.DataFrame(
        {
            "a": offsets[a >> np.int64(DOC_BITS)] + (a & mask),
            "b": offsets[b >> np.int64(DOC_BITS)] + (b & mask),
        }
    ).drop_duplicates()


def clean_partitions(
    partitions: Sequence[Partition],
    learned: Learned,
    *,
    clean_config: CleanConfig,
    dedup_config: DedupConfig,
    parts_dir: Path,
    executor: Executor,
    chunk_pages: int,
) -> Iterator[CleanedPartition]:
    """Pass 2 over every partition on `executor`, in partition order."""
    state = PartitionCleaner(
        cleaner=Cleaner(clean_config),  # cold: each worker loads its word data on first use
        dedup_config=replace(dedup_config, workers=1),
        learned=learned.boilerplate,
        parts_dir=str(parts_dir),
        chunk_pages=chunk_pages,
    )
    tasks = ((p, learned.renames.get(p.index, {})) for p in partitions)
    yield from executor.map(Job(_clean_partition_job, state), tasks)
