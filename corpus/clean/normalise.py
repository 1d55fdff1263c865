"""Whitespace and Unicode normalisation of a kept line, as edits (NFC, odd spaces,
zero-width characters), and overlapping edits of one line made disjoint."""

from __future__ import annotations

import re
import unicodedata

from ..offsets import Edit

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
