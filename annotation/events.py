"""Seizure events: one row per distinct seizure, with every mention and every source kept.

A seizure is often mentioned several times: in the lead and again in the body of one report,
and in several reports of the same story (syndicated copies, follow-ups). Each adjudicated
SEIZURE span is a *mention* (`seizure_mentions`, columns MENTION_COLUMNS, filled from its
relations); `seizure_events` groups mentions into *events* in two steps:

1. inside a document, a mention joins an earlier event when it has the same quantity
   (normalised value and unit), a compatible item (the same item after case and plural folding,
   one the head of the other as "scales" of "pangolin scales", or a generic item such as
   "drugs" from configs/gazetteer/seizure_items.jsonl of the same label), and a compatible date
   and place (equal, one more precise than the other as 2019-05 and 2019-05-11, or absent);
2. across documents, two events are linked under one event id when their documents share a
   duplicate cluster and they are compatible as above, or when they have the same quantity,
   the same specific item, and both a date and a place that agree.

A mention without a quantity or an item is an event of its own (nothing safe to compare).

Columns of the events table (EVENT_COLUMNS, in this order):

=============== =====================================================================
event_id        "event-" + 12 hex chars of the sha1 of its first mention (smallest document
                id, then offset): unchanged when a later report is linked to it, unless that
                report's id sorts first
doc_id          the document of the representative mention (the mention with the most
                filled fields; the first one on ties): the event's split is that document's
seizure_text    the representative SEIZURE span's text
start, end      its character offsets in that document's clean text
sentence        the sentence of the task text that contains it
agency          tails of SEIZED_BY over all mentions (several joined with "; ")
item            tails of SEIZED_ITEM over all mentions
item_type       their labels, DRUG and/or WILDLIFE
quantity_text   tails of QUANTITY_OF over all mentions
quantity_value  the quantity, normalised (see `event_fields.normalise_quantity`); NaN if none
quantity_unit   "kg" for masses, or the counted unit ("tablets", "pieces", ...)
location        tails of SEIZED_AT over all mentions
date_text       tails of SEIZED_ON over all mentions
date            the most precise date of its mentions as ISO "YYYY-MM-DD", "YYYY-MM" or
                "YYYY", else null
operation       tails of PART_OF over all mentions
url, title, published   the representative document's metadata
mention_count   how many SEIZURE spans report this seizure
source_count    in how many documents
sources         one {doc_id, url, title, published} per document, in document order
mentions        one {doc_id, start, end, text, sentence} per SEIZURE span
=============== =====================================================================

Only the adjudicated annotation is read (annotation.adjudicate); tasks without one
(unannotated) yield no mention. Text columns are null when no mention has the relation.
A seizure seen in two overlapping chunks of the same document (same doc_id, start,
end) is one mention, from the first task. In events.csv, `sources` and `mentions` are JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from corpus.errors import ConfigError
from corpus.settings import default_config_path

from .adjudicate import AnnotationDataError
from .event_fields import month_of, normalise_quantity, parse_date, sentence_around
from .records import AnnotatedTask, Annotation, Span

SEIZURE = "SEIZURE"
MENTION_COLUMNS = (
    "doc_id",
    "seizure_text",
    "start",
    "end",
    "sentence",
    "agency",
    "item",
    "item_type",
    "quantity_text",
    "quantity_value",
    "quantity_unit",
    "location",
    "date_text",
    "date",
    "operation",
    "url",
    "title",
    "published",
)
EVENT_COLUMNS = (
    "event_id",
    *MENTION_COLUMNS,
    "mention_count",
    "source_count",
    "sources",
    "mentions",
)
# columns merged over an event's mentions (distinct texts joined with JOIN, in mention order)
MERGED_TEXT_COLUMNS = (
    "agency",
    "item",
    "item_type",
    "quantity_text",
    "location",
    "date_text",
    "operation",
)
SOURCE_FIELDS = ("doc_id", "url", "title", "published")
MENTION_FIELDS = ("doc_id", "start", "end", "text", "sentence")
GENERIC_ITEMS = "gazetteer/seizure_items.jsonl"  # under configs/ (or CONTRABAND_CONFIG_DIR)
# relation label -> event column holding the texts of its tail spans
RELATION_COLUMNS = {
    "SEIZED_BY": "agency",
    "SEIZED_ITEM": "item",
    "QUANTITY_OF": "quantity_text",
    "SEIZED_AT": "location",
    "SEIZED_ON": "date_text",
    "PART_OF": "operation",
}
JOIN = "; "


def seizure_mentions(tasks: Sequence[AnnotatedTask]) -> pd.DataFrame:
    """One row per SEIZURE span of the adjudicated annotations; columns MENTION_COLUMNS."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, int, int]] = set()
    for task in tasks:
        if task.adjudicated is None:
            continue
        for span in sorted(task.adjudicated.spans, key=lambda s: (s.start, s.end)):
            if span.label != SEIZURE or (task.doc_id, span.start, span.end) in seen:
                continue
            seen.add((task.doc_id, span.start, span.end))
            rows.append(seizure_row(task, task.adjudicated, span))
    frame = pd.DataFrame(rows, columns=list(MENTION_COLUMNS))
    frame["start"] = frame["start"].astype("int64")
    frame["end"] = frame["end"].astype("int64")
    frame["quantity_value"] = frame["quantity_value"].astype("float64")
    return frame


def seizure_row(task: AnnotatedTask, annotation: Annotation, seizure: Span) -> dict[str, Any]:
    """The event row of one SEIZURE span (see the module docstring for the columns)."""
    tails: dict[str, list[Span]] = {column: [] for column in RELATION_COLUMNS.values()}
    for i, rel in enumerate(annotation.relations):
        if rel.head != seizure.id or rel.label not in RELATION_COLUMNS:
            continue
        tail = annotation.span(rel.tail)
        if tail is None:
            raise AnnotationDataError(
                f"Task {task.task_id} (doc {task.doc_id}), adjudicated annotation, relation {i} "
                f"({rel.label}): tail span id {rel.tail!r} does not exist; re-run adjudicate() "
                f"on the pulled tasks instead of editing the adjudicated annotation by hand."
            )
        tails[RELATION_COLUMNS[rel.label]].append(tail)
    for spans in tails.values():
        spans.sort(key=lambda s: (s.start, s.end))
    value, unit = (None, None)
    if tails["quantity_text"]:
        value, unit = normalise_quantity(tails["quantity_text"][0].text)
    iso_date = next((d for d in map(parse_date, (s.text for s in tails["date_text"])) if d), None)
    local_start = seizure.start - task.chunk_start
    local_end = seizure.end - task.chunk_start
    meta = task.meta
    return {
        "doc_id": task.doc_id,
        "seizure_text": seizure.text,
        "start": seizure.start,
        "end": seizure.end,
        "sentence": sentence_around(task.text, local_start, local_end),
        **{column: _join(s.text for s in spans) for column, spans in tails.items()},
        "item_type": _join(s.label for s in tails["item"]),
        "quantity_value": value,
        "quantity_unit": unit,
        "date": iso_date,
        "url": meta.get("url"),
        "title": meta.get("title"),
        "published": meta.get("published"),
    }


@dataclass
class _Event:
    """Mentions grouped as one seizure, with what they say together (for compatibility tests)."""

    mentions: list[dict[str, Any]]
    clusters: set[str]
    quantity: tuple[float, str | None] | None
    items: set[tuple[str, str]]  # (label, folded item text)
    dates: set[str]  # ISO dates of the mentions
    months: set[int]  # months of date phrases without a year ("March")
    places: set[str]  # folded place texts

    def merge(self, other: _Event) -> None:
        self.mentions.extend(other.mentions)
        self.clusters |= other.clusters
        self.items |= other.items
        self.dates |= other.dates
        self.months |= other.months
        self.places |= other.places


def read_generic_items(path: Path | None = None) -> frozenset[tuple[str, str]]:
    """(label, folded text) of the generic seized items ("drugs", "scales") of a pattern file.

    The file is the pre-annotator's (configs/gazetteer/seizure_items.jsonl): one SpanRuler
    phrase pattern per line, {"label": ..., "pattern": "..."}; token patterns, blank lines and
    "#" comment lines are skipped.
    """
    path = Path(path) if path else default_config_path(GENERIC_ITEMS)
    items: set[tuple[str, str]] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: generic seizure items not found; restore "
            "configs/gazetteer/seizure_items.jsonl or pass generic_items=frozenset()"
        ) from None
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):  # comments, as the pre-annotator
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n}: not valid JSON ({exc.msg}); fix the line") from None
        if isinstance(entry, dict) and isinstance(entry.get("pattern"), str):
            items.add((str(entry.get("label")), fold_text(entry["pattern"])))
    return frozenset(items)


def fold_text(text: str) -> str:
    """Lower case, words only, each word's plural -s dropped: "Pangolin Scales" -> "pangolin scale"."""
    words = re.findall(r"[^\W_]+", text.lower())
    return " ".join(
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words
    )


def _split(value: Any) -> list[str]:
    return [] if value is None or value != value else str(value).split(JOIN)


def _mention_event(row: dict[str, Any], cluster: str) -> _Event:
    value = row["quantity_value"]
    quantity = None if value is None or value != value else (float(value), row["quantity_unit"])
    items = _split(row["item"])
    labels = _split(row["item_type"])
    months = set()
    if row["date"] is None:
        for text in _split(row["date_text"]):
            month = month_of(text)
            if month:
                months.add(month)
    return _Event(
        mentions=[row],
        clusters={cluster},
        quantity=quantity,
        items={(label, fold_text(item)) for item, label in zip(items, labels, strict=False)},
        dates={row["date"]} if row["date"] else set(),
        months=months,
        places={fold_text(p) for p in _split(row["location"])} - {""},
    )


def _same_quantity(a: _Event, b: _Event) -> bool:
    if a.quantity is None or b.quantity is None or a.quantity[1] != b.quantity[1]:
        return False
    return math.isclose(a.quantity[0], b.quantity[0], rel_tol=1e-6)


def _item_pair_compatible(
    a: tuple[str, str], b: tuple[str, str], generic: frozenset[tuple[str, str]]
) -> bool:
    if a[0] != b[0]:
        return False
    if a[1] == b[1]:
        return True
    if a in generic or b in generic:
        return True
    return _ends_with_words(a[1], b[1]) or _ends_with_words(b[1], a[1])


def _ends_with_words(longer: str, shorter: str) -> bool:
    return bool(shorter) and (longer == shorter or longer.endswith(" " + shorter))


def _items_compatible(
    a: _Event, b: _Event, generic: frozenset[tuple[str, str]], *, allow_generic: bool
) -> bool:
    usable = generic if allow_generic else frozenset()
    left = a.items if allow_generic else a.items - generic
    right = b.items if allow_generic else b.items - generic
    return any(_item_pair_compatible(x, y, usable) for x in left for y in right)


def _dates_compatible(a: _Event, b: _Event, *, required: bool) -> bool:
    if not a.dates or not b.dates:
        if required:
            return False
        known = a.dates or b.dates
        months = a.months | b.months
        return not (known and months) or any(len(d) >= 7 and int(d[5:7]) in months for d in known)
    return all(x.startswith(y) or y.startswith(x) for x in a.dates for y in b.dates)


def _places_compatible(a: _Event, b: _Event, *, required: bool) -> bool:
    if not a.places or not b.places:
        return not required
    return any(
        x == y or f" {x} " in f" {y} " or f" {y} " in f" {x} " for x in a.places for y in b.places
    )


def same_seizure(
    a: _Event, b: _Event, *, generic: frozenset[tuple[str, str]], strict: bool
) -> bool:
    """Whether two groups of mentions report one seizure (strict: reports of other stories)."""
    return (
        _same_quantity(a, b)
        and _items_compatible(a, b, generic, allow_generic=not strict)
        and _dates_compatible(a, b, required=strict)
        and _places_compatible(a, b, required=strict)
    )


def _document_events(
    rows: list[dict[str, Any]], cluster: str, generic: frozenset[tuple[str, str]]
) -> list[_Event]:
    events: list[_Event] = []
    for row in rows:
        mention = _mention_event(row, cluster)
        match = next(
            (e for e in events if same_seizure(e, mention, generic=generic, strict=False)), None
        )
        if match is None:
            events.append(mention)
        else:
            match.merge(mention)
    return events


def _link_documents(events: list[_Event], generic: frozenset[tuple[str, str]]) -> list[_Event]:
    """Merge the events of different documents that report one seizure (union-find)."""
    parent = list(range(len(events)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Only events that could match are compared: the same quantity and either the same
    # duplicate cluster, or (for reports of other stories) a place, a date of the same year and
    # a specific item with the same head word ("scale" of "pangolin scale").
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, event in enumerate(events):
        if event.quantity is None or not event.items:
            continue
        quantity = (round(event.quantity[0], 6), event.quantity[1])
        for cluster in event.clusters:
            groups.setdefault((quantity, "cluster", cluster), []).append(i)
        if event.places:
            heads = {item.rsplit(" ", 1)[-1] for item in (i[1] for i in event.items - generic)}
            for year in {d[:4] for d in event.dates}:
                for head in heads:
                    groups.setdefault((quantity, year, head), []).append(i)
    compared: set[tuple[int, int]] = set()
    for members in groups.values():
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                a, b = events[i], events[j]
                if (i, j) in compared or find(i) == find(j):
                    continue  # compared already, or linked already
                if a.mentions[0]["doc_id"] == b.mentions[0]["doc_id"]:
                    continue  # grouped inside their document already
                compared.add((i, j))
                strict = not (a.clusters & b.clusters)
                if same_seizure(a, b, generic=generic, strict=strict):
                    parent[find(j)] = find(i)
    merged: dict[int, _Event] = {}
    for i, event in enumerate(events):
        root = find(i)
        if root in merged:
            merged[root].merge(event)
        else:
            merged[root] = event
    return list(merged.values())


def _filled(row: dict[str, Any]) -> int:
    return sum(
        1
        for c in ("agency", "item", "quantity_text", "location", "date_text", "date", "operation")
        if row[c] is not None and row[c] == row[c]
    )


def event_id(doc_id: str, start: int, end: int) -> str:
    """The id of the event whose first mention (by document id, then offset) is this span."""
    return "event-" + hashlib.sha1(f"{doc_id}:{start}:{end}".encode()).hexdigest()[:12]


def event_row(event: _Event) -> dict[str, Any]:
    """The events-table row of one group of mentions (see the module docstring)."""
    mentions = sorted(event.mentions, key=lambda r: (r["_order"], r["start"]))
    first = min(mentions, key=lambda r: (r["doc_id"], r["start"], r["end"]))
    best = max(mentions, key=lambda r: (_filled(r), -mentions.index(r)))
    row = {c: best[c] for c in MENTION_COLUMNS}
    for column in MERGED_TEXT_COLUMNS:
        row[column] = _join(t for m in mentions for t in _split(m[column]))
    dates = sorted({m["date"] for m in mentions if m["date"]}, key=len, reverse=True)
    row["date"] = dates[0] if dates else None
    row["event_id"] = event_id(first["doc_id"], first["start"], first["end"])
    sources = list({m["doc_id"]: {f: m[f] for f in SOURCE_FIELDS} for m in mentions}.values())
    row["mention_count"] = len(mentions)
    row["source_count"] = len(sources)
    row["sources"] = sources
    row["mentions"] = [
        {
            "doc_id": m["doc_id"],
            "start": m["start"],
            "end": m["end"],
            "text": m["seizure_text"],
            "sentence": m["sentence"],
        }
        for m in mentions
    ]
    return row


def seizure_events(
    tasks: Sequence[AnnotatedTask], *, generic_items: frozenset[tuple[str, str]] | None = None
) -> pd.DataFrame:
    """One row per distinct seizure of the adjudicated annotations; columns EVENT_COLUMNS.

    generic_items: (label, folded text) of items that match any item of their label inside a
    document or a duplicate cluster (default: `read_generic_items()`).
    """
    generic = read_generic_items() if generic_items is None else generic_items
    mentions = seizure_mentions(tasks)
    cluster_of = {t.doc_id: str(t.meta.get("cluster_id") or t.doc_id) for t in tasks}
    order = {doc_id: i for i, doc_id in enumerate(dict.fromkeys(t.doc_id for t in tasks))}
    records = mentions.astype(object).where(mentions.notna(), None).to_dict("records")
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        record["_order"] = order[record["doc_id"]]
        by_doc.setdefault(record["doc_id"], []).append(record)
    events = [
        event
        for doc_id, rows in by_doc.items()
        for event in _document_events(rows, cluster_of[doc_id], generic)
    ]
    rows = [event_row(e) for e in _link_documents(events, generic)]
    rows.sort(key=lambda r: (order[r["doc_id"]], r["start"]))
    frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    for column in ("start", "end", "mention_count", "source_count"):
        frame[column] = frame[column].astype("int64")
    frame["quantity_value"] = frame["quantity_value"].astype("float64")
    return frame


def write_events_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the events table as UTF-8 CSV (columns EVENT_COLUMNS, nulls as empty cells).

    The list columns `sources` and `mentions` are written as JSON arrays.
    """
    path = Path(path)
    if tuple(frame.columns) != EVENT_COLUMNS:
        raise ValueError(
            f"{path}: the events frame has columns {list(frame.columns)}, expected "
            f"{list(EVENT_COLUMNS)}; build it with seizure_events()."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    to_csv_frame(frame).to_csv(path, index=False, encoding="utf-8")
    return path


def to_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of an events frame whose list and dict cells (sources, mentions) are JSON text."""
    flat = frame.copy()
    for column in flat.columns:
        if flat[column].map(lambda v: isinstance(v, list | dict)).any():
            flat[column] = [
                json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, list | dict) else v
                for v in flat[column]
            ]
    return flat


def _join(texts: Any) -> str | None:
    unique = list(dict.fromkeys(texts))
    return JOIN.join(unique) if unique else None
