"""The rules that claim a page's lines, one small function each, over one named record.

`PageLines` holds a page's lines (raw positions, text, `LineFacts`, the classifier's content
probability) and, per line, the reason it is removed (None: kept). Each `mark_*` rule claims
unclaimed lines on evidence found on those lines and records what it learns (title, date,
authors, photo credits) on the record; `page.py` runs them in order and turns the reasons into
edits. The order is the package docstring's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
    may_have_credits: bool | None = None  # `LineScanner.may_have_credits` of the page, once known


def read_page(
    doc: Document,
    scanner: LineScanner,
    *,
    scores: tuple[list[int], Any] | None = None,
    split: tuple[list[int], list[int], list[int], list[str]] | None = None,
) -> PageLines:
    """The page's lines and their facts; nothing claimed yet. `scores`: the classifier's
    content probabilities and the line numbers they belong to (other lines count as 1.0).
    `split`: `_split_lines(doc.raw_text)` when the caller has it already."""
    raw = doc.raw_text
    starts, content_ends, ends, texts = _split_lines(raw) if split is None else split
    facts = [scanner.line_facts(text) for text in texts]
    content_p = [1.0] * len(texts)
    if scores is not None:
        numbers, probabilities = scores
        for i, p in zip(numbers, np.asarray(probabilities, dtype=float).tolist(), strict=True):
            content_p[i] = p
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


def keep_cut_last_line(page: PageLines, config: CleanConfig) -> None:
    """Give back the page's last line when the page was cut inside its article (scrapers and
    search excerpts cut pages): a prose-length line right after strong article text, with
    nothing after it. The classifier, which learned that pages end in footers, removed it."""
    if len(page.nonblank) < 2:
        return
    last, before = page.nonblank[-1], page.nonblank[-2]
    if (
        page.reasons[last] == CLASSIFIED
        and _strong_article_line(page, before, config)
        and page.facts[last].n_words >= _GIVEN_BACK_MIN_WORDS
        and not _has_link(page.texts[last])
    ):
        page.reasons[last] = None


def keep_prose_beside_article(page: PageLines, config: CleanConfig) -> None:
    """Give back a prose line the classifier removed when it stands right beside strong
    article text: a lead paragraph or a caption next to the article is content, whatever its
    position on the page (the classifier learned that page tops and ends are chrome). The line
    itself must read as a sentence: enough words, a sentence end, no link markup."""
    nonblank = page.nonblank
    for k, i in enumerate(nonblank):
        if page.reasons[i] != CLASSIFIED or page.facts[i].n_words < _GIVEN_BACK_MIN_WORDS:
            continue
        text = page.texts[i].strip()
        if _has_link(text) or not _ends_sentence(text):
            continue
        neighbours = [nonblank[j] for j in (k - 1, k + 1) if 0 <= j < len(nonblank)]
        if any(_strong_article_line(page, j, config) for j in neighbours):
            page.reasons[i] = None


_GIVEN_BACK_MIN_WORDS = 8  # a line the classifier removed comes back only with this many words


def _strong_article_line(page: PageLines, i: int, config: CleanConfig) -> bool:
    """A kept article paragraph the classifier is sure of."""
    return (
        page.reasons[i] is None
        and page.facts[i].n_words >= config.paragraph_min_words
        and page.content_p[i] >= config.strong_content_probability
    )


def _has_link(text: str) -> bool:
    """Markdown link markup or a URL in the line."""
    return "](" in text or "http" in text


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


def title_evidence(page: PageLines, i: int, head: list[int], dates: Container[int] = ()) -> int:
    """How strongly a head line looks like the page's headline: 3 for a markdown heading or
    a line whose words are mostly in the URL, 2 for a line another head line contains (the
    page's <title>, an image alt text), 1 for the first kept line of the page (date lines
    `dates` aside: a scrape timestamp above the headline), else 0."""
    text = page.texts[i].strip()
    if text.startswith("#"):
        return 3
    words = [w.casefold() for w in _URL_WORDS.findall(text)]
    url = page.doc.url
    if url and words:
        in_url = set(_URL_WORDS.findall(url.casefold()))
        if sum(w in in_url for w in words) >= max(2, 0.6 * len(words)):
            return 3
    key = _alnum_key(text)
    if (
        page.facts[i].n_words >= 4
        and len(key) >= 20
        and any(j != i and key in _alnum_key(page.texts[j]) for j in head)
    ):
        return 2
    first = next((j for j in head if page.reasons[j] is None and j not in dates), None)
    if i == first and i in page.nonblank[:5]:
        return 1  # the page starts with it
    return 0


def _title_like(page: PageLines, i: int, config: CleanConfig, min_words: int = 2) -> bool:
    """Short, not a sentence, no link; at least `min_words` words of letters or digits
    ("- Advertisement -" is one word, not a headline)."""
    text = page.texts[i].strip()
    return (
        min_words <= page.facts[i].n_words <= config.title_max_words
        and not text.endswith(".")
        and "](" not in text
        and _word_count(text) >= min_words
    )


def _word_count(text: str) -> int:
    """Words of letters or digits: "- Advertisement -" has one."""
    return len(_URL_WORDS.findall(text))


def choose_title(
    page: PageLines,
    head: list[int],
    near: list[int],
    dates: dict[int, str],
    config: CleanConfig,
    boilerplate: frozenset[str],
) -> int | None:
    """The headline: the head line near the article with the strongest evidence (kept lines
    before lines the classifier removed, then the earlier); without any evidence, the
    longest title-like line the classifier removed there (an extractor leaves the headline
    out, so the classifier learned to remove it)."""
    best: tuple[float, int] | None = None
    fallback: int | None = None
    for i in near:
        if i in dates or page.facts[i].key in boilerplate or not _title_like(page, i, config):
            continue
        evidence = title_evidence(page, i, head, dates)
        if page.reasons[i] == CLASSIFIED:
            if _title_like(page, i, config, min_words=3) and not config.byline_pattern.match(
                page.texts[i].strip()
            ):
                if fallback is None or page.facts[i].n_words > page.facts[fallback].n_words:
                    fallback = i
            score = evidence - 0.5 if evidence >= 2 else 0
        else:
            score = evidence
        if score > 0 and (best is None or score > best[0]):
            best = (score, i)
    if best is not None:
        return best[1]
    if any(page.reasons[i] is None and _title_like(page, i, config, 3) for i in near):
        return None  # a kept headline-like line without evidence: no title rather than a wrong one
    return fallback


def mark_head(page: PageLines, config: CleanConfig, boilerplate: frozenset[str]) -> None:
    """Title, dateline and scrape timestamps in the head (before the first paragraph).

    They are looked for in the head's last lines also among lines the classifier removed:
    date lines there still give the date, and the headline still becomes the title."""
    page.head_end = head_end = find_head_end(page, config)
    head = [i for i in page.nonblank if i < head_end and page.reasons[i] in (None, CLASSIFIED)]
    near = head[-config.title_window_lines :]
    near_set = set(near)
    dates: dict[int, str] = {}
    for i in head:
        if page.reasons[i] is None or i in near_set:
            iso = parse_date_line(page.texts[i].strip(), day_first=config.day_first)
            if iso is not None:
                dates[i] = iso
    preset_title_key = line_key(page.doc.title) if page.doc.title else None
    if preset_title_key is not None:
        title = next(
            (
                i
                for i in head
                if i not in dates
                and page.reasons[i] is None
                and page.facts[i].key == preset_title_key
            ),
            None,
        )
    else:
        title = choose_title(page, head, near, dates, config, boilerplate)
    if title is not None:
        page.reasons[title] = "title"
        page.title_index = title
        if preset_title_key is None:
            text = page.texts[title]
            start = page.starts[title] + len(text) - len(text.lstrip())
            page.title_span = (start, start + len(text.strip()))  # glue-repaired with the body
    for i, iso in dates.items():
        if title is None and preset_title_key is None:
            continue
        if preset_title_key is None and i < title:  # type: ignore[operator]
            page.reasons[i] = "scrape_timestamp"
            page.metadata.setdefault("scraped_at", iso)
        else:
            page.reasons[i] = "dateline"
            if page.published is None:
                page.published = iso
    if title is None and preset_title_key is None and dates:
        # no title line: the first date line of the head is the page's own dateline, any
        # other is a scrape timestamp
        first, *others = dates
        page.reasons[first] = "dateline"
        page.published = page.published or dates[first]
        for i in others:
            page.reasons[i] = "scrape_timestamp"
            page.metadata.setdefault("scraped_at", dates[i])


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
        len(page.texts[i]) if _strong_article_line(page, i, config) else 0 for i in page.nonblank
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
    headers = [position for position, i in enumerate(nonblank) if facts[i].block_header]
    if not headers:
        return
    counts: dict[str, int] = {}
    for i in nonblank:
        counts[facts[i].key] = counts.get(facts[i].key, 0) + 1

    def block_line(j: int, previous: int | None) -> bool:
        if facts[j].block_header or facts[j].link_like or counts[facts[j].key] > 1:
            return True
        # a teaser: the line right after a repeated headline (headline + image alt text); a
        # headline has words and credits no one ("- Advertisement -" or "(Image credit: X)"
        # repeated over paragraphs is not one)
        return (
            previous is not None
            and facts[previous].link_like
            and counts[facts[previous].key] > 1
            and _word_count(facts[previous].norm) >= _HEADLINE_MIN_WORDS
            and config.photo_credit_pattern.search(facts[previous].norm) is None
        )

    before, after = prose_around(page, config)
    for position in headers:
        i = nonblank[position]
        if reasons[i] not in (None, CLASSIFIED):
            continue
        rest = nonblank[position + 1 :]
        hits = 0
        previous: int | None = None
        for j in rest:
            if reasons[j] is not None or block_line(j, previous):
                hits += 1
            previous = j
        reasons[i] = "related_block"
        dominates = not rest or hits / len(rest) >= config.tail_min_fraction
        if dominates and after[i] * 2 < before[i]:  # below the article: the page's tail
            for j in rest:
                if reasons[j] is None:
                    reasons[j] = "related_block"
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


_HEADLINE_MIN_WORDS = 3  # words of letters or digits in a headline link

LABEL_MAX_WORDS = 5  # a section label over headline links: "Chiang Rai News", "Sport"
LABEL_MIN_PAIRS = 3


def mark_labelled_link_lists(page: PageLines) -> None:
    """Teaser lists whose items each carry the same short label ("Chiang Rai News" over every
    headline link): the label recurs at least `LABEL_MIN_PAIRS` times, and each time the
    next line is a headline link (short, not a sentence). The labels and their headlines
    go; a label that is followed by prose claims nothing."""
    facts, reasons, nonblank = page.facts, page.reasons, page.nonblank
    positions: dict[str, list[int]] = {}
    for k, i in enumerate(nonblank):
        if facts[i].n_words <= LABEL_MAX_WORDS and not facts[i].norm.endswith("."):
            positions.setdefault(facts[i].key, []).append(k)
    for at in positions.values():
        if len(at) < LABEL_MIN_PAIRS:
            continue
        pairs = []
        for k in at:
            if k + 1 >= len(nonblank):
                continue
            j = nonblank[k + 1]
            item = facts[j]
            if item.link_like and item.n_words >= 3 and item.key != facts[nonblank[k]].key:
                pairs.append((nonblank[k], j))
        if len(pairs) < LABEL_MIN_PAIRS or len(pairs) * 4 < len(at) * 3:
            continue
        for label, item in pairs:
            for i in (label, item):
                if reasons[i] in (None, CLASSIFIED):
                    reasons[i] = "related_block"


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
        if count % 2 == 0 and count // 2 >= half_min and _doubled(page.facts[i].norm):
            page.reasons[i] = "doubled_headline"
            continue
        if len(page.texts[i].strip()) >= config.repeated_min_chars:
            key = page.facts[i].key
            if key in first_seen:
                page.reasons[i] = "repeated_line"
            first_seen.add(key)


def _doubled(norm: str) -> bool:
    """Whether the words of a line's normal form (single spaces) are the same sequence
    twice: `words[:n // 2] == words[n // 2:]` of its n words, read on the text itself
    (the middle space, then the two halves compared) instead of splitting it."""
    half = len(norm) // 2
    return len(norm) % 2 == 1 and norm[half] == " " and norm[:half] == norm[half + 1 :]


def mark_credit_lines(page: PageLines, scanner: LineScanner, config: CleanConfig) -> None:
    """Lines that are only a photo credit (the names go to `authors`); the credit match of
    every kept line is kept for the in-line credits of captions."""
    find_credit = credit_finder(page, scanner)
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


def credit_finder(page: PageLines, scanner: LineScanner) -> Callable[[str], re.Match[str] | None]:
    """`scanner.credit_match`, or a finder of nothing when the page's text rules every photo
    credit out (`LineScanner.may_have_credits`, looked at once a page)."""
    if page.may_have_credits is None:
        page.may_have_credits = scanner.may_have_credits(page.raw)
    return scanner.credit_match if page.may_have_credits else _no_match


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
