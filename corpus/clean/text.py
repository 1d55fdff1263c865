"""Small text helpers of the cleaner's rules: letter keys, slug prefixes, fuzzy similarity,
names of bylines and photo credits."""

from __future__ import annotations

import difflib
import re

from .config import CleanConfig

# bytes.translate deletion table: every ASCII byte that is not a letter or digit
_ASCII_NOT_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())


def _alnum_key(text: str) -> str:
    """The letters and digits of `text`, case-folded."""
    if text.isascii():  # casefold is lower and isalnum is [A-Za-z0-9]: bytes do it at C speed
        return text.lower().encode("ascii").translate(None, _ASCII_NOT_ALNUM).decode("ascii")
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def is_ascii_normal_form(text: str) -> bool:
    """Whether `text` is ASCII already in normal form: words separated by single spaces,
    none at the ends, no tab or other whitespace (then `" ".join(text.split())` is `text`)."""
    return (
        text.isascii()
        and text.isprintable()  # no tab, no other ASCII whitespace but the space
        and "  " not in text
        and text[:1] != " "
        and text[-1:] != " "
    )


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
