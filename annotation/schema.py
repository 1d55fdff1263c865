"""The label schema (configs/schema.yaml) and everything generated from it.

Never write a label list by hand elsewhere: the Label Studio labeling config, the
annotator instructions, the pull-side checks, the Hugging Face ClassLabels and the
spaCy label set all come from `Schema`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from corpus.config import read_yaml_mapping
from corpus.errors import SchemaError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCHEMA_PATH = PROJECT_ROOT / "configs" / "schema.yaml"

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


def load_schema(path: str | Path | None = None) -> Schema:
    """Read and check configs/schema.yaml (or `path`); every problem is reported together."""
    path = Path(path) if path else DEFAULT_SCHEMA_PATH
    raw = read_yaml_mapping(path, what="label schema", error=SchemaError)
    return schema_from_dict(raw, source=str(path))


# Label and relation names: letters, digits, "_", "-", "." and inner spaces. They become XML
# attribute values, HTML, Hugging Face ClassLabel names and spaCy labels: no markup.
_NAME = re.compile(r"^\w[\w.-]*(?: [\w.-]+)*$")
# Colours go into a style attribute: a hex colour or a CSS colour name only.
_COLOUR = re.compile(r"^(#[0-9A-Fa-f]{3,8}|[A-Za-z]{3,30})$")


def _name_problem(kind: str, name: str) -> str | None:
    """Why `name` cannot be a label/relation name, or None."""
    if _NAME.match(name):
        return None
    return (
        f"{kind} name {name!r} may only hold letters, digits, '_', '-', '.' and single inner "
        "spaces (no markup, quotes or line breaks)"
    )


def schema_from_dict(raw: Any, *, source: str = "<schema>") -> Schema:
    """Build and check a Schema; every problem (duplicate or malformed names, unknown labels in
    relations, bad colours) is collected into one SchemaError, before anything uses it."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise SchemaError(f"{source}: expected a mapping with name, version, entities, relations")
    entities: list[EntityLabel] = []
    for i, e in enumerate(raw.get("entities") or []):
        if not isinstance(e, dict) or not e.get("name"):
            problems.append(f"entities[{i}]: needs a name")
            continue
        entities.append(
            EntityLabel(
                name=str(e["name"]),
                description=str(e.get("description", "")),
                colour=str(e.get("colour", "#888888")),
                hotkey=e.get("hotkey"),
                examples=tuple(e.get("examples") or ()),
            )
        )
    names = [e.name for e in entities]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"entity label {dup!r} is defined twice")
    for e in entities:
        problem = _name_problem("entity label", e.name)
        if problem:
            problems.append(problem)
        if not _COLOUR.match(e.colour):
            problems.append(
                f"entity label {e.name!r}: colour {e.colour!r} is not a hex colour (#rrggbb) "
                "or a CSS colour name"
            )
    hotkeys = [e.hotkey for e in entities if e.hotkey]
    for dup in sorted({h for h in hotkeys if hotkeys.count(h) > 1}):
        problems.append(f"hotkey {dup!r} is used by two labels")
    relations: list[RelationLabel] = []
    for i, r in enumerate(raw.get("relations") or []):
        if not isinstance(r, dict) or not r.get("name"):
            problems.append(f"relations[{i}]: needs a name")
            continue
        head, tail = tuple(r.get("head") or ()), tuple(r.get("tail") or ())
        for side, labels in (("head", head), ("tail", tail)):
            if not labels:
                problems.append(f"relation {r['name']}: {side} lists no entity label")
            for label in labels:
                if label not in names:
                    problems.append(
                        f"relation {r['name']}: {side} label {label!r} is not an entity label"
                    )
        relations.append(RelationLabel(str(r["name"]), head, tail, str(r.get("description", ""))))
    relation_names = [r.name for r in relations]
    for dup in sorted({n for n in relation_names if relation_names.count(n) > 1}):
        problems.append(f"relation {dup!r} is defined twice")
    for name in relation_names:
        problem = _name_problem("relation", name)
        if problem:
            problems.append(problem)
    if not entities:
        problems.append("no entity labels defined")
    version = raw.get("version")
    if not isinstance(version, int):
        problems.append(f"version must be an integer, got {version!r}")
    if problems:
        raise SchemaError(f"{source}: " + "; ".join(problems))
    return Schema(
        name=str(raw.get("name", "contraband")),
        version=int(version),
        entities=tuple(entities),
        relations=tuple(relations),
        guidelines=str(raw.get("guidelines", "")),
    )
