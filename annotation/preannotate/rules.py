"""The rule configuration: configs/preannotate.yaml (settings, checked) and the gazetteer and
pattern files it names, every label checked against the schema (file and line named on error)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field
from spacy.language import Language
from spacy.tokens import Doc

from annotation.schema import Schema
from corpus.errors import ConfigError
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
    reader = _RuleConfigReader(path, schema=schema, nlp=nlp, digest=hashlib.sha1(raw_bytes))
    patterns = reader.pattern_files(settings.patterns)
    seizure = reader.seizure(settings.seizure)
    nesting = reader.nesting(settings.nesting)
    relations = reader.relations(settings.relations)
    if reader.problems:
        raise ConfigError(
            f"{len(reader.problems)} problem(s) in the pre-annotation config:\n  - "
            + "\n  - ".join(reader.problems)
            + "\nFix the files (labels must be those of configs/schema.yaml) and run again."
        )
    return RuleConfig(
        patterns=patterns,
        seizure=seizure,
        nesting=nesting,
        relations=relations,
        rule_score=settings.rule_score,
        fingerprint=reader.digest.hexdigest(),
        structure=settings.structure.model_dump() if settings.structure is not None else None,
    )


class _RuleConfigReader:
    """Reads the parts of preannotate.yaml and the files it names: every problem is collected
    (`problems`) and every file read goes into the config's fingerprint (`digest`)."""

    def __init__(self, path: Path, *, schema: Schema, nlp: Language, digest: Any):
        self.path = path
        self.schema = schema
        self.nlp = nlp
        self.digest = digest
        self.problems: list[str] = []

    def check_label(self, label: Any, where: str) -> None:
        problem = self.schema.label_problem(str(label))
        if problem:
            self.problems.append(f"{where}: {problem}")

    def _file(self, rel: str | Path, what: str) -> tuple[Path, bytes | None]:
        file = self.path.parent / rel
        try:
            return file, file.read_bytes()
        except FileNotFoundError:
            self.problems.append(f"{self.path}: {what} {rel!r} does not exist (looked in {file})")
            return file, None

    def _patterns(self, file: Path, data: bytes) -> list[dict[str, Any]]:
        return _read_pattern_lines(
            file, data, nlp=self.nlp, check_label=self.check_label, problems=self.problems
        )

    def pattern_files(self, names: list[str]) -> list[dict[str, Any]]:
        """The SpanRuler patterns of every pattern file, in order."""
        patterns: list[dict[str, Any]] = []
        for rel in names:
            file, data = self._file(rel, "pattern file")
            if data is not None:
                self.digest.update(b"\0" + str(rel).encode() + b"\0" + data)
                patterns += self._patterns(file, data)
        return patterns

    def seizure(self, settings: SeizureSettings) -> dict[str, Any]:
        """The seizure composer's settings, its generic item patterns read, words lower-cased."""
        self.check_label(settings.label, f"{self.path}: seizure.label")
        for key in ("quantity_labels", "item_labels"):
            for label in getattr(settings, key):
                self.check_label(label, f"{self.path}: seizure.{key}")
        generic: list[dict[str, Any]] = []
        if settings.generic_items:
            file, data = self._file(settings.generic_items, "seizure.generic_items file")
            if data is not None:
                self.digest.update(b"\0generic\0" + data)
                generic = self._patterns(file, data)
        seizure = settings.model_dump()
        seizure["generic_items"] = generic
        for key in ("goods", "containers", "item_modifiers", "qualifiers"):
            seizure[key] = [w.lower() for w in seizure[key]]
        return seizure

    def nesting(self, settings: dict[str, list[str]]) -> dict[str, list[str]]:
        """Which labels may hold which, every label checked against the schema."""
        nesting = {outer: list(inners) for outer, inners in settings.items()}
        for outer, inners in nesting.items():
            self.check_label(outer, f"{self.path}: nesting")
            for inner in inners:
                self.check_label(inner, f"{self.path}: nesting.{outer}")
        return nesting

    def relations(self, settings: RelationRulesSettings) -> dict[str, list[dict[str, Any]]]:
        """The relation rules by kind, each (relation, head, tail) checked against the schema."""
        relations: dict[str, list[dict[str, Any]]] = {
            "inside": [],
            "same_sentence": [],
            "after": [],
        }
        for kind, rules in relations.items():
            for i, rule in enumerate(getattr(settings, kind)):
                for tail in rule.tails:
                    problem = self.schema.relation_problem(rule.relation, rule.head, tail)
                    if problem:
                        self.problems.append(f"{self.path}: relations.{kind}[{i}]: {problem}")
                rules.append(_relation_rule(rule))
        return relations


def _relation_rule(rule: RelationRuleSettings) -> dict[str, Any]:
    """One relation rule as the relation pass reads it (trigger words lower-cased)."""
    return {
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
