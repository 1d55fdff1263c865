"""Pre-annotation with spaCy: rules by default, a trained pipeline on request.

No pretrained English model can be downloaded here, so the default pre-annotator is
`spacy.blank("en")` + a sentencizer + a SpanRuler fed from the gazetteer and pattern
files named in configs/preannotate.yaml, + a component that composes SEIZURE spans
("500 kg of ketamine") from a QUANTITY and an item and resolves overlaps, + a
relation component whose rules are also in that YAML file. A trained pipeline
(annotation/train.py) replaces the first parts; the relation rules stay the same.

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


class RelationRuleSettings(SettingsModel):
    """One relation rule under `relations.inside` or `relations.same_sentence`."""

    relation: str
    head: str
    tail: list[str] | str
    attach: Literal["all", "nearest"] = "all"
    triggers: list[str] = []

    @property
    def tails(self) -> list[str]:
        return [self.tail] if isinstance(self.tail, str) else list(self.tail)


class RelationRulesSettings(SettingsModel):
    inside: list[RelationRuleSettings] = []
    same_sentence: list[RelationRuleSettings] = []


class PreannotateSettings(SettingsModel):
    """configs/preannotate.yaml as written (labels are checked against the schema afterwards)."""

    patterns: list[str] = []
    seizure: SeizureSettings
    nesting: dict[str, list[str]] = {}
    relations: RelationRulesSettings = RelationRulesSettings()
    rule_score: float = Field(0.5, ge=0.0, le=1.0)


@dataclass(frozen=True)
class RuleConfig:
    """Everything read from configs/preannotate.yaml and its pattern files, checked."""

    patterns: list[dict[str, Any]]  # SpanRuler patterns (token patterns only)
    seizure: dict[
        str, Any
    ]  # label, quantity_labels, item_labels, connectors, generic_items (patterns)
    nesting: dict[str, list[str]]
    relations: dict[str, list[dict[str, Any]]]
    rule_score: float
    fingerprint: str  # sha1 of the config file and every pattern file


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

    nesting = {outer: list(inners) for outer, inners in settings.nesting.items()}
    for outer, inners in nesting.items():
        check_label(outer, f"{path}: nesting")
        for inner in inners:
            check_label(inner, f"{path}: nesting.{outer}")

    relations: dict[str, list[dict[str, Any]]] = {"inside": [], "same_sentence": []}
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
        if isinstance(pattern, str):
            attr = "LOWER" if row.get("ignore_case") else "ORTH"
            tokens = [t.text for t in nlp.make_doc(pattern)]
            pattern = [{attr: t.lower() if attr == "LOWER" else t} for t in tokens]
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
    default_config={"seizure": {}, "nesting": {}, "spans_key": SPANS_KEY},
)
def make_seizure_composer(
    nlp: Language, name: str, seizure: dict[str, Any], nesting: dict[str, list[str]], spans_key: str
) -> SeizureComposer:
    return SeizureComposer(nlp, seizure=seizure, nesting=nesting, spans_key=spans_key)


class SeizureComposer:
    """Adds SEIZURE spans (QUANTITY [connector] ITEM) and resolves overlapping spans."""

    def __init__(
        self,
        nlp: Language,
        *,
        seizure: dict[str, Any],
        nesting: dict[str, list[str]],
        spans_key: str,
    ) -> None:
        from spacy.matcher import Matcher

        self.seizure = seizure
        self.nesting = {k: set(v) for k, v in nesting.items()}
        self.spans_key = spans_key
        self.generic = Matcher(nlp.vocab)
        for i, p in enumerate(seizure.get("generic_items") or []):
            self.generic.add(f"{p['label']}\t{i}", [p["pattern"]])

    def __call__(self, doc: Doc) -> Doc:
        spans = list(doc.spans.get(self.spans_key, []))
        spans += compose_seizures(doc, spans, seizure=self.seizure, generic=self.generic)
        doc.spans[self.spans_key] = resolve_overlaps(spans, nesting=self.nesting)
        return doc


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
        for t, tail in enumerate(spans):
            if tail.label_ not in rule["tail"]:
                continue
            candidates = [
                h
                for h in heads
                if h != t
                and sent_of[h] == sent_of[t]
                and not _contains(spans[h], tail)
                and not _contains(tail, spans[h])
            ]
            if not candidates:
                continue
            if rule["triggers"]:
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
            out.extend((h, t, rule["relation"]) for h in candidates)
    return sorted(set(out))


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
        "contraband_seizures", config={"seizure": config.seizure, "nesting": config.nesting}
    )
    nlp.add_pipe("contraband_relations", config={"rules": config.relations})
    nlp.meta["contraband_version"] = f"rules-{config.fingerprint[:8]}"
    nlp.meta["contraband_rule_score"] = config.rule_score
    return nlp


def load_trained_pipeline(
    path: Path, *, schema: Schema, config_dir: Path | None = None
) -> Language:
    """A trained spaCy pipeline (ner and/or spancat on "sc") + the rule relation component."""
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
    config = read_rule_config(
        Path(config_dir) if config_dir else default_rule_config_dir(), schema=schema, nlp=nlp
    )
    nlp.add_pipe("contraband_relations", config={"rules": config.relations})
    meta = nlp.meta
    nlp.meta["contraband_version"] = (
        f"model-{meta.get('name', path.name)}-{meta.get('version', '0.0.0')}"
    )
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
