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


def clear_key_cache() -> None:
    """Forget the cached keys of short lines (they refill on use)."""
    _KEY_CACHE.clear()


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
    if min_pages < 1:
        raise ValueError(f"min_pages must be >= 1, got {min_pages}")
    if not 3 <= sketch_lg_size <= 26:
        raise ValueError(f"sketch_lg_size must be between 3 and 26, got {sketch_lg_size}")
    pages_per_site: Counter[str] = Counter()
    line_pages: dict[str, frequent_strings_sketch] = {}
    seen: set[int] = set()  # 128-bit digests of (site, raw text): 1M pages ~ 80 MB
    for doc in docs:
        if doc.status == STATUS_REJECTED:
            continue
        site = doc.site or ""
        marker = xxhash.xxh3_128_intdigest(
            f"{site}\0{doc.raw_text}".encode("utf-8", "surrogatepass")
        )
        if marker in seen:
            continue
        seen.add(marker)
        pages_per_site[site] += 1
        keys = set()
        for line in doc.raw_text.splitlines():
            # an ASCII line keeps its words in its key: a long one can be skipped unkeyed
            if line.isascii() and len(line.split(None, max_words)) > max_words:
                continue
            keys.add(line_key(line))
        sketch = line_pages.get(site)
        if sketch is None:
            sketch = line_pages[site] = frequent_strings_sketch(sketch_lg_size)
        for key in keys:
            if key and len(key.split()) <= max_words:
                sketch.update(key)
    learned: dict[str, frozenset[str]] = {}
    for site, n_pages in pages_per_site.items():
        threshold = max(min_pages, min_fraction * n_pages)
        sketch = line_pages.get(site)
        candidates = (
            sketch.get_frequent_items(frequent_items_error_type.NO_FALSE_NEGATIVES, 0)
            if sketch is not None
            else []
        )
        # (item, estimate, lower bound, upper bound); exact counts have all three equal
        learned[site] = frozenset(item for item, _, _, upper in candidates if upper >= threshold)
    return learned
