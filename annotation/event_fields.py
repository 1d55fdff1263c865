"""The fields of a seizure mention, parsed from its text: quantity (masses in kg, counted items
with their unit), date (ISO, year-month or year) and the sentence around it.

Pure string functions with no knowledge of tasks or events; annotation.events uses them to fill the
rows of the events table.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from decimal import Decimal, InvalidOperation

KG = "kg"
# unit word -> kilograms per unit
MASS_UNITS: dict[str, Decimal] = {
    **dict.fromkeys(("mg", "milligram", "milligrams"), Decimal("0.000001")),
    **dict.fromkeys(("g", "gr", "gram", "grams", "gramme", "grammes"), Decimal("0.001")),
    **dict.fromkeys(
        ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme", "kilogrammes"),
        Decimal(1),
    ),
    **dict.fromkeys(("t", "ton", "tons", "tonne", "tonnes"), Decimal(1000)),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), Decimal("0.45359237")),
}
# unit word -> the unit name reported for counted items
COUNT_UNITS: dict[str, str] = {
    **dict.fromkeys(("tablet", "tablets"), "tablets"),
    **dict.fromkeys(("pill", "pills"), "pills"),
    **dict.fromkeys(("piece", "pieces", "pcs"), "pieces"),
    **dict.fromkeys(("cigar", "cigars"), "cigars"),
    **dict.fromkeys(("jar", "jars"), "jars"),
    **dict.fromkeys(("individual", "individuals"), "individuals"),
}
MULTIPLIERS = {"thousand": Decimal(1000), "million": Decimal(10**6), "billion": Decimal(10**9)}
WORD_NUMBERS = {
    word: Decimal(i)
    for i, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
} | {"a": Decimal(1), "an": Decimal(1), "dozen": Decimal(12), "hundred": Decimal(100)}

# a word number must be a whole word ("at" is not "a t"); digits may touch the unit ("500kg")
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|(?:" + "|".join(WORD_NUMBERS) + r")\b"
QUANTITY_PATTERN = re.compile(
    rf"\b(?P<number>{_NUMBER})(?:\s*(?P<multiplier>{'|'.join(MULTIPLIERS)})\b)?"
    r"(?:\s*(?:metric\s+)?(?P<unit>[A-Za-z]+)\b)?",
    re.IGNORECASE,
)
FOLLOWING_WORDS = re.compile(r"(?:\s+[A-Za-z-]+){1,3}")

MONTHS = (
    {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
    | {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
    | {"sept": 9}
)
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
# most specific first: the first pattern that matches anywhere in the text wins
DATE_PATTERNS = (
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b"),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(r"\b(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})\b"),  # day first (VCN)
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})\b"),
    re.compile(rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_YEAR}\b"),
)

# a sentence ends at . ! ? (plus closing quotes/brackets) before whitespace, or at a line break
SENTENCE_BREAK = re.compile(r"(?P<end>[.!?]+[\"'\u201d\u2019)\]]*)\s+|\n")
# a full stop after these is not the end of a sentence
ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|No|St|Gen|Col|Lt|Capt|Sgt|Inc|Co|Ltd|Jr|Sr|vs|etc|Jan|Feb|Mar|Apr|"
    r"Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)|\b[A-Z]|\b(?:[A-Za-z]\.)+[A-Za-z])$"
)


def normalise_quantity(text: str) -> tuple[float | None, str | None]:
    """(value, unit) of a quantity phrase: masses in kg, counted items with their unit name.

    "8.3 tons" -> (8300.0, "kg"); "1,500 tablets" -> (1500.0, "tablets"); qualifiers such as
    "nearly" or "more than" are ignored (the stated number is kept); a counted unit may
    come up to three words after the number ("3,000 ecstasy tablets"). A number with no or an
    unknown unit gives (value, None); text without a number gives (None, None).
    """
    first: Decimal | None = None
    for m in QUANTITY_PATTERN.finditer(text):
        number = _number(m.group("number"))
        if m.group("multiplier"):
            number *= MULTIPLIERS[m.group("multiplier").lower()]
        unit = (m.group("unit") or "").lower()
        if unit in MASS_UNITS:
            return float(number * MASS_UNITS[unit]), KG
        if unit in COUNT_UNITS:
            return float(number), COUNT_UNITS[unit]
        # counted items often carry a word or two first: "3,000 ecstasy tablets"
        after_number = m.end("multiplier") if m.group("multiplier") else m.end("number")
        following = FOLLOWING_WORDS.match(text, after_number)
        counted = [w.lower() for w in following.group(0).split()] if following else []
        unit_word = next((w for w in counted if w in COUNT_UNITS), None)
        if unit_word is not None:
            return float(number), COUNT_UNITS[unit_word]
        if first is None and m.group("number")[0].isdigit():
            first = number
    return (float(first), None) if first is not None else (None, None)


def parse_date(text: str) -> str | None:
    """An ISO date ("2019-03-15"), year-month ("2019-03") or year ("2019") from a date phrase.

    Numeric d/m/y dates are read day first (as the seed site writes them). A day or month
    without a year ("December 28") is not guessed: None.
    """
    for pattern in DATE_PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        fields = m.groupdict()
        year = int(fields["year"])
        month_text = fields.get("month")
        if month_text is None:
            return f"{year:04d}"
        month = int(month_text) if month_text.isdigit() else MONTHS[month_text.lower().rstrip(".")]
        if fields.get("day") is None:
            return f"{year:04d}-{month:02d}" if 1 <= month <= 12 else None
        try:
            return date(year, month, int(fields["day"])).isoformat()
        except ValueError:  # e.g. 31/02/2019: not a date, so no date
            return None
    return None


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence(s) of `text` containing [start, end), trimmed."""
    sentence_start, sentence_end = 0, len(text)
    for m in SENTENCE_BREAK.finditer(text):
        if m.group("end") and ABBREVIATION.search(text, 0, m.start()):
            continue
        if m.end() <= start:
            sentence_start = m.end()
        elif m.start() >= end:
            sentence_end = m.end("end") if m.group("end") else m.start()
            break
    return text[sentence_start:sentence_end].strip()


# -- from mentions to events ------------------------------------------------------------


def _number(text: str) -> Decimal:
    word = WORD_NUMBERS.get(text.lower())
    if word is not None:
        return word
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation as exc:  # the pattern only matches numbers: this is a bug
        raise AssertionError(f"quantity number {text!r} did not parse") from exc


def month_of(text: str) -> int | None:
    """The month (1-12) a text names ("March", "Sept."), or None."""
    m = re.search(_MONTH, text, re.IGNORECASE)
    return MONTHS[m.group("month").lower()] if m else None
