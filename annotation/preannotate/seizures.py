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
    composer = _SeizureComposer(
        doc, spans, quantities, seizure=seizure, generic=generic, goods=goods
    )
    for q in quantities:
        composer.from_quantity(q)
    for b in bare:
        composer.from_bare_amount(b)
    composer.from_weighed_items()
    return composer.out


_WEIGHING = {"weighing", "weighs"}


class _SeizureComposer:
    """The structures of `compose_structured_seizures` over one Doc; `out` collects the
    SEIZURE spans and their parts."""

    def __init__(
        self,
        doc: Doc,
        spans: Sequence[SpacySpan],
        quantities: Sequence[Quantity],
        *,
        seizure: dict[str, Any],
        generic: Any,
        goods: Any,
    ):
        self.doc = doc
        self.seizure = seizure
        self.label = seizure["label"]
        self.qualifiers = set(seizure.get("qualifiers") or [])
        item_labels = set(seizure.get("item_labels") or [])
        self.items_at: dict[int, SpacySpan] = {}  # the longest item span at each token
        for s in list(spans) + [
            SpacySpan(doc, start, end, label=doc.vocab.strings[m].split("\t")[0])
            for m, start, end in generic(doc)
        ]:
            if s.label_ in item_labels and len(s) > len(self.items_at.get(s.start, ())):
                self.items_at[s.start] = s
        self.goods_end = {start: end for _, start, end in goods(doc)}
        self.generic_drugs = {
            p["pattern"][0].get("LOWER")
            for p in seizure.get("generic_items") or []
            if p["label"] == "DRUG" and len(p["pattern"]) == 1
        }
        self.quantity_at = {q.span.start: q for q in quantities}
        self.out: list[SpacySpan] = []

    def _lower(self, at: int) -> str | None:
        return self.doc[at].lower_ if at < len(self.doc) else None

    def item_run(self, at: int) -> tuple[int, list[SpacySpan]]:
        """End of "item [and item]" starting at `at` (0 if no item there) and the items."""
        if at not in self.items_at:
            return 0, []
        found = [self.items_at[at]]
        end = found[0].end
        if (
            end + 1 < len(self.doc)
            and self.doc[end].lower_ in {"and", "or", "&"}
            and end + 1 in self.items_at
        ):
            found.append(self.items_at[end + 1])
            end = found[-1].end
        if self._lower(end) in {"products", "derivatives"}:
            end += 1
        return end, found

    def add(self, start: int, end: int, parts: Sequence[SpacySpan]) -> None:
        self.out.append(SpacySpan(self.doc, start, end, label=self.label))
        self.out.extend(parts)

    def weight_after(self, at: int) -> Quantity | None:
        """The mass after "weighing [about]" at `at`, if there is one."""
        if self._lower(at) not in _WEIGHING:
            return None
        at += 1
        while at < len(self.doc) and (
            self.doc[at].lower_ in self.qualifiers or self.doc[at].lower_ == "than"
        ):
            at += 1
        weight = self.quantity_at.get(at)
        return weight if weight is not None and weight.kind == "mass" else None

    def skip_conversion(self, at: int) -> int:
        """ "8kg (17lb) of horn": a unit conversion in brackets does not break the seizure."""
        if at < len(self.doc) and self.doc[at].text == "(" and at + 1 in self.quantity_at:
            close = self.quantity_at[at + 1].span.end
            if close < len(self.doc) and self.doc[close].text == ")":
                return close + 1
        return at

    def from_quantity(self, q: Quantity) -> None:
        """amount-with-unit ["weighing" amount] [of] item ["and" item], of goods, or a
        shipment word; "9,000 tramadol tablets": the drug inside the quantity is the item."""
        doc = self.doc
        inner = [self.items_at[k] for k in range(q.amount_end, q.span.end) if k in self.items_at]
        if q.kind == "count" and inner:
            amount = SpacySpan(doc, q.span.start, q.amount_end, label=q.span.label_)
            self.add(q.span.start, q.span.end, [amount, inner[0]])
            return
        at = self.skip_conversion(q.span.end)
        weight = self.weight_after(at)
        if weight is not None:
            at = weight.span.end
        has_of = at < len(doc) and doc[at].lower_ in {c.lower() for c in self.seizure["connectors"]}
        at += has_of
        end, parts = self.item_run(at)
        if end:
            self.add(q.span.start, end, parts)
        elif has_of and at in self.goods_end:
            self.add(q.span.start, self.goods_end[at], [])
        elif self._lower(q.span.end) in set(self.seizure["containers"]):
            self.add(q.span.start, q.span.end + 1, [])

    def from_bare_amount(self, b: SpacySpan) -> None:
        """bare amount item: "7 leopard skins" (QUANTITY "7"); not a year, not "100 drug
        cases" (that counts cases)."""
        if re.fullmatch(r"(19|20)\d\d", b.text):
            return
        end, parts = self.item_run(b.end)
        if end and parts[0].text.lower() not in self.generic_drugs:
            self.add(b.start, end, [*parts, b])

    def from_weighed_items(self) -> None:
        """item "weighing" [about] mass: "shark fins weighing 210 kg", unless the item is
        already inside a seizure ("80 pieces of worked ivory weighing 96 kg")."""
        for at, item in self.items_at.items():
            if any(s.start <= at < s.end for s in self.out if s.label_ == self.label):
                continue
            weight = self.weight_after(item.end)
            if weight is not None:
                self.add(at, weight.span.end, [item])


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
