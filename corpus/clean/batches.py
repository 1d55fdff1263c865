"""Cleaning many pages: learn each site's boilerplate, then clean in this process or in worker
processes of the corpus executor (`corpus.parallel`), handed the batch and the `Cleaner` in a
`Job`."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .. import glue
from ..boilerplate import BoilerplateCounter, clear_key_cache, page_line_keys
from ..parallel import Job, local_executor
from ..records import Document
from .config import CleanConfig
from .page import Cleaner

PARALLEL_MIN_PAGES = 2_000  # below this, worker start-up costs more than it saves
_CHUNK_PAGES = 250  # pages per task sent to a worker


@dataclass(frozen=True)
class _Batch:
    """What a cleaning worker holds: the whole batch (inherited on fork, not copied), the
    cleaner and the learned boilerplate; only page ranges travel with the tasks."""

    docs: list[Document]
    cleaner: Cleaner
    learned: dict[str, frozenset[str]]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many small objects are made.

    Cleaning makes no reference cycles (refcounting frees everything), but its
    allocations keep triggering full collections over the growing result; pausing the
    collector saves ~10% of cleaning and more than half of unpickling worker results.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _clean_range(batch: _Batch, bounds: tuple[int, int]) -> list[Document]:
    """Clean docs[start:end] of the batch."""
    start, end = bounds
    with _gc_paused():
        return batch.cleaner.clean_pages(batch.docs[start:end], learned=batch.learned)


def worker_count(workers: int | None, n_docs: int, *, caller: str = "clean_documents") -> int:
    """Cleaning processes: one per CPU from PARALLEL_MIN_PAGES pages on, else one; an
    explicit count must be >= 1 (`caller` names the function in the message)."""
    if workers is None:
        return (os.cpu_count() or 1) if n_docs >= PARALLEL_MIN_PAGES else 1
    if workers < 1:
        raise ValueError(
            f"{caller}: workers={workers!r} is not a process count; pass an integer "
            ">= 1 (1 = clean in this process) or None to choose by the number of pages"
        )
    return workers


def clear_caches() -> None:
    """Empty the cleaner's memo caches (line facts, line keys, glue decisions, word
    frequencies): what a fresh process starts with. They are bounded anyway; benchmarks
    call this so that every run starts cold, as `contraband curate` does."""
    clear_key_cache()
    glue.clear_caches()


def warm_up(config: CleanConfig) -> None:
    """Build the per-config matchers and load the word data once, before workers fork
    (they inherit it instead of each loading it while the other waits for a core)."""
    glue.warm_up(config.glue)


def boilerplate_counter(config: CleanConfig) -> BoilerplateCounter:
    """An empty boilerplate counter with the thresholds of `config`; feed it
    `page_line_keys(doc, max_words=config.boilerplate_max_words)` of every page."""
    return BoilerplateCounter(
        min_pages=config.boilerplate_min_pages,
        min_fraction=config.boilerplate_min_fraction,
        sketch_lg_size=config.boilerplate_sketch_lg_size,
    )


def learn_boilerplate(
    docs: Iterable[Document], *, config: CleanConfig
) -> dict[str, frozenset[str]]:
    """Each site's learned boilerplate line keys, with the thresholds of `config`."""
    counter = boilerplate_counter(config)
    for doc in docs:
        counter.add(page_line_keys(doc, max_words=config.boilerplate_max_words))
    return counter.learned()


def clean_documents(
    docs: Iterable[Document], *, config: CleanConfig, workers: int | None = None
) -> list[Document]:
    """Clean a batch: learn each site's boilerplate from the batch, then clean every
    non-rejected document (rejected ones pass through unchanged, in input order).

    `workers`: processes that run `clean_page`. None (default) cleans in this process
    below PARALLEL_MIN_PAGES pages and uses one process per CPU above; 1 always stays
    in-process. The result is the same, in the same order, whatever the count. Workers
    are forked where the platform allows it, so the batch is not copied to them.
    """
    docs = list(docs)
    learned = learn_boilerplate(docs, config=config)
    cleaner = Cleaner(config)
    n_workers = min(worker_count(workers, len(docs)), max(1, len(docs)))
    if n_workers == 1:
        with _gc_paused():
            return [
                page
                for start in range(0, len(docs), _CHUNK_PAGES)
                for page in cleaner.clean_pages(docs[start : start + _CHUNK_PAGES], learned=learned)
            ]
    chunk = max(1, min(_CHUNK_PAGES, -(-len(docs) // (4 * n_workers))))
    cleaner.warm_up()
    bounds = [(start, min(start + chunk, len(docs))) for start in range(0, len(docs), chunk)]
    job = Job(_clean_range, _Batch(docs, cleaner, learned))
    with _gc_paused():
        return [doc for part in local_executor(n_workers).map(job, bounds) for doc in part]
