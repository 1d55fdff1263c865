"""spaCy component `contraband_seizures`: adds what structure gives (agencies, facilities, dates,
amounts), composes SEIZURE spans ("500 kg of ketamine", "7 leopard skins") and resolves overlaps."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan

from annotation.preannotate.rules import SPANS_KEY
from annotation.preannotate.structure import (
    Quantity,
    Vocab,
    drop_attributive_places,
    find_agencies,
    find_dates,
    find_facilities,
    find_quantities,
)

# -- spaCy components ---------------------------------------------------------


@Language.factory(
    "contraband_seizures",
    default_config={"seizure": {}, "nesting": {}, "spans_key": SPANS_KEY, "structure": None},
)
def make_seizure_composer(
    nlp: Language,
    name: str,
    seizure: dict[str, Any],
    nesting: dict[str, list[str]],
    spans_key: str,
    structure: dict[str, Any] | None,
) -> SeizureComposer:
    return SeizureComposer(
        nlp, seizure=seizure, nesting=nesting, spans_key=spans_key, structure=structure
    )


class SeizureComposer:
    """Adds the structural entities (agencies, places, dates, quantities: see structure.py) and
    SEIZURE spans (amount [of] item, item weighing amount), then resolves overlapping spans."""

    def __init__(
        self,
        nlp: Language,
        *,
        seizure: dict[str, Any],
        nesting: dict[str, list[str]],
        spans_key: str,
        structure: dict[str, Any] | None = None,
    ) -> None:
        from spacy.matcher import Matcher

        self.seizure = seizure
        self.nesting = {k: set(v) for k, v in nesting.items()}
        self.spans_key = spans_key
        self.vocab = Vocab.from_config(structure) if structure else None
        self.generic = Matcher(nlp.vocab)
        for i, p in enumerate(seizure.get("generic_items") or []):
            self.generic.add(f"{p['label']}\t{i}", [p["pattern"]])
        self.goods = Matcher(nlp.vocab)
        for i, phrase in enumerate(seizure.get("goods") or []):
            self.goods.add(f"goods{i}", [[{"LOWER": w} for w in phrase.split()]])

    def __call__(self, doc: Doc) -> Doc:
        spans = list(doc.spans.get(self.spans_key, []))
        if self.vocab is None:
            spans += compose_seizures(doc, spans, seizure=self.seizure, generic=self.generic)
        else:
            spans = self._with_structure(doc, spans, self.vocab)
        doc.spans[self.spans_key] = resolve_overlaps(spans, nesting=self.nesting)
        return doc

    def _with_structure(self, doc: Doc, spans: list[SpacySpan], vocab: Vocab) -> list[SpacySpan]:
        known_agencies = [s for s in spans if s.label_ == "AGENCY"]
        spans = spans + find_agencies(doc, vocab, known=known_agencies)
        spans += find_facilities(doc, vocab) + find_dates(doc)
        spans = drop_attributive_places(spans, vocab)
        quantities, bare = find_quantities(doc, vocab)
        spans = [s for s in spans if s.label_ != "QUANTITY"] + [q.span for q in quantities]
        spans = extend_items(doc, spans, modifiers=set(self.seizure["item_modifiers"]))
        seizures = compose_structured_seizures(
            doc,
            spans,
            quantities,
            bare,
            seizure=self.seizure,
            generic=self.generic,
            goods=self.goods,
        )
        # "9,000 tramadol tablets" was read as one amount; the seizure now holds "9,000" instead
        same_as_seizure = {(s.start, s.end) for s in seizures if s.label_ == self.seizure["label"]}
        kept = [
            s for s in spans if not (s.label_ == "QUANTITY" and (s.start, s.end) in same_as_seizure)
        ]
        return kept + seizures


def compose_seizures(
    doc: Doc, spans: Sequence[SpacySpan], *, seizure: dict[str, Any], generic: Any
) -> list[SpacySpan]:
    """SEIZURE spans (and generic item spans inside them) for every QUANTITY followed by an item."""
    if not seizure.get("label"):
        return []
    quantity_labels = set(seizure.get("quantity_labels") or [])
    item_labels = set(seizure.get("item_labels") or [])
    connectors = {c.lower() for c in seizure.get("connectors") or []}
    items_at: dict[int, list[SpacySpan]] = {}
    for s in spans:
        if s.label_ in item_labels:
            items_at.setdefault(s.start, []).append(s)
    for match_id, start, end in generic(doc):
        label = doc.vocab.strings[match_id].split("\t")[0]
        items_at.setdefault(start, []).append(SpacySpan(doc, start, end, label=label))
    out: list[SpacySpan] = []
    for q in spans:
        if q.label_ not in quantity_labels:
            continue
        for gap in (0, 1):
            at = q.end + gap
            if gap and (at - 1 >= len(doc) or doc[at - 1].lower_ not in connectors):
                continue
            candidates = items_at.get(at)
            if candidates:
                item = max(candidates, key=len)
                out.append(SpacySpan(doc, q.start, item.end, label=seizure["label"]))
                if not any(
                    s.start == item.start and s.end == item.end and s.label_ == item.label_
                    for s in spans
                ):
                    out.append(item)
                break
    return out


def extend_items(doc: Doc, spans: list[SpacySpan], *, modifiers: set[str]) -> list[SpacySpan]:
    """DRUG/WILDLIFE spans take the product-form words before them ("worked ivory", "dried seahorses")."""
    out = []
    for s in spans:
        start = s.start
        if s.label_ in ("DRUG", "WILDLIFE"):
            while start > 0 and doc[start - 1].lower_ in modifiers:
                start -= 1
        out.append(s if start == s.start else SpacySpan(doc, start, s.end, label=s.label_))
    return out


def compose_structured_seizures(
    doc: Doc,
    spans: Sequence[SpacySpan],
    quantities: Sequence[Quantity],
    bare: Sequence[SpacySpan],
    *,
    seizure: dict[str, Any],
    generic: Any,
    goods: Any,
) -> list[SpacySpan]:
    """SEIZURE spans (with the item and bare-amount QUANTITY spans they need) from structure:

    amount-with-unit ["weighing" amount] [of] item ["and" item]   "40 bags weighing 1,230kg of ..."
    amount-with-unit [of] other goods                              "60kg of silver"
    amount-with-unit shipment-word                                 "0.5-ton consignment"
    bare amount item                                               "7 leopard skins" (QUANTITY "7")
    item "weighing" [about] mass                                   "shark fins weighing 210 kg"
    """
    label = seizure["label"]
    item_labels = set(seizure.get("item_labels") or [])
    qualifiers = set(seizure.get("qualifiers") or [])
    items_at: dict[int, SpacySpan] = {}
    for s in list(spans) + [
        SpacySpan(doc, start, end, label=doc.vocab.strings[m].split("\t")[0])
        for m, start, end in generic(doc)
    ]:
        if s.label_ in item_labels and len(s) > len(items_at.get(s.start, ())):
            items_at[s.start] = s
    goods_end = {start: end for _, start, end in goods(doc)}
    generic_drugs = {
        p["pattern"][0].get("LOWER")
        for p in seizure.get("generic_items") or []
        if p["label"] == "DRUG" and len(p["pattern"]) == 1
    }
    quantity_at = {q.span.start: q for q in quantities}
    out: list[SpacySpan] = []

    def item_run(at: int) -> tuple[int, list[SpacySpan]]:
        """End of "item [and item]" starting at `at` (0 if no item there) and the items."""
        if at not in items_at:
            return 0, []
        found = [items_at[at]]
        end = found[0].end
        if end + 1 < len(doc) and doc[end].lower_ in {"and", "or", "&"} and end + 1 in items_at:
            found.append(items_at[end + 1])
            end = found[-1].end
        if end < len(doc) and doc[end].lower_ in {"products", "derivatives"}:
            end += 1
        return end, found

    def add(start: int, end: int, parts: Sequence[SpacySpan]) -> None:
        out.append(SpacySpan(doc, start, end, label=label))
        out.extend(parts)

    def skip_qualifiers(at: int) -> int:
        while at < len(doc) and (doc[at].lower_ in qualifiers or doc[at].lower_ == "than"):
            at += 1
        return at

    def skip_conversion(at: int) -> int:
        """ "8kg (17lb) of horn": a unit conversion in brackets does not break the seizure."""
        if at < len(doc) and doc[at].text == "(" and at + 1 in quantity_at:
            close = quantity_at[at + 1].span.end
            if close < len(doc) and doc[close].text == ")":
                return close + 1
        return at

    for q in quantities:
        inner = [items_at[k] for k in range(q.amount_end, q.span.end) if k in items_at]
        if q.kind == "count" and inner:  # "9,000 tramadol tablets": the drug is the item
            amount = SpacySpan(doc, q.span.start, q.amount_end, label=q.span.label_)
            add(q.span.start, q.span.end, [amount, inner[0]])
            continue
        at, parts = skip_conversion(q.span.end), []
        if at < len(doc) and doc[at].lower_ in {"weighing", "weighs"}:
            weight = quantity_at.get(skip_qualifiers(at + 1))
            if weight is not None and weight.kind == "mass":
                at = weight.span.end
        has_of = at < len(doc) and doc[at].lower_ in {c.lower() for c in seizure["connectors"]}
        at += has_of
        end, parts = item_run(at)
        if end:
            add(q.span.start, end, parts)
        elif has_of and at in goods_end:
            add(q.span.start, goods_end[at], [])
        elif q.span.end < len(doc) and doc[q.span.end].lower_ in set(seizure["containers"]):
            add(q.span.start, q.span.end + 1, [])
    for b in bare:
        if re.fullmatch(r"(19|20)\d\d", b.text):
            continue  # a year before a word is no amount
        end, parts = item_run(b.end)
        if end and parts[0].text.lower() not in generic_drugs:  # "100 drug cases" counts cases
            add(b.start, end, [*parts, b])
    for at, item in items_at.items():
        after = item.end
        if any(s.start <= at < s.end for s in out if s.label_ == label):
            continue  # "80 pieces of worked ivory weighing 96 kg" starts at the amount
        if after < len(doc) and doc[after].lower_ in {"weighing", "weighs"}:
            weight = quantity_at.get(skip_qualifiers(after + 1))
            if weight is not None and weight.kind == "mass":
                add(at, weight.span.end, [item])
    return out


def resolve_overlaps(
    spans: Iterable[SpacySpan], *, nesting: dict[str, set[str]]
) -> list[SpacySpan]:
    """Keep the longest spans; a shorter overlapping one survives only if nesting allows it."""
    kept: list[SpacySpan] = []
    seen: set[tuple[int, int, str]] = set()
    for s in sorted(spans, key=lambda s: (-(s.end - s.start), s.start, s.label_)):
        key = (s.start, s.end, s.label_)
        if key in seen:
            continue
        ok = True
        for k in kept:
            if s.start >= k.end or k.start >= s.end:
                continue
            inside = k.start <= s.start and s.end <= k.end
            if not (inside and s.label_ in nesting.get(k.label_, set())):
                ok = False
                break
        if ok:
            kept.append(s)
            seen.add(key)
    return sorted(kept, key=lambda s: (s.start, -s.end))
