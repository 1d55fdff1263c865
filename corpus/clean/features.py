"""What a line looks like, as numbers: the inputs of the line classifier.

Features in the spirit of jusText and boilerpipe, computed the same way for any language and any
common converter (plain text, inscriptis layout text, html2text markdown): length, stopword
density in the page's language, sentence punctuation, link and image markup, list and heading
markers, indentation, capitalisation, digits, repetition inside the page, position, and the same
measures over the neighbouring lines (content comes in runs; so does chrome). Nothing here is an
English string: the only word list is the page language's stopwords.

`line_features` is the plain definition, one page at a time. `LineFeaturizer` (owned by a
`Cleaner`) gives the same numbers faster: each line's own columns come from a bounded memo
(menus and footers repeat on every page of a site); the lines new to it are computed column
by column for a whole chunk (`_packed_line_rows`: ASCII counts over the chunk's bytes, each
word's stopword answer remembered), and the page-wide columns of a whole chunk of pages are
computed at once over their stacked rows (`Segments` keeps every sum, window and neighbour
inside its page, summed in the page's own order). tests/corpus/test_clean_fast_paths.py
checks them against each other and against the per-line definition `_line_row`.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import struct
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .text import is_ascii_normal_form

_IMAGE = re.compile(r"!\[([^\]]*)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)")
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)")
_BARE_URL = re.compile(r"<?(?:https?://|www\.)\S+>?")
_BULLET = re.compile(r"^\s*(?:[*+\-•·▪►–—]|\d{1,3}[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s")
_BULLET_FIRST = "*+-•·▪►–—"  # what _BULLET starts with (or a digit)
_WORD = re.compile(r"[^\W_]+(?:[-'’.][^\W_]+)*")
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’»)\]]*$")
_SENTENCE_MARK = re.compile(r"[.!?…。！？](?=\s|$)")
_SEPARATORS = re.compile(r"\s[|·•»>/]\s|\s\|")
_COPYRIGHT = re.compile(r"©|\(c\)\s*\d{4}|\bcopyright\b", re.I)
_EMAIL_OR_HANDLE = re.compile(r"\S@\S|(?:^|\s)@\w")

_DIGIT = re.compile(r"\d")
_PUNCT = ".,;:!?\"'“”‘’«»()[]{}…-–—*_/"
_HAS_SEPARATOR = re.compile(r"[|·•»>/]").search

PROSE_MIN_WORDS = 12
PROSE_MIN_STOPWORDS = 0.15


class LineView(NamedTuple):
    """A line as the reader sees it: markup stripped, links and images measured."""

    visible: str  # the text without link targets, image markup, list or heading markers
    link_chars: int  # characters of visible text that are link text
    images: int
    bullet: bool
    heading: bool
    indent: int


# `LineView(*fields)` without the Python-level __new__ of a named tuple
_new_view = functools.partial(tuple.__new__, LineView)


def view_line(line: str) -> LineView:
    """The visible text of one raw line and what markup it carried."""
    indent = len(line) - len(line.lstrip(" \t"))
    text = line.strip()
    images = 0
    if "](" in text:
        text, images = _IMAGE.subn(lambda m: "", text)
    link_chars = 0
    if "](" in text:
        parts: list[str] = []

        def link_text(m: re.Match[str]) -> str:
            parts.append(m.group(1))
            return m.group(1)

        text = _LINK.sub(link_text, text)
        link_chars = sum(len(p.strip()) for p in parts)
    if "http" in text or "www." in text:
        stripped = _BARE_URL.sub(" ", text)
        link_chars += len(text) - len(stripped)
        text = stripped
    # a list or heading marker is the first character after any whitespace: most lines
    # start with a letter, and skip both patterns
    first = text.lstrip()[:1]
    bullet = (
        bool(first) and (first in _BULLET_FIRST or first.isdecimal()) and bool(_BULLET.match(text))
    )
    if bullet:
        text = _BULLET.sub("", text, count=1)
        first = text.lstrip()[:1]
    heading = first == "#" and bool(_HEADING.match(text))
    if heading:
        text = text.lstrip("# ")
    text = text.strip(" \t*_|")
    return _new_view((text, min(link_chars, len(text)), images, bullet, heading, indent))


FEATURE_NAMES = (
    "log_chars",
    "log_words",
    "stopword_density",
    "no_stoplist",
    "ends_sentence",
    "sentence_marks_per_word",
    "commas_per_word",
    "link_fraction",
    "image_only",
    "has_image",
    "bullet",
    "heading",
    "log_indent",
    "digit_fraction",
    "capitalised_fraction",
    "all_caps",
    "separators_per_word",
    "log_repeats",
    "position",
    "copyright",
    "email_or_handle",
    "mean_word_length",
    "is_prose",
    "blank_before",
    "blank_after",
    "context1_prose",
    "context3_prose",
    "context3_stopwords",
    "context3_log_words",
    "context3_link",
    "context10_prose",
    "log_distance_to_prose",
    "page_prose_fraction",
    "page_log_lines",
    "log_words_sq",
    "stopwords_x_words",
    "previous_log_words",
    "next_log_words",
    "previous_stopwords",
    "next_stopwords",
    "previous_link",
    "next_link",
    "inside_prose_span",
    "log_prose_chars_after",
    "log_prose_chars_before",
)


def _mean_around(values: np.ndarray, k: int) -> np.ndarray:
    """Mean of `values` (one row per line; one column or several) over the k lines before
    and after each line, the line itself excluded."""
    n = len(values)
    if n == 0:
        return values
    flat = values.ndim == 1
    v = values[:, None] if flat else values
    csum = np.zeros((n + 1, v.shape[1]))
    np.cumsum(v, axis=0, out=csum[1:])
    index = np.arange(n)
    lo = np.maximum(index - k, 0)
    hi = np.minimum(index + k + 1, n)
    window_sum = csum[hi] - csum[lo] - v
    count = (hi - lo - 1)[:, None]
    out = np.divide(window_sum, count, out=np.zeros_like(window_sum), where=count > 0)
    return out[:, 0] if flat else out


def line_features(
    lines: Sequence[str],
    blank_before: Sequence[bool],
    blank_after: Sequence[bool],
    stopwords: frozenset[str],
) -> np.ndarray:
    """One row of `FEATURE_NAMES` per non-blank line of a page (in page order).

    `blank_before` / `blank_after` say whether a blank line separates each line from its
    neighbour (paragraph breaks in plain-text dumps)."""
    n = len(lines)
    x = np.zeros((n, len(FEATURE_NAMES)))
    if n == 0:
        return x
    views = [view_line(line) for line in lines]
    keys = [" ".join(v.visible.lower().split()) for v in views]
    repeats = Counter(keys)
    has_stoplist = bool(stopwords)
    for i, v in enumerate(views):
        text = v.visible
        words = _WORD.findall(text)
        n_words = len(words)
        n_chars = len(text)
        row = x[i]
        row[0] = math.log1p(n_chars)
        row[1] = math.log1p(n_words)
        if n_words:
            if has_stoplist:
                row[2] = (
                    sum(1 for w in text.lower().split() if w.strip(_PUNCT) in stopwords) / n_words
                )
            row[5] = len(_SENTENCE_MARK.findall(text)) / n_words
            row[6] = text.count(",") / n_words
            row[14] = sum(1 for w in words if w[0].isupper()) / n_words
            row[16] = len(_SEPARATORS.findall(text)) / n_words if _HAS_SEPARATOR(text) else 0.0
            row[21] = min(sum(map(len, words)) / n_words, 20.0) / 10
        row[3] = 0.0 if has_stoplist else 1.0
        row[4] = 1.0 if _SENTENCE_END.search(text) else 0.0
        row[7] = v.link_chars / n_chars if n_chars else (1.0 if v.images else 0.0)
        row[8] = 1.0 if v.images and n_chars == 0 else 0.0
        row[9] = 1.0 if v.images else 0.0
        row[10] = 1.0 if v.bullet else 0.0
        row[11] = 1.0 if v.heading else 0.0
        row[12] = math.log1p(v.indent)
        if n_chars:
            row[13] = _DIGIT.subn("", text)[1] / n_chars
            row[15] = 1.0 if text.isupper() and n_chars >= 4 else 0.0
        row[17] = math.log(repeats[keys[i]])
        row[18] = i / max(1, n - 1)
        row[19] = 1.0 if _COPYRIGHT.search(text) else 0.0
        row[20] = 1.0 if "@" in text and _EMAIL_OR_HANDLE.search(text) else 0.0
        row[22] = (
            1.0
            if n_words >= PROSE_MIN_WORDS
            and (row[2] >= PROSE_MIN_STOPWORDS or not has_stoplist)
            and row[7] < 0.5
            else 0.0
        )
        row[23] = 1.0 if blank_before[i] else 0.0
        row[24] = 1.0 if blank_after[i] else 0.0
    prose = x[:, 22]
    x[:, 25] = _mean_around(prose, 1)
    x[:, 26:30] = _mean_around(x[:, [22, 2, 1, 7]], 3)
    x[:, 30] = _mean_around(prose, 10)
    x[:, 31] = np.log1p(_distance_to(prose))
    x[:, 32] = prose.mean()
    x[:, 33] = math.log1p(n)
    x[:, 34] = x[:, 1] ** 2 / 10
    x[:, 35] = x[:, 2] * x[:, 1]
    for column, source in ((36, 1), (38, 2), (40, 7)):
        x[1:, column] = x[:-1, source]
        x[:-1, column + 1] = x[1:, source]
    prose_lines = np.flatnonzero(prose)
    if len(prose_lines):
        x[prose_lines[0] : prose_lines[-1] + 1, 42] = 1.0
    prose_chars = prose * np.expm1(x[:, 0])
    after = np.cumsum(prose_chars[::-1])[::-1] - prose_chars
    x[:, 43] = np.log1p(after)
    x[:, 44] = np.log1p(np.cumsum(prose_chars) - prose_chars)
    return x


# What the fast path below needs: on ASCII text, [^\W_] is [A-Za-z0-9]; the copyright
# pattern needs "(c)" or "copyright" in the lower-cased text; separators are these three.
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'’.][A-Za-z0-9]+)*")
_SENTENCE_MARKS = frozenset(".!?…。！？")
_SENTENCE_CLOSERS = "\"'”’»)]"
_PER_LINE_COLUMNS = 25  # columns 0-24; of those, 17, 18, 23 and 24 depend on the page
_ROW = struct.Struct(f"{_PER_LINE_COLUMNS}d")  # a row kept as 200 bytes, not 25 float objects
_MEMO_MAX_LINES = 30_000  # ~15 MB
_MEMO_LINE_CHARS = 200  # longer lines are mostly unique paragraphs: not kept
_MEMO_MAX_WORDS = 200_000  # words' stopword answers kept (~25 MB at most)


def _line_row(line: str, stopwords: frozenset[str]) -> tuple[tuple[float, ...], str]:
    """Columns 0-24 of `line_features` for one line (0.0 in the page-dependent columns 17,
    18, 23, 24) and the line's repetition key: the same numbers as `line_features`, with
    cheaper tests where they give the same answer (ASCII shortcuts, no whole-line scan for
    the sentence end)."""
    return _view_row(view_line(line), stopwords)


class _Counts(NamedTuple):
    """What `_line_row` counts on a line's visible text: words (as `_WORD` finds them),
    those that start with a capital, their characters, sentence marks, commas, digits."""

    words: int
    capitalised: int
    word_chars: int
    sentence_marks: int
    commas: int
    digits: int


def _counts(text: str) -> _Counts:
    """`_Counts` of one visible text, the plain way."""
    words = (_ASCII_WORD if text.isascii() else _WORD).findall(text)
    return _Counts(
        len(words),
        sum(1 for w in words if w[0].isupper()),
        sum(map(len, words)),
        len(_SENTENCE_MARK.findall(text)),
        text.count(","),
        len(_DIGIT.findall(text)),
    )


def _ascii_count_columns(texts: Sequence[str]) -> np.ndarray:
    """`_counts(text)` of each ASCII text (no line break inside) as a row of floats, for all
    of them at once.

    The texts are joined, each followed by "\n", and looked at byte by byte: an
    `_ASCII_WORD` match starts at a letter or digit whose previous byte is neither one nor
    a joiner right after one (then the match would go on through it), and takes every
    letter and digit and every joiner between two of them; a sentence mark counts when
    whitespace follows (the "\n" after a text stands for its end). The "\n" is no letter,
    digit or joiner: every match and mark stays inside its text, as line by line.
    """
    if not texts:
        return np.zeros((0, len(_Counts._fields)))
    data = np.frombuffer(("\n".join(texts) + "\n").encode("ascii"), dtype=np.uint8)
    # byte ranges as one wrapping subtraction and one comparison each
    digit = (data - np.uint8(48)) < 10  # 0-9
    upper = (data - np.uint8(65)) < 26  # A-Z
    alnum = digit | upper | ((data - np.uint8(97)) < 26)  # and a-z
    joiner = (data == ord("-")) | (data == ord("'")) | (data == ord("."))
    flags = np.zeros((6, len(data)), dtype=np.uint8)  # one row per `_Counts` field
    starts = flags[0].view(bool)
    np.logical_not(alnum[:-1], out=starts[1:])
    starts[0] = True
    starts[2:] &= ~(joiner[1:-1] & alnum[:-2])
    starts &= alnum
    np.logical_and(starts, upper, out=flags[1].view(bool))
    word_chars = flags[2].view(bool)
    word_chars[1:-1] = joiner[1:-1] & alnum[:-2] & alnum[2:]
    word_chars |= alnum
    marks = flags[3].view(bool)
    follows = data[1:]
    # what \s matches in ASCII text (str.isspace): the space, \t \n \v \f \r, \x1c-\x1f
    marks[:-1] = (
        (follows == ord(" ")) | ((follows - np.uint8(9)) < 5) | ((follows - np.uint8(28)) < 4)
    )
    marks &= (data == ord(".")) | (data == ord("!")) | (data == ord("?"))
    np.equal(data, ord(","), out=flags[4].view(bool))
    flags[5] = digit
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    firsts = np.cumsum(lengths + 1) - (lengths + 1)  # each segment: a text and its "\n"
    # row by row: reduceat along a 2-D array's rows is several times slower
    columns = np.empty((len(texts), len(flags)), dtype=np.float64)
    for k, row in enumerate(flags):
        columns[:, k] = np.add.reduceat(row, firsts, dtype=np.int64)
    return columns


def _stopword_counts(
    low_words: Sequence[list[str]], stopwords: frozenset[str], known: dict[str, int]
) -> list[int]:
    """For each line's lower-case words, how many are stopwords once stripped of
    punctuation (`_PUNCT`). `known` holds each word's answer (0 or 1) from earlier lines and
    is filled with the new words': a lookup costs a fraction of the strip."""
    get = known.get
    out = []
    for words in low_words:
        # a word not seen yet adds _UNSEEN: a negative sum says some word is new
        count = sum(map(get, words, itertools.repeat(_UNSEEN)))
        if count < 0:
            count = 0
            for word in words:
                flag = known.get(word)
                if flag is None:
                    flag = known[word] = 1 if word.strip(_PUNCT) in stopwords else 0
                count += flag
        out.append(count)
    return out


_UNSEEN = -(1 << 62)  # below minus any line's number of words


def _packed_line_rows(
    lines: Sequence[str], stopwords: frozenset[str], known_words: dict[str, int] | None = None
) -> list[tuple[bytes, str]]:
    """`_line_row` of each line, the row packed as `_ROW` bytes: the same numbers, computed
    column by column for all the lines at once (each column one pass over the lines, the
    divisions and comparisons over arrays: the same IEEE operations on the same values).
    `known_words`: the stopword answers of words seen before (`_stopword_counts`), kept by the
    caller for the next lines."""
    n = len(lines)
    if not n:
        return []
    views = [view_line(line) for line in lines]
    texts = [v.visible for v in views]
    ascii_texts = list(map(str.isascii, texts))
    counts = np.empty((n, len(_Counts._fields)))
    if all(ascii_texts):
        counts[:] = _ascii_count_columns(texts)
    else:
        is_ascii = np.array(ascii_texts)
        counts[is_ascii] = _ascii_count_columns(list(itertools.compress(texts, ascii_texts)))
        counts[~is_ascii] = [_counts(t) for t, a in zip(texts, ascii_texts, strict=True) if not a]
    lows = list(map(str.lower, texts))
    has_stoplist = bool(stopwords)
    x = np.zeros((n, _PER_LINE_COLUMNS))
    n_chars = list(map(len, texts))
    chars = np.array(n_chars, dtype=np.float64)
    words = counts[:, 0]
    with_words = words > 0
    with_chars = chars > 0
    if has_stoplist:
        low_words = [low.split() for low in lows]
        # the words are split anyway: joining them is cheaper than `is_ascii_normal_form`,
        # and gives the text itself when it is in normal form
        keys = list(map(" ".join, low_words))
        stop_counts = _stopword_counts(
            low_words, stopwords, {} if known_words is None else known_words
        )
        np.divide(np.array(stop_counts, dtype=np.float64), words, out=x[:, 2], where=with_words)
    else:
        keys = [low if is_ascii_normal_form(low) else " ".join(low.split()) for low in lows]
        x[:, 3] = 1.0
    x[:, 0] = list(map(math.log1p, n_chars))
    x[:, 1] = list(map(math.log1p, counts[:, 0].astype(np.int64).tolist()))
    x[:, 4] = [t.rstrip(_SENTENCE_CLOSERS)[-1:] in _SENTENCE_MARKS for t in texts]
    np.divide(counts[:, 3], words, out=x[:, 5], where=with_words)  # sentence marks
    np.divide(counts[:, 4], words, out=x[:, 6], where=with_words)  # commas
    links = np.array([v.link_chars for v in views], dtype=np.float64)
    images = np.array([v.images > 0 for v in views])
    x[:, 7] = images
    np.divide(links, chars, out=x[:, 7], where=with_chars)
    x[:, 8] = images & ~with_chars
    x[:, 9] = images
    x[:, 10] = [v.bullet for v in views]
    x[:, 11] = [v.heading for v in views]
    x[:, 12] = [math.log1p(v.indent) for v in views]
    np.divide(counts[:, 5], chars, out=x[:, 13], where=with_chars)  # digits
    np.divide(counts[:, 1], words, out=x[:, 14], where=with_words)  # capitalised
    x[:, 15] = [t.isupper() and len(t) >= 4 for t in texts]
    x[:, 16] = [
        len(_SEPARATORS.findall(t))
        if "|" in t or ">" in t or "/" in t or (not a and _HAS_SEPARATOR(t))
        else 0
        for t, a in zip(texts, ascii_texts, strict=True)
    ]
    np.divide(x[:, 16], words, out=x[:, 16], where=with_words)
    x[~with_words, 16] = 0.0
    x[:, 19] = [
        not (a and "(c)" not in low and "copyright" not in low) and bool(_COPYRIGHT.search(t))
        for t, low, a in zip(texts, lows, ascii_texts, strict=True)
    ]
    x[:, 20] = ["@" in t and bool(_EMAIL_OR_HANDLE.search(t)) for t in texts]
    np.divide(counts[:, 2], words, out=x[:, 21], where=with_words)  # word length
    np.minimum(x[:, 21], 20.0, out=x[:, 21])
    x[:, 21] /= 10
    x[:, 22] = (
        (words >= PROSE_MIN_WORDS)
        & ((x[:, 2] >= PROSE_MIN_STOPWORDS) | (not has_stoplist))
        & (x[:, 7] < 0.5)
    )
    data = x.tobytes()
    size = _ROW.size
    return [(data[i * size : (i + 1) * size], key) for i, key in enumerate(keys)]


def _view_row(v: LineView, stopwords: frozenset[str]) -> tuple[tuple[float, ...], str]:
    """`_line_row` of a line seen as `v`."""
    text = v.visible
    ascii_text = text.isascii()
    counts = _counts(text)
    n_words = counts.words
    n_chars = len(text)
    has_stoplist = bool(stopwords)
    stop = sentence_marks = commas = capitalised = separators = word_length = 0.0
    low = text.lower()
    # an ASCII text with single spaces between its words and none at its ends is its own
    # key: no need to split it unless its words are looked up
    normal = is_ascii_normal_form(text)
    low_words = low.split() if has_stoplist or not normal else []
    if n_words:
        if has_stoplist:
            stripped = map(str.strip, low_words, itertools.repeat(_PUNCT))
            stop = sum(map(stopwords.__contains__, stripped)) / n_words
        sentence_marks = counts.sentence_marks / n_words
        commas = counts.commas / n_words
        capitalised = counts.capitalised / n_words
        if "|" in text or ">" in text or "/" in text or (not ascii_text and _HAS_SEPARATOR(text)):
            separators = len(_SEPARATORS.findall(text)) / n_words
        word_length = min(counts.word_chars / n_words, 20.0) / 10
    link = v.link_chars / n_chars if n_chars else (1.0 if v.images else 0.0)
    digits = all_caps = 0.0
    if n_chars:
        digits = counts.digits / n_chars
        all_caps = 1.0 if text.isupper() and n_chars >= 4 else 0.0
    if ascii_text and "(c)" not in low and "copyright" not in low:
        copyright = 0.0
    else:
        copyright = 1.0 if _COPYRIGHT.search(text) else 0.0
    prose = (
        1.0
        if n_words >= PROSE_MIN_WORDS
        and (stop >= PROSE_MIN_STOPWORDS or not has_stoplist)
        and link < 0.5
        else 0.0
    )
    row = (
        math.log1p(n_chars),
        math.log1p(n_words),
        stop,
        0.0 if has_stoplist else 1.0,
        1.0 if text.rstrip(_SENTENCE_CLOSERS)[-1:] in _SENTENCE_MARKS else 0.0,
        sentence_marks,
        commas,
        link,
        1.0 if v.images and n_chars == 0 else 0.0,
        1.0 if v.images else 0.0,
        1.0 if v.bullet else 0.0,
        1.0 if v.heading else 0.0,
        math.log1p(v.indent),
        digits,
        capitalised,
        all_caps,
        separators,
        0.0,
        0.0,
        copyright,
        1.0 if "@" in text and _EMAIL_OR_HANDLE.search(text) else 0.0,
        word_length,
        prose,
        0.0,
        0.0,
    )
    return row, low if normal else " ".join(low_words)


class LineFeaturizer:
    """`line_features`, faster: the per-line part of each line (what does not depend on the
    page) is computed by `_line_row` and kept in a bounded memo per stopword list (menu and
    footer lines repeat on every page of a site). Owned by a `Cleaner`; the same numbers as
    `line_features` (tests/corpus/test_clean_fast_paths.py)."""

    def __init__(self, *, max_lines: int = _MEMO_MAX_LINES):
        self.max_lines = max_lines
        self.memo: dict[frozenset[str], dict[str, tuple[bytes, str]]] = {}
        self.size = 0
        # per stopword list, each word's stopword answer (`_stopword_counts`)
        self.words: dict[frozenset[str], dict[str, int]] = {}

    def rows(self, lines: Sequence[str], stopwords: frozenset[str]) -> list[tuple[bytes, str]]:
        """`_line_row` of each line (the row packed as float64 bytes), from the memo when the
        line was seen before."""
        return self.rows_of_pages([(lines, stopwords)])[0]

    def rows_of_pages(
        self, pages: Sequence[tuple[Sequence[str], frozenset[str]]]
    ) -> list[list[tuple[bytes, str]]]:
        """`rows(lines, stopwords)` of each page; the lines not in the memo are computed
        together, once each (`_packed_line_rows`)."""
        out: list[list[tuple[bytes, str] | None]] = []
        missing: dict[frozenset[str], dict[str, None]] = {}
        for lines, stopwords in pages:
            memo = self.memo.get(stopwords, {})
            found = [memo.get(line) for line in lines]
            if None in found:
                todo = missing.setdefault(stopwords, {})
                for line, row in zip(lines, found, strict=True):
                    if row is None:
                        todo[line] = None
            out.append(found)
        computed: dict[frozenset[str], dict[str, tuple[bytes, str]]] = {}
        for stopwords, todo in missing.items():
            new_lines = list(todo)
            computed[stopwords] = dict(
                zip(
                    new_lines,
                    _packed_line_rows(new_lines, stopwords, self._words_of(stopwords)),
                    strict=True,
                )
            )
            self._remember(stopwords, computed[stopwords])
        for (lines, stopwords), found in zip(pages, out, strict=True):
            if None in found:
                new_rows = computed[stopwords]
                for i, row in enumerate(found):
                    if row is None:
                        found[i] = new_rows[lines[i]]
        return out  # type: ignore[return-value]  # every None was filled in

    def _remember(self, stopwords: frozenset[str], rows: dict[str, tuple[bytes, str]]) -> None:
        """Keep the rows of short lines (menus and footers repeat; paragraphs do not), at
        most `max_lines` in all: a full memo starts over."""
        memo = self.memo.setdefault(stopwords, {})
        for line, row in rows.items():
            if len(line) <= _MEMO_LINE_CHARS:
                if self.size >= self.max_lines:
                    self.clear()
                    memo = self.memo[stopwords] = {}
                memo[line] = row
                self.size += 1

    def _words_of(self, stopwords: frozenset[str]) -> dict[str, int]:
        """The stopword answers of the words seen with `stopwords`; all of them are forgotten
        once they hold `_MEMO_MAX_WORDS` words."""
        if sum(map(len, self.words.values())) >= _MEMO_MAX_WORDS:
            self.words.clear()
        return self.words.setdefault(stopwords, {})

    def clear(self) -> None:
        """Forget every memoised line and word."""
        self.memo.clear()
        self.size = 0
        self.words.clear()

    def features(
        self,
        lines: Sequence[str],
        blank_before: Sequence[bool],
        blank_after: Sequence[bool],
        stopwords: frozenset[str],
    ) -> np.ndarray:
        """`line_features(lines, blank_before, blank_after, stopwords)`."""
        return self.pages_features([(lines, blank_before, blank_after, stopwords)])[0]

    def pages_features(
        self,
        pages: Sequence[tuple[Sequence[str], Sequence[bool], Sequence[bool], frozenset[str]]],
    ) -> list[np.ndarray]:
        """`line_features(*page)` of each page, the page-wide columns computed for all the
        pages' lines at once (one set of array operations instead of one per page)."""
        sizes = np.array([len(page[0]) for page in pages], dtype=np.int64)
        x = np.zeros((int(sizes.sum()), len(FEATURE_NAMES)))
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        if not len(x):
            return [x[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        rows: list[bytes] = []
        repeats: list[float] = []
        befores: list[bool] = []
        afters: list[bool] = []
        page_rows = self.rows_of_pages([(page[0], page[3]) for page in pages])
        for (_, blank_before, blank_after, _), found in zip(pages, page_rows, strict=True):
            rows += [row for row, _ in found]
            keys = [key for _, key in found]
            count = Counter(keys)
            repeats += [math.log(count[key]) for key in keys]
            befores += blank_before
            afters += blank_after
        x[:, :_PER_LINE_COLUMNS] = np.frombuffer(b"".join(rows), dtype=np.float64).reshape(
            -1, _PER_LINE_COLUMNS
        )
        x[:, 17] = repeats
        segments = Segments(sizes)
        x[:, 18] = segments.local / np.maximum(1, segments.size - 1)
        x[:, 23] = befores
        x[:, 24] = afters
        _page_columns(x, segments)
        return [x[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


class Segments:
    """Where each page's rows lie in a stack of pages' rows: what the batched page-wide
    columns need to stay inside each page."""

    def __init__(self, sizes: np.ndarray):
        self.sizes = sizes
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        page = np.repeat(np.arange(len(sizes)), sizes)
        self.start = self.starts[page]  # per row: its page's first row
        self.size = sizes[page]  # per row: its page's number of rows
        self.local = np.arange(len(page)) - self.start  # per row: its place in its page
        self.used = sizes > 0

    def cumsum(self, values: np.ndarray) -> np.ndarray:
        """`np.cumsum(page_values, axis=0)` of each page, bit for bit: each page is summed
        from its own first row, in row order (pages of similar size padded side by side)."""
        out = np.empty_like(values)
        order = np.argsort(-self.sizes, kind="stable")
        order = order[self.sizes[order] > 0]
        first = 0
        while first < len(order):
            longest = int(self.sizes[order[first]])
            last = first + 1
            total = longest
            # pages side by side until padding would double the cells
            while last < len(order) and longest * (last - first + 1) <= 2 * (
                total + int(self.sizes[order[last]])
            ):
                total += int(self.sizes[order[last]])
                last += 1
            group = order[first:last]
            group_sizes = self.sizes[group]
            rows = np.repeat(
                self.starts[group] - np.cumsum(np.concatenate([[0], group_sizes[:-1]])), group_sizes
            )
            rows += np.arange(len(rows))
            column = np.repeat(np.arange(len(group)), group_sizes)
            place = self.local[rows]
            padded = np.zeros((longest, len(group), *values.shape[1:]))
            padded[place, column] = values[rows]
            np.cumsum(padded, axis=0, out=padded)
            out[rows] = padded[place, column]
            first = last
        return out

    def reverse_cumsum(self, values: np.ndarray) -> np.ndarray:
        """`np.cumsum(page_values[::-1])[::-1]` of each page, bit for bit."""
        flipped = Segments(self.sizes[::-1].copy())
        return flipped.cumsum(values[::-1].copy())[::-1]

    def window_means(self, values: np.ndarray, running: np.ndarray, k: int) -> np.ndarray:
        """`_mean_around(page_values, k)` of each page; `running` = `self.cumsum(values)`."""
        lo = np.maximum(self.local - k, 0)
        hi = np.minimum(self.local + k + 1, self.size)
        below_hi = running[self.start + hi - 1]
        below_lo = running[self.start + np.maximum(lo - 1, 0)]
        if values.ndim == 2:
            below_lo[lo == 0] = 0.0
            count = (hi - lo - 1)[:, None]
        else:
            below_lo = np.where(lo > 0, below_lo, 0.0)
            count = hi - lo - 1
        window_sum = below_hi - below_lo - values
        return np.divide(window_sum, count, out=np.zeros_like(window_sum), where=count > 0)

    def distance_to(self, flags: np.ndarray) -> np.ndarray:
        """`_distance_to(page_flags)` of each page."""
        where = np.flatnonzero(flags)
        index = np.arange(len(flags))
        right = np.searchsorted(where, index)
        end = self.start + self.size
        if len(where):
            nxt = where[np.minimum(right, len(where) - 1)]
            prev = where[np.maximum(right - 1, 0)]
            after = np.where((right < len(where)) & (nxt < end), nxt - index, self.size)
            before = np.where((right > 0) & (prev >= self.start), index - prev, self.size)
        else:
            after = before = self.size
        return np.minimum(after, before).astype(float)

    def shifted(self, values: np.ndarray, step: int) -> np.ndarray:
        """Each row's value `step` rows later in its page (negative: earlier), 0.0 past the
        page's ends."""
        out = np.zeros_like(values)
        n = len(values)
        if step > 0:
            inside = self.local[: n - step] < self.size[: n - step] - step
            out[: n - step][inside] = values[step:][inside]
        elif step < 0:
            inside = self.local[-step:] >= -step
            out[-step:][inside] = values[: n + step][inside]
        return out


def _page_columns(x: np.ndarray, segments: Segments) -> None:
    """The columns of `line_features` from 25 on, for a stack of pages' rows at once:
    neighbourhoods, the page's prose share and length, products, the lines before and
    after, the prose span (each inside its own page; the same numbers as page by page)."""
    prose = x[:, 22]
    block = x[:, [22, 2, 1, 7]]
    running = segments.cumsum(block)
    x[:, 25] = segments.window_means(prose, running[:, 0], 1)
    x[:, 26:30] = segments.window_means(block, running, 3)
    x[:, 30] = segments.window_means(prose, running[:, 0], 10)
    x[:, 31] = np.log1p(segments.distance_to(prose))
    used = segments.used
    sizes = segments.sizes[used]
    share = np.add.reduceat(prose, segments.starts[used]) / sizes
    x[:, 32] = np.repeat(share, sizes)
    x[:, 33] = np.repeat([math.log1p(n) for n in sizes.tolist()], sizes)
    x[:, 34] = x[:, 1] ** 2 / 10
    x[:, 35] = x[:, 2] * x[:, 1]
    for column, source in ((36, 1), (38, 2), (40, 7)):
        x[:, column] = segments.shifted(x[:, source], -1)
        x[:, column + 1] = segments.shifted(x[:, source], 1)
    prose_so_far = np.cumsum(prose)  # whole numbers: exact in any order
    before_page = np.repeat(np.concatenate([[0.0], prose_so_far])[segments.starts[used]], sizes)
    page_total = np.repeat(prose_so_far[segments.starts[used] + sizes - 1], sizes) - before_page
    seen = prose_so_far - before_page
    x[:, 42] = ((seen >= 1) & (page_total - seen + prose >= 1)).astype(float)
    prose_chars = prose * np.expm1(x[:, 0])
    x[:, 43] = np.log1p(segments.reverse_cumsum(prose_chars) - prose_chars)
    x[:, 44] = np.log1p(segments.cumsum(prose_chars) - prose_chars)


def _distance_to(flags: np.ndarray) -> np.ndarray:
    """Per line, how many lines away the nearest flagged line is (n when there is none)."""
    n = len(flags)
    where = np.flatnonzero(flags)
    if len(where) == 0:
        return np.full(n, float(n))
    index = np.arange(n)
    right = np.searchsorted(where, index)
    after = np.where(right < len(where), where[np.minimum(right, len(where) - 1)] - index, n)
    before = np.where(right > 0, index - where[np.maximum(right - 1, 0)], n)
    return np.minimum(after, before).astype(float)


CONTEXT_NAMES = ("p_self", "p_around1", "p_around3", "p_around8", "p_max_around2")


def context_features_of_pages(p: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """`context_features` of each page's stretch of `p` (pages stacked in order, `sizes`
    rows each), computed at once: the same numbers as page by page."""
    segments = Segments(sizes)
    out = np.zeros((len(p), len(CONTEXT_NAMES)))
    if not len(p):
        return out
    running = segments.cumsum(p)
    out[:, 0] = p
    out[:, 1] = segments.window_means(p, running, 1)
    out[:, 2] = segments.window_means(p, running, 3)
    out[:, 3] = segments.window_means(p, running, 8)
    neighbours = [segments.shifted(p, step) for step in (-2, -1, 1, 2)]
    out[:, 4] = np.stack(neighbours).max(axis=0)
    return out


def context_features(p: np.ndarray) -> np.ndarray:
    """Second-stage inputs: the first stage's content probability around each line."""
    n = len(p)
    out = np.zeros((n, len(CONTEXT_NAMES)))
    if n == 0:
        return out
    out[:, 0] = p
    out[:, 1] = _mean_around(p, 1)
    out[:, 2] = _mean_around(p, 3)
    out[:, 3] = _mean_around(p, 8)
    padded = np.concatenate([np.zeros(2), p, np.zeros(2)])
    neighbours = np.stack([padded[k : k + n] for k in (0, 1, 3, 4)])
    out[:, 4] = neighbours.max(axis=0)
    return out
