"""Near-certain repair of glued words ("strengthencooperation" -> "strengthen cooperation").

Scraped pages lose spaces where inline markup (links, bold, line breaks) met the text.
The repair only ever *inserts* a space, as an `Edit(p, p, " ", "glued_word")` in the
coordinates of the text it was given (plus `offset`), so it composes with the other
cleaning edits and the offset map keeps every original character.

Real glue is rare and a wrong split breaks a word the page had whole ("millones" ->
"mill ones", "Youthlink" -> "Youth link"), so a split must be near-certain:

* **Language.** Repair runs only on pages whose language is enabled (`languages`,
  default English) and has a wordfreq list; a page of unknown language is left alone.
* **The page itself.** A token that stands whole anywhere else on the page (any case,
  also inside a URL, an e-mail address or a handle) is a word of that page, never glue.
  A token inside a URL, a path, markup or code ("jamaicaobserver.com", "x22isPromo",
  "%26pageCount") or touching digits is not prose and is never split.
* **Word frequencies** (the `wordfreq` package, Zipf scale: 7 = "the", 3 = one per
  million words, 0 = unseen; never a hand list). A lower-case or capitalised token is
  split in two only when it is itself essentially unattested (Zipf below
  `unknown_max_zipf` in the page's language and below `other_language_max_zipf` in every
  one of `other_languages`: "warten", "lawan", "millones" are words elsewhere) and both
  halves are common words. Short halves must be very common (1 letter: only "a"; 2
  letters: Zipf >= `short_part_zipf`, e.g. "to", "in", "of"; 3 letters: >=
  `three_letter_zipf`), and one half must be a very common word (Zipf >= `anchor_zipf`:
  "the", "was", "with", "each"), as in nearly all real glue, unless both halves are long
  content words and the joined form is unseen (Zipf below `compound_max_zipf`,
  "drugpolicy"). A capitalised token (a name or a brand, "Lawan", "Dreamforce") is split
  only after a very common word that takes the capital ("Thecooperation"), never before
  one ("Lawan" is not "Law an").
* each part of a hyphenated token is checked on its own ("anti-drugpolicy"), and a
  glued very common word before a hyphenated word keeps the hyphen with its word
  ("wasco-founded" -> "was co-founded");
* a very common lower-case word glued to a capitalised word ("toChinese"), a known word
  glued to a code ("crimeC04") or a capitalised word glued to a year ("May2019") is
  split at the change;
* a comma between a number and a lower-case known word ("2000,so") gets a space.

Acronyms (all capitals), tokens with digits ("M918", "OMD5", "500kg") and mixed-case
brand names are never split.

`GlueRepairer(config)` owns every cache of token decisions and word tables; workers get
one explicitly. `find_glued_words` and `find_glued_words_in_pages` are thin conveniences
over a repairer shared per config value.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from wordfreq import available_languages, get_frequency_dict, get_frequency_list, zipf_frequency
from wordfreq.language_info import get_language_info

from .cache import cached_value
from .offsets import Edit

REASON = "glued_word"

# A "word" for this module: letters (any script) with internal hyphens/apostrophes.
_TOKEN = re.compile(r"[^\W\d_]+(?:[-'\u2019][^\W\d_]+)*")
_APOSTROPHES = re.compile(r"([-'\u2019])")
_LOWER_THEN_UPPER = re.compile(r"^([a-z]{2,})([A-Z][a-z]{2,})$")
_WORD_THEN_YEAR = re.compile(r"(?<![\w])([A-Z][a-z]{2,})((?:1[89]|20)\d\d)(?![\w])")
_CODE_GLUE = re.compile(r"\b([a-z]{3,})([A-Z][A-Z]*\d+)\b")
# the comma first, so the regex engine can jump from comma to comma
_COMMA_GLUE = re.compile(r",(?<=[0-9],)(?=[a-z]{2,})")
# where a `_TOKEN.finditer` match can start: not right after a letter, nor after a
# hyphen/apostrophe that follows a letter (the previous token would have continued)
_TOKEN_START = re.compile(r"(?<![^\W\d_])(?<![^\W\d_][-'\u2019])")
# characters that make a run of non-space characters a URL, a path, markup or code
_NOT_PROSE = re.compile(r"[/\\@=_%#&|~^+$`]|[^\W_]\.[^\W\d_]|[^\W\d_]:[^\W\d_]")
# what bounds a word's run besides spaces: brackets and quotes ("[text](/url)", "<b>text</b>")
_RUN_BOUNDS = frozenset('()[]{}<>"')
# ASCII text: bytes.translate table keeping the letters, every other byte -> space
_ASCII_LETTER_RUNS = bytes(c if chr(c).isalpha() and c < 128 else ord(" ") for c in range(256))
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# ASCII text: bytes.translate table, letters -> "a", digits -> "0", the rest -> space
_ASCII_CLASSES = (
    bytes(
        ord("a") if chr(c).isalpha() else ord("0") if chr(c).isdigit() else 32 for c in range(128)
    )
    + b" " * 128
)
# The most common Latin-script languages of the web after English, with a wordfreq
# "small" list (~4 MB each in memory): a token that is a word in one of them ("warten",
# "millones", "lawan") is not glue even on a page detected as English.
_OTHER_LANGUAGES = ("de", "es", "fr", "id", "it", "nl", "pl", "pt")


@dataclass(frozen=True)
class GlueConfig:
    """Thresholds of the glued-word repair (configs/clean.yaml, section `glue`)."""

    languages: tuple[str, ...] = ("en",)
    other_languages: tuple[str, ...] = _OTHER_LANGUAGES
    other_language_max_zipf: float = 3.0
    unknown_max_zipf: float = 1.5
    compound_max_zipf: float = 1.0
    anchor_zipf: float = 5.5
    anchor_max_compounds: int = 9
    ending_max_share: float = 0.1
    compound_min_part: int = 7
    capitalised_min_part: int = 5
    min_part_zipf: float = 3.0
    three_letter_zipf: float = 4.5
    short_part_zipf: float = 5.5
    min_gain: float = 3.0
    min_token_length: int = 5
    single_letter_words: tuple[str, ...] = ("a",)
    # word-forming prefixes/suffixes: "subcommunity" is a word, not "sub community";
    # a split next to one is only allowed when the other half is a short function word
    # ("overa" -> "over a").
    affix_prefixes: tuple[str, ...] = ()
    affix_suffixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        for name in (
            "languages",
            "other_languages",
            "single_letter_words",
            "affix_prefixes",
            "affix_suffixes",
        ):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
                problems.append(f"{name}={value!r} must be a list of words (quote off, no, on)")
        if not problems:
            full, small = set(available_languages("best")), set(available_languages("small"))
            unknown = [lang for lang in self.languages if lang not in full]
            if unknown:
                problems.append(
                    f"languages {unknown} have no wordfreq word list (known: {sorted(full)})"
                )
            unknown = [lang for lang in self.other_languages if lang not in small]
            if unknown:
                problems.append(
                    f"other_languages {unknown} have no wordfreq 'small' list "
                    f"(known: {sorted(small)})"
                )
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type in ("int", "float") and (isinstance(value, bool) or value < 0):
                problems.append(f"{field.name}={value!r} must be a number >= 0")
        if problems:
            raise ValueError(
                "glue: " + "; ".join(problems) + ". Fix the glue section of configs/clean.yaml."
            )


class GlueRequest(NamedTuple):
    """One page to repair: its raw text, the ranges of it to repair (a page's kept lines
    and title) and its language (an ISO 639-1 code such as "en"; None = unknown, which
    is never repaired)."""

    text: str
    ranges: Sequence[tuple[int, int]]
    language: str | None


# ----------------------------------------------------------------- word frequencies
@lru_cache(maxsize=200_000)
def _zipf(word: str, language: str) -> float:
    """`wordfreq.zipf_frequency(word, language)`; for a lower-case ASCII word in a language
    wordfreq tokenises by regex, the same value computed from its word list directly (the
    tokeniser would return the word itself), which skips the tokeniser: glue repair asks
    for the frequency of many candidate halves."""
    if word.isascii() and word.isalpha() and word.islower() and _regex_tokenised(language):
        freq = _listed_words(language).get(word)
        return _ZIPF_OF_MINIMUM if freq is None else _zipf_of_listed(freq)
    return zipf_frequency(word, language)


@lru_cache(maxsize=50_000)
def _small_list_zipf(word: str, language: str) -> float:
    """`wordfreq.zipf_frequency` from `language`'s small list (words down to about Zipf 3;
    a few MB per language, where the full lists take 30-80 MB each)."""
    return zipf_frequency(word, language, wordlist="small")


def _small_list(language: str) -> dict[str, float]:
    """wordfreq's small list of `language` (the one `_small_list_zipf` reads)."""
    return get_frequency_dict(language, "small")


def _compound_heads(common: frozenset[str]) -> Counter[str]:
    """For every word, how many of the `common` words it begins with another of them of
    4+ letters after it ("back" -> "background", "backpack", ...)."""
    heads: Counter[str] = Counter()
    for word in common:
        for i in range(1, len(word) - 3):
            if word[i:] in common:
                heads[word[:i]] += 1
    return heads


def _ending_shares(languages: Sequence[str]) -> dict[str, float]:
    """For every ending of 1-3 letters, the largest share over `languages` of the words
    of 5+ letters in their small lists that end in it."""
    shares: dict[str, float] = {}
    for language in languages:
        words = [w for w in _small_list(language) if len(w) >= 5]
        for length in (1, 2, 3):
            for ending, n in Counter(w[-length:] for w in words).items():
                shares[ending] = max(shares.get(ending, 0.0), n / len(words))
    return shares


def _zipf_of_listed(freq: float) -> float:
    """Zipf value of a single-token word listed with frequency `freq`: wordfreq's
    _word_frequency for one token, then zipf_frequency, step for step."""
    unrounded = max(1.0 / (1.0 / freq), _FREQ_MINIMUM)
    rounded = round(unrounded, math.floor(-math.log(unrounded, 10)) + 3)
    return round(math.log(rounded, 10) + 9, 2)


_FREQ_MINIMUM = 10**0.0 / 1e9  # zipf_to_freq(0.0): zipf_frequency's default minimum
_ZIPF_OF_MINIMUM = round(math.log(_FREQ_MINIMUM, 10) + 9, 2)


@lru_cache(maxsize=1)
def _wordfreq_version() -> str:
    """The installed wordfreq's version, which keys the cached word tables (looked up when a
    table is first asked for, not at import: the lookup reads package metadata, ~4 ms)."""
    return importlib.metadata.version("wordfreq")


@lru_cache(maxsize=8)
def _regex_tokenised(language: str) -> bool:
    return get_language_info(language)["tokenizer"] == "regex"


@lru_cache(maxsize=8)
def _listed_words(language: str) -> dict[str, float]:
    """wordfreq's word list: a lower-case ASCII word missing from it has Zipf 0.

    Asked for as wordfreq's own lookups ask (`get_frequency_dict(lang, "best")`, both
    positional), so its cache holds one copy: keyword or default arguments would make
    another 320k-entry dict."""
    return get_frequency_dict(language, "best")


# ----------------------------------------------------------------- the page as evidence
class _Page:
    """What a page says about its own words: whether a token stands whole in it more than
    once (any case), decided on first request."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._folded: str | None = None
        self._repeated: dict[str, bool] = {}

    def repeats(self, token: str) -> bool:
        """Whether `token` stands whole (not inside a longer word) in the page at least
        twice, compared case-folded: the page uses it as a word of its own."""
        key = token.casefold()
        found = self._repeated.get(key)
        if found is None:
            if self._folded is None:
                self._folded = self._text.casefold()
            found = self._folded.count(key) >= 2 and (
                next(itertools.islice(_whole_occurrences(self._folded, key), 1, None), None)
                is not None
            )
            self._repeated[key] = found
        return found

    def has_elsewhere(self, word: str) -> bool:
        """Whether `word` stands whole in the page as written (same case)."""
        return next(_whole_occurrences(self._text, word), None) is not None


def _whole_occurrences(text: str, word: str) -> Iterator[int]:
    """Start of every occurrence of `word` in `text` with no letter or digit on either side."""
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        if (start == 0 or not text[start - 1].isalnum()) and (
            end == len(text) or not text[end].isalnum()
        ):
            yield start
        start = text.find(word, start + 1)


def _in_prose(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] stands in prose: no digit touches it and its run of
    non-space characters is plain (`_plain_run`)."""
    if (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit()):
        return False
    return _plain_run(text, start, end)


def _plain_run(text: str, start: int, end: int) -> bool:
    """Whether the run around text[start:end] (up to spaces, brackets or quotes) holds no
    URL, path, markup or code characters: in "[seizureof](/news/x)" the link text is
    plain, the link target is not."""
    left = start
    while left > 0 and not (text[left - 1].isspace() or text[left - 1] in _RUN_BOUNDS):
        left -= 1
    right = end
    while right < len(text) and not (text[right].isspace() or text[right] in _RUN_BOUNDS):
        right += 1
    return _NOT_PROSE.search(text, left, right) is None


def _alnum_run(text: str, start: int, end: int) -> str:
    """The run of letters and digits around text[start:end]."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return text[start:end]


# ----------------------------------------------------------------- tokens of a text
def _ascii_joined_tokens(text: str) -> set[str]:
    """The `_TOKEN` matches of ASCII `text` that contain a joiner ("anti-drugpolicy",
    "it's"), found from the joiners (few) rather than by a regex scan of the whole text.

    A joiner belongs to a token when letters stand on both sides of it; the token is the
    longest run of letters and such joiners around it."""
    tokens: set[str] = set()
    letters = _ASCII_LETTERS
    last = len(text) - 1
    for joiner in "-'":
        p = text.find(joiner, 1)
        while 0 < p < last:
            if text[p - 1] in letters and text[p + 1] in letters:
                start = p - 1
                while start > 0 and (
                    text[start - 1] in letters
                    or (start > 1 and text[start - 1] in "-'" and text[start - 2] in letters)
                ):
                    start -= 1
                match = _TOKEN.match(text, start)
                if match is not None:
                    tokens.add(match.group())
            p = text.find(joiner, p + 1)
    return tokens


def candidate_tokens(text: str) -> set[str]:
    """Every `_TOKEN` match of `text` that matters to glue repair: a superset of
    `set(_TOKEN.findall(text))` whose extra members are runs of letters that only occur
    inside a hyphenated token (they are never found as whole tokens below).

    ASCII text takes a fast path: its runs of letters from one `bytes.translate`, plus the
    tokens with joiners found from the joiners."""
    if not text.isascii():
        return set(_TOKEN.findall(text))
    tokens = set(text.encode("ascii").translate(_ASCII_LETTER_RUNS).decode("ascii").split())
    if "-" in text or "'" in text:
        tokens.update(_ascii_joined_tokens(text))
    return tokens


def _token_occurrences(text: str, token: str) -> Iterator[int]:
    """Start of every occurrence of `token` in `text` that `_TOKEN.finditer` would yield
    exactly (not one inside a longer token)."""
    start = text.find(token)
    while start >= 0:
        if _TOKEN_START.match(text, start):
            match = _TOKEN.match(text, start)
            if match is not None and match.end() == start + len(token):
                yield start
        start = text.find(token, start + 1)


# ----------------------------------------------------------------- the repairer
class GlueRepairer:
    """Finds glued words for one `GlueConfig`; owns its caches (token decisions and the
    table of allowed halves, per language). Build one per process, or pass one to each
    worker; the caches are bounded by `cache_size` tokens per language."""

    def __init__(self, config: GlueConfig, *, cache_size: int = 300_000) -> None:
        self.config = config
        self.cache_size = cache_size
        self._cuts: dict[str, dict[str, tuple[int, ...]]] = {}
        self._glued: dict[str, set[str]] = {}
        self._part_tables: dict[str, dict[str, float] | None] = {}
        self._common: dict[str, frozenset[str]] = {}
        self._compounds: dict[str, dict[str, int]] = {}
        self._endings: dict[str, float] | None = None

    def repairs(self, language: str | None) -> bool:
        """Whether pages in `language` are repaired (it is one of `config.languages`)."""
        return language is not None and language in self.config.languages

    def warm_up(self) -> None:
        """Load what every process needs before its first token (wordfreq's lists, the
        tables of allowed halves): done once before forking workers, they inherit it."""
        for language in self.config.languages:
            _listed_words(language)
            _stop_words(language)
            self._compounds_begun("the", language)
            self._part_table(language)
            zipf_frequency("warm", language)
        for language in self.config.other_languages:
            _small_list_zipf("warm", language)
        self._ending_share("a")

    def decided_tokens(self) -> int:
        """How many token decisions are memoised now (all languages)."""
        return sum(len(cuts) for cuts in self._cuts.values())

    def forget_tokens(self) -> None:
        """Forget the token decisions (they refill on use); the tables of allowed halves,
        which cost seconds to build, stay."""
        self._cuts.clear()
        self._glued.clear()

    def clear(self) -> None:
        """Forget every token decision and table (they refill on use)."""
        self.forget_tokens()
        self._part_tables.clear()
        self._common.clear()
        self._compounds.clear()
        self._endings = None

    # ------------------------------------------------------------- pages
    def find_in_pages(self, requests: Sequence[GlueRequest]) -> list[list[list[Edit]]]:
        """For each request, for each of its ranges, the space insertions that repair its
        glued words (in the coordinates of the request's text)."""
        return [self.find_in_page(request) for request in requests]

    def find_in_page(self, request: GlueRequest) -> list[list[Edit]]:
        """The glue edits of each range of one page (see `find_in_pages`).

        The ranges are joined with line breaks: a line break is neither part of a token
        nor a word character, so every token and rule sees each range exactly as it would
        alone, and no insertion falls on a range's first or last position."""
        text, ranges, language = request
        edits: list[list[Edit]] = [[] for _ in ranges]
        if not ranges or not self.repairs(language):
            return edits
        assert language is not None
        joined = "\n".join(text[s:e] for s, e in ranges)
        starts = list(itertools.accumulate((e - s + 1 for s, e in ranges[:-1]), initial=0))
        for p in self.positions(joined, language=language, page=text):
            k = bisect_right(starts, p) - 1
            at = ranges[k][0] + p - starts[k]
            edits[k].append(Edit(at, at, " ", REASON))
        return edits

    def find_in_text(
        self, text: str, *, offset: int = 0, language: str | None, page: str | None = None
    ) -> list[Edit]:
        """Space insertions that repair glued words in `text` (part of the page `page`,
        default: `text` is the whole page), in coordinates `offset + i`."""
        if not self.repairs(language):
            return []
        assert language is not None
        found = self.positions(text, language, page=page)
        return [Edit(offset + p, offset + p, " ", REASON) for p in found]

    def positions(self, text: str, language: str, *, page: str | None = None) -> list[int]:
        """Sorted positions in `text` where a space repairs a glued word; `page` (default
        `text`) is the whole page whose other words are evidence."""
        evidence = _Page(text if page is None else page)
        positions: set[int] = set()
        cuts_of, glued = self._decide_all(candidate_tokens(text), language)
        for token in glued:
            cuts = cuts_of[token]
            camel = _LOWER_THEN_UPPER.match(token)
            if camel and not evidence.has_elsewhere(camel.group(2)):
                continue  # "toChinese": only a name the page writes on its own elsewhere
            for start in _token_occurrences(text, token):
                end = start + len(token)
                if not evidence.repeats(token) and _in_prose(text, start, end):
                    positions.update(start + cut for cut in cuts)
        self._add_rule_positions(text, language, evidence, positions)
        return sorted(positions)

    def _decide_all(
        self, tokens: set[str], language: str
    ) -> tuple[dict[str, tuple[int, ...]], set[str]]:
        """The cuts of every token (decided and cached if new) and which of `tokens` have
        cuts."""
        cuts_of = self._cuts.setdefault(language, {})
        glued = self._glued.setdefault(language, set())
        unseen = tokens.difference(cuts_of)
        if unseen:
            if len(cuts_of) + len(unseen) > self.cache_size:
                cuts_of.clear()
                glued.clear()
                unseen = tokens
            for token in unseen:
                cuts = self.token_cuts(token, language)
                cuts_of[token] = cuts
                if cuts:
                    glued.add(token)
        return cuts_of, glued.intersection(tokens)

    def _add_rule_positions(
        self, text: str, language: str, evidence: _Page, positions: set[int]
    ) -> None:
        """The rules that are not about one token: codes, years, commas."""
        if b"a0" in text.encode("utf-8", "replace").translate(_ASCII_CLASSES):
            # a letter right before a digit: a word glued to a code ("crimeC04") or a year
            for rule in (_CODE_GLUE, _WORD_THEN_YEAR):
                for match in rule.finditer(text):
                    if (
                        self._known(match.group(1), language)
                        and not evidence.repeats(match.group())
                        and _in_prose(text, match.start(), match.end())
                    ):
                        positions.add(match.start(2))
        for match in _COMMA_GLUE.finditer(text):
            at = match.end()
            word = _alnum_run(text, at, at)
            if self._known(word, language) and _plain_run(text, at - 1, at):
                positions.add(at)

    # ------------------------------------------------------------- tokens
    def token_cuts(self, token: str, language: str) -> tuple[int, ...]:
        """Where to insert spaces into one `_TOKEN` match, relative to its start (no
        page evidence: see `positions`)."""
        if len(token) < self.config.min_token_length:
            return ()
        if "-" not in token and "'" not in token and "\u2019" not in token:
            cut = self._part_cut(token, None, language)
            return () if cut is None else (cut,)
        cuts: list[int] = []
        parts = _APOSTROPHES.split(token)
        pos = 0
        for index, part in enumerate(parts):
            if index % 2 == 0:
                following = (
                    parts[index + 2] if index + 2 < len(parts) and parts[index + 1] == "-" else None
                )
                preceding = parts[index - 2] if index >= 2 and parts[index - 1] == "-" else None
                cut = (
                    None
                    if _LOWER_THEN_UPPER.match(part)
                    else self._part_cut(part, following, language)
                )
                if cut is None and preceding is not None:
                    cut = self._split_after_prefix(preceding, part, language)
                if cut is not None:
                    cuts.append(pos + cut)
            pos += len(part)
        return tuple(cuts)

    def _part_cut(self, part: str, following: str | None, language: str) -> int | None:
        """The cut in one part of a token (`following`: the word after its hyphen)."""
        camel = _LOWER_THEN_UPPER.match(part)
        if camel:
            return self._camel_cut(camel.group(1), camel.group(2), language)
        cut = self.split_token(part, language)
        if cut is None and following is not None:
            cut = self._split_before_hyphen(part, following, language)
        return cut

    def split_token(self, token: str, language: str) -> int | None:
        """Index at which to insert a space into an alphabetic token, or None to leave it.

        Only tokens written in lower case or capitalised are considered, and only when
        they are unattested in every language checked; the best allowed split is the one
        whose rarer half is the most frequent."""
        config = self.config
        if len(token) < config.min_token_length or not token.isalpha():
            return None
        capitalised = token[0].isupper()
        if not (token.islower() or (capitalised and token[1:].islower())):
            return None
        low = token.lower()
        token_zipf = _zipf(low, language)
        if token_zipf >= config.unknown_max_zipf:
            return None
        best: tuple[float, float, int] | None = None
        for i in range(1, len(low)):
            left = self._part_zipf(low[:i], language)
            if left is None:
                continue
            right = self._part_zipf(low[i:], language)
            if right is None:
                continue
            if not self._split_allowed(
                low[:i], low[i:], left, right, token_zipf, capitalised, language
            ):
                continue
            score = (min(left, right), left + right, i)
            if best is None or score > best:
                best = score
        if best is None or best[0] - token_zipf < config.min_gain:
            return None
        if self._word_elsewhere(low, language):  # last: 25 lookups, for the few left
            return None
        return best[2]

    def _split_allowed(
        self,
        left: str,
        right: str,
        left_zipf: float,
        right_zipf: float,
        token_zipf: float,
        capitalised: bool,
        language: str,
    ) -> bool:
        """Whether real glue looks like this split (no word-forming affix split off):
        a stop word on the left that begins few compounds (for a capitalised token, one
        of 3+ letters before an unseen rest of `capitalised_min_part`+ letters, or two
        long common words); a stop
        word on the right, after another stop word or, when it is short, not a common
        ending of other languages; or two long content words whose joined form is unseen."""
        config = self.config
        if self._blocked_by_affix(left, right, left_zipf, right_zipf):
            return False
        left_anchor = self._anchor(left, left_zipf, language)
        if left_anchor and self._compounds_begun(left, language) > config.anchor_max_compounds:
            left_anchor = False  # "back", "over", "in" begin many words: a word-former
        if capitalised:
            # a name glued to the lower-case word after it ("Philippinesrelated"): both long
            # and common, the joined form unseen; short-part brands ("Dreamforce") never
            long_pair = (
                min(len(left), len(right)) >= config.compound_min_part
                and min(left_zipf, right_zipf) >= config.min_part_zipf
            )
            return (
                (left_anchor and len(left) >= 3 and len(right) >= config.capitalised_min_part)
                or long_pair
            ) and token_zipf < config.compound_max_zipf
        if left_anchor:
            return True
        if self._anchor(right, right_zipf, language) and (
            self._anchor(left, left_zipf, language)
            or len(right) > 3
            or self._ending_share(right) < config.ending_max_share
        ):
            return True
        return (
            min(len(left), len(right)) >= config.compound_min_part
            and token_zipf < config.compound_max_zipf
        )

    def _word_elsewhere(self, word: str, language: str) -> bool:
        """Whether lower-case `word` is a word of one of the other languages checked."""
        limit = self.config.other_language_max_zipf
        return any(
            _small_list_zipf(word, other) >= limit
            for other in self.config.other_languages
            if other != language
        )

    def _camel_cut(self, lower: str, capital: str, language: str) -> int | None:
        """ "toChinese" -> "to Chinese": a very common lower-case word glued to a
        capitalised known word."""
        if (
            lower not in self.config.affix_prefixes
            and self._anchor(lower, _zipf(lower, language), language)
            and _zipf(capital.lower(), language) >= self.config.min_part_zipf
        ):
            return len(lower)
        return None

    def _split_before_hyphen(self, part: str, following: str, language: str) -> int | None:
        """Cut in a rare `part` glued to a hyphenated word: "wasco" + "-founded" ->
        "was co-founded" (a very common word, then the hyphenated word)."""
        config = self.config
        low = part.lower()
        if not low.isalpha() or not (low == part or part[1:].islower()):
            return None
        if _zipf(low, language) >= config.unknown_max_zipf + 0.5:
            return None
        for i in range(len(low) - 2, 0, -1):
            left, right = low[:i], low[i:]
            left_zipf = self._part_zipf(left, language)
            if left_zipf is None or not self._anchor(left, left_zipf, language):
                continue
            if (
                _zipf(f"{right}-{following.lower()}", language) >= config.min_part_zipf
                and _zipf(right, language) >= config.min_part_zipf
                and not self._word_elsewhere(low, language)
            ):
                return i
        return None

    def _split_after_prefix(self, prefix: str, part: str, language: str) -> int | None:
        """Cut in an unseen lower-case `part` after a hyphenated word-forming prefix:
        "anti-" + "drugpolicy" -> "anti-drug policy" (the prefix takes one word, the
        word after it was glued on)."""
        config = self.config
        if prefix.lower() not in config.affix_prefixes or not (part.isalpha() and part.islower()):
            return None
        if _zipf(part, language) >= config.compound_max_zipf:
            return None
        best: tuple[float, int] | None = None
        for i in range(3, len(part) - 3):
            left = self._part_zipf(part[:i], language)
            right = self._part_zipf(part[i:], language)
            if left is None or right is None or min(left, right) < config.min_part_zipf:
                continue
            if best is None or (min(left, right), i) > best:
                best = (min(left, right), i)
        if best is None or self._word_elsewhere(part, language):
            return None
        return best[1]

    def _anchor(self, word: str, zipf: float, language: str) -> bool:
        """Whether `word` (lower case) is a very common function word of `language`: one
        of spaCy's stop words for it, with Zipf >= `anchor_zipf`."""
        return zipf >= self.config.anchor_zipf and word in _stop_words(language)

    def _compounds_begun(self, word: str, language: str) -> int:
        """How many common words (Zipf >= `min_part_zipf`) of `language` are `word`
        followed by another common word of 4+ letters: "back" begins "background",
        "backpack", ..., so "back" + an unseen rest is more likely a compound than glue."""
        counts = self._compounds.get(language)
        if counts is None:
            counts = cached_value(
                f"glue-compound-heads-{language}",
                self._table_key(language),
                lambda: dict(_compound_heads(self._common_words(language))),
            )
            self._compounds[language] = counts
        return counts.get(word, 0)

    def _ending_share(self, ending: str) -> float:
        """The largest share, over `other_languages`, of the words of 5+ letters that end
        in `ending` (1-3 letters): "a" ends 19% of Spanish words, so "violenta" + an
        unseen rest is more likely an inflected foreign word than "violent a"."""
        if self._endings is None:
            self._endings = cached_value(
                "glue-ending-shares",
                {"wordfreq": _wordfreq_version(), "languages": self.config.other_languages},
                lambda: _ending_shares(self.config.other_languages),
            )
        return self._endings.get(ending, 0.0)

    def _table_key(self, language: str) -> dict[str, object]:
        """What a word table of `language` is made from: the word lists and the settings."""
        return {
            "wordfreq": _wordfreq_version(),
            "language": language,
            "config": asdict(self.config),
        }

    def _common_words(self, language: str) -> frozenset[str]:
        """The lower-case ASCII words of `language` with Zipf >= `min_part_zipf`."""
        words = self._common.get(language)
        if words is None:
            table = self._part_table(language) or {}
            limit = self.config.min_part_zipf
            words = frozenset(w for w, z in table.items() if z >= limit and len(w) > 1)
            self._common[language] = words
        return words

    def _known(self, word: str, language: str) -> bool:
        return _zipf(word.lower(), language) >= self.config.min_part_zipf

    def _is_function_word(self, part: str, zipf: float) -> bool:
        return len(part) <= 3 and (
            part in self.config.single_letter_words or zipf >= self.config.short_part_zipf
        )

    def _blocked_by_affix(self, left: str, right: str, left_zipf: float, right_zipf: float) -> bool:
        if left in self.config.affix_prefixes and not self._is_function_word(right, right_zipf):
            return True
        return right in self.config.affix_suffixes and not self._is_function_word(left, left_zipf)

    # ------------------------------------------------------------- halves
    def part_ok(self, part: str, language: str) -> float | None:
        """Zipf of `part` if it may stand alone after a split, else None (the plain
        definition; `_part_zipf` reads ASCII parts from a table)."""
        config = self.config
        n = len(part)
        if n == 1:
            return 8.0 if part in config.single_letter_words else None
        need = _need(n, config)
        if need > 0 and part.isascii() and part.islower() and part.isalpha():
            if part not in _listed_words(language):
                return None  # Zipf 0: most candidate halves are not words; skip the lookup
        z = _zipf(part, language)
        return z if z >= need else None

    def _part_zipf(self, part: str, language: str) -> float | None:
        """`part_ok(part, language)`, from the table of allowed halves when it is ASCII."""
        table = self._part_table(language) if part.isascii() else None
        if table is None:
            return self.part_ok(part, language)
        return table.get(part)

    def _part_table(self, language: str) -> dict[str, float] | None:
        table = self._part_tables.get(language, False)
        if table is False:
            table = self._build_part_table(language)
            self._part_tables[language] = table
        return table  # type: ignore[return-value]

    def _build_part_table(self, language: str) -> dict[str, float] | None:
        """`part_ok` of every lower-case ASCII word for which it is not None, as one dict.

        Such a word is a listed word at least as common as the smallest threshold (or one
        of `single_letter_words`), so the table is built from the part of wordfreq's list
        above that threshold (~30k of 320k words for English). None when a threshold is
        <= 0 (every string would qualify: no table can hold them)."""
        config = self.config
        lowest = min(config.short_part_zipf, config.three_letter_zipf, config.min_part_zipf)
        if lowest <= 0:
            return None
        floor = 0.9 * 10 ** (lowest - 9)  # below Zipf `lowest` even after _zipf's rounding
        table: dict[str, float] = {}
        listed = _listed_words(language)
        direct = _regex_tokenised(language)  # else _zipf asks wordfreq word by word
        # wordfreq's buckets come in decreasing frequency, bucket i at 10^(-i/100)
        # (asked for as wordfreq's get_frequency_dict asks: the same cached list)
        for index, bucket in enumerate(get_frequency_list(language, "best")):
            freq = 10 ** (-index / 100)  # wordfreq's cB_to_freq(-index)
            if freq < floor:
                break
            bucket_zipf = _zipf_of_listed(freq)
            for word in bucket:
                if not (word.isascii() and word.isalpha() and word.islower()):
                    continue
                if direct and len(word) > 1 and listed.get(word) == freq:
                    z = bucket_zipf if bucket_zipf >= _need(len(word), config) else None
                else:  # a single letter, or a word listed twice (the dict keeps the last)
                    z = self.part_ok(word, language)
                if z is not None:
                    table[word] = z
        for word in config.single_letter_words:
            if word.isascii() and word.isalpha() and word.islower():
                table[word] = 8.0
        return table


@lru_cache(maxsize=8)
def _stop_words(language: str) -> frozenset[str]:
    """spaCy's stop words of `language` (closed-class words: articles, prepositions,
    pronouns, auxiliaries, numerals), empty when spaCy has none for it.

    Read from spaCy's `lang/<language>/stop_words.py` alone (a plain module with one set):
    importing spaCy itself would cost every process about a second and 60 MB."""
    spec = importlib.util.find_spec("spacy")
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        return frozenset()
    path = Path(next(iter(locations))) / "lang" / language / "stop_words.py"
    module_spec = importlib.util.spec_from_file_location(f"_stop_words_{language}", path)
    if not path.is_file() or module_spec is None or module_spec.loader is None:
        return frozenset()
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return frozenset(module.STOP_WORDS)


def _need(length: int, config: GlueConfig) -> float:
    """Zipf a part of `length` (>= 2) letters needs to stand alone."""
    if length == 2:
        return config.short_part_zipf
    if length == 3:
        return config.three_letter_zipf
    return config.min_part_zipf


# ----------------------------------------------------------------- conveniences
@lru_cache(maxsize=4)
def shared_repairer(config: GlueConfig) -> GlueRepairer:
    """One repairer per config value, for the convenience functions below (a config is
    frozen and compared by value, so equal configs share one)."""
    return GlueRepairer(config)


def warm_up(config: GlueConfig) -> None:
    """`shared_repairer(config).warm_up()`: load the word data before workers fork."""
    shared_repairer(config).warm_up()


def memoised_frequencies() -> int:
    """How many word frequencies are memoised now."""
    return _zipf.cache_info().currsize + _small_list_zipf.cache_info().currsize


def forget_word_frequencies() -> None:
    """Forget the memoised word frequencies (they refill on use; the word lists stay)."""
    _zipf.cache_clear()
    _small_list_zipf.cache_clear()


def clear_caches() -> None:
    """Forget every shared repairer and memoised word frequency (they refill on use)."""
    shared_repairer.cache_clear()
    forget_word_frequencies()


def find_glued_words(
    text: str,
    *,
    offset: int = 0,
    config: GlueConfig,
    language: str | None = "en",
    page: str | None = None,
) -> list[Edit]:
    """Space insertions that repair glued words in `text`, in coordinates `offset + i`;
    none unless `language` is one of `config.languages`. `page` is the whole page `text`
    comes from (default: `text` itself): its other words are evidence."""
    return shared_repairer(config).find_in_text(text, offset=offset, language=language, page=page)


def find_glued_words_in_ranges(
    text: str,
    ranges: Sequence[tuple[int, int]],
    *,
    config: GlueConfig,
    language: str | None = "en",
) -> list[list[Edit]]:
    """The glue edits of each of `ranges` of the page `text`."""
    return shared_repairer(config).find_in_page(GlueRequest(text, ranges, language))


def find_glued_words_in_pages(
    pages: Sequence[tuple[str, Sequence[tuple[int, int]]]],
    *,
    config: GlueConfig,
    language: str | None = "en",
) -> list[list[list[Edit]]]:
    """Compatibility form of `GlueRepairer.find_in_pages`: every (text, ranges) page taken
    to be in `language`."""
    requests = [GlueRequest(text, ranges, language) for text, ranges in pages]
    return shared_repairer(config).find_in_pages(requests)


def repair_glued_words(
    text: str, *, config: GlueConfig, language: str | None = "en", page: str | None = None
) -> str:
    """`text` with its glued words split (for metadata values such as the title); `page`
    as in `find_glued_words`."""
    edits = find_glued_words(text, config=config, language=language, page=page)
    return insert_spaces(text, edits, 0, len(text))


def insert_spaces(text: str, edits: Sequence[Edit], start: int, end: int) -> str:
    """text[start:end] with the glue `edits` (in `text` coordinates, inside the range,
    sorted) applied."""
    pieces = []
    position = start
    for edit in edits:
        pieces.append(text[position : edit.start])
        pieces.append(edit.replacement)
        position = edit.end
    pieces.append(text[position:end])
    return "".join(pieces)
