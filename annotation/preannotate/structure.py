"""Entities found from the shape of the text rather than from lists of names.

Each finder takes a tokenised Doc (spacy.blank("en") + sentencizer) and the vocabularies of the
`structure:` section of configs/preannotate.yaml, and returns spaCy Spans:

- `find_agencies`: capitalised phrases ending in an agency head noun ("Ghana Revenue Authority",
  "Bureau of Immigration"), a nationality or country + customs/police/navy ("Spanish customs"), bare
  "Customs"/"Police" naming a body, and acronyms defined in the text ("... Narcotics Control (DNC)" makes
  every later "DNC" an AGENCY);
- `find_facilities`: ports, airports and other named facilities ("Port of Callao",
  "Jomo Kenyatta International Airport", "Kamiti Prison");
- `find_dates`: the date formats of news text, each candidate checked with dateparser;
- `find_quantities`: an amount and a mass, volume or packaging unit ("2.4 tonnes", "61.5kg",
  "90 hidden packets", "a dozen travel bags"); the `kind` of each is "mass" or "count".

Nothing here reads files; the component that calls the finders lives in `__init__`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from spacy.tokens import Doc, Token
from spacy.tokens import Span as SpacySpan

CONNECTORS = {"of", "and", "&", "for", "-"}


@dataclass(frozen=True)
class Vocab:
    """The word lists of the `structure:` section (all lower-case unless said otherwise)."""

    agency_heads: frozenset[str]  # title-case head nouns: "Customs", "Authority"
    national_heads: frozenset[str]  # lower-case heads after a proper noun: "customs", "navy"
    bare_agencies: frozenset[str]  # heads that name a body alone: "Customs", "Police"
    role_nouns: frozenset[str]  # "officers": "Customs officers" is not an agency
    job_titles: frozenset[str]  # "Comptroller-General": "... of Customs" is a title
    facility_heads: frozenset[str]  # title-case: "Airport", "Prison"
    facility_prefixes: frozenset[str]  # title-case: "Port" in "Port of Callao"
    not_after_place: frozenset[
        str
    ]  # "authorities": "Chilean authorities"/"Peru authorities" is no LOCATION
    mass_units: frozenset[str]
    count_units: frozenset[str]
    number_words: frozenset[str]
    multipliers: frozenset[str]
    currency: frozenset[str]

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> Vocab:
        """Build from the YAML mapping; unknown or missing keys raise KeyError naming them."""
        fields = set(cls.__dataclass_fields__)
        unknown = set(raw) - fields
        missing = fields - set(raw)
        if unknown or missing:
            raise KeyError(
                f"structure: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}"
            )
        cased = {
            "agency_heads",
            "bare_agencies",
            "job_titles",
            "facility_heads",
            "facility_prefixes",
        }
        return cls(
            **{
                k: frozenset(str(w) if k in cased else str(w).lower() for w in raw[k] or [])
                for k in fields
            }
        )


# -- helpers ------------------------------------------------------------------


def is_capitalised(token: Token) -> bool:
    """A word that starts with a capital letter ("Customs", "NDLEA", "Agro-Food", "THUNDERBIRD")."""
    text = token.text
    return bool(text) and text[0].isupper() and any(c.isalpha() for c in text)


def is_leading_word(token: Token) -> bool:
    """A function word that starts a capitalised run without being part of a name ("The", "In");
    upper-case ones stay ("OR Tambo", "NEW DELHI")."""
    return token.is_stop and not token.is_upper


def is_acronym(text: str) -> bool:
    """Two to eight capitals or digits with at least two capitals, an optional plural s."""
    return re.fullmatch(r"(?=(?:[^A-Z]*[A-Z]){2})[A-Z][A-Z0-9&]{1,7}s?", text) is not None


def capitalised_runs(doc: Doc) -> Iterable[tuple[int, int]]:
    """Maximal runs of capitalised tokens, joined by "of"/"and"/"&"/"for" between capitals."""
    i = 0
    n = len(doc)
    while i < n:
        if not is_capitalised(doc[i]):
            i += 1
            continue
        j = i + 1
        while j < n:
            if is_capitalised(doc[j]) and not doc[j].is_sent_start:
                j += 1
            elif (
                doc[j].lower_ in CONNECTORS
                and (doc[j].text != "-" or not (doc[j - 1].whitespace_ or doc[j].whitespace_))
                and j + 1 < n
                and is_capitalised(doc[j + 1])
                and not doc[j + 1].is_sent_start
            ):
                j += 2
            else:
                break
        yield i, j
        i = j


def _split_at_coordination(
    doc: Doc, start: int, end: int, heads: frozenset[str], bare: frozenset[str] = frozenset()
) -> list[tuple[int, int]]:
    """Split "X Customs and Y Police" into two names; keep "Customs and Excise" whole."""
    parts = [(start, end)]
    for k in range(end - 1, start, -1):
        if doc[k].lower_ not in {"and", "&"}:
            continue
        s, e = parts[0]
        left_ends_with_head = doc[k - 1].text in heads
        right = [doc[x].text for x in range(k + 1, e)]
        right_is_a_name = any(w in heads for w in right) and (
            any(w not in heads for w in right) or right[-1] in bare
        )
        if left_ends_with_head and right_is_a_name:  # not "Customs and Excise"
            parts = [(s, k), (k + 1, e)] + parts[1:]
    return parts


def _split_at_of(doc: Doc, start: int, end: int, heads: frozenset[str]) -> list[tuple[int, int]]:
    """ "Ikoyi Area of Lagos State", "X Airport and Y Port" name two places ("Port of Callao" is
    handled by prefixes)."""
    for k in range(start + 1, end - 1):
        if doc[k].lower_ in {"of", "and", "&"} and doc[k - 1].text in heads and k - 1 > start:
            return [(start, k), *_split_at_of(doc, k + 1, end, heads)]
    return [(start, end)]


# -- agencies -----------------------------------------------------------------


def find_agencies(doc: Doc, vocab: Vocab, *, known: Sequence[SpacySpan] = ()) -> list[SpacySpan]:
    """AGENCY spans from structure; `known` agencies (gazetteer) also define acronyms."""
    found: list[SpacySpan] = []
    for start, end in capitalised_runs(doc):
        for s, e in _split_at_coordination(
            doc, start, end, vocab.agency_heads, vocab.bare_agencies
        ):
            span = _agency_in_run(doc, s, e, vocab)
            if span is not None:
                found.append(span)
    found += _national_bodies(doc, vocab)
    found += _acronyms_defined(doc, list(found) + list(known))
    return found


def _agency_in_run(doc: Doc, start: int, end: int, vocab: Vocab) -> SpacySpan | None:
    """The agency name inside one capitalised run, if it has a head noun."""
    while start < end and is_leading_word(doc[start]):
        start += 1  # "The", "In", sentence-initial words
    heads = [k for k in range(start, end) if doc[k].text in vocab.agency_heads]
    if not heads:
        return None
    if any(doc[k].text in vocab.job_titles for k in range(start, heads[-1])):
        return None  # "Comptroller-General of Customs" is a job title
    stop = heads[-1] + 1
    rest = doc[stop:end]
    joined_heads = all(t.text in vocab.agency_heads for t in rest[1:])
    if (
        rest
        and len(rest) <= 5
        and (rest[0].lower_ in {"of", "for"} or (rest[0].lower_ in {"and", "&"} and joined_heads))
    ):
        stop = end  # "Bureau of Immigration", "Authority of Ghana", "Customs and Excise"
    if stop - start == 1:
        return _bare_agency(doc, start, vocab)
    return SpacySpan(doc, start, stop, label="AGENCY")


def _bare_agency(doc: Doc, i: int, vocab: Vocab) -> SpacySpan | None:
    """ "Customs"/"Police" alone names a body when no noun follows ("Customs officers",
    "Customs leaders" are people; "Customs seized", "by Customs." are the body)."""
    if doc[i].text not in vocab.bare_agencies or not names_the_body(doc, i + 1, vocab):
        return None
    return SpacySpan(doc, i, i + 1, label="AGENCY")


def names_the_body(doc: Doc, after: int, vocab: Vocab) -> bool:
    """Whether the word at `after` leaves the preceding customs/police word a name: punctuation,
    the end, a verb-like word ("seized", "says") or a function word, not a noun it modifies."""
    if after >= len(doc):
        return True
    nxt = doc[after]
    if not nxt.is_alpha or not nxt.is_lower:
        return nxt.text != "-"  # "Customs-led" is a modifier
    if nxt.lower_ in vocab.role_nouns:
        return False
    return (
        nxt.is_stop
        and nxt.lower_ != "of"
        or nxt.lower_.endswith("ed")
        or nxt.lower_
        in {
            "says",
            "said",
            "seizes",
            "intercepts",
            "arrests",
            "confiscates",
            "recovers",
            "nabs",
        }
    )


def _national_bodies(doc: Doc, vocab: Vocab) -> list[SpacySpan]:
    """A capitalised place or nationality word + lower-case customs/police/navy/coast guard."""
    out = []
    for i in range(1, len(doc)):
        tok = doc[i]
        two = f"{tok.lower_} {doc[i + 1].lower_}" if i + 1 < len(doc) else ""
        width = 2 if two in vocab.national_heads else 1 if tok.text in vocab.national_heads else 0
        if not width:
            continue
        prev = doc[i - 1]
        if not is_capitalised(prev) or prev.is_stop or prev.text in vocab.agency_heads:
            continue
        if not names_the_body(doc, i + width, vocab):
            continue  # "Spanish customs officers", "Peru customs cooperation"
        out.append(SpacySpan(doc, i - 1, i + width, label="AGENCY"))
    return out


def _acronyms_defined(doc: Doc, agencies: Sequence[SpacySpan]) -> list[SpacySpan]:
    """ "Long Name (ACR)" or "ACR (Long Name)": every mention of ACR becomes an AGENCY."""
    acronyms: set[str] = set()
    for span in agencies:
        after = doc[span.end : span.end + 3]
        if (
            len(after) == 3
            and after[0].text == "("
            and after[2].text == ")"
            and is_acronym(after[1].text)
        ):
            acronyms.add(after[1].text)
        before = doc[max(0, span.start - 2) : span.start]
        if len(before) == 2 and before[1].text == "(" and is_acronym(before[0].text):
            acronyms.add(before[0].text)
    if not acronyms:
        return []
    return [SpacySpan(doc, t.i, t.i + 1, label="AGENCY") for t in doc if t.text in acronyms]


# -- places -------------------------------------------------------------------


def find_facilities(doc: Doc, vocab: Vocab) -> list[SpacySpan]:
    """ "Port of X", "X International Airport", "X Prison": capitalised names of facilities."""
    out = []
    for start, end in capitalised_runs(doc):
        while start < end and is_leading_word(doc[start]):
            start += 1
        tokens = [t.text for t in doc[start:end]]
        if not tokens or any(t in vocab.agency_heads for t in tokens):
            continue
        if tokens[0] in vocab.facility_prefixes and len(tokens) >= 3 and tokens[1] == "of":
            out.append(SpacySpan(doc, start, min(end, start + 5), label="LOCATION"))
            continue
        for s, e in _split_at_of(doc, start, end, vocab.facility_heads):
            heads = [k for k in range(s + 1, e) if doc[k].text in vocab.facility_heads]
            if heads and heads[-1] - s <= 4:
                out.append(SpacySpan(doc, s, heads[-1] + 1, label="LOCATION"))
    return out


def drop_attributive_places(spans: Sequence[SpacySpan], vocab: Vocab) -> list[SpacySpan]:
    """Remove LOCATIONs used as modifiers: "Peru authorities", "Panama-flagged"."""
    out = []
    for span in spans:
        doc = span.doc
        if span.label_ == "LOCATION" and span.end < len(doc):
            nxt = doc[span.end]
            if nxt.lower_ in vocab.not_after_place or (nxt.text == "-" and not nxt.whitespace_):
                continue  # "Peru authorities", "Panama-flagged", "Peru-Chile talks"
        if span.label_ == "LOCATION" and span.start > 0:
            prev = doc[span.start - 1]
            if prev.text == "-" and not doc[span.start - 2].whitespace_ and not prev.whitespace_:
                continue
        out.append(span)
    return out


# -- dates --------------------------------------------------------------------

_MONTH_FULL = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
_MONTH = rf"(?:{_MONTH_FULL[3:-1]}|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?:19|20)\d\d"
_RANGE = rf"{_DAY}(?:\s*(?:-|–|to|and)\s*{_DAY})?"
DATE_PATTERN = re.compile(
    "|".join(
        [
            rf"(?:{_WEEKDAY},?\s+)?(?:the\s+)?{_RANGE}(?:\s+of)?\s+{_MONTH},?(?:\s+{_YEAR})?",
            rf"{_MONTH}\s+{_DAY}\s*(?:-|–|to)\s*{_MONTH}\s+{_DAY},?(?:\s+{_YEAR})?",
            rf"(?:{_WEEKDAY},?\s+)?{_MONTH},?\s+{_RANGE}(?:,?\s+{_YEAR})?",
            rf"{_MONTH},?\s+{_YEAR}",
            r"(?:19|20)\d\d-[01]\d-[0-3]\d",
            r"[0-3]?\d[/.][01]?\d[/.](?:19|20)?\d\d",
            _MONTH_FULL,  # alone only in full (abbreviations need a number)
            _WEEKDAY,
            _YEAR,
        ]
    )
)
_BOUNDARY_BEFORE = re.compile(r"[\w/.-]$")
_BOUNDARY_AFTER = re.compile(r"^(?:[\w/]|-\w|\.\d)")
_RELATIVE = re.compile(r"\b(?:last|next|this|every)\s+$", re.IGNORECASE)
_ALONE_MONTHS = {"May", "March"}  # also verbs/nouns: alone only mid-sentence, before a year etc.


@lru_cache(maxsize=4096)
def is_real_date(text: str) -> bool:
    """Whether dateparser reads the numeric date (day and month in range)."""
    import dateparser

    return dateparser.parse(text, settings={"STRICT_PARSING": False}) is not None


def find_dates(doc: Doc) -> list[SpacySpan]:
    """DATE spans for the formats of news text; numeric ones must parse as dates."""
    text = doc.text
    out = []
    for m in DATE_PATTERN.finditer(text):
        start, end = m.span()
        if _BOUNDARY_BEFORE.search(text[max(0, start - 1) : start]) or _BOUNDARY_AFTER.search(
            text[end : end + 2]
        ):
            continue
        value = m.group()
        if re.fullmatch(r"[\d/.-]+", value) and not re.fullmatch(_YEAR, value):
            if not is_real_date(value):
                continue
        if value in _ALONE_MONTHS and (start == 0 or text[start - 2 : start].strip() in {"", "."}):
            continue
        if _RELATIVE.search(text[max(0, start - 6) : start]):
            continue  # "last Tuesday", "next March" are relative, not dates
        span = doc.char_span(start, end, label="DATE", alignment_mode="contract")
        if span is not None and len(span):
            out.append(span)
    return out


# -- quantities ---------------------------------------------------------------

_NUMBER = re.compile(r"^\d[\d,]*(?:\.\d+)?$")


@dataclass(frozen=True)
class Quantity:
    """A QUANTITY span and whether its unit is a mass/volume ("mass") or a count ("count")."""

    span: SpacySpan
    kind: str
    amount_end: int  # token index where the amount ends ("9,000" in "9,000 tramadol tablets")


def number_end(doc: Doc, i: int, vocab: Vocab) -> int:
    """End of the amount starting at token i ("1.6", "a dozen", "1 thousand"), or i if none."""
    tok = doc[i]
    if _NUMBER.match(tok.text) or tok.lower_ in vocab.number_words:
        j = i + 1
    elif (
        tok.lower_ in {"a", "an"}
        and i + 1 < len(doc)
        and doc[i + 1].lower_ in {"dozen", "ton", "tonne", "kilogram", "kilo"}
    ):
        j = i + 1 if doc[i + 1].lower_ != "dozen" else i + 2
    else:
        return i
    while j < len(doc) and doc[j].lower_ in vocab.multipliers:
        j += 1
    return j


def find_quantities(doc: Doc, vocab: Vocab) -> tuple[list[Quantity], list[SpacySpan]]:
    """QUANTITY spans with a unit, and bare amounts (candidates for "7 leopard skins")."""
    quantities: list[Quantity] = []
    bare: list[SpacySpan] = []
    i = 0
    while i < len(doc):
        j = number_end(doc, i, vocab)
        if j == i or (i > 0 and doc[i - 1].lower_ in vocab.currency):
            i += 1
            continue
        k = j + 1 if j < len(doc) and doc[j].text == "-" else j  # "40-tonne"
        if k < len(doc) and doc[k].lower_ == "metric":
            k += 1
        if k < len(doc) and doc[k].lower_ in vocab.mass_units:
            quantities.append(Quantity(SpacySpan(doc, i, k + 1, label="QUANTITY"), "mass", j))
            i = k + 1
            continue
        unit = _count_unit_end(doc, j, vocab)
        if unit:
            quantities.append(Quantity(SpacySpan(doc, i, unit, label="QUANTITY"), "count", j))
            i = unit
            continue
        bare.append(SpacySpan(doc, i, j, label="QUANTITY"))
        i = j
    return quantities, bare


def _count_unit_end(doc: Doc, j: int, vocab: Vocab) -> int:
    """End of "[up to 3 modifiers] packaging-unit" after an amount ("discreet packages"), or 0."""
    for k in range(j, min(j + 4, len(doc))):
        if doc[k].lower_ in vocab.count_units:
            return k + 1
        if not doc[k].is_alpha or doc[k].lower_ in {"of", "and", "or", "in", "from", "to", "with"}:
            return 0
    return 0
