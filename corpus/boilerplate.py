"""Learn each site's boilerplate: lines that recur across many pages of the same site.

Hand-written chrome rules only know the layouts someone has seen; a footer, a menu or a
"Most popular" heading that appears on most pages of a site is found here from the data.
Lines are compared through `line_key` (case, spacing and digits folded, so the scrape
timestamps "July 15, 2020 08:12" and "July 12, 2020 13:37" share one key).

Memory stays bounded however many pages a site has: each site's line counts live in a
frequent-items sketch (Apache DataSketches, Misra-Gries with a fixed map size). Until a
site has more distinct short lines than the map holds, the counts are exact; past that, the
sketch forgets rare lines and each count has an error bound, and a line is learned when its
upper bound reaches the threshold, so no line at or above it is missed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

import xxhash
from datasketches import frequent_items_error_type, frequent_strings_sketch

from .records import STATUS_REJECTED, Document

_DIGITS = re.compile(r"\d")
_ASCII_DIGITS = bytes.maketrans(b"123456789", b"000000000")  # bytes.translate: C speed


# Short lines (menus, headings, captions) recur on many pages: their keys are cached.
# Long lines are mostly unique paragraphs and are not. Cleared when full: bounded memory.
_KEY_CACHE: dict[str, str] = {}
_KEY_CACHE_MAX = 200_000
_KEY_CACHE_LINE_CHARS = 200


def line_key(line: str) -> str:
    """Normalised form of a line used to recognise it across pages (and within one)."""
    key = _KEY_CACHE.get(line)
    if key is not None:
        return key
    if line.isascii():  # NFKC leaves ASCII alone and casefold() is lower() there
        text = normalised_key(line)
    else:
        text = _DIGITS.sub("0", unicodedata.normalize("NFKC", line).casefold())
    key = " ".join(text.split())  # str.split() splits on exactly the characters \s matches
    if len(line) <= _KEY_CACHE_LINE_CHARS:
        if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
            _KEY_CACHE.clear()
        _KEY_CACHE[line] = key
    return key


def normalised_key(text: str) -> str:
    """What `line_key` makes of an ASCII line before it joins the words with single
    spaces: lower case, digits 0. For an ASCII text whose words are already joined so,
    this is its `line_key` (case and digit folding leave the spaces alone)."""
    return text.encode("ascii").lower().translate(_ASCII_DIGITS).decode("ascii")


DEFAULT_SKETCH_LG_SIZE = 14  # 2**14 map slots per site: ~12k lines counted exactly


def cached_key_count() -> int:
    """How many line keys are cached now."""
    return len(_KEY_CACHE)


def clear_key_cache() -> None:
    """Forget the cached keys of short lines (they refill on use)."""
    _KEY_CACHE.clear()


def page_line_keys(doc: Document, *, max_words: int) -> tuple[str, int, tuple[str, ...]] | None:
    """What boilerplate learning needs of one page: its site, a 128-bit digest of (site,
    raw text) that marks copies of the page, and the distinct keys of its lines of at most
    `max_words` words, sorted (the sketch sees them in the same order in every run, which
    keeps its answer the same past the exact regime too). None for a rejected page. Pure:
    it runs in worker processes."""
    if doc.status == STATUS_REJECTED:
        return None
    site = doc.site or ""
    marker = xxhash.xxh3_128_intdigest(f"{site}\0{doc.raw_text}".encode("utf-8", "surrogatepass"))
    keys = set()
    if doc.raw_text.isascii():
        # line_key of an ASCII line is its normalised_key with the words joined by single
        # spaces, and normalised_key maps character to character: fold the whole page at
        # once, then split each line no further than max_words + 1 pieces
        for line in normalised_key(doc.raw_text).splitlines():
            words = line.split(None, max_words)
            if len(words) <= max_words:
                keys.add(" ".join(words))
        keys.discard("")
        return site, marker, tuple(sorted(keys))
    for line in doc.raw_text.splitlines():
        if line.isascii():
            # an ASCII line keeps its words in its key: count them on the line, and skip
            # a long line unkeyed
            if len(line.split(None, max_words)) <= max_words:
                keys.add(line_key(line))
        else:
            key = line_key(line)
            if len(key.split()) <= max_words:
                keys.add(key)
    keys.discard("")
    return site, marker, tuple(sorted(keys))


class BoilerplateCounter:
    """Counts, per site, on how many pages each short line occurs, and tells which lines
    reach the thresholds (see `learn_site_boilerplate`). Pages are fed as `page_line_keys`
    results, in any order; copies of a page (same marker) count once."""

    def __init__(
        self,
        *,
        min_pages: int,
        min_fraction: float,
        sketch_lg_size: int = DEFAULT_SKETCH_LG_SIZE,
    ) -> None:
        if min_pages < 1:
            raise ValueError(f"min_pages must be >= 1, got {min_pages}")
        if not 3 <= sketch_lg_size <= 26:
            raise ValueError(f"sketch_lg_size must be between 3 and 26, got {sketch_lg_size}")
        self.min_pages = min_pages
        self.min_fraction = min_fraction
        self.sketch_lg_size = sketch_lg_size
        self.pages_per_site: Counter[str] = Counter()
        self.line_pages: dict[str, frequent_strings_sketch] = {}
        self.seen: set[int] = set()  # 128-bit digests of (site, raw text): 1M pages ~ 80 MB

    def add(self, page: tuple[str, int, tuple[str, ...]] | None) -> None:
        if page is None:
            return
        site, marker, keys = page
        if marker in self.seen:
            return
        self.seen.add(marker)
        self.pages_per_site[site] += 1
        sketch = self.line_pages.get(site)
        if sketch is None:
            sketch = self.line_pages[site] = frequent_strings_sketch(self.sketch_lg_size)
        for key in keys:
            sketch.update(key)

    def site_counts(self) -> dict[str, tuple[int, bytes]]:
        """Per site, its page count and its serialized sketch: what a partition of the pages
        sends back to be merged with `merge_site_counts` (sketches do not pickle)."""
        return {
            site: (n_pages, self.line_pages[site].serialize() if site in self.line_pages else b"")
            for site, n_pages in self.pages_per_site.items()
        }

    def merge_site_counts(self, counts: dict[str, tuple[int, bytes]]) -> None:
        """Add another counter's `site_counts` (pages it saw that this one did not).

        While a site has fewer distinct lines than the sketch holds exactly (~3/4 of
        2**sketch_lg_size), the merged counts are the counts over all the pages; beyond it
        they keep the sketch's error bound, with no line at or above a threshold missed.
        Copies of a page across counters are not seen here: the caller leaves them out.
        """
        for site, (n_pages, sketch_bytes) in counts.items():
            self.pages_per_site[site] += n_pages
            if not sketch_bytes:
                continue
            other = frequent_strings_sketch.deserialize(sketch_bytes)
            sketch = self.line_pages.get(site)
            if sketch is None:
                self.line_pages[site] = other
            else:
                sketch.merge(other)

    def learned(self) -> dict[str, frozenset[str]]:
        learned: dict[str, frozenset[str]] = {}
        for site, n_pages in self.pages_per_site.items():
            threshold = max(self.min_pages, self.min_fraction * n_pages)
            sketch = self.line_pages.get(site)
            candidates = (
                sketch.get_frequent_items(frequent_items_error_type.NO_FALSE_NEGATIVES, 0)
                if sketch is not None
                else []
            )
            # (item, estimate, lower bound, upper bound); exact counts have all three equal
            learned[site] = frozenset(
                item for item, _, _, upper in candidates if upper >= threshold
            )
        return learned


def learn_site_boilerplate(
    docs: Iterable[Document],
    *,
    min_pages: int,
    min_fraction: float,
    max_words: int = 12,
    sketch_lg_size: int = DEFAULT_SKETCH_LG_SIZE,
) -> dict[str, frozenset[str]]:
    """Per site, the `line_key`s of short lines found on at least `min_pages` pages and
    at least `min_fraction` of that site's pages.

    Rejected documents are ignored, and pages with identical raw text count once, so a
    page scraped twice cannot turn its own captions into boilerplate. Lines longer than
    `max_words` words are never learned: article paragraphs repeated across pages are
    duplicates for dedup to judge, not chrome.

    Each site's counts are kept in a frequent-items sketch of 2**`sketch_lg_size` slots:
    exact while the site has fewer distinct short lines than about 3/4 of that, and
    bounded (no line that reaches the threshold is missed) beyond it.
    """
    counter = BoilerplateCounter(
        min_pages=min_pages, min_fraction=min_fraction, sketch_lg_size=sketch_lg_size
    )
    for doc in docs:
        counter.add(page_line_keys(doc, max_words=max_words))
    return counter.learned()
