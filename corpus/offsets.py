"""Edits on a raw page and the offset map from clean text back to raw characters.

Every cleaning stage expresses what it does as `Edit`s in *raw* coordinates (drop a
line, replace a character run, insert a space into a glued word). `apply_edits` applies
them in one pass and returns the clean text, the record of every change and an
`OffsetMap`. Because edits never overlap and all refer to the raw page, any clean span
[start, end) maps back to the exact raw characters it came from.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import ContrabandError


@dataclass(frozen=True, order=True)
class Edit:
    """Replace raw[start:end] by `replacement` (empty: a removal; start == end: an insertion)."""

    start: int
    end: int
    replacement: str
    reason: str

    @property
    def removed(self) -> bool:
        return self.replacement == "" and self.end > self.start


@dataclass(frozen=True)
class Segment:
    """clean[clean_start:clean_end] comes from raw[raw_start:raw_end].

    A *copy* segment has equal lengths and identical text; an *edit* segment is the
    output of one `Edit` (its lengths may differ, either may be zero).
    """

    clean_start: int
    clean_end: int
    raw_start: int
    raw_end: int
    copy: bool


class OverlappingEditsError(ContrabandError, ValueError):
    """Two edits touch the same raw characters; stages must hand over disjoint edits."""


class OffsetMap:
    """Maps clean-text offsets to raw-page offsets (and back) through `Segment`s."""

    def __init__(self, segments: Sequence[Segment]):
        self.segments = tuple(segments)
        self._clean_starts = [s.clean_start for s in self.segments]
        self._raw_starts = [s.raw_start for s in self.segments]

    # -- mapping -------------------------------------------------------------
    def to_raw(self, start: int, end: int) -> tuple[int, int]:
        """Raw range [rs, re) holding exactly the characters that produced clean[start:end].

        An endpoint inside a copy segment maps character for character; an endpoint
        inside an edit's output widens to the whole edited raw range.
        """
        if start > end:
            raise ValueError(f"span start {start} is after end {end}")
        if start == end:
            pos = self._raw_position(start, left=True)
            return pos, pos
        first = self._segment_at(start)
        last = self._segment_at(end - 1)
        if first.copy:
            raw_start = first.raw_start + (start - first.clean_start)
        else:
            raw_start = first.raw_start
        if last.copy:
            raw_end = last.raw_start + (end - last.clean_start)
        else:
            raw_end = last.raw_end
        return raw_start, raw_end

    def to_clean(self, raw_start: int, raw_end: int) -> tuple[int, int]:
        """Smallest clean range covering what raw[raw_start:raw_end] became (may be empty)."""
        starts = []
        ends = []
        for seg in self.segments:
            if seg.raw_end <= raw_start and seg.raw_end != seg.raw_start:
                continue
            if seg.raw_start >= raw_end:
                break
            if seg.copy:
                lo = max(raw_start, seg.raw_start)
                hi = min(raw_end, seg.raw_end)
                if lo >= hi:
                    continue
                starts.append(seg.clean_start + lo - seg.raw_start)
                ends.append(seg.clean_start + hi - seg.raw_start)
            elif (
                seg.raw_start >= raw_start
                and seg.raw_end <= raw_end
                and seg.clean_end > seg.clean_start
            ):
                starts.append(seg.clean_start)
                ends.append(seg.clean_end)
        if not starts:
            pos = self._clean_position(raw_start)
            return pos, pos
        return min(starts), max(ends)

    def _segment_at(self, clean_pos: int) -> Segment:
        i = bisect.bisect_right(self._clean_starts, clean_pos) - 1
        # skip zero-width (pure removal) segments that share this clean start
        while i >= 0:
            seg = self.segments[i]
            if seg.clean_start <= clean_pos < seg.clean_end:
                return seg
            i -= 1
        raise IndexError(f"clean offset {clean_pos} is outside the text")

    def _raw_position(self, clean_pos: int, *, left: bool) -> int:
        for seg in self.segments:
            if seg.clean_start <= clean_pos < seg.clean_end or (
                clean_pos == seg.clean_end and seg is self.segments[-1]
            ):
                if seg.copy:
                    return seg.raw_start + clean_pos - seg.clean_start
                return seg.raw_start if left else seg.raw_end
        return self.segments[-1].raw_end if self.segments else 0

    def _clean_position(self, raw_pos: int) -> int:
        i = bisect.bisect_right(self._raw_starts, raw_pos) - 1
        if i < 0:
            return 0
        seg = self.segments[i]
        if seg.copy:
            return seg.clean_start + min(raw_pos - seg.raw_start, seg.clean_end - seg.clean_start)
        return seg.clean_end

    # -- storage -------------------------------------------------------------
    def to_columns(self) -> dict[str, list[int]]:
        """Four parallel int lists (+ copy flags), the Parquet representation."""
        return {
            "clean_start": [s.clean_start for s in self.segments],
            "clean_end": [s.clean_end for s in self.segments],
            "raw_start": [s.raw_start for s in self.segments],
            "raw_end": [s.raw_end for s in self.segments],
            "copy": [s.copy for s in self.segments],
        }

    @classmethod
    def from_columns(cls, cols: dict) -> OffsetMap:
        return cls(
            [
                Segment(int(cs), int(ce), int(rs), int(re_), bool(cp))
                for cs, ce, rs, re_, cp in zip(
                    cols["clean_start"],
                    cols["clean_end"],
                    cols["raw_start"],
                    cols["raw_end"],
                    cols["copy"],
                    strict=True,
                )
            ]
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OffsetMap) and self.segments == other.segments

    def __repr__(self) -> str:
        return f"OffsetMap({len(self.segments)} segments)"


def apply_edits(raw: str, edits: Iterable[Edit]) -> tuple[str, OffsetMap]:
    """Apply disjoint raw-coordinate edits; return the clean text and its offset map.

    Insertions (start == end) at the same position as another edit's start are placed
    before it. Raises `OverlappingEditsError` naming both edits if two overlap.
    """
    ordered = sorted(edits, key=lambda e: (e.start, e.end != e.start, e.end))
    pieces: list[str] = []
    segments: list[Segment] = []
    raw_pos = 0
    clean_pos = 0
    previous: Edit | None = None
    for edit in ordered:
        if edit.end < edit.start or edit.end > len(raw):
            raise OverlappingEditsError(
                f"edit {edit.reason!r} on raw [{edit.start}, {edit.end}) is not a range inside "
                f"the page (length {len(raw)}); cleaning stages must edit existing characters"
            )
        if edit.start < raw_pos:
            raise OverlappingEditsError(
                f"edit {edit.reason!r} on raw [{edit.start}, {edit.end}) overlaps "
                f"{previous.reason if previous else '?'!r} ending at {raw_pos}; "
                "cleaning stages must produce disjoint edits"
            )
        if edit.start > raw_pos:
            n = edit.start - raw_pos
            pieces.append(raw[raw_pos : edit.start])
            segments.append(Segment(clean_pos, clean_pos + n, raw_pos, edit.start, True))
            clean_pos += n
        n = len(edit.replacement)
        pieces.append(edit.replacement)
        segments.append(Segment(clean_pos, clean_pos + n, edit.start, edit.end, False))
        clean_pos += n
        raw_pos = edit.end
        previous = edit
    if raw_pos < len(raw):
        n = len(raw) - raw_pos
        pieces.append(raw[raw_pos:])
        segments.append(Segment(clean_pos, clean_pos + n, raw_pos, len(raw), True))
    return "".join(pieces), OffsetMap(segments)
