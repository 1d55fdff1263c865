"""What a cleaning worker keeps between tasks: its memory must not grow with the corpus.

A worker's `Cleaner` memoises what it computed for lines and words it has seen (line facts
and features, line keys, glue token decisions, word frequencies). Each memo is bounded by
an entry count, but on real pages most lines and words are new, so the memos fill slowly
and a worker's memory grew with the number of pages it had cleaned. The boilerplate lines
that make the memos pay recur on every page of a site, so a memo filled afresh every
`MEMO_PAGES` pages keeps nearly all of its hits: workers forget their memos at that
boundary (a Dask partition, or every `MEMO_PAGES` pages of the local curate's chunks), and
hand the freed memory back to the system.
"""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass
from functools import cache

from .. import glue
from ..boilerplate import cached_key_count
from ..clean import Cleaner

MEMO_PAGES = 2_000  # pages a worker cleans between two forgettings (= a default partition)


@dataclass
class MemoClock:
    """Counts the pages a worker's `cleaner` cleans and forgets its memos every `pages`
    pages (at the end of the chunk that reaches it). One per worker process: forked or
    unpickled workers each count their own pages."""

    cleaner: Cleaner
    pages: int = MEMO_PAGES
    seen: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.pages, bool) or not isinstance(self.pages, int) or self.pages < 1:
            raise ValueError(f"MemoClock: pages={self.pages!r} must be an integer >= 1")

    def count(self, pages: int) -> None:
        """`pages` more pages were cleaned: forget the memos if that makes `self.pages`."""
        self.seen += pages
        if self.seen >= self.pages:
            forget_memos(self.cleaner)
            self.seen = 0


def forget_memos(cleaner: Cleaner) -> None:
    """Empty `cleaner`'s memos (`Cleaner.forget_memos`) and return the freed memory to the
    system (`release_free_memory`)."""
    cleaner.forget_memos()
    release_free_memory()


def memo_sizes(cleaner: Cleaner) -> dict[str, int]:
    """How many entries each memo that `cleaner` uses holds now (what `forget_memos`
    empties)."""
    return {
        "line facts": len(cleaner.scanner.facts),
        "line features": cleaner.featurizer.size,
        "line keys": cached_key_count(),
        "glue tokens": cleaner.glue.decided_tokens(),
        "word frequencies": glue.memoised_frequencies(),
    }


def release_free_memory() -> None:
    """Ask the C allocator to return its free memory to the system (glibc's `malloc_trim`).

    Freed blocks in the middle of glibc's heap stay counted in a process's resident memory
    until trimmed, and new allocations land elsewhere as the heap fragments: without this a
    worker's resident memory crept up partition after partition. Does nothing where the C
    library has no `malloc_trim` (macOS, musl)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]  # ctypes' own type
    """glibc's `malloc_trim`, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # this process's symbols: the C library's among them
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    return trim
