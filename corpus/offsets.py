"""Edits on a raw page and the offset map from clean text back to raw characters.

Every cleaning stage expresses what it does as `Edit`s in *raw* coordinates (drop a
line, replace a character run, insert a space into a glued word). `apply_edits` applies
them in one pass and returns the clean text, the record of every change and an
`OffsetMap`. Because edits never overlap and all refer to the raw page, any clean span
[start, end) maps back to the exact raw characters it came from.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable
from operator import attrgetter
from typing import NamedTuple

from .errors import ContrabandError


class Edit(NamedTuple):
    """Replace raw[start:end] by `replacement` (empty: a removal; start == end: an insertion).

    A named tuple rather than a dataclass: cleaning makes tens of them per page and ships
    them between processes, and tuples are several times cheaper to create and pickle.
    Ordered and compared field by field, as a tuple.
    """

    start: int
    end: int
    replacement: str
    reason: str

    @property
    def removed(self) -> bool:
        return self.replacement == "" and self.end > self.start


class Segment(NamedTuple):
    """clean[clean_start:clean_end] comes from raw[raw_start:raw_end].

    A *copy* segment has equal lengths and identical text; an *edit* segment is the
    output of one `Edit` (its lengths may differ, either may be zero). A named tuple, as
    `Edit` is.
    """

    clean_start: int
    clean_end: int
    raw_start: int
    raw_end: int
    copy: bool


class OverlappingEditsError(ContrabandError, ValueError):
    """Two edits touch the same raw characters; stages must hand over disjoint edits."""


class OffsetMap:
    """Maps clean-text offsets to raw-page offsets (and back) through `Segment`s.

    Stored as five flat columns (four `array('q')` and the copy flags as bytes), the same
    columns the corpus table holds: a page's map costs a few hundred bytes, and copying
    it to and from worker processes is a handful of buffer copies. `segments` builds the
    `Segment` tuples the first time it is read.
    """

    __slots__ = ("_cs", "_ce", "_rs", "_re", "_copy", "_segments")

    def __init__(self, segments: Iterable[Segment]):
        segments = tuple(segments)
        self._cs = array("q", [s.clean_start for s in segments])
        self._ce = array("q", [s.clean_end for s in segments])
        self._rs = array("q", [s.raw_start for s in segments])
        self._re = array("q", [s.raw_end for s in segments])
        self._copy = bytes(bool(s.copy) for s in segments)
        self._segments: tuple[Segment, ...] | None = segments

    @classmethod
    def from_arrays(
        cls, clean_start: array, clean_end: array, raw_start: array, raw_end: array, copy: bytes
    ) -> OffsetMap:
        """A map from its columns as built by `apply_edits` (no `Segment` objects made)."""
        if not len(clean_start) == len(clean_end) == len(raw_start) == len(raw_end) == len(copy):
            raise ValueError("OffsetMap columns must have the same length")
        self = cls.__new__(cls)
        self._cs, self._ce, self._rs, self._re = clean_start, clean_end, raw_start, raw_end
        self._copy = bytes(copy)
        self._segments = None
        return self

    def __reduce__(self) -> tuple:
        return (OffsetMap.from_arrays, (self._cs, self._ce, self._rs, self._re, self._copy))

    @property
    def segments(self) -> tuple[Segment, ...]:
        if self._segments is None:
            self._segments = tuple(
                Segment(cs, ce, rs, re_, bool(cp))
                for cs, ce, rs, re_, cp in zip(
                    self._cs, self._ce, self._rs, self._re, self._copy, strict=True
                )
            )
        return self._segments

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
        i = bisect.bisect_right(self._cs, clean_pos) - 1
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
        i = bisect.bisect_right(self._rs, raw_pos) - 1
        if i < 0:
            return 0
        seg = self.segments[i]
        if seg.copy:
            return seg.clean_start + min(raw_pos - seg.raw_start, seg.clean_end - seg.clean_start)
        return seg.clean_end

    # -- storage -------------------------------------------------------------
    def to_columns(self) -> dict[str, list]:
        """Four parallel int lists (+ copy flags), the Parquet representation."""
        return {
            "clean_start": self._cs.tolist(),
            "clean_end": self._ce.tolist(),
            "raw_start": self._rs.tolist(),
            "raw_end": self._re.tolist(),
            "copy": [bool(c) for c in self._copy],
        }

    @classmethod
    def from_columns(cls, cols: dict) -> OffsetMap:
        return cls.from_arrays(
            array("q", [int(v) for v in cols["clean_start"]]),
            array("q", [int(v) for v in cols["clean_end"]]),
            array("q", [int(v) for v in cols["raw_start"]]),
            array("q", [int(v) for v in cols["raw_end"]]),
            bytes(bool(v) for v in cols["copy"]),
        )

    def to_arrays(self) -> tuple[array, array, array, array, bytes]:
        """The columns as stored: clean_start, clean_end, raw_start, raw_end ('q' arrays)
        and the copy flags (one byte each); for writers that build Arrow columns directly."""
        return self._cs, self._ce, self._rs, self._re, self._copy

    def __len__(self) -> int:
        return len(self._copy)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, OffsetMap)
            and self._cs == other._cs
            and self._ce == other._ce
            and self._rs == other._rs
            and self._re == other._re
            and self._copy == other._copy
        )

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside: not hashable

    def __repr__(self) -> str:
        return f"OffsetMap({len(self)} segments)"


EDIT_ORDER = attrgetter("start", "end")  # sort key: the order apply_edits applies edits in


def apply_edits(raw: str, edits: Iterable[Edit]) -> tuple[str, OffsetMap]:
    """Apply disjoint raw-coordinate edits; return the clean text and its offset map.

    Insertions (start == end) at the same position as another edit's start are placed
    before it. Raises `OverlappingEditsError` naming both edits if two overlap.
    """
    # by (start, end): an insertion (end == start) comes before an edit starting at the
    # same position, as end >= start for every valid edit
    ordered = sorted(edits, key=EDIT_ORDER)
    pieces: list[str] = []
    clean_starts: list[int] = []
    raw_starts: list[int] = []
    raw_ends: list[int] = []
    copies = bytearray()
    raw_pos = 0
    clean_pos = 0
    previous: Edit | None = None
    for edit in ordered:
        start, end, replacement = edit.start, edit.end, edit.replacement
        if end < start or end > len(raw):
            raise OverlappingEditsError(
                f"edit {edit.reason!r} on raw [{start}, {end}) is not a range inside "
                f"the page (length {len(raw)}); cleaning stages must edit existing characters"
            )
        if start < raw_pos:
            raise OverlappingEditsError(
                f"edit {edit.reason!r} on raw [{start}, {end}) overlaps "
                f"{previous.reason if previous else '?'!r} ending at {raw_pos}; "
                "cleaning stages must produce disjoint edits"
            )
        if start > raw_pos:
            pieces.append(raw[raw_pos:start])
            clean_starts.append(clean_pos)
            raw_starts.append(raw_pos)
            raw_ends.append(start)
            copies.append(1)
            clean_pos += start - raw_pos
        pieces.append(replacement)
        clean_starts.append(clean_pos)
        raw_starts.append(start)
        raw_ends.append(end)
        copies.append(0)
        clean_pos += len(replacement)
        raw_pos = end
        previous = edit
    if raw_pos < len(raw):
        pieces.append(raw[raw_pos:])
        clean_starts.append(clean_pos)
        raw_starts.append(raw_pos)
        raw_ends.append(len(raw))
        copies.append(1)
        clean_pos += len(raw) - raw_pos
    clean_ends = clean_starts[1:] + [clean_pos]  # segments tile the clean text
    offset_map = OffsetMap.from_arrays(
        array("q", clean_starts),
        array("q", clean_ends),
        array("q", raw_starts),
        array("q", raw_ends),
        bytes(copies),
    )
    return "".join(pieces), offset_map
