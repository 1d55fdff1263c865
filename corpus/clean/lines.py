"""A page's lines and what each one is at a glance: its normal form, word count, line key,
and whether it is a menu, a chrome pattern, a block heading or link-like. `LineScanner` owns
the compiled matchers of a config and a bounded cache of line facts; fast paths stay beside
their plain definitions (tests/corpus/test_clean_equivalence.py checks them)."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from typing import NamedTuple

from ..boilerplate import line_key, normalised_key
from .config import CleanConfig
from .text import is_ascii_normal_form

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


class LineFacts(NamedTuple):
    """What the rules need to know about one line, computed once per distinct line text."""

    norm: str  # the words joined by single spaces
    n_words: int
    key: str  # `line_key`: case, spacing and digits folded
    chrome: bool  # a menu or a whole-line chrome pattern
    block_header: bool  # a related / latest / popular block heading
    link_like: bool  # short and not a sentence: a headline link of a block


# `LineFacts(*fields)` without the Python-level __new__ of a named tuple (a third of the cost)
_new_facts = functools.partial(tuple.__new__, LineFacts)

_FACTS_CACHE_MAX = 100_000
_FACTS_LINE_CHARS = 200  # longer lines are mostly unique paragraphs: not cached


class LineScanner:
    """A config's compiled line matchers and its own bounded cache of line facts."""

    def __init__(self, config: CleanConfig):
        self.config = config
        self.is_chrome_pattern = _any_matcher(config.chrome_patterns)
        self.is_block_header = _any_matcher(config.block_headers)
        separators = [re.escape(sep) for sep in config.menu_separators if sep]
        self.has_separator = re.compile("|".join(separators)).search if separators else None
        self.facts: dict[str, LineFacts] = {}
        self.credit_words = tuple(w.lower() for w in config.photo_credit_words)
        # what an ASCII text can contain (the pre-checks below only run on ASCII text)
        self.ascii_credit_words = tuple(w for w in self.credit_words if w.isascii())

    def line_facts(self, text: str) -> LineFacts:
        facts = self.facts.get(text)
        if facts is not None:
            return facts
        config = self.config
        if is_ascii_normal_form(text):
            norm = text
            n_words = text.count(" ") + 1 if text else 0
        else:
            words = text.split()
            norm = " ".join(words)
            n_words = len(words)
        # line_key of an ASCII line only folds case and digits of its normalised text
        key = normalised_key(norm) if text.isascii() else line_key(text)
        if n_words == 0:
            facts = _new_facts(("", 0, key, False, False, False))
        else:
            facts = _new_facts(
                (
                    norm,
                    n_words,
                    key,
                    n_words <= config.chrome_max_words
                    and (
                        _is_menu(norm, config, self.has_separator) or self.is_chrome_pattern(norm)
                    ),
                    self.is_block_header(norm),
                    n_words <= config.link_max_words and not norm.endswith("."),
                )
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
