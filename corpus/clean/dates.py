"""Date-only lines ("July 15, 2020 08:12", "10:10 | 24/05/2019") read as ISO datetimes."""

from __future__ import annotations

import re
from datetime import datetime

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
