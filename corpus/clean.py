"""Clean one page: drop chrome and related-news blocks, move metadata out, repair the text.

Every decision is an `Edit` in raw coordinates with a short reason code; `apply_edits`
turns them into the clean text and its offset map, so nothing is lost and any clean span
maps back to the raw page. The rules, in the order they claim lines:

1. site chrome: menu lines, whole-line patterns (configs/clean.yaml), lines learned as
   the site's boilerplate (`corpus.boilerplate`);
2. page head (before the first article paragraph): date-only lines before the title are
   scrape timestamps, the first after it is the dateline (-> `published`); the first
   short headline-like line is the title (-> `title`);
3. bylines anywhere (-> `authors`);
4. related / latest / popular blocks: a heading line followed by link lines, teasers and
   repeated headlines; when such lines dominate the rest of the page, everything from the
   heading to the end is the tail block;
5. lines prefixed with the page's own slug (a lower-case copy of the title, image alt text
   of related links), headlines doubled by alt text ("X X"), then lines repeated inside
   the page (the first occurrence stays);
6. inside kept lines: photo credits (-> `authors`), whitespace and Unicode normalisation
   (NFC, odd spaces, zero-width characters, "\\r\\n"), glued words (`corpus.glue`).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .boilerplate import learn_site_boilerplate, line_key
from .errors import ConfigError
from .glue import GlueConfig, find_glued_words, repair_glued_words
from .offsets import Edit, apply_edits
from .records import STATUS_REJECTED, Document

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "configs" / "clean.yaml"


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class CleanConfig:
    """Rules and thresholds of the cleaner, loaded from configs/clean.yaml."""

    head_max_lines: int = 15
    title_max_words: int = 25
    paragraph_min_words: int = 12
    day_first: bool = True
    menu_words: frozenset[str] = frozenset()
    menu_min_words: int = 2
    menu_separators: tuple[str, ...] = ("|",)
    menu_item_max_words: int = 3
    chrome_patterns: tuple[re.Pattern[str], ...] = ()
    block_headers: tuple[re.Pattern[str], ...] = ()
    link_max_words: int = 20
    tail_min_fraction: float = 0.5
    slug_min_words: int = 4
    slug_min_similarity: float = 0.85
    doubled_min_words: int = 3
    repeated_min_chars: int = 8
    byline_pattern: re.Pattern[str] = re.compile(r"^by\s+(?P<names>.+)$", re.I)
    byline_max_words: int = 12
    byline_separators: re.Pattern[str] = re.compile(r"\s*/\s*")
    photo_credit_pattern: re.Pattern[str] = re.compile(r"photo:\s*(?P<names>.+)$", re.I)
    boilerplate_min_pages: int = 3
    boilerplate_min_fraction: float = 0.3
    boilerplate_max_words: int = 12
    glue: GlueConfig = field(default_factory=GlueConfig)


def _compile(pattern: str, where: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigError(
            f"{where}: invalid regular expression {pattern!r} ({exc}); fix it"
        ) from exc


def load_clean_config(path: str | Path | None = None) -> CleanConfig:
    """Read the cleaning rules (default: configs/clean.yaml next to the package)."""
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the cleaning config ({exc}); pass an existing YAML file"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}); fix the syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections (head, chrome, blocks, ...), "
            f"got {type(data).__name__}"
        )

    def section(name: str) -> dict[str, Any]:
        value = data.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: section {name!r} must be a mapping, got {value!r}")
        return value

    try:
        head, para, dates = section("head"), section("paragraph"), section("dates")
        chrome, blocks, slug = section("chrome"), section("blocks"), section("slug")
        byline, credit, bp, glue = (
            section("byline"),
            section("photo_credit"),
            section("boilerplate"),
            section("glue"),
        )
        glue_config = GlueConfig(
            **{k: (tuple(v) if isinstance(v, list) else v) for k, v in glue.items()}
        )
        return CleanConfig(
            head_max_lines=int(head.get("max_lines", 15)),
            title_max_words=int(head.get("title_max_words", 25)),
            paragraph_min_words=int(para.get("min_words", 12)),
            day_first=bool(dates.get("day_first", True)),
            menu_words=frozenset(str(w).casefold() for w in chrome.get("menu_words", [])),
            menu_min_words=int(chrome.get("menu_min_words", 2)),
            menu_separators=tuple(chrome.get("menu_separators", ["|"])),
            menu_item_max_words=int(chrome.get("menu_item_max_words", 3)),
            chrome_patterns=tuple(
                _compile(p, f"{path}: chrome.line_patterns")
                for p in chrome.get("line_patterns", [])
            ),
            block_headers=tuple(
                _compile(p, f"{path}: blocks.header_patterns")
                for p in blocks.get("header_patterns", [])
            ),
            link_max_words=int(blocks.get("link_max_words", 20)),
            tail_min_fraction=float(blocks.get("tail_min_fraction", 0.5)),
            slug_min_words=int(slug.get("min_words", 4)),
            slug_min_similarity=float(slug.get("min_similarity", 0.85)),
            doubled_min_words=int(section("doubled_headline").get("min_words", 3)),
            repeated_min_chars=int(section("repeated_line").get("min_chars", 8)),
            byline_pattern=_compile(byline["pattern"], f"{path}: byline.pattern", 0),
            byline_max_words=int(byline.get("max_words", 12)),
            byline_separators=_compile(
                byline.get("name_separators", r"\s*/\s*"), f"{path}: byline.name_separators", 0
            ),
            photo_credit_pattern=_compile(credit["pattern"], f"{path}: photo_credit.pattern"),
            boilerplate_min_pages=int(bp.get("min_pages", 3)),
            boilerplate_min_fraction=float(bp.get("min_fraction", 0.3)),
            boilerplate_max_words=int(bp.get("max_words", 12)),
            glue=glue_config,
        )
    except KeyError as exc:
        raise ConfigError(
            f"{path}: missing key {exc.args[0]!r}; see configs/clean.yaml in the repository"
        ) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{path}: bad value ({exc}); check the types in configs/clean.yaml"
        ) from exc


# --------------------------------------------------------------------------- dates
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?", re.I)
_NUMERIC_DATE = re.compile(r"\b(\d{1,4})[/.-](\d{1,2})[/.-](\d{2,4})\b")
_MONTH_FIRST = re.compile(
    rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I
)
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\.?,?\s+(\d{{4}})\b", re.I)
_DATE_FILLER = re.compile(
    r"\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\b|\b(?:gmt|utc|ict)(?:\s*[+-]\s*\d{1,2})?\b|"
    r"\b(?:posted|updated|published|on|at|last)\b|[|,\-–—()/:.\s]",
    re.I,
)


def parse_date_line(line: str, *, day_first: bool = True) -> str | None:
    """ISO 8601 value of a line that holds only a date (and time), else None.

    "10:10 | 24/05/2019" -> "2019-05-24T10:10:00"; "July 15, 2020 08:12" -> "2020-07-15T08:12:00".
    """
    text = line.strip()
    if not text or len(text) > 60:
        return None
    date: tuple[int, int, int] | None = None
    rest = text
    m = _MONTH_FIRST.search(rest)
    if m:
        date = (int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
    else:
        m = _DAY_FIRST.search(rest)
        if m:
            date = (int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
        else:
            m = _NUMERIC_DATE.search(rest)
            if m:
                a, b, c = (int(g) for g in m.groups())
                if len(m.group(1)) == 4:
                    date = (a, b, c)
                else:
                    year = c + 2000 if c < 100 else c
                    date = (year, b, a) if day_first else (year, a, b)
    if m is None or date is None:
        return None
    rest = rest[: m.start()] + " " + rest[m.end() :]
    hour = minute = second = 0
    t = _TIME.search(rest)
    if t:
        hour, minute, second = int(t.group(1)), int(t.group(2)), int(t.group(3) or 0)
        if t.group(4) and t.group(4).lower().startswith("p") and hour < 12:
            hour += 12
        rest = rest[: t.start()] + " " + rest[t.end() :]
    if _DATE_FILLER.sub("", rest):
        return None
    try:
        return datetime(date[0], date[1], date[2], hour, minute, second).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------- lines
@dataclass(frozen=True)
class _Line:
    start: int  # raw offset of the first character
    content_end: int  # raw offset after the content (before the terminator)
    end: int  # raw offset after the terminator
    text: str  # the content

    @property
    def blank(self) -> bool:
        return not self.text.strip()


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$|[\"”]$")
_WORD = re.compile(r"\S+")


def _split_lines(raw: str) -> list[_Line]:
    lines = []
    for m in _LINE.finditer(raw):
        body = m.group().rstrip("\r\n")
        lines.append(_Line(m.start(), m.start() + len(body), m.end(), body))
    return lines


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _is_paragraph(text: str, config: CleanConfig) -> bool:
    return len(_words(text)) >= config.paragraph_min_words and bool(
        _SENTENCE_END.search(text.strip())
    )


def _is_link_like(text: str, config: CleanConfig) -> bool:
    stripped = text.strip()
    return 0 < len(_words(stripped)) <= config.link_max_words and not stripped.endswith(".")


def _is_menu(text: str, config: CleanConfig) -> bool:
    stripped = text.strip()
    if len(stripped) > 200:  # menus are short; skip the work for paragraphs
        return False
    for sep in config.menu_separators:
        items = [i.strip() for i in stripped.split(sep)]
        if len(items) >= 3 and all(
            0 < len(i.split()) <= config.menu_item_max_words and any(c.isalpha() for c in i)
            for i in items
        ):
            return True
    words = [w.strip("|·•»>/:").casefold() for w in stripped.split()]
    words = [w for w in words if w]
    return len(words) >= config.menu_min_words and all(w in config.menu_words for w in words)


def _is_chrome(text: str, config: CleanConfig) -> bool:
    stripped = " ".join(text.split())
    return _is_menu(stripped, config) or any(p.match(stripped) for p in config.chrome_patterns)


def _is_block_header(text: str, config: CleanConfig) -> bool:
    stripped = " ".join(text.split())
    return any(p.match(stripped) for p in config.block_headers)


def _is_doubled(text: str, config: CleanConfig) -> bool:
    words = _words(text)
    half = len(words) // 2
    return len(words) % 2 == 0 and half >= config.doubled_min_words and words[:half] == words[half:]


def _alnum_key(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


_LOWER_WORD = re.compile(r"[a-z0-9]+")


def _lower_prefix(text: str) -> list[str]:
    out = []
    for word in text.split():
        if not _LOWER_WORD.fullmatch(word):
            break
        out.append(word)
    return out


def _parse_names(names: str, config: CleanConfig) -> list[str]:
    out = []
    for name in config.byline_separators.split(names):
        name = " ".join(name.strip(" -/,.&").split())
        if not name:
            continue
        # "THai" -> "Thai": a stray second capital from typing, not an acronym
        name = " ".join(
            w[0] + w[1:].lower() if re.fullmatch(r"[A-Z]{2}[a-z]+", w) else w for w in name.split()
        )
        out.append(name)
    return out


# --------------------------------------------------------------------------- the page
def clean_page(
    doc: Document,
    *,
    config: CleanConfig,
    boilerplate: frozenset[str] = frozenset(),
) -> Document:
    """The cleaned copy of `doc`: clean text, every edit with its reason, the offset map,
    and title / published / authors moved out of the body. Rejected documents come back
    unchanged. Pure: no I/O, same input -> same output."""
    if doc.status == STATUS_REJECTED:
        return doc
    raw = doc.raw_text
    lines = _split_lines(raw)
    reasons: list[str | None] = [None] * len(lines)
    title = doc.title
    published = doc.published
    authors: list[str] = list(doc.authors)
    metadata = dict(doc.metadata)
    keys = [line_key(line.text) for line in lines]

    def live(i: int) -> bool:
        return reasons[i] is None and not lines[i].blank

    # 1. chrome and learned boilerplate
    for i, line in enumerate(lines):
        if line.blank:
            continue
        if _is_chrome(line.text, config):
            reasons[i] = "site_chrome"
        elif keys[i] in boilerplate:
            reasons[i] = "site_boilerplate"

    # 2. the head: title, dateline, scrape timestamps
    head_end = len(lines)
    seen = 0
    for i, line in enumerate(lines):
        if line.blank:
            continue
        seen += 1
        if _is_paragraph(line.text, config) or seen > config.head_max_lines:
            head_end = i
            break
    title_index: int | None = None
    preset_title_key = line_key(doc.title) if doc.title else None
    for i in range(head_end):
        if not live(i):
            continue
        text = lines[i].text.strip()
        iso = parse_date_line(text, day_first=config.day_first)
        if iso is not None:
            if title_index is None and preset_title_key is None:
                reasons[i] = "scrape_timestamp"
                metadata.setdefault("scraped_at", iso)
            else:
                reasons[i] = "dateline"
                if published is None:
                    published = iso
            continue
        if title_index is not None:
            continue
        if preset_title_key is not None:
            if keys[i] == preset_title_key:
                reasons[i] = "title"
                title_index = i
            continue
        n_words = len(_words(text))
        if 2 <= n_words <= config.title_max_words and not text.endswith("."):
            reasons[i] = "title"
            title_index = i
            title = " ".join(repair_glued_words(text, config=config.glue).split())
    if title_index is None and preset_title_key is None:
        # no title line: a date line at the top is the page's own dateline
        for i in range(head_end):
            if reasons[i] == "scrape_timestamp":
                reasons[i] = "dateline"
                published = published or metadata.pop("scraped_at", None)
                break

    # 3. bylines
    for i, line in enumerate(lines):
        if not live(i):
            continue
        text = " ".join(line.text.split())
        m = config.byline_pattern.match(text)
        if m and len(_words(text)) <= config.byline_max_words:
            reasons[i] = "byline"
            authors.extend(_parse_names(m.group("names"), config))

    # 4. related / latest / popular blocks
    counts: dict[str, int] = {}
    for i in range(len(lines)):
        if not lines[i].blank:
            counts[keys[i]] = counts.get(keys[i], 0) + 1

    def block_line(j: int, previous: int | None) -> bool:
        text = lines[j].text
        if _is_block_header(text, config) or _is_link_like(text, config) or counts[keys[j]] > 1:
            return True
        # a teaser: the line right after a repeated headline (headline + image alt text)
        return (
            previous is not None
            and _is_link_like(lines[previous].text, config)
            and counts.get(keys[previous], 0) > 1
        )

    i = 0
    while i < len(lines):
        if not (live(i) and _is_block_header(lines[i].text, config)):
            i += 1
            continue
        rest = [j for j in range(i + 1, len(lines)) if not lines[j].blank]
        hits = 0
        previous: int | None = None
        for j in rest:
            if reasons[j] is not None or block_line(j, previous):
                hits += 1
            previous = j
        if not rest or hits / len(rest) >= config.tail_min_fraction:
            for j in range(i, len(lines)):
                if reasons[j] is None:
                    reasons[j] = "related_block"
            break
        reasons[i] = "related_block"
        previous = None
        for j in rest:
            if reasons[j] is not None:
                previous = j
                continue
            if not block_line(j, previous):
                break
            reasons[j] = "related_block"
            previous = j
        i += 1

    # 5a. slug-prefixed lines
    prefixes = {i: _lower_prefix(lines[i].text) for i in range(len(lines)) if live(i)}
    prefixes = {i: p for i, p in prefixes.items() if len(p) >= config.slug_min_words}
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
    if title:
        title_key = _alnum_key(title)
        for i in prefixes:
            head = _alnum_key(lines[i].text)[: len(title_key) + 2]
            ratio = difflib.SequenceMatcher(None, title_key, head, autojunk=False).ratio()
            if ratio >= config.slug_min_similarity:
                slug_lines.add(i)
    for i in slug_lines:
        reasons[i] = "slug_link"

    # 5b. doubled headlines, then repeated lines (first occurrence stays)
    first_seen: set[str] = set()
    for i, line in enumerate(lines):
        if not live(i):
            continue
        if _is_doubled(line.text, config):
            reasons[i] = "doubled_headline"
        elif len(line.text.strip()) >= config.repeated_min_chars:
            if keys[i] in first_seen:
                reasons[i] = "repeated_line"
            first_seen.add(keys[i])

    # photo-credit-only lines are dropped whole
    credits: list[str] = []
    for i, line in enumerate(lines):
        if not live(i):
            continue
        m = config.photo_credit_pattern.search(line.text.rstrip())
        if m and not line.text[: m.start()].strip():
            reasons[i] = "photo_credit"
            credits.extend(_parse_names(m.group("names"), config))

    # blank lines: keep one between kept content lines; inside a removed block they
    # take the block's reason so a block is one edit
    kept_content = [i for i in range(len(lines)) if live(i)]
    last_content = kept_content[-1] if kept_content else -1
    previous_kept_blank = True  # nothing kept yet: a leading blank line goes
    for i, line in enumerate(lines):
        if not line.blank:
            if reasons[i] is None:
                previous_kept_blank = False
            continue
        before = next((reasons[k] for k in range(i - 1, -1, -1) if not lines[k].blank), None)
        after = next((reasons[k] for k in range(i + 1, len(lines)) if not lines[k].blank), None)
        if before is not None and before == after:
            reasons[i] = before
        elif previous_kept_blank or i > last_content:
            reasons[i] = "whitespace"
        else:
            previous_kept_blank = True

    # 6. edits
    edits: list[Edit] = []
    run_start: int | None = None
    for i, line in enumerate(lines):
        reason = reasons[i]
        if reason is None:
            continue
        if (
            run_start is not None
            and edits
            and edits[-1].reason == reason
            and edits[-1].end == line.start
        ):
            prev = edits.pop()
            edits.append(Edit(prev.start, line.end, "", reason))
        else:
            edits.append(Edit(line.start, line.end, "", reason))
        run_start = line.start
    line_edits: list[Edit] = []
    for i, line in enumerate(lines):
        if reasons[i] is not None:
            continue
        content_end = line.content_end
        m = config.photo_credit_pattern.search(line.text.rstrip())
        if m and m.start() > 0:
            cut = line.start + m.start()
            while cut > line.start and raw[cut - 1].isspace():
                cut -= 1
            end = line.start + len(line.text.rstrip())
            line_edits.append(Edit(cut, end, "", "photo_credit"))
            credits.extend(_parse_names(m.group("names"), config))
            content_end = cut
        line_edits.extend(_normalise_line(raw, line.start, content_end, line.content_end))
        line_edits.extend(
            find_glued_words(raw[line.start : content_end], offset=line.start, config=config.glue)
        )
        terminator = raw[line.content_end : line.end]
        if i == last_content and terminator:
            line_edits.append(Edit(line.content_end, line.end, "", "whitespace"))
        elif terminator and terminator != "\n":
            line_edits.append(Edit(line.content_end, line.end, "\n", "whitespace"))
    edits.extend(_disjoint(line_edits))
    clean_text, offset_map = apply_edits(raw, edits)

    for name in credits:
        if name not in authors:
            authors.append(name)
    if credits:
        metadata["photo_credits"] = sorted(set(credits), key=credits.index)
    deduped_authors = list(dict.fromkeys(authors))
    return doc.with_(
        clean_text=clean_text,
        edits=tuple(sorted(edits, key=lambda e: (e.start, e.end))),
        offset_map=offset_map,
        title=title,
        published=published,
        authors=tuple(deduped_authors),
        metadata=metadata,
    )


_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_SPACE_CHARS = " \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_SPACE_RUN = re.compile(f"[{_SPACE_CHARS}]+")
_ODD_CHAR = re.compile(f"[{_ZERO_WIDTH}]|[^{_SPACE_CHARS}{_ZERO_WIDTH}]")
_NEEDS_WORK = re.compile(f"[{_ZERO_WIDTH}\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]|  |^ | $")


def _normalise_line(raw: str, start: int, end: int, line_end: int) -> list[Edit]:
    """Whitespace and Unicode edits for raw[start:end] (a kept line's content).

    Runs of spaces/tabs/odd spaces become one space (removed at the line's ends);
    zero-width characters and soft hyphens are removed; non-NFC clusters are composed
    (NFC only: NFKC would silently rewrite characters such as "²" or "ﬁ").
    Characters between `end` and `line_end` (left after a removed photo credit) go too.
    """
    edits: list[Edit] = []
    text = raw[start:end]
    if _NEEDS_WORK.search(text):
        content = [
            m.start() for m in _ODD_CHAR.finditer(text) if text[m.start()] not in _ZERO_WIDTH
        ]
        first_content = content[0] if content else len(text)
        last_content = content[-1] if content else -1
        for m in _SPACE_RUN.finditer(text):
            i, j = m.span()
            run = m.group()
            reason = "whitespace" if all(c in " \t" for c in run) else "unicode"
            if i < first_content or j > last_content + 1:
                edits.append(Edit(start + i, start + j, "", reason))
            elif run != " ":
                edits.append(Edit(start + i, start + j, " ", reason))
        for m in re.finditer(f"[{_ZERO_WIDTH}]", text):
            edits.append(Edit(start + m.start(), start + m.end(), "", "unicode"))
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        i, n = 0, len(text)
        while i < n:
            j = i + 1
            while j < n and unicodedata.combining(text[j]):
                j += 1
            cluster = text[i:j]
            composed = unicodedata.normalize("NFC", cluster)
            if composed != cluster:
                edits.append(Edit(start + i, start + j, composed, "unicode"))
            i = j
    if line_end > end and raw[end:line_end].strip() == "":
        edits.append(Edit(end, line_end, "", "whitespace"))
    return sorted(edits)


def _disjoint(edits: list[Edit]) -> list[Edit]:
    """Keep edits in priority order (earlier in the list wins) dropping overlapping later ones.

    Glue insertions come last; one that falls strictly inside a removed or replaced range
    would be meaningless and is dropped (the other edit already changes those characters).
    """
    accepted: list[Edit] = []
    for edit in edits:
        clash = False
        for other in accepted:
            if edit.start == edit.end and other.start == other.end:
                clash = edit.start == other.start
            elif edit.start == edit.end:
                clash = other.start < edit.start < other.end
            elif other.start == other.end:
                clash = edit.start < other.start < edit.end
            else:
                clash = edit.start < other.end and other.start < edit.end
            if clash:
                break
        if not clash:
            accepted.append(edit)
    return accepted


# --------------------------------------------------------------------------- batches
def clean_documents(docs: Iterable[Document], *, config: CleanConfig) -> list[Document]:
    """Clean a batch: learn each site's boilerplate from the batch, then clean every
    non-rejected document (rejected ones pass through unchanged, in input order)."""
    docs = list(docs)
    learned = learn_site_boilerplate(
        docs,
        min_pages=config.boilerplate_min_pages,
        min_fraction=config.boilerplate_min_fraction,
        max_words=config.boilerplate_max_words,
    )
    return [
        clean_page(d, config=config, boilerplate=learned.get(d.site or "", frozenset()))
        for d in docs
    ]
