"""The rules that claim a page's lines, one small function each, over one named record.

`PageLines` holds a page's lines (raw positions, text, `LineFacts`, the classifier's content
probability) and, per line, the reason it is removed (None: kept). Each `mark_*` rule claims
unclaimed lines on evidence found on those lines and records what it learns (title, date,
authors, photo credits) on the record; `page.py` runs them in order and turns the reasons into
edits. The order is the package docstring's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..boilerplate import line_key
from ..records import Document
from .config import CleanConfig
from .dates import parse_date_line
from .lines import LineFacts, LineScanner, _ends_sentence, _no_match, _split_lines
from .text import _LOWER_START, _alnum_key, _lower_prefix, _parse_names, _similarity_at_least

CLASSIFIED = "boilerplate_line"  # reason of lines the line classifier scores as not content


@dataclass
class PageLines:
    """One page as the rules see it, and what they have decided so far."""

    doc: Document
    raw: str
    starts: list[int]  # raw start of each line
    content_ends: list[int]  # raw end of each line's content (before its line break)
    ends: list[int]  # raw end of each line, line break included
    texts: list[str]
    facts: list[LineFacts]
    content_p: list[float]  # the classifier's P(content); 1.0 where it did not run
    nonblank: list[int]
    reasons: list[str | None]
    title: str | None
    published: str | None
    authors: list[str]
    metadata: dict[str, Any]
    title_index: int | None = None
    title_span: tuple[int, int] | None = None  # raw range of a title read from the text
    head_end: int = 0
    credits: list[str] = field(default_factory=list)
    credit_matches: dict[int, re.Match[str] | None] = field(default_factory=dict)

    @property
    def n_words(self) -> list[int]:
        return [f.n_words for f in self.facts]

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.facts]


def read_page(
    doc: Document,
    scanner: LineScanner,
    *,
    scores: tuple[list[int], Any] | None = None,
) -> PageLines:
    """The page's lines and their facts; nothing claimed yet. `scores`: the classifier's
    content probabilities and the line numbers they belong to (other lines count as 1.0)."""
    raw = doc.raw_text
    starts, content_ends, ends, texts = _split_lines(raw)
    facts = [scanner.line_facts(text) for text in texts]
    content_p = [1.0] * len(texts)
    if scores is not None:
        for i, p in zip(*scores, strict=True):
            content_p[i] = float(p)
    return PageLines(
        doc=doc,
        raw=raw,
        starts=starts,
        content_ends=content_ends,
        ends=ends,
        texts=texts,
        facts=facts,
        content_p=content_p,
        nonblank=[i for i, f in enumerate(facts) if f.n_words],
        reasons=[None] * len(texts),
        title=doc.title,
        published=doc.published,
        authors=list(doc.authors),
        metadata=dict(doc.metadata),
    )


# -- 1. chrome ---------------------------------------------------------------------------------


def mark_chrome(page: PageLines) -> None:
    """Menu lines and whole-line chrome patterns."""
    for i in page.nonblank:
        if page.facts[i].chrome:
            page.reasons[i] = "site_chrome"


def mark_classified(page: PageLines, threshold: float) -> None:
    """Lines the classifier scores below `threshold`: page chrome in any language."""
    for i in page.nonblank:
        if page.reasons[i] is None and page.content_p[i] < threshold:
            page.reasons[i] = CLASSIFIED


# -- 2. the head: title, dateline, scrape timestamps -------------------------------------------

_URL_WORDS = re.compile(r"[^\W_]+")


def find_head_end(page: PageLines, config: CleanConfig) -> int:
    """The first article paragraph (a kept long line that ends a sentence), or the line
    after `head_max_lines` kept lines."""
    seen = 0
    for i in page.nonblank:
        if page.reasons[i] is not None:
            continue
        seen += 1
        facts = page.facts[i]
        if (
            facts.n_words >= config.paragraph_min_words and _ends_sentence(page.texts[i].strip())
        ) or seen > config.head_max_lines:
            return i
    return len(page.texts)


def title_evidence(page: PageLines, i: int, head: list[int]) -> bool:
    """Whether a kept head line is the page's headline, on evidence: it is the first kept
    line of the page, a markdown heading, most of its words are in the URL, or another
    line of the head (the page's <title>, an image alt text) contains it."""
    text = page.texts[i].strip()
    if text.startswith("#") or i == next((j for j in head if page.reasons[j] is None), None):
        return True
    words = [w.casefold() for w in _URL_WORDS.findall(text)]
    url = page.doc.url
    if url and words:
        in_url = set(_URL_WORDS.findall(url.casefold()))
        if sum(w in in_url for w in words) >= max(2, 0.6 * len(words)):
            return True
    key = _alnum_key(text)
    if len(key) < 12:
        return False
    return any(j != i and key in _alnum_key(page.texts[j]) for j in head)


def classified_title(
    page: PageLines, head: list[int], near: set[int], config: CleanConfig
) -> int | None:
    """The headline among the last head lines the classifier removed, when no kept line
    there looks like one: the longest title-like line (a headline outgrows the menu items
    and counters around it)."""
    if any(page.reasons[i] is None and page.facts[i].n_words >= 3 for i in near):
        return None
    best: int | None = None
    for i in head:
        if i not in near or page.reasons[i] != CLASSIFIED:
            continue
        text = page.texts[i].strip()
        n_words = page.facts[i].n_words
        if not 3 <= n_words <= config.title_max_words or text.endswith(".") or "](" in text:
            continue
        if parse_date_line(text, day_first=config.day_first) is not None:
            continue
        if config.byline_pattern.match(text):
            continue
        if best is None or n_words > page.facts[best].n_words:
            best = i
    return best


def mark_head(page: PageLines, config: CleanConfig, boilerplate: frozenset[str]) -> None:
    """Title, dateline and scrape timestamps in the head (before the first paragraph).

    They are looked for in the head's last lines also among lines the classifier removed
    (an extractor leaves the headline out): date lines there still give the date, and the
    headline still becomes the title."""
    page.head_end = head_end = find_head_end(page, config)
    head = [i for i in page.nonblank if i < head_end and page.reasons[i] in (None, CLASSIFIED)]
    near = set(head[-config.title_window_lines :])
    preset_title_key = line_key(page.doc.title) if page.doc.title else None
    from_classified = classified_title(page, head, near, config)
    for i in head:
        text = page.texts[i].strip()
        iso = parse_date_line(text, day_first=config.day_first)
        if (
            page.reasons[i] == CLASSIFIED
            and iso is None
            and (
                i not in near
                or page.title_index is not None
                or preset_title_key is not None
                or i != from_classified
            )
        ):
            continue
        if page.reasons[i] == CLASSIFIED and i not in near:
            continue
        if iso is not None:
            _mark_date(page, i, iso, preset_title_key)
            continue
        if page.title_index is not None or page.facts[i].key in boilerplate:
            continue  # a line every page of the site has is never the title
        if preset_title_key is not None:
            if page.facts[i].key == preset_title_key:
                page.reasons[i] = "title"
                page.title_index = i
            continue
        if (
            2 <= page.facts[i].n_words <= config.title_max_words
            and not text.endswith(".")
            and "](" not in text
            and (
                i == from_classified
                or (
                    page.reasons[i] is None
                    and from_classified is None
                    and title_evidence(page, i, head)
                )
            )
        ):
            page.reasons[i] = "title"
            page.title_index = i
            lead = len(page.texts[i]) - len(page.texts[i].lstrip())
            start = page.starts[i] + lead
            page.title_span = (start, start + len(text))  # glue-repaired with the body
    if page.title_index is None and preset_title_key is None:
        # no title line: a date line at the top is the page's own dateline
        for i in range(head_end):
            if page.reasons[i] == "scrape_timestamp":
                page.reasons[i] = "dateline"
                page.published = page.published or page.metadata.pop("scraped_at", None)
                break


def _mark_date(page: PageLines, i: int, iso: str, preset_title_key: str | None) -> None:
    """A date line before the title is a scrape timestamp; after it, the dateline."""
    if page.title_index is None and preset_title_key is None:
        page.reasons[i] = "scrape_timestamp"
        page.metadata.setdefault("scraped_at", iso)
    else:
        page.reasons[i] = "dateline"
        if page.published is None:
            page.published = iso


# -- 3. bylines and learned boilerplate ---------------------------------------------------------


def mark_bylines(page: PageLines, config: CleanConfig) -> None:
    """Byline lines, also among lines the classifier removed (the names go to `authors`)."""
    for i in page.nonblank:
        facts = page.facts[i]
        if page.reasons[i] not in (None, CLASSIFIED) or facts.n_words > config.byline_max_words:
            continue
        m = config.byline_pattern.match(facts.norm)
        if m:
            page.reasons[i] = "byline"
            page.authors.extend(_parse_names(m.group("names"), config))


def mark_learned_boilerplate(page: PageLines, boilerplate: frozenset[str]) -> None:
    """Lines recurring across the site's pages. After the head and bylines, so that a
    dateline whose digits vary is still read as the date; block headings are left to
    `mark_related_blocks`, which removes the block behind them. Lines the classifier
    removed take this reason too: the site's own evidence says more."""
    for i in page.nonblank:
        facts = page.facts[i]
        if (
            page.reasons[i] in (None, CLASSIFIED)
            and not facts.block_header
            and facts.key in boilerplate
        ):
            page.reasons[i] = "site_boilerplate"


# -- 4. related / latest / popular blocks -------------------------------------------------------


def prose_around(page: PageLines, config: CleanConfig) -> tuple[dict[int, int], dict[int, int]]:
    """Per non-blank line, the characters of kept article paragraphs before and after it."""
    sizes = [
        len(page.texts[i])
        if page.reasons[i] is None
        and page.facts[i].n_words >= config.paragraph_min_words
        and page.content_p[i] >= config.strong_content_probability
        else 0
        for i in page.nonblank
    ]
    total = sum(sizes)
    before: dict[int, int] = {}
    after: dict[int, int] = {}
    running = 0
    for i, size in zip(page.nonblank, sizes, strict=True):
        before[i] = running
        after[i] = total - running - size
        running += size
    return before, after


def mark_related_blocks(page: PageLines, config: CleanConfig) -> None:
    """A block heading followed by link lines, teasers and repeated headlines.

    When such lines dominate the rest of the page, the block is the page's tail: below the
    article (most of the page's prose is above the heading) it runs to the end of the page;
    elsewhere each line goes only on its own evidence (a link, a teaser, a repeat, or a line
    the classifier does not hold for strong content), so a run of prose under a heading-like
    word ("More", "Trending" in a top menu) stays."""
    facts, reasons, nonblank = page.facts, page.reasons, page.nonblank
    counts: dict[str, int] = {}
    for i in nonblank:
        counts[facts[i].key] = counts.get(facts[i].key, 0) + 1

    def block_line(j: int, previous: int | None) -> bool:
        if facts[j].block_header or facts[j].link_like or counts[facts[j].key] > 1:
            return True
        # a teaser: the line right after a repeated headline (headline + image alt text)
        return (
            previous is not None and facts[previous].link_like and counts[facts[previous].key] > 1
        )

    before, after = prose_around(page, config)
    for position, i in enumerate(nonblank):
        if reasons[i] not in (None, CLASSIFIED) or not facts[i].block_header:
            continue
        rest = nonblank[position + 1 :]
        hits = 0
        previous: int | None = None
        for j in rest:
            if reasons[j] is not None or block_line(j, previous):
                hits += 1
            previous = j
        reasons[i] = "related_block"
        if not rest or hits / len(rest) >= config.tail_min_fraction:
            below_article = after[i] * 2 < before[i]
            previous = None
            for j in rest:
                if reasons[j] is None and (
                    below_article
                    or block_line(j, previous)
                    or page.content_p[j] < config.strong_content_probability
                ):
                    reasons[j] = "related_block"
                previous = j
            return
        previous = None
        for j in rest:
            if reasons[j] is not None:
                previous = j
                continue
            if not block_line(j, previous):
                break
            reasons[j] = "related_block"
            previous = j


# -- 5. slugs, doubled headlines, repeats -------------------------------------------------------


def mark_slug_lines(page: PageLines, config: CleanConfig) -> None:
    """Lower-case lines that share a long word prefix with another (image alt texts of
    related links), or that start with (a fuzzy match of) the title."""
    prefixes: dict[int, list[str]] = {}
    for i in page.nonblank:
        text = page.texts[i]
        if page.reasons[i] is not None or text.lstrip()[:1] not in _LOWER_START:
            continue
        prefix = _lower_prefix(text)
        if len(prefix) >= config.slug_min_words:
            prefixes[i] = prefix
    slug_lines: set[int] = set()
    items = sorted(prefixes.items())
    for a, (i, pa) in enumerate(items):
        for j, pb in items[a + 1 :]:
            shared = 0
            for x, y in zip(pa, pb, strict=False):
                if x != y:
                    break
                shared += 1
            if shared >= config.slug_min_words:
                slug_lines.update((i, j))
    # a title read from the text is repaired later; spaces do not change its _alnum_key
    span = page.title_span
    title_text = page.raw[span[0] : span[1]] if span is not None else page.title
    if title_text:
        title_key = _alnum_key(title_text)
        for i in prefixes:
            if i in slug_lines:
                continue
            head = _alnum_key(page.texts[i])[: len(title_key) + 2]
            if _similarity_at_least(title_key, head, config.slug_min_similarity):
                slug_lines.add(i)
    for i in slug_lines:
        page.reasons[i] = "slug_link"


def mark_doubled_and_repeated(page: PageLines, config: CleanConfig) -> None:
    """Headlines doubled by alt text ("X X"), then lines repeated in the page (the first
    occurrence stays)."""
    first_seen: set[str] = set()
    half_min = config.doubled_min_words
    for i in page.nonblank:
        if page.reasons[i] is not None:
            continue
        count = page.facts[i].n_words
        if count % 2 == 0 and count // 2 >= half_min:
            words = page.texts[i].split()
            if words[: count // 2] == words[count // 2 :]:
                page.reasons[i] = "doubled_headline"
                continue
        if len(page.texts[i].strip()) >= config.repeated_min_chars:
            key = page.facts[i].key
            if key in first_seen:
                page.reasons[i] = "repeated_line"
            first_seen.add(key)


def mark_credit_lines(page: PageLines, scanner: LineScanner, config: CleanConfig) -> None:
    """Lines that are only a photo credit (the names go to `authors`); the credit match of
    every kept line is kept for the in-line credits of captions."""
    find_credit = scanner.credit_match if scanner.may_have_credits(page.raw) else _no_match
    for i in page.nonblank:
        if page.reasons[i] not in (None, CLASSIFIED):
            continue
        text = page.texts[i]
        m = find_credit(text.rstrip())
        if page.reasons[i] is None:
            page.credit_matches[i] = m
        if m and not text[: m.start()].strip():
            page.reasons[i] = "photo_credit"
            page.credits.extend(_parse_names(m.group("names"), config))


def mark_blank_lines(page: PageLines) -> int:
    """Blank lines: one stays between kept lines; inside a removed block a blank line takes
    the block's reason (a block is one edit). Returns the last kept line (-1: none)."""
    reasons, nonblank = page.reasons, page.nonblank
    last_content = next((i for i in reversed(nonblank) if reasons[i] is None), -1)
    previous_kept_blank = True  # nothing kept yet: a leading blank line goes
    before: str | None = None  # reason of the last non-blank line seen
    next_position = 0  # index into nonblank of the next non-blank line after i
    for i, facts in enumerate(page.facts):
        if facts.n_words:
            next_position += 1
            before = reasons[i]
            if before is None:
                previous_kept_blank = False
            continue
        after = reasons[nonblank[next_position]] if next_position < len(nonblank) else None
        if before is not None and before == after:
            reasons[i] = before
        elif previous_kept_blank or i > last_content:
            reasons[i] = "whitespace"
        else:
            previous_kept_blank = True
    return last_content
