"""`curate`: ingest -> clean -> dedup -> corpus.parquet + report.html (the push side's first job).

Streaming, so memory stays bounded as the corpus grows: the pages are read twice (once to
learn each site's boilerplate from line-key counts, once to clean them chunk by chunk),
each chunk is cleaned, turned into rows and scanned for dedup in one worker process
(`clean_and_scan`: the same code runs partition by partition), cleaned rows go to a
temporary Parquet table while dedup keeps only its compact arrays, and a last pass
writes corpus.parquet with the dedup outcome filled in. The rows are the same, in the
same order, as `clean_documents` + `deduplicate` over the whole list.

The only corpus module that writes files. `annotation/cli.py` wraps `curate` as
`contraband curate SOURCES... --out DIR`.
"""

from __future__ import annotations

import gc
import itertools
import json
import re
import shutil
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .clean import (
    CleanConfig,
    Cleaner,
    learn_boilerplate,
    load_clean_config,
)
from .clean.batches import worker_count
from .clean.language import load_in_background as load_language_in_background
from .dedup import (
    DedupConfig,
    DedupDecision,
    Scan,
    ScanAccumulator,
    load_dedup_config,
    paragraph_ranges,
    scan_texts,
)
from .engines.memory import MemoClock
from .errors import InputError
from .ingest import iter_pages
from .offsets import OffsetMap
from .parallel import Executor, Job, local_executor
from .records import (
    CORPUS_COLUMNS,
    STATUS_DUPLICATE,
    STATUS_KEPT,
    STATUS_REJECTED,
    Document,
    content_hash,
)
from .report import ReportBuilder

if TYPE_CHECKING:
    from .engines.partitioned import CleanedPartition

_REMOVAL = pa.struct(
    [
        ("reason", pa.string()),
        ("raw_start", pa.int64()),
        ("raw_end", pa.int64()),
        ("text", pa.string()),
        ("replacement", pa.string()),
    ]
)
_OFFSET_MAP = pa.struct(
    [
        ("clean_start", pa.list_(pa.int64())),
        ("clean_end", pa.list_(pa.int64())),
        ("raw_start", pa.list_(pa.int64())),
        ("raw_end", pa.list_(pa.int64())),
        ("copy", pa.list_(pa.bool_())),
    ]
)
_PARAGRAPH = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("cluster", pa.string())])

CORPUS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("site", pa.string()),
        ("title", pa.string()),
        ("published", pa.string()),
        ("authors", pa.list_(pa.string())),
        ("clean_text", pa.string()),
        ("raw_text", pa.string()),
        ("removals", pa.list_(_REMOVAL)),
        ("offset_map", _OFFSET_MAP),
        ("content_hash", pa.string()),
        ("status", pa.string()),
        ("reject_reason", pa.string()),
        ("duplicate_of", pa.string()),
        ("cluster_id", pa.string()),
        ("similarity", pa.float64()),
        ("containment", pa.float64()),
        ("duplicate_paragraphs", pa.list_(_PARAGRAPH)),
        ("metadata", pa.string()),
    ]
)
assert CORPUS_SCHEMA.names == list(CORPUS_COLUMNS), "CORPUS_SCHEMA must follow CORPUS_COLUMNS"


@dataclass(frozen=True)
class CurateSummary:
    """What one curate run did: counts, and where the outputs went."""

    pages_in: int
    kept: int
    duplicate: int
    rejected: dict[str, int]
    removals: dict[str, int]
    corpus_path: Path
    report_path: Path
    shuffled_bytes: int = 0  # band keys shuffled across a Dask cluster (engine dask)
    gathered_bytes: int = 0  # compact dedup arrays gathered from the workers or chunks

    @property
    def out_dir(self) -> Path:
        return self.corpus_path.parent

    def summary_line(self) -> str:
        """One line: pages in/kept/duplicate/rejected, edits by reason, output directory."""
        rejected = sum(self.rejected.values())
        reasons = ", ".join(
            f"{k} {v}" for k, v in sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        edits = sum(self.removals.values())
        by_reason = ", ".join(
            f"{k} {v}" for k, v in sorted(self.removals.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        return (
            f"curate: {self.pages_in} pages in, {self.kept} kept, {self.duplicate} duplicate, "
            f"{rejected} rejected{f' ({reasons})' if reasons else ''}; "
            f"{edits} edits{f' ({by_reason})' if by_reason else ''} -> {self.out_dir}"
        )


def write_corpus(docs: Sequence[Document], path: str | Path) -> Path:
    """Write the corpus table (exactly the columns of `Document.to_row()`) as Parquet."""
    path = Path(path)
    pq.write_table(_rows_table(docs), path)
    return path


REPORT_MAX_DOCUMENTS = 200  # raw-vs-clean views in report.html; the rest are counted
REPORT_MAX_ROWS = 10_000  # rows of the rejected-pages and duplicate tables in report.html
# pages cleaned, scanned and written (one row group) per worker task: 500 measured ~4% faster
# than 250 at 20k pages (per-chunk array and table costs), and keeps memory small
_CHUNK_PAGES = 500
_MAX_PROBLEMS = 1_000  # rejected-page messages quoted by --strict


ENGINES = ("local", "dask")


def curate(
    sources: Sequence[str | Path],
    *,
    out_dir: str | Path,
    clean_config: CleanConfig | None = None,
    dedup_config: Any = None,
    strict: bool = False,
    progress: bool = True,
    report_documents: int = REPORT_MAX_DOCUMENTS,
    workers: int | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    executor: Executor | None = None,
    files_per_partition: int | None = None,
) -> CurateSummary:
    """Ingest `sources`, clean, deduplicate, and write `out_dir/corpus.parquet` (one row per
    input page, rejected ones included) and `out_dir/report.html`.

    Streams with bounded memory: pass 1 reads the pages to learn each site's boilerplate
    (line-key counts only); pass 2 reads them again and cleans, scans (dedup) and turns
    them into rows chunk by chunk in `workers` processes, writing the rows to a temporary
    Parquet file; duplicates are then decided on the compact arrays and a last pass over the
    temporary file fills status / duplicate_of / cluster_id / similarity /
    duplicate_paragraphs into corpus.parquet. The rows are the same, in the same order, as cleaning and
    deduplicating the whole list in memory. The report shows the raw-vs-clean view of the
    first `report_documents` documents and counts the others. `workers`: processes,
    chosen as `clean_documents` does when None.

    `engine="dask"` runs both passes partition by partition (`files_per_partition` page
    files each) on a Dask cluster: the one at `scheduler`, else a local one of `workers`
    processes (`corpus.engines`); the rows and the report are the same. `executor` runs
    the partitioned passes on that executor instead (tests, or a client you manage).

    Raises InputError when no page at all could be read, and, after writing the outputs,
    when `strict` is set and any page was rejected.
    """
    if engine not in ENGINES:
        raise ValueError(f"curate: engine={engine!r} is not one of {list(ENGINES)}")
    if scheduler is not None and engine != "dask":
        raise ValueError("curate: a scheduler address needs engine='dask'")
    if engine == "dask" and executor is None:
        from .engines.dask_cluster import dask_executor

        with dask_executor(workers=workers, scheduler=scheduler, progress=progress) as on_dask:
            return curate(
                sources,
                out_dir=out_dir,
                clean_config=clean_config,
                dedup_config=dedup_config,
                strict=strict,
                progress=progress,
                report_documents=report_documents,
                executor=on_dask,
                files_per_partition=files_per_partition,
            )
    run = _Run(
        out=Path(out_dir),
        clean_config=clean_config or load_clean_config(),
        dedup_config=dedup_config or load_dedup_config(),
        progress=progress,
        builder=ReportBuilder(max_documents=report_documents, max_rows=REPORT_MAX_ROWS),
    )
    try:
        if executor is None:
            _clean_locally(run, sources, workers=workers)
        else:
            _clean_in_partitions(
                run, sources, executor=executor, files_per_partition=files_per_partition
            )
        _decide_and_write(run)
    finally:
        for path in run.temporary:
            path.unlink(missing_ok=True)
        if run.parts_dir is not None:  # also the files of partitions cut short by an error
            shutil.rmtree(run.parts_dir, ignore_errors=True)
    return _summarise(run, strict=strict)


@dataclass
class _Run:
    """One curate run: settings, and what the cleaning passes leave for the last one."""

    out: Path
    clean_config: CleanConfig
    dedup_config: DedupConfig
    progress: bool
    builder: ReportBuilder
    stats: _Stats = field(default_factory=lambda: _Stats())
    scanner: ScanAccumulator | None = None
    participants: array = field(default_factory=lambda: array("q"))  # rows taking part in dedup
    tables: list[Path] = field(default_factory=list)  # the cleaned rows, in row order
    temporary: list[Path] = field(default_factory=list)
    parts_dir: Path | None = None
    band_pairs: pd.DataFrame | None = None  # found on the cluster (None: from the scan)
    shuffled_bytes: int = 0  # band keys shuffled across the cluster
    gathered_bytes: int = 0  # compact dedup arrays sent back to this process

    @property
    def corpus_path(self) -> Path:
        return self.out / "corpus.parquet"

    @property
    def report_path(self) -> Path:
        return self.out / "report.html"

    def add(self, part: CleanedChunk | CleanedPartition) -> None:
        """Count a cleaned chunk or partition and keep its dedup scan."""
        assert self.scanner is not None
        for reason, count in part.edit_counts.items():
            self.builder.edits[reason] += count
            self.stats.removals[reason] += count
        for reason, chars in part.edit_chars.items():
            self.builder.edit_chars[reason] += chars
        self.participants.extend(self.stats.pages + row for row in part.kept_rows)
        self.stats.count(part.num_rows, part.rejected)
        if part.scan is not None:
            self.scanner.add_scan(part.scan, part.published)
            self.gathered_bytes += _scan_bytes(part.scan)


def _scan_bytes(scan: Scan) -> int:
    """Memory held by a dedup scan's arrays."""
    frames = (scan.keys, scan.lines, scan.anchors, scan.facts)
    return int(
        scan.exact_hash.nbytes
        + scan.length.nbytes
        + sum(frame.memory_usage(index=False).sum() for frame in frames)
    )


def _progress_bar(iterable: Iterable[Any], run: _Run, **options: Any) -> Any:
    from tqdm import tqdm

    return tqdm(iterable, disable=not run.progress, file=sys.stderr, **options)


def _clean_locally(run: _Run, sources: Sequence[str | Path], *, workers: int | None) -> None:
    """Both passes over the pages as one stream, chunks in `workers` local processes; the
    rows go to one temporary Parquet table."""
    census = _Census()
    # pass 2 needs the language model: most of its load runs outside the GIL, beside pass 1
    load_language_in_background()
    # the line keys are computed here: sending a page to a worker process costs about what
    # its keys cost (8,000 synthetic pages: 0.21 s here, 0.42 s with two workers)
    learned = learn_boilerplate(
        census.watch(_progress_bar(iter_pages(sources), run, desc="learn", unit="page")),
        config=run.clean_config,
    )
    census.raise_if_unreadable(sources)
    run.out.mkdir(parents=True, exist_ok=True)
    tmp_path = run.out / ".corpus.parquet.partial"
    run.temporary.append(tmp_path)
    run.tables.append(tmp_path)
    run.scanner = ScanAccumulator(config=run.dedup_config)
    with pq.ParquetWriter(tmp_path, CORPUS_SCHEMA) as writer:
        pages = _progress_bar(
            iter_pages(sources), run, desc="clean", unit="page", total=census.pages
        )
        for chunk in clean_and_scan(
            pages,
            clean_config=run.clean_config,
            dedup_config=run.dedup_config,
            learned=learned,
            workers=_worker_count(workers, census.pages),
        ):
            run.add(chunk)
            writer.write_table(chunk.rows)


def _clean_in_partitions(
    run: _Run,
    sources: Sequence[str | Path],
    *,
    executor: Executor,
    files_per_partition: int | None,
) -> None:
    """Both passes partition by partition on `executor` (`corpus.engines.partitioned`);
    each partition's rows go to its own temporary Parquet file."""
    from .engines.partitioned import (
        KEY_ROW_BYTES,
        PARTITION_PAGES,
        clean_partitions,
        find_band_pairs,
        learn_partitions,
        plan_partitions,
    )

    partitions = plan_partitions(
        sources,
        files_per_partition=files_per_partition or PARTITION_PAGES,
        minimum=2 * executor.workers,
    )
    learned = learn_partitions(partitions, config=run.clean_config, executor=executor)
    census = _Census()
    for part in learned.censuses:
        census.add(part.pages, part.readable, part.reasons, part.first_error)
    census.raise_if_unreadable(sources)
    run.out.mkdir(parents=True, exist_ok=True)
    run.parts_dir = run.out / ".corpus.parts"
    run.parts_dir.mkdir(exist_ok=True)
    run.scanner = ScanAccumulator(config=run.dedup_config)
    cleaned = clean_partitions(
        partitions,
        learned,
        clean_config=run.clean_config,
        dedup_config=run.dedup_config,
        parts_dir=run.parts_dir,
        executor=executor,
        chunk_pages=_CHUNK_PAGES,
    )
    parts = []
    for part in _progress_bar(cleaned, run, desc="clean", unit="partition", total=len(partitions)):
        path = Path(part.path)
        run.temporary.append(path)
        run.tables.append(path)
        run.add(part)
        parts.append(part)
    offsets = np.cumsum([0] + [len(p.kept_rows) for p in parts]).astype(np.int64)
    run.band_pairs = find_band_pairs(parts, offsets, client=getattr(executor, "client", None))
    run.shuffled_bytes = KEY_ROW_BYTES * sum(p.key_rows for p in parts)


def _decide_and_write(run: _Run) -> None:
    """Decide duplicates on the compact arrays, then stream the cleaned rows into
    corpus.parquet with the outcome filled in, and write the report."""
    assert run.scanner is not None
    if run.progress:
        print(f"dedup: comparing {len(run.participants)} kept pages", file=sys.stderr)
    groups = RowGroups(run.tables)
    positions = np.asarray(run.participants, dtype=np.int64)
    reader = _TextReader(groups)
    decision = (
        run.scanner.decide(lambda rows: reader.texts(positions[rows]), band_pairs=run.band_pairs)
        if len(positions)
        else None
    )
    _write_final(groups, run.corpus_path, positions, decision, run.builder)
    groups.close()
    run.report_path.write_text(run.builder.render(), encoding="utf-8")


def _summarise(run: _Run, *, strict: bool) -> CurateSummary:
    """The run's summary; InputError after writing the outputs when `strict` and any page
    was rejected."""
    stats, builder = run.stats, run.builder
    summary = CurateSummary(
        pages_in=stats.pages,
        kept=builder.status[STATUS_KEPT],
        duplicate=builder.status[STATUS_DUPLICATE],
        rejected=dict(stats.rejected),
        removals=dict(stats.removals),
        corpus_path=run.corpus_path,
        report_path=run.report_path,
        shuffled_bytes=run.shuffled_bytes,
        gathered_bytes=run.gathered_bytes,
    )
    if strict and summary.rejected:
        problems = "; ".join(stats.problems)
        more = len(stats.problems) < sum(summary.rejected.values())
        raise InputError(
            f"curate --strict: {sum(summary.rejected.values())} page(s) rejected ({problems}"
            f"{'; ...' if more else ''}); "
            f"outputs were written to {run.out}. Fix or remove these inputs, or run without --strict"
        )
    return summary


class RowGroups:
    """Several Parquet files read as one table, row group by row group, in file order."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.files = [pq.ParquetFile(path) for path in paths]
        self.index = [
            (f, g) for f, file in enumerate(self.files) for g in range(file.num_row_groups)
        ]

    @property
    def num_row_groups(self) -> int:
        return len(self.index)

    @property
    def num_rows(self) -> int:
        return sum(file.metadata.num_rows for file in self.files)

    def group_rows(self, group: int) -> int:
        """Rows of row group `group`."""
        f, g = self.index[group]
        return self.files[f].metadata.row_group(g).num_rows

    def read_row_group(self, group: int, columns: list[str] | None = None) -> pa.Table:
        """Row group `group` (of all the files, in order)."""
        f, g = self.index[group]
        return self.files[f].read_row_group(g, columns=columns)

    def close(self) -> None:
        """Close the files."""
        for file in self.files:
            file.close()


class _Census:
    """Pass 1 bookkeeping: how many pages, how many readable, why the others were not."""

    def __init__(self) -> None:
        self.pages = 0
        self.readable = 0
        self.reasons: Counter[str | None] = Counter()
        self.first_error = ""

    def watch(self, docs: Iterable[Document]) -> Iterator[Document]:
        """Pass the documents through, counting them."""
        for doc in docs:
            if self.pages == 0:
                self.first_error = doc.metadata.get("error", "")
            self.pages += 1
            if doc.status == STATUS_REJECTED:
                self.reasons[doc.reject_reason] += 1
            else:
                self.readable += 1
            yield doc

    def add(
        self, pages: int, readable: int, reasons: Counter[str | None], first_error: str
    ) -> None:
        """Count a partition's pages (partitions added in order)."""
        if self.pages == 0:
            self.first_error = first_error
        self.pages += pages
        self.readable += readable
        self.reasons.update(reasons)

    def raise_if_unreadable(self, sources: Sequence[str | Path]) -> None:
        """InputError when there was no page, or no page could be read."""
        if not self.pages:
            raise InputError(
                f"curate: no page found in {[str(s) for s in sources]}; "
                "pass files or directories holding .txt, .html/.htm or .jsonl pages"
            )
        if not self.readable:
            raise InputError(
                f"curate: none of the {self.pages} page(s) could be read ({dict(self.reasons)}); "
                f"first problem: {self.first_error}"
            )


class _Stats:
    """Pass 2 counts for the summary line and --strict."""

    def __init__(self) -> None:
        self.pages = 0
        self.rejected: Counter[str] = Counter()
        self.removals: Counter[str] = Counter()
        self.problems: list[str] = []

    def count(self, n_rows: int, rejected: list[tuple[str, str]]) -> None:
        """Count a chunk's pages and rejections (its edits are counted by the caller)."""
        self.pages += n_rows
        for reason, problem in rejected:
            self.rejected[reason] += 1
            if len(self.problems) < _MAX_PROBLEMS:
                self.problems.append(problem)


def _worker_count(workers: int | None, n_pages: int) -> int:
    """Cleaning processes: as `clean_documents` chooses them."""
    return worker_count(workers, n_pages, caller="curate")


@dataclass(frozen=True)
class CleanedChunk:
    """One chunk of pages cleaned and scanned: what a worker process sends back.

    Compact on purpose: the rows as an Arrow table (buffers, cheap to send), dedup's scan
    of the kept pages, and the few per-page facts the main process counts.
    """

    rows: pa.Table  # CORPUS_SCHEMA rows, dedup columns not filled in yet
    kept_rows: list[int]  # rows (in the chunk) of the pages that take part in dedup
    published: list[str | None]  # publication date of each of those pages
    scan: Scan | None  # dedup's scan of their texts, in that order (None: no such page)
    edit_counts: Counter[str]  # edits by reason
    edit_chars: Counter[str]  # raw characters edited, by reason
    rejected: list[tuple[str, str]]  # (reject reason, problem) of each rejected page

    @property
    def num_rows(self) -> int:
        return self.rows.num_rows


def clean_and_scan(
    pages: Iterable[Document],
    *,
    clean_config: CleanConfig,
    dedup_config: DedupConfig,
    learned: dict[str, frozenset[str]],
    workers: int = 1,
    executor: Executor | None = None,
) -> Iterator[CleanedChunk]:
    """Clean `pages` and scan the kept ones for dedup, chunk by chunk, in input order.

    Each chunk is cleaned, turned into corpus rows and scanned in one place: this process,
    or with `workers` > 1 a forked worker process (each using one dedup thread) of the
    corpus executor, at most two chunks per worker in flight, so memory stays bounded and
    the main process only writes rows and appends compact arrays. `executor` (e.g. a
    `DaskExecutor`) replaces the local one. The chunks are the same whatever the executor
    and worker count. Pure: no I/O.
    """
    chunks = _chunked(pages, _CHUNK_PAGES)
    cleaner = Cleaner(clean_config)  # one per run: its caches serve every chunk
    if executor is None and workers == 1:
        state = ChunkCleaner(cleaner, dedup_config, learned, MemoClock(cleaner))
        for chunk in chunks:
            yield _clean_chunk_job(state, chunk)
        return
    first = next(chunks, None)
    if first is None:
        return
    # Word data and matchers are loaded here, once: forked workers inherit them instead of
    # each loading them while the other waits for a core. (Dedup's Unicode tables are built
    # on a worker's first non-ASCII batch: ASCII text never needs them.)
    cleaner.warm_up()
    state = ChunkCleaner(cleaner, replace(dedup_config, workers=1), learned, MemoClock(cleaner))
    yield from (executor or local_executor(workers)).map(
        Job(_clean_chunk_job, state), itertools.chain([first], chunks)
    )


@dataclass(frozen=True)
class ChunkCleaner:
    """What cleaning a chunk needs besides its pages: handed to each worker once."""

    cleaner: Cleaner
    dedup_config: DedupConfig  # workers=1: the processes are the parallelism
    learned: dict[str, frozenset[str]]
    memos: MemoClock  # each worker's own count: its cleaner forgets its memos every 2,000 pages


def _clean_chunk_job(state: ChunkCleaner, docs: list[Document]) -> CleanedChunk:
    """`_clean_and_scan_chunk` of one chunk in a worker; the cleaner's memos are forgotten
    every `MEMO_PAGES` pages, so the worker's memory does not grow with the corpus."""
    chunk = _clean_and_scan_chunk(docs, state.cleaner, state.dedup_config, state.learned)
    state.memos.count(len(docs))
    return chunk


# A kept page's clean text needs at least this many words with letters, and letters in all.
MIN_CLEAN_WORDS = 3
MIN_CLEAN_LETTERS = 15
_WORD_WITH_LETTER = re.compile(r"\w*[^\W\d_]\w*")


def count_letters(text: str) -> int:
    """How many characters of `text` are letters (`str.isalpha`)."""
    return sum(1 for c in text if c.isalpha())


def has_letters(text: str, n: int) -> bool:
    """`count_letters(text) >= n`, reading only as far as the n-th letter (a page's first
    words nearly always hold them: a few characters read instead of 400 a page)."""
    if n <= 0:
        return True
    found = 0
    for c in text:
        if c.isalpha():
            found += 1
            if found >= n:
                return True
    return False


def reject_if_nearly_empty(doc: Document) -> Document:
    """The page rejected as `empty_text` when cleaning left (next to) nothing to annotate.

    A kept row with an empty or two-word text would become an empty task; the reason names
    the page so that its source (or an over-eager cleaning rule) can be checked.
    """
    if doc.status != STATUS_KEPT:
        return doc
    text = doc.clean_text
    words = len(_WORD_WITH_LETTER.findall(text)) if len(text) < 400 else MIN_CLEAN_WORDS
    if words >= MIN_CLEAN_WORDS and has_letters(text[:400], MIN_CLEAN_LETTERS):
        return doc
    letters = count_letters(text[:400])
    return doc.with_(
        status=STATUS_REJECTED,
        reject_reason="empty_text",
        metadata={
            **doc.metadata,
            "error": (
                f"{doc.source}: the clean text is {'empty' if not text.strip() else 'nearly empty'} "
                f"({len(text)} characters, {words} word(s), {letters} letter(s) after removing "
                f"{len(doc.edits)} edit(s) from {len(doc.raw_text)} raw characters); check the "
                "page, or the cleaning rules in configs/clean.yaml if the page has an article"
            ),
        },
    )


def _clean_and_scan_chunk(
    docs: list[Document],
    cleaner: Cleaner,
    dedup_config: DedupConfig,
    learned: dict[str, frozenset[str]],
) -> CleanedChunk:
    gc_was_enabled = gc.isenabled()
    gc.disable()  # cleaning makes no cycles; collections over many small objects only cost
    try:
        cleaned = _clean_pages_naming_failure(cleaner, docs, learned)
    finally:
        if gc_was_enabled:
            gc.enable()
    cleaned = [reject_if_nearly_empty(doc) for doc in cleaned]
    kept_rows: list[int] = []
    texts: list[str] = []
    published: list[str | None] = []
    rejected: list[tuple[str, str]] = []
    for row, doc in enumerate(cleaned):
        if doc.status == STATUS_KEPT:
            kept_rows.append(row)
            texts.append(doc.clean_text or doc.raw_text)
            published.append(doc.published)
        elif doc.status == STATUS_REJECTED:
            rejected.append((doc.reject_reason or "unknown", doc.metadata.get("error", doc.source)))
    rows = _rows_table(cleaned)
    edit_counts, edit_chars = _edits_by_reason(rows)
    return CleanedChunk(
        rows=rows,
        kept_rows=kept_rows,
        published=published,
        scan=scan_texts(texts, config=dedup_config) if texts else None,
        edit_counts=edit_counts,
        edit_chars=edit_chars,
        rejected=rejected,
    )


class CleaningError(RuntimeError):
    """Cleaning raised on a page: a bug in the cleaner, reported with the page."""


def _clean_pages_naming_failure(
    cleaner: Cleaner, docs: list[Document], learned: dict[str, frozenset[str]]
) -> list[Document]:
    """`cleaner.clean_pages(docs)`; when it raises, the pages are cleaned one by one to
    find the one that fails, and the error names it (in a worker too)."""
    try:
        return cleaner.clean_pages(docs, learned=learned)
    except Exception as batch_error:
        for doc in docs:
            try:
                cleaner.clean_pages([doc], learned=learned)
            except Exception as exc:
                raise CleaningError(
                    f"curate: cleaning failed on page {doc.source} (id {doc.id}): "
                    f"{type(exc).__name__}: {exc}. This is a bug in the cleaner: report it "
                    "with the page, or remove the page to go on"
                ) from exc
        raise batch_error


def _edits_by_reason(rows: pa.Table) -> tuple[Counter[str], Counter[str]]:
    """Edits and raw characters edited, by reason, over the rows' removals (one Arrow
    group-by instead of two counter updates per edit)."""
    removals = pc.list_flatten(rows.column("removals"))
    if len(removals) == 0:
        return Counter(), Counter()
    table = pa.table(
        {
            "reason": pc.struct_field(removals, "reason"),
            "chars": pc.subtract(
                pc.struct_field(removals, "raw_end"), pc.struct_field(removals, "raw_start")
            ),
        }
    )
    totals = table.group_by("reason").aggregate([("chars", "count"), ("chars", "sum")])
    reasons = totals.column("reason").to_pylist()
    return (
        Counter(dict(zip(reasons, totals.column("chars_count").to_pylist(), strict=True))),
        Counter(dict(zip(reasons, totals.column("chars_sum").to_pylist(), strict=True))),
    )


def _chunked(items: Iterable[Document], size: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _rows_table(docs: Sequence[Document]) -> pa.Table:
    """The corpus rows of `docs` as an Arrow table with CORPUS_SCHEMA: the same values as
    `Document.to_row()`, built column by column (the edits and offset maps go in as flat
    arrays, not one dict per element, which is most of the cost of a chunk's rows)."""
    strings = pa.string()

    def column(name: str) -> list[Any]:
        return [getattr(d, name) for d in docs]

    edit_counts = [len(d.edits) for d in docs]
    maps = [d.offset_map or OffsetMap([]) for d in docs]
    map_counts = [len(m) for m in maps]
    edits = [e for d in docs for e in d.edits]
    # one transpose of the (start, end, replacement, reason) tuples instead of a pass each
    starts, ends, replacements, reasons = zip(*edits, strict=True) if edits else ((),) * 4
    removals = pa.ListArray.from_arrays(
        pa.array(np.concatenate(([0], np.cumsum(edit_counts, dtype=np.int64))), pa.int32()),
        pa.StructArray.from_arrays(
            [
                pa.array(reasons, strings),
                pa.array(starts, pa.int64()),
                pa.array(ends, pa.int64()),
                pa.array([d.raw_text[e.start : e.end] for d in docs for e in d.edits], strings),
                pa.array(replacements, strings),
            ],
            fields=list(_REMOVAL),
        ),
    )
    map_offsets = pa.array(np.concatenate(([0], np.cumsum(map_counts, dtype=np.int64))), pa.int32())
    map_columns = [m.to_arrays() for m in maps]
    map_lists = [
        pa.ListArray.from_arrays(
            map_offsets,
            pa.array(np.frombuffer(b"".join(c[i].tobytes() for c in map_columns), dtype=np.int64)),
        )
        for i in range(4)
    ]
    copies = np.frombuffer(b"".join(c[4] for c in map_columns), dtype=np.uint8).astype(bool)
    map_lists.append(pa.ListArray.from_arrays(map_offsets, pa.array(copies)))
    offset_map = pa.StructArray.from_arrays(map_lists, fields=list(_OFFSET_MAP))
    paragraphs = [
        [
            {**p, "cluster": None if p.get("cluster") is None else str(p["cluster"])}
            for p in d.duplicate_paragraphs
        ]
        for d in docs
    ]
    arrays = {
        "id": pa.array(column("id"), strings),
        "source": pa.array(column("source"), strings),
        "url": pa.array(column("url"), strings),
        "site": pa.array(column("site"), strings),
        "title": pa.array(column("title"), strings),
        "published": pa.array(column("published"), strings),
        "authors": pa.array([list(d.authors) for d in docs], pa.list_(strings)),
        "clean_text": pa.array(column("clean_text"), strings),
        "raw_text": pa.array(column("raw_text"), strings),
        "removals": removals,
        "offset_map": offset_map,
        "content_hash": pa.array([content_hash(d.clean_text) for d in docs], strings),
        "status": pa.array(column("status"), strings),
        "reject_reason": pa.array(column("reject_reason"), strings),
        "duplicate_of": pa.array(column("duplicate_of"), strings),
        "cluster_id": pa.array(column("cluster_id"), strings),
        "similarity": pa.array(column("similarity"), pa.float64()),
        "containment": pa.array(column("containment"), pa.float64()),
        "duplicate_paragraphs": pa.array(
            paragraphs, CORPUS_SCHEMA.field("duplicate_paragraphs").type
        ),
        "metadata": pa.array(
            [json.dumps(d.metadata, ensure_ascii=False, sort_keys=True, default=str) for d in docs],
            strings,
        ),
    }
    return pa.Table.from_arrays(
        [arrays[name] for name in CORPUS_SCHEMA.names], schema=CORPUS_SCHEMA
    )


class _TextReader:
    """The dedup text (clean_text, or raw_text when empty) of rows of the temporary table,
    read one row group at a time."""

    def __init__(self, table: RowGroups) -> None:
        self.table = table
        sizes = [table.group_rows(i) for i in range(table.num_row_groups)]
        self.starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        self._group = -1
        self._texts: list[str] = []

    def texts(self, rows: np.ndarray) -> list[str]:
        out = []
        for row in rows.tolist():
            group = int(np.searchsorted(self.starts, row, side="right")) - 1
            if group != self._group:
                part = self.table.read_row_group(group, columns=["clean_text", "raw_text"])
                self._texts = [
                    c or r
                    for c, r in zip(
                        part["clean_text"].to_pylist(), part["raw_text"].to_pylist(), strict=True
                    )
                ]
                self._group = group
            out.append(self._texts[row - int(self.starts[group])])
        return out


def _write_final(
    partial: RowGroups,
    corpus_path: Path,
    positions: np.ndarray,
    decision: DedupDecision | None,
    builder: ReportBuilder,
) -> None:
    """Stream the temporary table into corpus.parquet with the dedup outcome filled in,
    feeding the report builder on the way."""
    n_rows = partial.num_rows
    participant = np.full(n_rows, -1, dtype=np.int64)
    participant[positions] = np.arange(len(positions))
    if decision is not None:
        keeper = decision.rows["keeper"].to_numpy(dtype=np.int64)
        similarity = decision.rows["similarity"].to_numpy(dtype=np.float64)
        contained = decision.rows["containment"].to_numpy(dtype=np.float64)
        cluster_keeper = decision.rows["cluster_keeper"].to_numpy(dtype=np.int64)
        hits = decision.paragraph_hits
    else:
        keeper = cluster_keeper = np.zeros(0, dtype=np.int64)
        similarity = contained = np.zeros(0)
        hits = pd.DataFrame({"doc": [], "line": [], "key": [], "cluster": []})
    keepers = _keeper_ids(partial, positions, keeper, cluster_keeper)
    hit_docs = hits["doc"].to_numpy(dtype=np.int64)
    with pq.ParquetWriter(corpus_path, CORPUS_SCHEMA) as writer:
        start = 0
        for group in range(partial.num_row_groups):
            table = partial.read_row_group(group)
            stop = start + table.num_rows
            parts = participant[start:stop]
            present = parts[parts >= 0]
            lo, hi = (int(present[0]), int(present[-1]) + 1) if len(present) else (0, 0)
            a, b = np.searchsorted(hit_docs, [lo, hi])
            group_hits = hits.iloc[a:b]
            texts_by_doc = {}
            if len(group_hits):
                clean, raw = table["clean_text"].to_pylist(), table["raw_text"].to_pylist()
                for doc in np.unique(group_hits["doc"].to_numpy()).tolist():
                    row = int(positions[doc]) - start
                    texts_by_doc[doc] = clean[row] or raw[row]
            paragraphs: dict[int, list[dict[str, Any]]] = {}
            for doc, p_start, p_end, cluster in paragraph_ranges(
                texts_by_doc, group_hits
            ).itertuples(index=False):
                paragraphs.setdefault(int(doc), []).append(
                    {"start": int(p_start), "end": int(p_end), "cluster": cluster}
                )
            ids = table["id"].to_pylist()
            status = table["status"].to_pylist()
            duplicate_of = table["duplicate_of"].to_pylist()
            cluster_id = table["cluster_id"].to_pylist()
            sim = table["similarity"].to_pylist()
            cont = table["containment"].to_pylist()
            dup_paragraphs = table["duplicate_paragraphs"].to_pylist()
            for j, doc in enumerate(parts.tolist()):
                if doc < 0:
                    continue
                k = int(keeper[doc])
                is_dup = k != doc
                keeper_id = keepers[k][0] if is_dup else ids[j]
                status[j] = STATUS_DUPLICATE if is_dup else STATUS_KEPT
                duplicate_of[j] = keeper_id if is_dup else None
                c = int(cluster_keeper[doc])
                cluster_id[j] = f"c-{keepers[c][0] if c != doc else ids[j]}"
                sim[j] = float(similarity[doc])
                cont[j] = float(contained[doc])
                dup_paragraphs[j] = paragraphs.get(doc, [])
            for name, values in (
                ("status", status),
                ("duplicate_of", duplicate_of),
                ("cluster_id", cluster_id),
                ("similarity", sim),
                ("containment", cont),
                ("duplicate_paragraphs", dup_paragraphs),
            ):
                index = CORPUS_SCHEMA.get_field_index(name)
                table = table.set_column(
                    index,
                    CORPUS_SCHEMA.field(index),
                    pa.array(values, CORPUS_SCHEMA.field(index).type),
                )
            _feed_report(builder, table, parts, keeper, keepers)
            writer.write_table(table)
            start = stop


def _keeper_ids(
    partial: RowGroups, positions: np.ndarray, keeper: np.ndarray, cluster_keeper: np.ndarray
) -> dict[int, tuple[str, str]]:
    """(id, source) of every participant that keeps at least one duplicate or names the
    cluster of another page."""
    others = np.arange(len(keeper))
    wanted = np.unique(
        np.concatenate((keeper[keeper != others], cluster_keeper[cluster_keeper != others]))
    )
    rows = positions[wanted] if len(wanted) else np.zeros(0, dtype=np.int64)
    out: dict[int, tuple[str, str]] = {}
    start = 0
    for group in range(partial.num_row_groups):
        stop = start + partial.group_rows(group)
        a, b = np.searchsorted(rows, [start, stop])
        if b > a:
            part = partial.read_row_group(group, columns=["id", "source"])
            ids, sources = part["id"].to_pylist(), part["source"].to_pylist()
            for doc, row in zip(wanted[a:b].tolist(), rows[a:b].tolist(), strict=True):
                out[doc] = (ids[row - start], sources[row - start])
        start = stop
    return out


def _feed_report(
    builder: ReportBuilder,
    table: pa.Table,
    parts: np.ndarray,
    keeper: np.ndarray,
    keepers: dict[int, tuple[str, str]],
) -> None:
    """Final status of each row of `table` (and the first documents' views) to the report."""
    light = table.select(
        [
            "source",
            "status",
            "reject_reason",
            "duplicate_of",
            "cluster_id",
            "similarity",
            "containment",
            "metadata",
        ]
    ).to_pylist()
    for j, row in enumerate(light):
        status = row["status"]
        doc = int(parts[j])
        builder.add_status(
            status,
            source=row["source"],
            reject_reason=row["reject_reason"],
            error=json.loads(row["metadata"]).get("error", "") if status == STATUS_REJECTED else "",
            duplicate_of=row["duplicate_of"],
            cluster_id=row["cluster_id"],
            similarity=row["similarity"],
            containment=row["containment"],
            keeper_source=keepers[int(keeper[doc])][1] if status == STATUS_DUPLICATE else None,
        )
        if status != STATUS_REJECTED:
            if builder.wants_document():
                builder.add_document(Document.from_row(table.slice(j, 1).to_pylist()[0]))
            else:
                builder.add_document_unshown()
