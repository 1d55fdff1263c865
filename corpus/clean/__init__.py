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
import gc
import itertools
import multiprocessing
import os
import re
import unicodedata
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import glue
from ..boilerplate import (
    DEFAULT_SKETCH_LG_SIZE,
    BoilerplateCounter,
    clear_key_cache,
    line_key,
    normalised_key,
    page_line_keys,
)
from ..config import read_yaml_mapping
from ..errors import ConfigError
from ..glue import GlueConfig, find_glued_words_in_pages, insert_spaces
from ..offsets import EDIT_ORDER, Edit, apply_edits
from ..records import STATUS_REJECTED, Document
from .classify import PageInputs, content_probabilities, default_line_model, page_inputs

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "configs" / "clean.yaml"


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
    chrome_max_words: int = 40  # longer lines are article text: no chrome rule is tried
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
    # cheap pre-check: an ASCII line is only searched for a credit when it contains one of
    # these words (case-insensitive); every match of the pattern must contain one. Empty:
    # always search.
    photo_credit_words: tuple[str, ...] = ()
    boilerplate_min_pages: int = 3
    boilerplate_min_fraction: float = 0.3
    boilerplate_max_words: int = 12
    boilerplate_sketch_lg_size: int = DEFAULT_SKETCH_LG_SIZE
    glue: GlueConfig = field(default_factory=GlueConfig)
    # the line classifier (corpus/clean/classify.py): a line whose content probability is
    # below `min_content_probability` is removed as `boilerplate_line`; one at or above
    # `strong_content_probability` is never cut as part of a related-news block
    classifier_enabled: bool = True
    min_content_probability: float | None = None  # None: the model's own threshold
    strong_content_probability: float = 0.5
    title_window_lines: int = 8  # the title is looked for this close above the article
    glue_languages: frozenset[str] = frozenset({"en"})


def _compile(pattern: str, where: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigError(
            f"{where}: invalid regular expression {pattern!r} ({exc}); fix it"
        ) from exc


def _yes_no(value: Any, key: str) -> bool:
    """A YAML boolean; "no" as a string is not silently true."""
    if isinstance(value, bool):
        return value
    raise ValueError(f"{key} must be true or false, got {value!r}")


def load_clean_config(path: str | Path | None = None) -> CleanConfig:
    """Read the cleaning rules (default: configs/clean.yaml next to the package)."""
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    data = read_yaml_mapping(path, what="cleaning config (sections head, chrome, blocks, ...)")

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
        glue = dict(glue)
        glue_languages = glue.pop("languages", ["en"])
        glue_config = GlueConfig(
            **{k: (tuple(v) if isinstance(v, list) else v) for k, v in glue.items()}
        )
        classifier = section("classifier")
        config = CleanConfig(
            head_max_lines=int(head.get("max_lines", 15)),
            title_max_words=int(head.get("title_max_words", 25)),
            paragraph_min_words=int(para.get("min_words", 12)),
            day_first=_yes_no(dates.get("day_first", True), "dates.day_first"),
            menu_words=frozenset(str(w).casefold() for w in chrome.get("menu_words", [])),
            menu_min_words=int(chrome.get("menu_min_words", 2)),
            menu_separators=tuple(chrome.get("menu_separators", ["|"])),
            menu_item_max_words=int(chrome.get("menu_item_max_words", 3)),
            chrome_max_words=int(chrome.get("max_words", 40)),
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
            photo_credit_words=tuple(str(w) for w in credit.get("line_must_contain", [])),
            boilerplate_min_pages=int(bp.get("min_pages", 3)),
            boilerplate_min_fraction=float(bp.get("min_fraction", 0.3)),
            boilerplate_max_words=int(bp.get("max_words", 12)),
            boilerplate_sketch_lg_size=int(bp.get("sketch_lg_size", DEFAULT_SKETCH_LG_SIZE)),
            glue=glue_config,
            classifier_enabled=_yes_no(classifier.get("enabled", True), "classifier.enabled"),
            min_content_probability=(
                None
                if classifier.get("min_content_probability") is None
                else float(classifier["min_content_probability"])
            ),
            strong_content_probability=float(
                classifier.get("strong_content_probability", 0.5)
            ),
            title_window_lines=int(head.get("title_window_lines", 8)),
            glue_languages=frozenset(str(code) for code in glue_languages),
        )
        if not 3 <= config.boilerplate_sketch_lg_size <= 26:
            raise ValueError(
                f"boilerplate.sketch_lg_size is {config.boilerplate_sketch_lg_size}, "
                "it must be between 3 and 26"
            )
        return config
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
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")
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
    if not text or len(text) > 60 or _DIGIT.search(text) is None:  # every date has digits
        return None
    date: tuple[int, int, int] | None = None
    rest = text
    has_letters = _LETTER.search(rest) is not None  # else no month name: skip two searches
    m = _MONTH_FIRST.search(rest) if has_letters else None
    if m:
        date = (int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
    else:
        m = _DAY_FIRST.search(rest) if has_letters else None
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
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$|[\"”]$")
_WORD = re.compile(r"\S+")
_SENTENCE_MARKS = frozenset(".!?…")
_CLOSING_QUOTES = frozenset('"”')


def _split_lines(raw: str) -> tuple[list[int], list[int], list[int], list[str]]:
    """Parallel lists (start, content_end, end, content) of the lines of `raw`.

    A line ends at "\\r\\n", "\\r" or "\\n"; a last line without terminator counts too.
    """
    starts: list[int] = []
    content_ends: list[int] = []
    ends: list[int] = []
    texts: list[str] = []
    if "\r" not in raw:  # the common case: split on "\n", positions by running sums
        texts = raw.split("\n")
        if not texts[-1]:
            texts.pop()  # a final "\n" ends the last line; it does not start another
        lengths = list(map(len, texts))
        ends = list(itertools.accumulate(lengths, lambda end, length: end + length + 1, initial=-1))
        del ends[0]
        starts = [end - length for end, length in zip(ends, lengths, strict=True)]
        content_ends = ends[:]
        ends = [end + 1 for end in ends]
        if ends and ends[-1] > len(raw):
            ends[-1] = len(raw)  # the last line has no terminator
        return starts, content_ends, ends, texts
    for m in _LINE.finditer(raw):
        body = m.group().rstrip("\r\n")
        starts.append(m.start())
        content_ends.append(m.start() + len(body))
        ends.append(m.end())
        texts.append(body)
    return starts, content_ends, ends, texts


def _ends_sentence(stripped: str) -> bool:
    """`_SENTENCE_END.search(stripped)` without scanning the line: look at its end only."""
    closed = stripped.rstrip("\"'”’)]")
    return closed[-1:] in _SENTENCE_MARKS or stripped[-1:] in _CLOSING_QUOTES


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _is_menu(
    text: str, config: CleanConfig, has_separator: Callable[[str], object] | None = None
) -> bool:
    """A menu line: only menu words, or >= 3 short items between separators.
    `has_separator(text)` (optional) tells cheaply whether any separator occurs at all."""
    stripped = text.strip()
    if len(stripped) > 200:  # menus are short; skip the work for paragraphs
        return False
    if _menu_words_only(stripped, config):
        return True
    if has_separator is not None and not has_separator(stripped):
        return False
    for sep in config.menu_separators:
        if sep not in stripped or stripped.count(sep) < 2:  # fewer than 3 items
            continue
        items = [i.strip() for i in stripped.split(sep)]
        if all(
            0 < len(i.split()) <= config.menu_item_max_words and any(c.isalpha() for c in i)
            for i in items
        ):
            return True
    return False


def _menu_words_only(stripped: str, config: CleanConfig) -> bool:
    """At least `menu_min_words` words and all of them menu words ("Contact us RSS")."""
    first = stripped.split(None, 1)  # most lines fail on their first word: split no further
    if first:
        word = first[0].strip("|·•»>/:").casefold()
        if word and word not in config.menu_words:
            return False
    count = 0
    for word in stripped.split():
        word = word.strip("|·•»>/:").casefold()
        if not word:
            continue
        if word not in config.menu_words:
            return False  # one word outside the menu vocabulary: not a menu line
        count += 1
    return count >= config.menu_min_words


# A backreference, conditional or global inline flag would change meaning inside one
# big alternation; such pattern lists are matched one by one instead.
_NOT_COMBINABLE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(|\(\?[aiLmsux]+\)")


# A pattern that starts with a greedy ".*" (and does not make "." match line breaks).
_LEADING_ANYTHING = re.compile(r"\.\*(?![?+*{])")


def _any_matcher(patterns: tuple[re.Pattern[str], ...]) -> Callable[[str], bool]:
    """`line -> any(p.match(line) for p in patterns)` for one line (no line breaks).

    On such a line `match(".*X")` succeeds exactly when `X` is found somewhere, so those
    patterns are searched for without their ".*": sre would otherwise run the greedy
    ".*" to the end and try X again at every position on the way back. The patterns of
    each kind are combined into one regex when that is safe.
    """
    anchored = tuple(p for p in patterns if not _searchable(p))
    searched = tuple(re.compile(p.pattern[2:], p.flags) for p in patterns if _searchable(p))
    match = _combined(anchored, "match")
    search = _prechecked(searched, _combined(searched, "search"))
    if match is None:
        return search or (lambda text: False)
    if search is None:
        return match
    return lambda text: match(text) or search(text)


def _prechecked(
    patterns: tuple[re.Pattern[str], ...], search: Callable[[str], bool] | None
) -> Callable[[str], bool] | None:
    """`search`, skipped on an ASCII line that lacks every pattern's required literal.

    A search that cannot start from a literal ("\\ball rights reserved\\b", case-insensitive)
    tries the pattern at every position of the line; a substring test is ~20x cheaper.
    On ASCII text, case-insensitive matching of an ASCII literal is plain lower-casing."""
    if search is None:
        return None
    literals = [_required_literal(p) for p in patterns]
    if not all(literals):
        return search
    checks = tuple(
        (literal.lower(), True) if p.flags & re.IGNORECASE else (literal, False)
        for p, literal in zip(patterns, literals, strict=True)
        if literal is not None
    )
    full_search = search
    if len(checks) == 1:  # the usual case, without the loop
        literal, folded = checks[0]

        def prechecked_one(text: str) -> bool:
            if text.isascii() and literal not in (text.lower() if folded else text):
                return False
            return full_search(text)

        return prechecked_one

    def prechecked(text: str) -> bool:
        if text.isascii():
            low = text.lower()
            if not any(literal in (low if folded else text) for literal, folded in checks):
                return False
        return full_search(text)

    return prechecked


def _required_literal(pattern: re.Pattern[str]) -> str | None:
    """The longest run of ASCII characters that every match of `pattern` contains, read
    from the top level of its parse (CPython's own parser), or None if there is none."""
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(pattern.pattern, pattern.flags)
        literal_op = _constants.LITERAL
    except (ImportError, AttributeError, re.error):  # another Python: no pre-check
        return None
    best = run = ""
    for op, value in parsed:
        if op == literal_op and value < 128:
            run += chr(value)
            if len(run) > len(best):
                best = run
        else:
            run = ""
    return best or None


def _searchable(pattern: re.Pattern[str]) -> bool:
    return _LEADING_ANYTHING.match(pattern.pattern) is not None and not (pattern.flags & re.DOTALL)


def _combined(patterns: tuple[re.Pattern[str], ...], method: str) -> Callable[[str], bool] | None:
    """`text -> any(p.<method>(text) for p in patterns)`, as one regex when that is safe."""
    if not patterns:
        return None
    flags = {p.flags for p in patterns}
    if len(flags) == 1 and not any(_NOT_COMBINABLE.search(p.pattern) for p in patterns):
        try:
            combined = re.compile("|".join(f"(?:{p.pattern})" for p in patterns), flags.pop())
        except re.error:
            combined = None
        if combined is not None:
            find = getattr(combined, method)
            return lambda text: find(text) is not None
    finders = tuple(getattr(p, method) for p in patterns)
    return lambda text: any(find(text) for find in finders)


# What clean_page needs to know about one line, computed once per distinct line text:
# (normalised text, word count, line_key, chrome?, block header?, link-like?)
_Facts = tuple[str, int, str, bool, bool, bool]
_FACTS_CACHE_MAX = 100_000
_FACTS_LINE_CHARS = 200  # longer lines are mostly unique paragraphs: not cached


class _Prepared:
    """Per-config derived matchers and the cache of line facts (bounded)."""

    def __init__(self, config: CleanConfig):
        self.config = config
        self.is_chrome_pattern = _any_matcher(config.chrome_patterns)
        self.is_block_header = _any_matcher(config.block_headers)
        separators = [re.escape(sep) for sep in config.menu_separators if sep]
        self.has_separator = re.compile("|".join(separators)).search if separators else None
        self.facts: dict[str, _Facts] = {}
        self.credit_words = tuple(w.lower() for w in config.photo_credit_words)
        # what an ASCII text can contain (the pre-checks below only run on ASCII text)
        self.ascii_credit_words = tuple(w for w in self.credit_words if w.isascii())

    def line_facts(self, text: str) -> _Facts:
        facts = self.facts.get(text)
        if facts is not None:
            return facts
        config = self.config
        if (
            text.isascii()
            and text.isprintable()  # no tab, no other ASCII whitespace but the space
            and "  " not in text
            and text[:1] != " "
            and text[-1:] != " "
        ):
            # already in normal form: single spaces between words, none at the ends
            norm = text
            n_words = text.count(" ") + 1 if text else 0
        else:
            words = text.split()
            norm = " ".join(words)
            n_words = len(words)
        # line_key of an ASCII line only folds case and digits of its normalised text
        key = normalised_key(norm) if text.isascii() else line_key(text)
        if n_words == 0:
            facts = ("", 0, key, False, False, False)
        else:
            facts = (
                norm,
                n_words,
                key,
                n_words <= config.chrome_max_words
                and (_is_menu(norm, config, self.has_separator) or self.is_chrome_pattern(norm)),
                self.is_block_header(norm),
                n_words <= config.link_max_words and not norm.endswith("."),
            )
        if len(text) <= _FACTS_LINE_CHARS:
            if len(self.facts) >= _FACTS_CACHE_MAX:
                self.facts.clear()
            self.facts[text] = facts
        return facts

    def credit_match(self, text: str) -> re.Match[str] | None:
        """`photo_credit_pattern.search(text)`, skipped when `photo_credit_words` rule it out.

        The pre-check is exact only for ASCII lines (for those, the regex's case-insensitive
        matching is plain ASCII case folding); other lines are always searched.
        """
        if self.credit_words and text.isascii():
            low = text.lower()
            if not any(w in low for w in self.ascii_credit_words):
                return None
        return self.config.photo_credit_pattern.search(text)

    def may_have_credits(self, page: str) -> bool:
        """False when `credit_match` is None on every line of `page`: the same pre-check,
        once for the whole page."""
        if not self.credit_words or not page.isascii():
            return True
        low = page.lower()
        return any(w in low for w in self.ascii_credit_words)


def _no_match(text: str) -> None:
    return None


_PREPARED: dict[int, _Prepared] = {}


def _prepared(config: CleanConfig) -> _Prepared:
    entry = _PREPARED.get(id(config))
    if entry is None or entry.config is not config:
        if len(_PREPARED) > 32:  # configs are few; never let stale ids pile up
            _PREPARED.clear()
        entry = _Prepared(config)
        _PREPARED[id(config)] = entry
    return entry


# bytes.translate deletion table: every ASCII byte that is not a letter or digit
_ASCII_NOT_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())


def _alnum_key(text: str) -> str:
    """The letters and digits of `text`, case-folded."""
    if text.isascii():  # casefold is lower and isalnum is [A-Za-z0-9]: bytes do it at C speed
        return text.lower().encode("ascii").translate(None, _ASCII_NOT_ALNUM).decode("ascii")
    return "".join(ch for ch in text.casefold() if ch.isalnum())


_LOWER_START = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _lower_prefix(text: str) -> list[str]:
    """The leading words of `text` made only of a-z and 0-9."""
    out = []
    for word in text.split():
        # fullmatch of [a-z0-9]+ without a regex: ASCII letters and digits, no capital
        if not (word.isascii() and word.isalnum() and (word.islower() or word.isdigit())):
            break
        out.append(word)
    return out


def _lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence (bit-parallel, Allison-Dix/Hyyrö)."""
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def _similarity_at_least(a: str, b: str, threshold: float) -> bool:
    """`difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold`, cheaper.

    The matcher's blocks form a common subsequence, so 2 * LCS / (len(a) + len(b)) bounds
    its ratio from above; and when `b` starts with `a` the ratio is exactly 2|a| / (|a|+|b|).
    """
    total = len(a) + len(b)
    if total and a and b.startswith(a):
        return 2.0 * len(a) / total >= threshold
    if total and 2.0 * _lcs_length(a, b) / total < threshold:
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


_STRAY_CAPITAL = re.compile(r"[A-Z]{2}[a-z]+")


def _parse_names(names: str, config: CleanConfig) -> list[str]:
    out = []
    for name in config.byline_separators.split(names):
        name = " ".join(name.strip(" -/,.&").split())
        if not name:
            continue
        # "THai" -> "Thai": a stray second capital from typing, not an acronym
        name = " ".join(
            w[0] + w[1:].lower() if _STRAY_CAPITAL.fullmatch(w) else w for w in name.split()
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
    return _clean_batch([doc], [boilerplate], config)[0]


def clean_pages(
    docs: Sequence[Document], *, config: CleanConfig, learned: Mapping[str, frozenset[str]]
) -> list[Document]:
    """`clean_page` of every page (with its site's `learned` boilerplate), in order. The
    same result, faster: the glued words of all the pages are looked up in one batch."""
    return _clean_batch(docs, [learned.get(d.site or "", frozenset()) for d in docs], config)


_GlueRequest = tuple[str, list[tuple[int, int]]]  # raw text, ranges to repair


def _extracted_from_html(doc: Document) -> bool:
    return "html_length" in doc.metadata


def _clean_batch(
    docs: Sequence[Document], boilerplates: Sequence[frozenset[str]], config: CleanConfig
) -> list[Document]:
    """Score every page's lines with the line classifier in one batch, run each page's
    `_clean_steps` up to its glue request, answer all the requests in one
    `find_glued_words_in_pages` call, then let each page finish."""
    out: list[Document] = []
    paused: list[tuple[int, Generator[_GlueRequest, list[list[Edit]], Document]]] = []
    requests: list[_GlueRequest] = []
    inputs = [
        None if doc.status == STATUS_REJECTED else page_inputs(doc.raw_text,
                                                               lines=_split_lines(doc.raw_text)[3])
        for doc in docs
    ]
    # pages extracted from HTML were already separated from their chrome by the extractor
    classified = [
        page is not None and config.classifier_enabled and not _extracted_from_html(doc)
        for doc, page in zip(docs, inputs, strict=True)
    ]
    probabilities = iter(
        content_probabilities(
            default_line_model(),
            [page.features for page, c in zip(inputs, classified, strict=True) if c and page],
        )
        if any(classified)
        else []
    )
    for doc, boilerplate, page, c in zip(docs, boilerplates, inputs, classified, strict=True):
        scores = next(probabilities) if c else None
        steps = _clean_steps(doc, config, boilerplate, page, scores)
        try:
            requests.append(next(steps))
        except StopIteration as done:  # nothing to repair (a rejected page)
            out.append(done.value)
            continue
        paused.append((len(out), steps))
        out.append(doc)  # replaced below
    glued = find_glued_words_in_pages(requests, config=config.glue) if requests else []
    for (row, steps), page_glued in zip(paused, glued, strict=True):
        try:
            steps.send(page_glued)
        except StopIteration as done:
            out[row] = done.value
        else:
            raise RuntimeError("_clean_steps asked for glued words twice")
    return out


CLASSIFIED = "boilerplate_line"  # reason of lines the line classifier scores as not content


_URL_WORDS = re.compile(r"[^\W_]+")


def _title_evidence(
    i: int, head: list[int], reasons: list[str | None], texts: list[str], url: str | None
) -> bool:
    """Whether a kept head line is the page's headline, on evidence: it is the first kept
    line of the page, a markdown heading, most of its words are in the URL, or another
    line of the head (the page's <title>, an image alt text) starts with or contains it."""
    text = texts[i].strip()
    if text.startswith("#") or i == next((j for j in head if reasons[j] is None), None):
        return True
    words = [w.casefold() for w in _URL_WORDS.findall(text)]
    if url and words:
        in_url = set(_URL_WORDS.findall(url.casefold()))
        if sum(w in in_url for w in words) >= max(2, 0.6 * len(words)):
            return True
    key = _alnum_key(text)
    if len(key) < 12:
        return False
    return any(j != i and key in _alnum_key(texts[j]) for j in head)


def _prose_around(
    nonblank: list[int],
    reasons: list[str | None],
    texts: list[str],
    n_words: list[int],
    content_p: list[float],
    config: CleanConfig,
) -> tuple[dict[int, int], dict[int, int]]:
    """Per non-blank line, the characters of kept article paragraphs before and after it."""
    sizes = [
        len(texts[i])
        if reasons[i] is None
        and n_words[i] >= config.paragraph_min_words
        and content_p[i] >= config.strong_content_probability
        else 0
        for i in nonblank
    ]
    total = sum(sizes)
    before: dict[int, int] = {}
    after: dict[int, int] = {}
    running = 0
    for i, size in zip(nonblank, sizes, strict=True):
        before[i] = running
        after[i] = total - running - size
        running += size
    return before, after


def _classified_title(
    head: list[int],
    near: set[int],
    reasons: list[str | None],
    texts: list[str],
    n_words: list[int],
    keys: list[str],
    config: CleanConfig,
) -> int | None:
    """The headline among the last head lines the classifier removed, when no kept line
    there looks like one: the longest title-like line (a headline outgrows the menu items
    and counters around it)."""
    if any(reasons[i] is None and n_words[i] >= 3 for i in near):
        return None
    best: int | None = None
    for i in head:
        if i not in near or reasons[i] != CLASSIFIED:
            continue
        text = texts[i].strip()
        if not 3 <= n_words[i] <= config.title_max_words or text.endswith(".") or "](" in text:
            continue
        if parse_date_line(text, day_first=config.day_first) is not None:
            continue
        if config.byline_pattern.match(text):
            continue
        if best is None or n_words[i] > n_words[best]:
            best = i
    return best


def _clean_steps(
    doc: Document,
    config: CleanConfig,
    boilerplate: frozenset[str],
    page: PageInputs | None = None,
    scores: Any = None,
) -> Generator[_GlueRequest, list[list[Edit]], Document]:
    """The cleaning of one page, paused once: it yields the raw ranges whose glued words
    it needs (the kept lines and the title), is sent back their glue edits (one list per
    range) and returns the cleaned document. A batch of pages thus asks glue once."""
    if doc.status == STATUS_REJECTED:
        return doc
    raw = doc.raw_text
    starts, content_ends, ends, texts = _split_lines(raw)
    n = len(texts)
    prep = _prepared(config)
    facts = [prep.line_facts(text) for text in texts]
    blank = [f[1] == 0 for f in facts]
    n_words = [f[1] for f in facts]
    keys = [f[2] for f in facts]
    nonblank = [i for i in range(n) if not blank[i]]
    reasons: list[str | None] = [None] * n
    title = doc.title
    published = doc.published
    authors: list[str] = list(doc.authors)
    metadata = dict(doc.metadata)

    language = page.language.code if page is not None else None
    if language:
        metadata["language"] = language
    content_p = [1.0] * n
    if page is not None and scores is not None:
        for k, i in enumerate(page.line_numbers):
            content_p[i] = float(scores[k])
    threshold = (
        config.min_content_probability
        if config.min_content_probability is not None
        else default_line_model().threshold
    )

    # 1. chrome (learned boilerplate comes after the structural steps, see 3b)
    for i in nonblank:
        if facts[i][3]:
            reasons[i] = "site_chrome"
    # 1b. lines the classifier scores as page chrome (menus, widgets, footers in any language)
    for i in nonblank:
        if reasons[i] is None and content_p[i] < threshold:
            reasons[i] = CLASSIFIED

    # 2. the head: title, dateline, scrape timestamps. The head is what comes before the
    # first article paragraph; the title and dateline are looked for in its last lines,
    # also among lines the classifier removed (an extractor leaves the headline out).
    head_end = n
    seen = 0
    for i in nonblank:
        if reasons[i] is not None:
            continue
        seen += 1
        if (
            n_words[i] >= config.paragraph_min_words and _ends_sentence(texts[i].strip())
        ) or seen > config.head_max_lines:
            head_end = i
            break
    head = [i for i in nonblank if i < head_end and reasons[i] in (None, CLASSIFIED)]
    near = set(head[-config.title_window_lines :])
    title_index: int | None = None
    title_span: tuple[int, int] | None = None  # raw range of a title read from the text
    preset_title_key = line_key(doc.title) if doc.title else None
    classified_title = _classified_title(head, near, reasons, texts, n_words, keys, config)
    for i in head:
        if reasons[i] == CLASSIFIED and i not in near:
            continue
        if reasons[i] == CLASSIFIED and (
            title_index is not None or preset_title_key is not None or i != classified_title
        ) and parse_date_line(texts[i].strip(), day_first=config.day_first) is None:
            continue
        text = texts[i].strip()
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
        if title_index is not None or keys[i] in boilerplate:
            continue  # a line every page of the site has is never the title
        if preset_title_key is not None:
            if keys[i] == preset_title_key:
                reasons[i] = "title"
                title_index = i
            continue
        if (
            2 <= n_words[i] <= config.title_max_words
            and not text.endswith(".")
            and "](" not in text
            and (
                i == classified_title
                or (
                    reasons[i] is None
                    and classified_title is None
                    and _title_evidence(i, head, reasons, texts, doc.url)
                )
            )
        ):
            reasons[i] = "title"
            title_index = i
            lead = len(texts[i]) - len(texts[i].lstrip())
            title_span = (starts[i] + lead, starts[i] + lead + len(text))  # repaired in 6.
    if title_index is None and preset_title_key is None:
        # no title line: a date line at the top is the page's own dateline
        for i in range(head_end):
            if reasons[i] == "scrape_timestamp":
                reasons[i] = "dateline"
                published = published or metadata.pop("scraped_at", None)
                break

    # 3. bylines (also on lines the classifier removed: the names still go to `authors`)
    for i in nonblank:
        if reasons[i] not in (None, CLASSIFIED) or n_words[i] > config.byline_max_words:
            continue
        m = config.byline_pattern.match(facts[i][0])
        if m:
            reasons[i] = "byline"
            authors.extend(_parse_names(m.group("names"), config))

    # 3b. learned boilerplate: lines recurring across the site's pages. It runs after the
    # head and bylines so that a dateline whose digits vary is still read as the date, and it
    # leaves block headings ("Related News") to step 4, which removes the block behind them.
    for i in nonblank:
        if reasons[i] is None and not facts[i][4] and keys[i] in boilerplate:
            reasons[i] = "site_boilerplate"

    # 4. related / latest / popular blocks
    counts: dict[str, int] = {}
    for i in nonblank:
        counts[keys[i]] = counts.get(keys[i], 0) + 1

    def block_line(j: int, previous: int | None) -> bool:
        if facts[j][4] or facts[j][5] or counts[keys[j]] > 1:
            return True
        # a teaser: the line right after a repeated headline (headline + image alt text)
        return previous is not None and facts[previous][5] and counts[keys[previous]] > 1

    prose_before, prose_after = _prose_around(nonblank, reasons, texts, n_words, content_p, config)
    for position, i in enumerate(nonblank):
        if reasons[i] not in (None, CLASSIFIED) or not facts[i][4]:
            continue
        rest = nonblank[position + 1 :]
        hits = 0
        previous: int | None = None
        for j in rest:
            if reasons[j] is not None or block_line(j, previous):
                hits += 1
            previous = j
        if not rest or hits / len(rest) >= config.tail_min_fraction:
            # the tail block. Below the article (most of the page's prose is above the
            # heading) it runs to the end of the page; elsewhere each line goes only on its
            # own evidence (a link, a teaser, a repeat, or a line the classifier does not
            # hold for strong content): a run of prose below a heading-like word stays.
            reasons[i] = "related_block"
            below_article = prose_after[i] * 2 < prose_before[i]
            previous = None
            for j in rest:
                if reasons[j] is None and (
                    below_article
                    or block_line(j, previous)
                    or content_p[j] < config.strong_content_probability
                ):
                    reasons[j] = "related_block"
                previous = j
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

    # 5a. slug-prefixed lines
    prefixes: dict[int, list[str]] = {}
    for i in nonblank:
        text = texts[i]
        if reasons[i] is not None or text.lstrip()[:1] not in _LOWER_START:
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
    # a title read from the text is repaired in 6.; spaces do not change its _alnum_key
    title_text = raw[title_span[0] : title_span[1]] if title_span is not None else title
    if title_text:
        title_key = _alnum_key(title_text)
        for i in prefixes:
            if i in slug_lines:
                continue
            head = _alnum_key(texts[i])[: len(title_key) + 2]
            if _similarity_at_least(title_key, head, config.slug_min_similarity):
                slug_lines.add(i)
    for i in slug_lines:
        reasons[i] = "slug_link"

    # 5b. doubled headlines, then repeated lines (first occurrence stays)
    first_seen: set[str] = set()
    half_min = config.doubled_min_words
    for i in nonblank:
        if reasons[i] is not None:
            continue
        count = n_words[i]
        if count % 2 == 0 and count // 2 >= half_min:
            words = texts[i].split()
            if words[: count // 2] == words[count // 2 :]:
                reasons[i] = "doubled_headline"
                continue
        if len(texts[i].strip()) >= config.repeated_min_chars:
            if keys[i] in first_seen:
                reasons[i] = "repeated_line"
            first_seen.add(keys[i])

    # photo-credit-only lines are dropped whole
    credits: list[str] = []
    credit_matches: dict[int, re.Match[str] | None] = {}
    find_credit = prep.credit_match if prep.may_have_credits(raw) else _no_match
    for i in nonblank:
        if reasons[i] not in (None, CLASSIFIED):
            continue
        text = texts[i]
        m = find_credit(text.rstrip())
        if reasons[i] is None:
            credit_matches[i] = m
        if m and not text[: m.start()].strip():
            reasons[i] = "photo_credit"
            credits.extend(_parse_names(m.group("names"), config))

    # blank lines: keep one between kept content lines; inside a removed block they
    # take the block's reason so a block is one edit
    last_content = -1
    for i in reversed(nonblank):
        if reasons[i] is None:
            last_content = i
            break
    previous_kept_blank = True  # nothing kept yet: a leading blank line goes
    before: str | None = None  # reason of the last non-blank line seen
    next_position = 0  # index into nonblank of the next non-blank line after i
    for i in range(n):
        if not blank[i]:
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

    # 6. edits
    # each run of adjacent lines removed for one reason is one edit
    edits: list[Edit] = []
    i = 0
    for reason, run in itertools.groupby(reasons):
        length = len(list(run))
        if reason is not None:
            edits.append(Edit(starts[i], ends[i + length - 1], "", reason))
        i += length
    # kept lines: a caption's trailing photo credit goes, the rest is the line's content
    kept = [i for i in range(n) if reasons[i] is None]
    content: list[tuple[int, int]] = []  # raw [start, end) of each kept line's content
    line_edits: list[list[Edit]] = []
    for i in kept:
        start = starts[i]
        text = texts[i]
        content_end = content_ends[i]
        line_edits.append([])
        if text:
            m = credit_matches[i] if i in credit_matches else find_credit(text.rstrip())
            if m and m.start() > 0:
                cut = start + m.start()
                while cut > start and raw[cut - 1].isspace():
                    cut -= 1
                line_edits[-1].append(Edit(cut, start + len(text.rstrip()), "", "photo_credit"))
                credits.extend(_parse_names(m.group("names"), config))
                content_end = cut
        content.append((start, content_end))
    # glued words of every kept line and of the title, in one pass
    glue_ranges = content if title_span is None else [*content, title_span]
    if language not in config.glue_languages:
        glue_ranges = []  # glued words are repaired only in languages configured for it
    glued = yield raw, glue_ranges
    if not glued:
        glued = [[] for _ in content] + ([] if title_span is None else [[]])
    if title_span is not None:
        title = " ".join(insert_spaces(raw, glued[-1], *title_span).split())
    for k, i in enumerate(kept):
        start, content_end = content[k]
        line_content_end = content_ends[i]
        found = line_edits[k]
        if start < line_content_end:
            found.extend(_normalise_line(raw, start, content_end, line_content_end))
            found.extend(glued[k])
        terminator_length = ends[i] - line_content_end
        if i == last_content and terminator_length:
            found.append(Edit(line_content_end, ends[i], "", "whitespace"))
        elif terminator_length and (terminator_length > 1 or raw[line_content_end] != "\n"):
            found.append(Edit(line_content_end, ends[i], "\n", "whitespace"))
        # a line's edits stay inside the line, so overlaps are resolved line by line
        edits.extend(_disjoint(found) if len(found) > 1 else found)
    edits.sort(key=EDIT_ORDER)  # sorted once: apply_edits finds them in order
    clean_text, offset_map = apply_edits(raw, edits)

    for name in credits:
        if name not in authors:
            authors.append(name)
    if credits:
        metadata["photo_credits"] = sorted(set(credits), key=credits.index)
    deduped_authors = list(dict.fromkeys(authors))
    return doc.with_(
        clean_text=clean_text,
        edits=tuple(edits),
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
    if text.isascii():  # only tabs and stray spaces can need work
        needs_work = "\t" in text or "  " in text or text[:1] == " " or text[-1:] == " "
    else:
        needs_work = _NEEDS_WORK.search(text) is not None
    if needs_work:
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
PARALLEL_MIN_PAGES = 2_000  # below this, worker start-up costs more than it saves
_CHUNK_PAGES = 250  # pages per task sent to a worker

# Set in each worker process by `_start_worker`: the batch, the config, the boilerplate.
_WORKER_STATE: tuple[list[Document], CleanConfig, dict[str, frozenset[str]]] | None = None


def _start_worker(
    docs: list[Document], config: CleanConfig, learned: dict[str, frozenset[str]]
) -> None:
    global _WORKER_STATE
    _WORKER_STATE = (docs, config, learned)


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


def _clean_range(bounds: tuple[int, int]) -> list[Document]:
    """Clean docs[start:end] of the batch handed to this worker."""
    assert _WORKER_STATE is not None, "worker used before _start_worker ran"
    docs, config, learned = _WORKER_STATE
    start, end = bounds
    with _gc_paused():
        return clean_pages(docs[start:end], config=config, learned=learned)


def _worker_count(workers: int | None, n_docs: int) -> int:
    if workers is None:
        return (os.cpu_count() or 1) if n_docs >= PARALLEL_MIN_PAGES else 1
    if workers < 1:
        raise ValueError(
            f"clean_documents: workers={workers!r} is not a process count; pass an integer "
            ">= 1 (1 = clean in this process) or None to choose by batch size"
        )
    return workers


def clear_caches() -> None:
    """Empty the cleaner's memo caches (line facts, line keys, glue decisions, word
    frequencies): what a fresh process starts with. They are bounded anyway; benchmarks
    call this so that every run starts cold, as `contraband curate` does."""
    _PREPARED.clear()
    clear_key_cache()
    glue.clear_caches()


def warm_up(config: CleanConfig) -> None:
    """Build the per-config matchers and load the word data once, before workers fork
    (they inherit it instead of each loading it while the other waits for a core)."""
    _prepared(config)
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
    n_workers = min(_worker_count(workers, len(docs)), max(1, len(docs)))
    if n_workers == 1:
        with _gc_paused():
            return [
                page
                for start in range(0, len(docs), _CHUNK_PAGES)
                for page in clean_pages(
                    docs[start : start + _CHUNK_PAGES], config=config, learned=learned
                )
            ]
    chunk = max(1, min(_CHUNK_PAGES, -(-len(docs) // (4 * n_workers))))
    warm_up(config)
    bounds = [(start, min(start + chunk, len(docs))) for start in range(0, len(docs), chunk)]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with (
        context.Pool(
            n_workers, initializer=_start_worker, initargs=(docs, config, learned)
        ) as pool,
        _gc_paused(),
    ):
        return [doc for part in pool.imap(_clean_range, bounds) for doc in part]
