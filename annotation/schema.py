"""The label schema (configs/schema.yaml) and everything generated from it.

Never write a label list by hand elsewhere: the Label Studio labeling config, the
annotator instructions, the pull-side checks, the Hugging Face ClassLabels and the
spaCy label set all come from `Schema`.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from pydantic import Field, field_validator

from corpus.errors import SchemaError
from corpus.settings import (
    SettingsModel,
    default_config_path,
    load_settings,
    settings_from_mapping,
)

# The source checkout (tests and scripts read seeds/ from it); not used to find configs.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_CONFIG = "schema.yaml"

# Label and relation names end up in XML attributes, HTML, YAML cards and spaCy label sets.
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"
NAME_RULE = "a letter followed by letters, digits, _ or - (no spaces or markup)"
COLOUR_PATTERN = r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"
HOTKEY_PATTERN = r"^[a-z0-9]$"
COLOUR_RULE = "a colour written #rrggbb or #rgb (hex digits)"
HOTKEY_RULE = "one lower-case letter or digit"

# Names of the Label Studio control tags; results carry them as from_name / to_name.
LABELS_FROM_NAME = "label"
TEXT_TO_NAME = "text"
TEXT_DATA_KEY = "text"


@dataclass(frozen=True)
class EntityLabel:
    name: str
    description: str
    colour: str
    hotkey: str | None
    examples: tuple[str, ...]


@dataclass(frozen=True)
class RelationLabel:
    name: str
    head: tuple[str, ...]
    tail: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Schema:
    name: str
    version: int
    entities: tuple[EntityLabel, ...]
    relations: tuple[RelationLabel, ...]
    guidelines: str

    # -- lookups -----------------------------------------------------------
    @property
    def entity_names(self) -> list[str]:
        return [e.name for e in self.entities]

    @property
    def relation_names(self) -> list[str]:
        return [r.name for r in self.relations]

    def relation(self, name: str) -> RelationLabel | None:
        return next((r for r in self.relations if r.name == name), None)

    def relation_problem(self, name: str, head_label: str, tail_label: str) -> str | None:
        """Why a relation `name` from `head_label` to `tail_label` is not allowed, or None."""
        rel = self.relation(name)
        if rel is None:
            return f"relation label {name!r} is not in schema v{self.version} (known: {', '.join(self.relation_names)})"
        if head_label not in rel.head or tail_label not in rel.tail:
            return (
                f"relation {name} goes from {'/'.join(rel.head)} to {'/'.join(rel.tail)}, "
                f"not from {head_label} to {tail_label}"
            )
        return None

    def label_problem(self, label: str) -> str | None:
        if label in self.entity_names:
            return None
        return f"label {label!r} is not in schema v{self.version} (known: {', '.join(self.entity_names)})"

    # -- generated artefacts ----------------------------------------------
    def to_labeling_config(self) -> str:
        """Label Studio XML labeling config: NER labels (overlaps allowed) plus relations."""
        lines = ["<View>"]
        lines.append("  <Style>.lsf-main-content { font-size: 16px; line-height: 1.7; }</Style>")
        lines.append(f"  <Header value={quoteattr('$title')}/>")
        lines.append(f'  <Labels name="{LABELS_FROM_NAME}" toName="{TEXT_TO_NAME}">')
        for e in self.entities:
            hotkey = f" hotkey={quoteattr(e.hotkey)}" if e.hotkey else ""
            lines.append(
                f"    <Label value={quoteattr(e.name)} background={quoteattr(e.colour)}{hotkey}"
                f" hint={quoteattr(e.description)}/>"
            )
        lines.append("  </Labels>")
        lines.append(f'  <Text name="{TEXT_TO_NAME}" value="${TEXT_DATA_KEY}" granularity="word"/>')
        lines.append("  <Relations>")
        for r in self.relations:
            lines.append(f"    <Relation value={quoteattr(r.name)}/>")
        lines.append("  </Relations>")
        lines.append("</View>")
        return "\n".join(lines)

    def to_instructions_html(self) -> str:
        """The guidelines annotators see in Label Studio (the project's expert_instruction)."""
        out = [f"<h2>{html.escape(self.name)} annotation guidelines (schema v{self.version})</h2>"]
        out.append("<p>" + html.escape(self.guidelines.strip()).replace("\n\n", "</p><p>") + "</p>")
        out.append(
            "<h3>Entities</h3><table><tr><th>Label</th><th>Key</th><th>What</th><th>Examples</th></tr>"
        )
        for e in self.entities:
            ex = ", ".join(f"&ldquo;{html.escape(x)}&rdquo;" for x in e.examples)
            out.append(
                f"<tr><td><b style={quoteattr('color:' + e.colour)}>{html.escape(e.name)}</b>"
                f"</td><td>{html.escape(e.hotkey or '')}</td>"
                f"<td>{html.escape(e.description)}</td><td>{ex}</td></tr>"
            )
        out.append(
            "</table><h3>Relations</h3><table><tr><th>Relation</th><th>From</th><th>To</th><th>What</th></tr>"
        )
        for r in self.relations:
            out.append(
                f"<tr><td><b>{html.escape(r.name)}</b></td>"
                f"<td>{html.escape(' or '.join(r.head))}</td>"
                f"<td>{html.escape(' or '.join(r.tail))}</td>"
                f"<td>{html.escape(r.description)}</td></tr>"
            )
        out.append("</table>")
        return "\n".join(out)


def _check_pattern(value: str, pattern: str, rule: str) -> str:
    if not re.fullmatch(pattern, value):
        raise ValueError(f"must be {rule}, got {value!r}")
    return value


class EntitySettings(SettingsModel):
    """One entity label as written in configs/schema.yaml."""

    name: str
    description: str = ""
    colour: str = "#888888"
    hotkey: str | None = None
    examples: list[str] = []

    @field_validator("name")
    @classmethod
    def _name_rule(cls, value: str) -> str:
        return _check_pattern(value, NAME_PATTERN, NAME_RULE)

    @field_validator("colour")
    @classmethod
    def _colour_rule(cls, value: str) -> str:
        return _check_pattern(value, COLOUR_PATTERN, COLOUR_RULE)

    @field_validator("hotkey")
    @classmethod
    def _hotkey_rule(cls, value: str | None) -> str | None:
        return None if value is None else _check_pattern(value, HOTKEY_PATTERN, HOTKEY_RULE)


class RelationSettings(SettingsModel):
    """One relation label as written in configs/schema.yaml."""

    name: str
    head: list[str] = Field(min_length=1)
    tail: list[str] = Field(min_length=1)
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name_rule(cls, value: str) -> str:
        return _check_pattern(value, NAME_PATTERN, NAME_RULE)


class SchemaSettings(SettingsModel):
    """configs/schema.yaml as written, with the checks that span several entries."""

    name: str = "contraband"
    version: int = Field(ge=1)
    entities: list[EntitySettings] = Field(min_length=1)
    relations: list[RelationSettings] = []
    guidelines: str = ""

    @field_validator("name")
    @classmethod
    def _name_rule(cls, value: str) -> str:
        return _check_pattern(value, NAME_PATTERN, NAME_RULE)

    @classmethod
    def rule_problems(cls, raw: Any) -> list[tuple[tuple[str | int, ...], str]]:
        """Duplicate names and hotkeys, relation ends that are not entity labels."""
        entities = _mappings(raw.get("entities"))
        relations = _mappings(raw.get("relations"))
        names = [e["name"] for e in entities if isinstance(e.get("name"), str)]
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for dup in _duplicates(names):
            problems.append((("entities",), f"label {dup!r} is defined twice; rename or merge one"))
        hotkeys = [e["hotkey"] for e in entities if isinstance(e.get("hotkey"), str)]
        for dup in _duplicates(hotkeys):
            users = [str(e.get("name")) for e in entities if e.get("hotkey") == dup]
            problems.append(
                (
                    ("entities",),
                    f"hotkey {dup!r} is used by {' and '.join(users)}; give each its own",
                )
            )
        relation_names = [r["name"] for r in relations if isinstance(r.get("name"), str)]
        for dup in _duplicates(relation_names):
            problems.append(
                (("relations",), f"relation {dup!r} is defined twice; rename or merge one")
            )
        for i, relation in enumerate(relations):
            for side in ("head", "tail"):
                labels = relation.get(side)
                for label in labels if isinstance(labels, list) else ():
                    if label not in names:
                        problems.append(
                            (("relations", i, side), _not_an_entity(label, relation, names))
                        )
        return problems


def _mappings(value: Any) -> list[dict[str, Any]]:
    """The mapping items of a YAML list (other items are reported by the field checks)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _not_an_entity(label: Any, relation: dict[str, Any], names: list[str]) -> str:
    close = difflib.get_close_matches(str(label), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (
        f"relation {relation.get('name')}: {label!r} is not an entity label{hint} "
        f"(entity labels: {', '.join(dict.fromkeys(names))})"
    )


def _duplicates(values: list[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


def load_schema(path: str | Path | None = None) -> Schema:
    """Read and check configs/schema.yaml (or `path`); every problem is reported together."""
    path = Path(path) if path else default_config_path(SCHEMA_CONFIG)
    settings = load_settings(path, SchemaSettings, what="label schema", error=SchemaError)
    return schema_from_settings(settings)


def schema_from_dict(raw: Any, *, source: str = "<schema>") -> Schema:
    """A schema from an already-read mapping (checked as `load_schema` checks the file)."""
    settings = settings_from_mapping(raw, SchemaSettings, source=source, error=SchemaError)
    return schema_from_settings(settings)


def schema_from_settings(settings: SchemaSettings) -> Schema:
    """The runtime `Schema` of checked settings."""
    return Schema(
        name=settings.name,
        version=settings.version,
        entities=tuple(
            EntityLabel(e.name, e.description, e.colour, e.hotkey, tuple(e.examples))
            for e in settings.entities
        ),
        relations=tuple(
            RelationLabel(r.name, tuple(r.head), tuple(r.tail), r.description)
            for r in settings.relations
        ),
        guidelines=settings.guidelines,
    )
