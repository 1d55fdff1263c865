"""Conservative repair of glued words ("strengthencooperation" -> "strengthen cooperation").

Scraped pages lose spaces where inline markup (links, bold, line breaks) met the text.
The repair only ever *inserts* a space, as an `Edit(p, p, " ", "glued_word")` in the
coordinates of the text it was given (plus `offset`), so it composes with the other
cleaning edits and the offset map keeps every original character.

Which tokens are glued is decided with word frequencies from the `wordfreq` package
(Zipf scale: 7 = "the", 3 = one per million words, 0 = unseen), never a hand list:

* a lower-case or capitalised alphabetic token that is itself rare (Zipf below
  `unknown_max_zipf`) is split in two when both halves are common words; short halves
  must be very common (1 letter: only "a"; 2 letters: Zipf >= `short_part_zipf`, e.g.
  "to", "in", "of"; 3 letters: >= `three_letter_zipf`), which keeps names such as
  "Phong", "Kiet" or "Youyi" out of reach ("ph"+"ong", "ki"+"et" are refused);
* each part of a hyphenated token is checked on its own ("anti-drugpolicy"), and a
  glued prefix before a hyphen keeps the hyphen with its word ("wasco-founded" ->
  "was co-founded");
* a lower-case known word glued to a capitalised word or a code ("toChinese",
  "crimeC04") is split at the case change;
* a capitalised known word glued to a year ("May2019") is split before the digits;
* a comma glued to a lower-case word after a word or number ("2000,so") gets a space.

Acronyms (all capitals), tokens with digits ("M918", "OMD5", "500kg") and mixed-case
brand names are never split.
"""

from __future__ import annotations

import itertools
import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from wordfreq import get_frequency_dict, get_frequency_list, zipf_frequency
from wordfreq.language_info import get_language_info

from .hashing import segment_hashes
from .offsets import Edit

REASON = "glued_word"

# A "word" for this module: letters (any script) with internal hyphens/apostrophes.
_TOKEN = re.compile(r"[^\W\d_]+(?:[-'\u2019][^\W\d_]+)*")
_LOWER_THEN_UPPER = re.compile(r"^([a-z]{2,})([A-Z](?:[a-z]{2,}|[A-Z0-9]*\d[A-Z0-9]*))$")
_WORD_THEN_YEAR = re.compile(r"(?<![\w])([A-Z][a-z]{2,})((?:1[89]|20)\d\d)(?![\w])")
# the comma first, so the regex engine can jump from comma to comma
_COMMA_GLUE = re.compile(r",(?<=[A-Za-z0-9],)(?=[a-z]{2,})")
# ASCII text: bytes.translate table keeping the letters, every other byte -> space
_ASCII_LETTER_RUNS = bytes(c if chr(c).isalpha() and c < 128 else ord(" ") for c in range(256))
# the `_TOKEN` matches of ASCII text that contain a joiner
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


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


# ASCII text: bytes.translate table, letters -> "a", digits -> "0", the rest -> space
_ASCII_CLASSES = (
    bytes(
        ord("a") if chr(c).isalpha() else ord("0") if chr(c).isdigit() else 32 for c in range(128)
    )
    + b" " * 128
)
# ASCII text, vectorised pass: byte -> 1 letter, 2 digit, 3 joiner ("-", "'"), 0 other
_LETTER, _DIGIT, _JOINER = 1, 2, 3
_ASCII_KINDS = bytes(
    _LETTER
    if c < 128 and chr(c).isalpha()
    else _DIGIT
    if c < 128 and chr(c).isdigit()
    else _JOINER
    if chr(c) in "-'"
    else 0
    for c in range(256)
)
# below this many characters a batch goes text by text: numpy's per-call cost would dominate
_VECTOR_MIN_CHARS = 20_000


@dataclass(frozen=True)
class GlueConfig:
    """Thresholds of the glued-word repair (configs/clean.yaml, section `glue`)."""

    language: str = "en"
    unknown_max_zipf: float = 2.0
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


def _zipf_of_listed(freq: float) -> float:
    """Zipf value of a single-token word listed with frequency `freq`: wordfreq's
    _word_frequency for one token, then zipf_frequency, step for step."""
    unrounded = max(1.0 / (1.0 / freq), _FREQ_MINIMUM)
    rounded = round(unrounded, math.floor(-math.log(unrounded, 10)) + 3)
    return round(math.log(rounded, 10) + 9, 2)


_FREQ_MINIMUM = 10**0.0 / 1e9  # zipf_to_freq(0.0): zipf_frequency's default minimum
_ZIPF_OF_MINIMUM = round(math.log(_FREQ_MINIMUM, 10) + 9, 2)


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


def _need(length: int, config: GlueConfig) -> float:
    """Zipf a part of `length` (>= 2) letters needs to stand alone."""
    if length == 2:
        return config.short_part_zipf
    if length == 3:
        return config.three_letter_zipf
    return config.min_part_zipf


def _part_ok(part: str, config: GlueConfig) -> float | None:
    """Zipf of `part` if it may stand alone after a split, else None."""
    n = len(part)
    if n == 1:
        return 8.0 if part in config.single_letter_words else None
    need = _need(n, config)
    if need > 0 and part.isascii() and part.islower() and part.isalpha():
        if part not in _listed_words(config.language):
            return None  # Zipf 0: most candidate halves are not words; skip the lookup
    z = _zipf(part, config.language)
    return z if z >= need else None


_PART_TABLES: dict[int, tuple[GlueConfig, dict[str, float] | None]] = {}


def _ascii_parts(config: GlueConfig) -> dict[str, float] | None:
    """The table of `_build_ascii_parts`, built once per config (found by identity: hashing
    a config on every call would cost more than the lookups it saves)."""
    entry = _PART_TABLES.get(id(config))
    if entry is None or entry[0] is not config:
        entry = (config, _build_ascii_parts(config))
        _PART_TABLES[id(config)] = entry
    return entry[1]


def _build_ascii_parts(config: GlueConfig) -> dict[str, float] | None:
    """`_part_ok` of every lower-case ASCII word for which it is not None, as one dict.

    Such a word is a listed word at least as common as the smallest threshold (or one of
    `single_letter_words`), so the table is built from the part of wordfreq's list above
    that threshold (~30k of 320k words for English). A split search then costs one dict
    lookup per half instead of a `_part_ok` call. None when a threshold is <= 0 (every
    string would qualify: no table can hold them).
    """
    lowest = min(config.short_part_zipf, config.three_letter_zipf, config.min_part_zipf)
    if lowest <= 0:
        return None
    floor = 0.9 * 10 ** (lowest - 9)  # below Zipf `lowest` even after _zipf's rounding
    table: dict[str, float] = {}
    listed = _listed_words(config.language)
    direct = _regex_tokenised(config.language)  # else _zipf asks wordfreq word by word
    # wordfreq's buckets come in decreasing frequency, bucket i at 10^(-i/100)
    # (asked for as wordfreq's get_frequency_dict asks: the same cached list, see above)
    for index, bucket in enumerate(get_frequency_list(config.language, "best")):
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
                z = _part_ok(word, config)
            if z is not None:
                table[word] = z
    for word in config.single_letter_words:
        if word.isascii() and word.isalpha() and word.islower():
            table[word] = 8.0
    return table


def split_glued_token(token: str, config: GlueConfig) -> int | None:
    """Index at which to insert a space into an alphabetic token, or None to leave it.

    Only tokens written in lower case or capitalised are considered; the best split is
    the one whose rarer half is the most frequent.
    """
    if len(token) < config.min_token_length or not token.isalpha():
        return None
    if not (token.islower() or (token[0].isupper() and token[1:].islower())):
        return None
    low = token.lower()
    token_zipf = _zipf(low, config.language)
    if token_zipf >= config.unknown_max_zipf:
        return None
    table = _ascii_parts(config) if low.isascii() else None
    part_zipf = table.get if table is not None else lambda part: _part_ok(part, config)
    best: tuple[float, float, int] | None = None
    for i in range(1, len(low)):
        left = part_zipf(low[:i])
        if left is None:
            continue
        right = part_zipf(low[i:])
        if right is None:
            continue
        if _blocked_by_affix(low[:i], low[i:], config):
            continue
        score = (min(left, right), left + right, i)
        if best is None or score > best:
            best = score
    if best is None or best[0] - token_zipf < config.min_gain:
        return None
    return best[2]


def _is_function_word(part: str, config: GlueConfig) -> bool:
    return len(part) <= 3 and (
        part in config.single_letter_words or _zipf(part, config.language) >= config.short_part_zipf
    )


def _blocked_by_affix(left: str, right: str, config: GlueConfig) -> bool:
    if left in config.affix_prefixes and not _is_function_word(right, config):
        return True
    return right in config.affix_suffixes and not _is_function_word(left, config)


def _split_before_hyphen(part: str, following: str, config: GlueConfig) -> int | None:
    """Cut in a rare `part` glued to a hyphenated word: "wasco" + "-founded" -> "was co-founded"."""
    low = part.lower()
    if not low.isalpha() or not (low == part or part[1:].islower()):
        return None
    if _zipf(low, config.language) >= config.unknown_max_zipf + 0.5:
        return None
    for i in range(len(low) - 2, 0, -1):
        left, right = low[:i], low[i:]
        if _part_ok(left, config) is None:
            continue
        if _zipf(f"{right}-{following.lower()}", config.language) >= config.min_part_zipf and (
            _zipf(right, config.language) >= config.min_part_zipf
        ):
            return i
    return None


_DECIDERS: dict[int, tuple[GlueConfig, object]] = {}


def _decider(config: GlueConfig):  # noqa: ANN202 - a cached closure
    """A memoised `(part, following_word) -> cut` for one config (tokens repeat a lot)."""
    entry = _DECIDERS.get(id(config))
    if entry is not None and entry[0] is config:
        return entry[1]

    @lru_cache(maxsize=100_000)
    def decide(part: str, following: str | None) -> int | None:
        camel = _LOWER_THEN_UPPER.match(part)
        if camel:
            return len(camel.group(1)) if _known(camel.group(1), config) else None
        cut = split_glued_token(part, config)
        if cut is None and following is not None:
            cut = _split_before_hyphen(part, following, config)
        return cut

    _DECIDERS[id(config)] = (config, decide)
    return decide


def _known(word: str, config: GlueConfig) -> bool:
    return _zipf(word.lower(), config.language) >= config.min_part_zipf


_CODE_GLUE = re.compile(r"\b([a-z]{3,})([A-Z][A-Z]*\d+)\b")
# where a `_TOKEN.finditer` match can start: not right after a letter, nor after a
# hyphen/apostrophe that follows a letter (the previous token would have continued)
_TOKEN_START = re.compile(r"(?<![^\W\d_])(?<![^\W\d_][-'\u2019])")
_APOSTROPHES = re.compile(r"([-'\u2019])")
# Per config: token -> cut positions relative to the token start (most are empty). Tokens
# repeat across lines and pages, so a line costs one regex scan plus a set difference;
# the cache is cleared when it grows past _TOKEN_CACHE_MAX so memory stays bounded.
_TOKEN_CACHE_MAX = 300_000
_TOKEN_CUTS: dict[int, tuple[GlueConfig, dict[str, tuple[int, ...]], set[str], _TokenIndex]] = {}


class _TokenIndex:
    """The vectorised pass's view of the token cache: the 64-bit hashes (`segment_hashes`
    of the bytes) of the plain ASCII tokens decided so far, sorted, and whether each one
    has cuts. A token's cuts are always read from the cache by its text, so a hash
    collision can at worst leave one unseen token undecided (about one chance in 10^9 at
    the cache's largest), never insert a wrong space."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.hashes: np.ndarray = np.zeros(0, dtype=np.uint64)
        self.glued: np.ndarray = np.zeros(0, dtype=np.bool_)

    def find(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in the index, known?) of each of `hashes` (sorted)."""
        at = np.searchsorted(self.hashes, hashes)
        known = at < len(self.hashes)
        known[known] = self.hashes[at[known]] == hashes[known]
        return at, known

    def add(self, hashes: np.ndarray, glued: np.ndarray) -> None:
        """Add new `hashes` (sorted, unique, none known yet) and their glued flags."""
        at = np.searchsorted(self.hashes, hashes)
        self.hashes = np.insert(self.hashes, at, hashes)
        self.glued = np.insert(self.glued, at, glued)


def _token_cuts(token: str, config: GlueConfig) -> tuple[int, ...]:
    """Where to insert spaces into one `_TOKEN` match, relative to its start."""
    if len(token) < config.min_token_length:
        return ()
    decide = _decider(config)
    if "-" not in token and "'" not in token and "\u2019" not in token:
        cut = decide(token, None)
        return () if cut is None else (cut,)
    cuts: list[int] = []
    parts = _APOSTROPHES.split(token)
    pos = 0
    for index, part in enumerate(parts):
        if index % 2 == 0:
            following = (
                parts[index + 2] if index + 2 < len(parts) and parts[index + 1] == "-" else None
            )
            cut = decide(part, following)
            if cut is not None:
                cuts.append(pos + cut)
        pos += len(part)
    return tuple(cuts)


def _token_cache(config: GlueConfig) -> tuple[dict[str, tuple[int, ...]], set[str]]:
    entry = _cache_entry(config)
    return entry[1], entry[2]


def _cache_entry(
    config: GlueConfig,
) -> tuple[GlueConfig, dict[str, tuple[int, ...]], set[str], _TokenIndex]:
    entry = _TOKEN_CUTS.get(id(config))
    if entry is None or entry[0] is not config:
        entry = (config, {}, set(), _TokenIndex())
        _TOKEN_CUTS[id(config)] = entry
    return entry


def warm_up(config: GlueConfig) -> None:
    """Load what every process needs before its first token (wordfreq's list and language
    data, the table of allowed halves): done once before forking workers, they inherit it."""
    _listed_words(config.language)
    _ascii_parts(config)
    zipf_frequency("warm", config.language)


def clear_caches() -> None:
    """Forget every memoised token decision and word frequency (they refill on use)."""
    _zipf.cache_clear()
    _PART_TABLES.clear()
    _DECIDERS.clear()
    _TOKEN_CUTS.clear()


def find_glued_words(text: str, *, offset: int = 0, config: GlueConfig) -> list[Edit]:
    """Space insertions that repair glued words in `text`, in coordinates `offset + i`."""
    return [Edit(offset + p, offset + p, " ", REASON) for p in _glue_positions(text, config)]


def find_glued_words_in_ranges(
    text: str, ranges: Sequence[tuple[int, int]], *, config: GlueConfig
) -> list[list[Edit]]:
    """`[find_glued_words(text[s:e], offset=s, config=config) for s, e in ranges]` in one
    pass (a page's lines cost one call instead of one each)."""
    return find_glued_words_in_pages([(text, ranges)], config=config)[0]


def find_glued_words_in_pages(
    pages: Sequence[tuple[str, Sequence[tuple[int, int]]]], *, config: GlueConfig
) -> list[list[list[Edit]]]:
    """`find_glued_words_in_ranges(text, ranges)` of every (text, ranges), all in one
    batch (a chunk of pages costs a few array operations, see `glue_positions_of_texts`).

    Each page's ranges are joined with line breaks: a line break is neither part of a
    token nor a word character, so every token, word boundary and glue rule sees each
    range exactly as it would alone, and no insertion falls on a range's first or last
    position.
    """
    joined_texts: list[str] = []
    joined_starts: list[list[int]] = []
    for text, ranges in pages:
        joined_texts.append("\n".join(text[s:e] for s, e in ranges))
        joined_starts.append(
            list(itertools.accumulate((e - s + 1 for s, e in ranges[:-1]), initial=0))
        )
    out: list[list[list[Edit]]] = []
    found = glue_positions_of_texts(joined_texts, config=config)
    for (_, ranges), starts, positions in zip(pages, joined_starts, found, strict=True):
        edits: list[list[Edit]] = [[] for _ in ranges]
        for p in positions:
            k = bisect_right(starts, p) - 1
            at = ranges[k][0] + p - starts[k]
            edits[k].append(Edit(at, at, " ", REASON))
        out.append(edits)
    return out


def _glue_positions(text: str, config: GlueConfig) -> list[int]:
    """Sorted positions in `text` where a space repairs a glued word."""
    positions: set[int] = set()
    cuts_of, glued = _token_cache(config)
    if text.isascii():
        # every run of letters, then the tokens with joiners ("anti-drugpolicy", "it's");
        # a run that is only part of such a token never passes the occurrence check below
        data = text.encode("ascii")
        tokens = set(data.translate(_ASCII_LETTER_RUNS).decode("ascii").split())
        if "-" in text or "'" in text:
            tokens.update(_ascii_joined_tokens(text))
        # letters -> "a", digits -> "0": a letter right before a digit is a substring search
        has_letter_digit = b"a0" in data.translate(_ASCII_CLASSES)
    else:
        tokens = set(_TOKEN.findall(text))
        has_letter_digit = True
    _decide_unseen(tokens, config)
    for token in glued.intersection(tokens):
        _add_occurrences(text, token, cuts_of[token], positions)
    _add_rule_positions(text, has_letter_digit, config, positions)
    return sorted(positions)


def _decide_unseen(tokens: set[str], config: GlueConfig) -> None:
    """Decide and cache the cuts of the `tokens` not in the cache yet."""
    cuts_of, glued = _token_cache(config)
    unseen = tokens.difference(cuts_of)
    if unseen:
        if len(cuts_of) + len(unseen) > _TOKEN_CACHE_MAX:
            cuts_of.clear()
            glued.clear()
            unseen = tokens
        for token in unseen:
            cuts = _token_cuts(token, config)
            cuts_of[token] = cuts
            if cuts:
                glued.add(token)


def _add_occurrences(text: str, token: str, cuts: tuple[int, ...], positions: set[int]) -> None:
    """The cuts of every occurrence of `token` in `text` that `_TOKEN.finditer` would
    yield exactly (not one inside a longer token)."""
    start = text.find(token)
    while start >= 0:
        if _TOKEN_START.match(text, start):
            match = _TOKEN.match(text, start)
            if match is not None and match.end() == start + len(token):
                positions.update(start + cut for cut in cuts)
        start = text.find(token, start + 1)


def _add_rule_positions(
    text: str, has_letter_digit: bool, config: GlueConfig, positions: set[int]
) -> None:
    """The rules that are not about one token: codes, years, commas."""
    if has_letter_digit:  # both rules need a letter right before a digit
        # lower-case word glued to a code such as "C04": the token regex stops at digits
        for match in _CODE_GLUE.finditer(text):
            if _known(match.group(1), config):
                positions.add(match.start(2))
        for match in _WORD_THEN_YEAR.finditer(text):
            if _known(match.group(1), config):
                positions.add(match.start(2))
    for match in _COMMA_GLUE.finditer(text):
        positions.add(match.end())


def glue_positions_of_texts(texts: Sequence[str], *, config: GlueConfig) -> list[list[int]]:
    """`[_glue_positions(text, config) for text in texts]`, the ASCII texts in one
    vectorised pass when they are long enough together (a chunk of pages)."""
    out: list[list[int]] = [[] for _ in texts]
    ascii_rows: list[int] = []
    for row, text in enumerate(texts):
        if text.isascii():
            ascii_rows.append(row)
        else:
            out[row] = _glue_positions(text, config)
    if sum(len(texts[row]) for row in ascii_rows) < _VECTOR_MIN_CHARS:
        for row in ascii_rows:
            out[row] = _glue_positions(texts[row], config)
    else:
        found = _ascii_glue_positions([texts[row] for row in ascii_rows], config)
        for row, positions in zip(ascii_rows, found, strict=True):
            out[row] = positions
    return out


def _ascii_glue_positions(texts: Sequence[str], config: GlueConfig) -> list[list[int]]:
    """`_glue_positions` of ASCII texts, their plain tokens looked up all at once.

    The texts are joined with line breaks (which no rule crosses). A plain token is a
    run of letters that no joiner ties to the next run ("anti-drugpolicy" is not plain):
    each is hashed and looked up in the cache's index, so a chunk of pages costs a few
    array operations instead of a Python set of its words; only runs never seen before
    and runs with cuts come back to Python. Tokens with joiners and the other rules are
    found text by text, as `_glue_positions` finds them.
    """
    cuts_of, _, index = _cache_entry(config)[1:]
    joined = "\n".join(texts)
    data = joined.encode("ascii")
    starts = list(itertools.accumulate((len(t) + 1 for t in texts), initial=0))
    kinds = np.frombuffer(data.translate(_ASCII_KINDS), dtype=np.uint8)
    n = len(kinds)
    letter = np.zeros(n + 2, dtype=np.bool_)
    letter[1:-1] = kinds == _LETTER
    edges = np.flatnonzero(letter[1:] != letter[:-1])
    run_start, run_end = edges[0::2], edges[1::2]
    plain = run_end - run_start >= config.min_token_length  # shorter tokens have no cuts
    tied = (run_start >= 2) & (kinds[np.maximum(run_start - 1, 0)] == _JOINER)
    tied &= kinds[np.maximum(run_start - 2, 0)] == _LETTER
    after = np.minimum(run_end, n - 1)
    tied_right = (run_end + 1 < n) & (kinds[after] == _JOINER)
    tied_right &= kinds[np.minimum(run_end + 1, n - 1)] == _LETTER
    plain &= ~(tied | tied_right)
    run_start, run_end = run_start[plain], run_end[plain]
    hashes = segment_hashes(np.frombuffer(data, dtype=np.uint8), run_start, run_end)
    order = np.argsort(hashes)
    hashes = hashes[order]
    at, known = index.find(hashes)
    if not known.all():
        if len(index.hashes) > _TOKEN_CACHE_MAX:  # bounded, like the cache itself
            index.clear()
        new, first = np.unique(hashes[~known], return_index=True)
        runs = order[np.flatnonzero(~known)[first]]
        flags = []
        for a, b in zip(run_start[runs].tolist(), run_end[runs].tolist(), strict=True):
            token = joined[a:b]
            cuts = cuts_of.get(token)
            if cuts is None:
                _decide_unseen({token}, config)
                cuts = cuts_of[token]
            flags.append(bool(cuts))
        index.add(new, np.array(flags, dtype=np.bool_))
        at, known = index.find(hashes)
    positions: list[set[int]] = [set() for _ in texts]
    glued_runs = order[known & index.glued[np.minimum(at, len(index.glued) - 1)]]
    for a, b in zip(run_start[glued_runs].tolist(), run_end[glued_runs].tolist(), strict=True):
        token = joined[a:b]
        cuts = cuts_of.get(token)
        if cuts is None:  # evicted since (or a collision): decide it again
            _decide_unseen({token}, config)
            cuts = cuts_of[token]
        row = bisect_right(starts, a) - 1
        positions[row].update(a - starts[row] + cut for cut in cuts)
    # rows with a letter right before a digit (the code and year rules need one)
    pairs = np.flatnonzero((kinds[:-1] == _LETTER) & (kinds[1:] == _DIGIT))
    letter_digit = set((np.searchsorted(starts, pairs, side="right") - 1).tolist())
    for row, text in enumerate(texts):
        if "-" in text or "'" in text:
            tokens = _ascii_joined_tokens(text)
            _decide_unseen(tokens, config)
            for token in tokens:
                cuts = cuts_of[token]
                if cuts:
                    _add_occurrences(text, token, cuts, positions[row])
        _add_rule_positions(text, row in letter_digit, config, positions[row])
    return [sorted(p) for p in positions]


def repair_glued_words(text: str, *, config: GlueConfig) -> str:
    """`text` with its glued words split (for metadata values such as the title)."""
    return insert_spaces(text, find_glued_words(text, config=config), 0, len(text))


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
