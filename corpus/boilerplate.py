"""Learn each site's boilerplate: lines that recur across many pages of the same site.

Hand-written chrome rules only know the layouts someone has seen; a footer, a menu or a
"Most popular" heading that appears on most pages of a site is found here from the data.
Lines are compared through `line_key` (case, spacing and digits folded, so the scrape
timestamps "July 15, 2020 08:12" and "July 12, 2020 13:37" share one key).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable

from .records import STATUS_REJECTED, Document, content_hash

_DIGITS = re.compile(r"\d")
_ASCII_DIGITS = str.maketrans("123456789", "000000000")


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
        text = line.lower().translate(_ASCII_DIGITS)
    else:
        text = _DIGITS.sub("0", unicodedata.normalize("NFKC", line).casefold())
    key = " ".join(text.split())  # str.split() splits on exactly the characters \s matches
    if len(line) <= _KEY_CACHE_LINE_CHARS:
        if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
            _KEY_CACHE.clear()
        _KEY_CACHE[line] = key
    return key


def learn_site_boilerplate(
    docs: Iterable[Document],
    *,
    min_pages: int,
    min_fraction: float,
    max_words: int = 12,
) -> dict[str, frozenset[str]]:
    """Per site, the `line_key`s of short lines found on at least `min_pages` pages and
    at least `min_fraction` of that site's pages.

    Rejected documents are ignored, and pages with identical raw text count once, so a
    page scraped twice cannot turn its own captions into boilerplate. Lines longer than
    `max_words` words are never learned: article paragraphs repeated across pages are
    duplicates for dedup to judge, not chrome.
    """
    if min_pages < 1:
        raise ValueError(f"min_pages must be >= 1, got {min_pages}")
    pages_per_site: Counter[str] = Counter()
    line_pages: dict[str, Counter[str]] = defaultdict(Counter)
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        if doc.status == STATUS_REJECTED:
            continue
        site = doc.site or ""
        marker = (site, content_hash(doc.raw_text))
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
        for key in keys:
            if key and len(key.split()) <= max_words:
                line_pages[site][key] += 1
    learned: dict[str, frozenset[str]] = {}
    for site, n_pages in pages_per_site.items():
        threshold = max(min_pages, min_fraction * n_pages)
        learned[site] = frozenset(k for k, n in line_pages[site].items() if n >= threshold)
    return learned
