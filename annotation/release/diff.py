"""What changed between two releases, per document and per seizure event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..events import event_id
from .inspect import read_documents, read_manifest
from .layout import CONFIG_ANNOTATIONS, CONFIG_EVENTS


def _span_key(span: Mapping[str, Any]) -> tuple[int, int, str, str]:
    return (int(span["start"]), int(span["end"]), span["label"], span["text"])


def _relation_keys(row: Mapping[str, Any]) -> set[tuple[Any, ...]]:
    spans = list(row["spans"])
    return {
        (_span_key(spans[r["head"]]), _span_key(spans[r["tail"]]), r["label"])
        for r in row["relations"]
    }


@dataclass(frozen=True)
class DocumentChange:
    """Annotations of one document (or one annotator's row) that differ between two releases."""

    spans_added: tuple[tuple[int, int, str, str], ...] = ()
    spans_removed: tuple[tuple[int, int, str, str], ...] = ()
    relations_added: tuple[tuple[Any, ...], ...] = ()
    relations_removed: tuple[tuple[Any, ...], ...] = ()
    text_changed: bool = False
    split_moved: tuple[str, str] | None = None
    fields_changed: tuple[str, ...] = ()  # "ground_truth: False -> True", ...

    def to_markdown_lines(self) -> list[str]:
        """One "- ..." line per change."""
        lines = []
        if self.text_changed:
            lines.append("- text changed")
        if self.split_moved:
            lines.append(f"- moved from {self.split_moved[0]} to {self.split_moved[1]}")
        lines += [f"- {change}" for change in self.fields_changed]
        for sign, spans in (("+", self.spans_added), ("-", self.spans_removed)):
            lines += [f"- {sign} span {label} [{s}, {e}) {text!r}" for s, e, label, text in spans]
        for sign, rels in (("+", self.relations_added), ("-", self.relations_removed)):
            lines += [
                f"- {sign} relation {label}: {h[2]} {h[3]!r} -> {t[2]} {t[3]!r}"
                for h, t, label in rels
            ]
        return lines


@dataclass(frozen=True)
class ConfigDiff:
    """Rows of one config (annotations, events) added, removed and changed, by row key.

    Keys: "<document id> <annotator>" in `annotations`, the event id in `events`.
    """

    config: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: dict[str, DocumentChange] = field(default_factory=dict)

    def to_markdown(self) -> list[str]:
        """A section: counts, the keys added and removed, then each changed row."""
        lines = [
            f"## Config `{self.config}`",
            "",
            _count_line("rows added", self.added),
            _count_line("rows removed", self.removed),
            f"- rows changed: {len(self.changed)}",
            "",
        ]
        for key, change in self.changed.items():
            lines += [f"### {key}", *change.to_markdown_lines(), ""]
        return lines


def _count_line(what: str, keys: tuple[str, ...]) -> str:
    """A markdown bullet: how many keys, and which (`- rows added: 2 (a, b)`)."""
    return f"- {what}: {len(keys)}" + (f" ({', '.join(keys)})" if keys else "")


@dataclass(frozen=True)
class ReleaseDiff:
    """What changed from release `a` to release `b`: documents (the default config) and
    every other config (`annotations`: each annotator's own rows; `events`)."""

    a: str
    b: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: dict[str, DocumentChange]
    configs: dict[str, ConfigDiff] = field(default_factory=dict)

    @property
    def text_changed(self) -> tuple[str, ...]:
        return tuple(d for d, c in self.changed.items() if c.text_changed)

    @property
    def unchanged(self) -> bool:
        """True when no config differs at all."""
        return not (self.added or self.removed or self.changed) and not any(
            c.added or c.removed or c.changed for c in self.configs.values()
        )

    def to_markdown(self) -> str:
        """Readable summary: documents added/removed, per-document changes, then each config."""
        lines = [
            f"# Changes from v{self.a} to v{self.b}",
            "",
            _count_line("documents added", self.added),
            _count_line("documents removed", self.removed),
            f"- documents with changed text: {len(self.text_changed)}",
            f"- documents with changed annotations: {len(self.changed)}",
            *(
                f"- {name} rows added / removed / changed: "
                f"{len(c.added)} / {len(c.removed)} / {len(c.changed)}"
                for name, c in self.configs.items()
            ),
            "",
        ]
        for doc_id, c in self.changed.items():
            lines += [f"## {doc_id}", *c.to_markdown_lines(), ""]
        for config in self.configs.values():
            lines += config.to_markdown()
        return "\n".join(lines)


def _annotation_change(ra: Mapping[str, Any], rb: Mapping[str, Any]) -> DocumentChange:
    sa, sb = {_span_key(s) for s in ra["spans"]}, {_span_key(s) for s in rb["spans"]}
    la, lb = _relation_keys(ra), _relation_keys(rb)
    return DocumentChange(
        spans_added=tuple(sorted(sb - sa)),
        spans_removed=tuple(sorted(sa - sb)),
        relations_added=tuple(sorted(lb - la)),
        relations_removed=tuple(sorted(la - lb)),
        text_changed=ra["text"] != rb["text"],
        split_moved=(ra["split"], rb["split"]) if ra["split"] != rb["split"] else None,
    )


def _plain(value: Any) -> Any:
    """A parquet cell as plain Python (arrays -> lists, NaN -> None) for comparison."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return None
    return value


def _field_changes(
    ra: Mapping[str, Any], rb: Mapping[str, Any], columns: Iterable[str]
) -> tuple[str, ...]:
    out = []
    for column in columns:
        va, vb = _plain(ra.get(column)), _plain(rb.get(column))
        if va != vb:
            out.append(f"{column}: {_short(va)} -> {_short(vb)}")
    return tuple(out)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def diff_annotations(a: Path, b: Path) -> ConfigDiff:
    """The `annotations` config: each (document, annotator) row added, removed or changed."""

    def rows(release: Path) -> dict[str, dict[str, Any]]:
        frame = read_documents(release, CONFIG_ANNOTATIONS)
        return {f"{r['id']} {r['annotator']}": r for r in frame.to_dict("records")}

    rows_a, rows_b = rows(a), rows(b)
    changed = {}
    for key in sorted(rows_a.keys() & rows_b.keys()):
        ra, rb = rows_a[key], rows_b[key]
        change = replace(
            _annotation_change(ra, rb),
            fields_changed=_field_changes(
                ra, rb, ("ground_truth", "chunks_annotated", "chunks_total")
            ),
        )
        if change != DocumentChange():
            changed[key] = change
    return ConfigDiff(
        config=CONFIG_ANNOTATIONS,
        added=tuple(sorted(rows_b.keys() - rows_a.keys())),
        removed=tuple(sorted(rows_a.keys() - rows_b.keys())),
        changed=changed,
    )


def _event_key(row: Mapping[str, Any]) -> str:
    """The event id; a release from before event ids keyed its rows by the mention's span."""
    if row.get("event_id"):
        return str(row["event_id"])
    return event_id(str(row.get("doc_id")), int(row.get("start", 0)), int(row.get("end", 0)))


def diff_events(a: Path, b: Path) -> ConfigDiff:
    """The `events` config: events added, removed, and every column that changed, by event id."""
    frames = [read_documents(release, CONFIG_EVENTS) for release in (a, b)]
    rows_a, rows_b = ({_event_key(r): r for r in f.to_dict("records")} for f in frames)
    columns = [c for c in dict.fromkeys([*frames[0].columns, *frames[1].columns]) if c != "split"]
    changed = {}
    for key in sorted(rows_a.keys() & rows_b.keys()):
        ra, rb = rows_a[key], rows_b[key]
        moved = (ra["split"], rb["split"]) if ra["split"] != rb["split"] else None
        change = DocumentChange(split_moved=moved, fields_changed=_field_changes(ra, rb, columns))
        if change != DocumentChange():
            changed[key] = change
    return ConfigDiff(
        config=CONFIG_EVENTS,
        added=tuple(sorted(rows_b.keys() - rows_a.keys())),
        removed=tuple(sorted(rows_a.keys() - rows_b.keys())),
        changed=changed,
    )


def diff_releases(a: Path, b: Path) -> ReleaseDiff:
    """Every config of two releases compared: documents added/removed/with changed text and
    spans/relations per document (default config), each annotator's rows (`annotations`),
    and the events table (`events`)."""
    docs_a = {r["id"]: r for r in read_documents(a).to_dict("records")}
    docs_b = {r["id"]: r for r in read_documents(b).to_dict("records")}
    changed: dict[str, DocumentChange] = {}
    for doc_id in sorted(docs_a.keys() & docs_b.keys()):
        change = _annotation_change(docs_a[doc_id], docs_b[doc_id])
        if change != DocumentChange():
            changed[doc_id] = change
    return ReleaseDiff(
        a=read_manifest(a)["version"],
        b=read_manifest(b)["version"],
        added=tuple(sorted(docs_b.keys() - docs_a.keys())),
        removed=tuple(sorted(docs_a.keys() - docs_b.keys())),
        changed=changed,
        configs={CONFIG_ANNOTATIONS: diff_annotations(a, b), CONFIG_EVENTS: diff_events(a, b)},
    )


# --------------------------------------------------------------------------- the Hub
