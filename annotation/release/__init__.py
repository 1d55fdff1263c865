"""Versioned, immutable Hugging Face dataset releases built from adjudicated tasks.

A release is a directory `releases/vX.Y.Z/` that `datasets.load_dataset(path)` loads:

    data/default/{train,validation,test}.parquet      one row per document (adjudicated spans)
    data/annotations/{train,validation,test}.parquet  one row per (document, annotator pseudonym)
    data/events/{train,validation,test}.parquet       one row per seizure, in its document's split
    events.csv, agreement.json, plots/*.png
    README.md        dataset card: YAML configs + features (generated from the schema), counts,
                     agreement, adjudication, plots, changelog
    manifest.json    version, schema, source export sha256, counts, parent, sha256 of every file

Splits are grouped: documents sharing a duplicate cluster id or an identical text always land
in the same split, so no near-duplicate of a test document sits in train (`check_leakage`
proves it on the written files). When a parent release is named, documents it already released
keep their split, so a document never moves from test to train between versions.

The pure middle (`documents_from_tasks`, `assign_splits`, `features`, `render_card`) takes
and returns plain data; `build_release` and the readers are the I/O edges.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import datasets
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData

from corpus.errors import ReleaseError

from ..events import event_id, to_csv_frame
from ..records import SOURCE_ANNOTATION, AnnotatedTask, Annotation
from ..schema import Schema

SPLITS: tuple[str, ...] = ("train", "validation", "test")
CONFIG_DEFAULT = "default"
CONFIG_ANNOTATIONS = "annotations"
CONFIG_EVENTS = "events"
MANIFEST = "manifest.json"
CARD = "README.md"
# Texts are excerpts of news pages whose copyright stays with the publishers; the annotations
# are ours. "other" is the Hub's value for a licence that needs the explanation in the card.
LICENSE = "other"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# annotation.pseudonym.pseudonymise() output; anything else may be an email, a name or a user id.
PSEUDONYM = re.compile(r"^annotator-[0-9a-f]{10}$")
DOCUMENT_META = ("url", "title", "published", "site", "cluster_id")
# Never published, whatever sits in the folder: secrets and raw Label Studio exports.
HUB_EXCLUDE = (
    ".env",
    "*.env",
    ".env.*",
    "*.key",
    "*.pem",
    "export*.json",
    "export*.jsonl",
    "raw/*",
)
EVENT_DOC_COLUMNS = ("doc_id", "document_id", "id")


# --------------------------------------------------------------------------- features
def _span_feature(schema: Schema) -> dict[str, Any]:
    return {
        "start": datasets.Value("int32"),
        "end": datasets.Value("int32"),
        "label": datasets.ClassLabel(names=schema.entity_names),
        "text": datasets.Value("string"),
    }


def _relation_feature(schema: Schema) -> dict[str, Any]:
    return {
        "head": datasets.Value("int32"),
        "tail": datasets.Value("int32"),
        "label": datasets.ClassLabel(names=schema.relation_names),
    }


def features(schema: Schema) -> datasets.Features:
    """Features of the default config: one document with its adjudicated spans and relations.

    Span and relation labels are ClassLabels whose names are the schema's, in schema order;
    relation head/tail are indices into the same row's `spans` list.
    """
    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "text": datasets.Value("string"),
            "spans": datasets.List(_span_feature(schema)),
            "relations": datasets.List(_relation_feature(schema)),
            **{name: datasets.Value("string") for name in DOCUMENT_META},
            "adjudication": datasets.Value("string"),
        }
    )


def annotation_features(schema: Schema) -> datasets.Features:
    """Features of the `annotations` config: one annotator's own labelling of one document."""
    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "annotator": datasets.Value("string"),
            "text": datasets.Value("string"),
            "spans": datasets.List(_span_feature(schema)),
            "relations": datasets.List(_relation_feature(schema)),
            "ground_truth": datasets.Value("bool"),
            "chunks_annotated": datasets.Value("int32"),
            "chunks_total": datasets.Value("int32"),
            "cluster_id": datasets.Value("string"),
        }
    )


# --------------------------------------------------------------------------- tasks -> rows
@dataclass(frozen=True)
class DocumentRows:
    """What `documents_from_tasks` makes of the tasks: rows per config plus what was left out."""

    documents: list[dict[str, Any]]  # default config rows (labels as names), sorted by id
    annotations: list[dict[str, Any]]  # annotations config rows, sorted by (id, annotator)
    excluded: list[dict[str, str]]  # {"id", "reason"}: documents without an adjudicated version
    skipped_annotations: Counter[str] = field(default_factory=Counter)  # reason -> count


def _document_text(doc_id: str, chunks: list[AnnotatedTask], problems: list[str]) -> str:
    expected = 0
    for task in chunks:
        if task.chunk_start != expected:
            problems.append(
                f"document {doc_id}, task {task.task_id}: chunk starts at {task.chunk_start} "
                f"but the previous chunks end at {expected}; chunk texts must tile the "
                "document (re-pull the "
                "project or drop the stray task)"
            )
        expected = task.chunk_start + len(task.text)
    return "".join(t.text for t in chunks)


def _merge_annotations(
    doc_id: str,
    text: str,
    parts: list[tuple[AnnotatedTask, Annotation]],
    schema: Schema,
    problems: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One document's spans and relations from per-chunk annotations (document offsets).

    Identical spans (same start, end, label) from two chunks become one; relations point at
    span indices of the merged, sorted list.
    """
    keyed: dict[tuple[int, int, str], dict[str, Any]] = {}
    span_key: dict[tuple[int, str], tuple[int, int, str]] = {}
    for part, (task, ann) in enumerate(parts):
        for span in ann.spans:
            where = (
                f"document {doc_id}, task {task.task_id}, annotator {ann.annotator}, span {span.id}"
            )
            if (bad := schema.label_problem(span.label)) is not None:
                problems.append(f"{where}: {bad}; fix it in Label Studio and pull again")
                continue
            if not 0 <= span.start < span.end <= len(text):
                problems.append(
                    f"{where}: offsets [{span.start}, {span.end}) fall outside the document "
                    f"(length {len(text)}); spans must use document offsets"
                )
                continue
            if text[span.start : span.end] != span.text:
                problems.append(
                    f"{where}: span text {span.text!r} differs from the document text "
                    f"{text[span.start : span.end]!r} at [{span.start}, {span.end}); "
                    "re-pull the task"
                )
                continue
            key = (span.start, span.end, span.label)
            keyed[key] = {
                "start": span.start,
                "end": span.end,
                "label": span.label,
                "text": span.text,
            }
            span_key[(part, span.id)] = key
    order = sorted(keyed, key=lambda k: (k[0], k[1], schema.entity_names.index(k[2])))
    index = {key: i for i, key in enumerate(order)}
    relations: set[tuple[int, int, str]] = set()
    for part, (task, ann) in enumerate(parts):
        for rel in ann.relations:
            where = (
                f"document {doc_id}, task {task.task_id}, annotator {ann.annotator}, "
                f"relation {rel.label}"
            )
            head, tail = span_key.get((part, rel.head)), span_key.get((part, rel.tail))
            if head is None or tail is None:
                problems.append(
                    f"{where}: points at span {rel.head if head is None else rel.tail!r}, "
                    "which is not a valid span of the same annotation"
                )
                continue
            if (bad := schema.relation_problem(rel.label, head[2], tail[2])) is not None:
                problems.append(f"{where}: {bad}; fix it in Label Studio and pull again")
                continue
            relations.add((index[head], index[tail], rel.label))
    rel_order = sorted(relations, key=lambda r: (r[0], r[1], schema.relation_names.index(r[2])))
    return (
        [keyed[k] for k in order],
        [{"head": h, "tail": t, "label": label} for h, t, label in rel_order],
    )


def _meta_value(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def documents_from_tasks(tasks: Sequence[AnnotatedTask], *, schema: Schema) -> DocumentRows:
    """Group tasks into documents and build the rows of the default and annotations configs.

    A document is released in the default config only when every one of its chunks has an
    adjudicated annotation (not `needs_review`); the others are listed in `excluded` with the
    reason. Annotators must be pseudonyms (annotation.pseudonym); anything else (an email, a
    name, a user id) stops the release. Every problem is collected and raised together.
    """
    problems: list[str] = []
    by_doc: dict[str, list[AnnotatedTask]] = defaultdict(list)
    for task in tasks:
        by_doc[task.doc_id].append(task)
    documents: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    excluded: list[dict[str, str]] = []
    skipped: Counter[str] = Counter()
    for doc_id in sorted(by_doc):
        chunks = sorted(by_doc[doc_id], key=lambda t: t.chunk_start)
        text = _document_text(doc_id, chunks, problems)
        meta = {key: _meta_value(chunks[0].meta.get(key)) for key in DOCUMENT_META}
        meta["cluster_id"] = meta["cluster_id"] or doc_id
        pending = [t for t in chunks if t.adjudicated is None or t.adjudication == "needs_review"]
        if pending:
            reasons = sorted({t.adjudication or "no adjudicated annotation" for t in pending})
            tasks_txt = ", ".join(str(t.task_id) for t in pending)
            excluded.append({"id": doc_id, "reason": f"{'/'.join(reasons)} (task {tasks_txt})"})
        else:
            parts = [(t, t.adjudicated) for t in chunks if t.adjudicated is not None]
            spans, relations = _merge_annotations(doc_id, text, parts, schema, problems)
            methods = sorted({t.adjudication or "unknown" for t in chunks})
            documents.append(
                {
                    "id": doc_id,
                    "text": text,
                    "spans": spans,
                    "relations": relations,
                    **meta,
                    "adjudication": methods[0]
                    if len(methods) == 1
                    else "mixed:" + ",".join(methods),
                }
            )
        per_annotator: dict[str, list[tuple[AnnotatedTask, Annotation]]] = defaultdict(list)
        for task in chunks:
            for ann in task.annotations:
                if ann.source != SOURCE_ANNOTATION:
                    skipped[f"source {ann.source}"] += 1
                    continue
                if ann.cancelled:
                    skipped["cancelled"] += 1
                    continue
                if not PSEUDONYM.match(ann.annotator):
                    problems.append(
                        f"document {doc_id}, task {task.task_id}: annotator {ann.annotator!r} "
                        "is not a pseudonym (annotator-<10 hex>); releases never carry "
                        "emails, names or user "
                        "ids. Pull again so annotation.pseudonym replaces it."
                    )
                    continue
                per_annotator[ann.annotator].append((task, ann))
        for annotator in sorted(per_annotator):
            parts = per_annotator[annotator]
            spans, relations = _merge_annotations(doc_id, text, parts, schema, problems)
            annotations.append(
                {
                    "id": doc_id,
                    "annotator": annotator,
                    "text": text,
                    "spans": spans,
                    "relations": relations,
                    "ground_truth": any(ann.ground_truth for _, ann in parts),
                    "chunks_annotated": len({t.chunk_start for t, _ in parts}),
                    "chunks_total": len(chunks),
                    "cluster_id": meta["cluster_id"],
                }
            )
    if problems:
        raise ReleaseError(
            f"{len(problems)} problem(s) in the adjudicated tasks; no release was written:\n  "
            + "\n  ".join(problems)
        )
    return DocumentRows(documents, annotations, excluded, skipped)


# --------------------------------------------------------------------------- splits
def _text_key(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def group_documents(docs: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Doc ids grouped so that a shared cluster id or an identical (whitespace-normalised) text
    puts two documents in the same group; groups and members are sorted."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for doc in docs:
        doc_node = "doc:" + doc["id"]
        for node in (
            "cluster:" + (doc.get("cluster_id") or doc["id"]),
            "text:" + _text_key(doc["text"]),
        ):
            a, b = find(doc_node), find(node)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = defaultdict(list)
    for doc in docs:
        groups[find("doc:" + doc["id"])].append(doc["id"])
    return sorted(sorted(members) for members in groups.values())


def assign_splits(
    docs: Sequence[Mapping[str, Any]],
    *,
    seed: int = 13,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    min_docs_per_split: int = 1,
    fixed: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Doc id -> split, whole groups at a time (see `group_documents`).

    Groups holding a document listed in `fixed` (e.g. the parent release's assignment) go to
    that split (an evaluation split wins if members disagree). The other groups are taken in a
    seeded hash order; each goes to the split furthest below its share of the documents, except
    that a split with a positive ratio and fewer than `min_docs_per_split` documents is served
    first. So 5 singleton documents give 3/1/1 and no split is empty when it can be avoided.
    """
    if len(ratios) != len(SPLITS) or any(r < 0 for r in ratios) or not sum(ratios) > 0:
        raise ReleaseError(
            f"split ratios {ratios!r}: need three non-negative numbers (train, validation, test)"
        )
    fixed = fixed or {}
    total = len(docs)
    share = {s: r / sum(ratios) * total for s, r in zip(SPLITS, ratios, strict=True)}
    active = [s for s, r in zip(SPLITS, ratios, strict=True) if r > 0]
    counts = dict.fromkeys(SPLITS, 0)
    out: dict[str, str] = {}
    free: list[list[str]] = []
    for members in group_documents(docs):
        pinned = {fixed[m] for m in members if m in fixed}
        if pinned:
            split = next(s for s in reversed(SPLITS) if s in pinned)
            counts[split] += len(members)
            out.update(dict.fromkeys(members, split))
        else:
            free.append(members)
    free.sort(key=lambda m: hashlib.sha256(f"{seed}:{m[0]}".encode()).hexdigest())
    for members in free:
        starved = [s for s in active if counts[s] < min_docs_per_split]
        candidates = starved or active
        split = max(candidates, key=lambda s: (share[s] - counts[s], -SPLITS.index(s)))
        counts[split] += len(members)
        out.update(dict.fromkeys(members, split))
    return out


# --------------------------------------------------------------------------- versions
def _normalise_version(version: str) -> str:
    bare = version[1:] if version.startswith("v") else version
    if not SEMVER.match(bare):
        raise ReleaseError(f"release version {version!r} is not semver X.Y.Z (e.g. 0.1.0)")
    return bare


def list_versions(releases_dir: Path) -> list[str]:
    """Versions present under `releases_dir` (directories named vX.Y.Z), oldest first."""
    if not Path(releases_dir).is_dir():
        return []
    found = [
        p.name[1:]
        for p in Path(releases_dir).iterdir()
        if p.is_dir() and p.name.startswith("v") and SEMVER.match(p.name[1:])
    ]
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


def latest_version(releases_dir: Path) -> str | None:
    """The highest vX.Y.Z under `releases_dir` (without the 'v'), or None when there is none."""
    versions = list_versions(releases_dir)
    return versions[-1] if versions else None


def next_version(releases_dir: Path, bump: str = "patch") -> str:
    """The version after the latest one ('0.1.0' when there is none); bump: major|minor|patch."""
    if bump not in ("major", "minor", "patch"):
        raise ReleaseError(f"bump {bump!r}: use major, minor or patch")
    latest = latest_version(releases_dir)
    if latest is None:
        return "0.1.0"
    major, minor, patch = (int(x) for x in latest.split("."))
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


# --------------------------------------------------------------------------- writing
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_parquet(rows: list[dict[str, Any]], feats: datasets.Features, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([feats.encode_example(r) for r in rows], schema=feats.arrow_schema)
    pq.write_table(table, path)


def _event_doc_column(events: pd.DataFrame) -> str:
    for name in EVENT_DOC_COLUMNS:
        if name in events.columns:
            return name
    raise ReleaseError(
        f"events table has no document column (looked for {', '.join(EVENT_DOC_COLUMNS)}; "
        f"columns: {', '.join(map(str, events.columns))}); events are split like their documents"
    )


def _read_parent_splits(releases_dir: Path, parent: str) -> dict[str, str]:
    path = Path(releases_dir) / f"v{_normalise_version(parent)}"
    if not (path / MANIFEST).is_file():
        raise ReleaseError(
            f"{path}: parent release not found (no {MANIFEST}); name an existing version"
        )
    out: dict[str, str] = {}
    for split in SPLITS:
        file = path / "data" / CONFIG_DEFAULT / f"{split}.parquet"
        if file.is_file():
            out.update(
                dict.fromkeys(pq.read_table(file, columns=["id"]).column("id").to_pylist(), split)
            )
    return out


def _counts(
    docs: list[dict[str, Any]],
    anns: list[dict[str, Any]],
    split_of: Mapping[str, str],
    schema: Schema,
) -> dict[str, Any]:
    per_split: dict[str, Any] = {}
    for split in SPLITS:
        rows = [d for d in docs if split_of[d["id"]] == split]
        spans = Counter(s["label"] for d in rows for s in d["spans"])
        rels = Counter(r["label"] for d in rows for r in d["relations"])
        per_split[split] = {
            "documents": len(rows),
            "spans": sum(spans.values()),
            "relations": sum(rels.values()),
            "span_labels": {name: spans.get(name, 0) for name in schema.entity_names},
            "relation_labels": {name: rels.get(name, 0) for name in schema.relation_names},
            "annotator_rows": sum(1 for a in anns if split_of[a["id"]] == split),
        }
    return per_split


def build_release(
    tasks: Sequence[AnnotatedTask],
    *,
    version: str,
    releases_dir: Path,
    schema: Schema,
    source_export_sha256: str | None = None,
    agreement: Mapping | None = None,
    events: pd.DataFrame | None = None,
    parent: str | None = None,
    seed: int = 13,
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    changelog: str = "",
    min_docs_per_split: int = 1,
    fingerprint: str | None = None,
) -> Path:
    """Write releases/v<version>/ from adjudicated tasks and return its path.

    Refuses (ReleaseError) when that directory exists: a release is immutable; bump the
    version instead (`next_version`). `fingerprint` (optional) identifies the annotations the
    release was built from; it is stored as manifest["annotations_fingerprint"] so a caller can
    see that nothing changed since the latest release. Everything is written into a temporary
    sibling directory first and renamed into place, so a failed build leaves nothing behind.
    """
    version = _normalise_version(version)
    releases_dir = Path(releases_dir)
    target = releases_dir / f"v{version}"
    if target.exists():
        raise ReleaseError(
            f"{target}: release v{version} already exists and releases are immutable; "
            f"build v{next_version(releases_dir)} (or another new version) instead"
        )
    rows = documents_from_tasks(tasks, schema=schema)
    if not rows.documents:
        raise ReleaseError(
            f"release v{version}: no document has an adjudicated annotation "
            f"({len(rows.excluded)} excluded, e.g. {rows.excluded[:3]}); "
            "adjudicate before releasing"
        )
    fixed = _read_parent_splits(releases_dir, parent) if parent else {}
    split_of = assign_splits(
        rows.documents,
        seed=seed,
        ratios=split_ratios,
        min_docs_per_split=min_docs_per_split,
        fixed=fixed,
    )
    # Documents only in the annotations config follow their group (or fill in after the rest).
    extra = [
        {"id": a["id"], "cluster_id": a["cluster_id"], "text": a["text"]}
        for a in rows.annotations
        if a["id"] not in split_of
    ]
    if extra:
        everything = [*rows.documents, *{e["id"]: e for e in extra}.values()]
        split_of = assign_splits(
            everything,
            seed=seed,
            ratios=split_ratios,
            min_docs_per_split=0,
            fixed={**fixed, **split_of},
        )

    releases_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-v{version}-", dir=releases_dir))
    try:
        feats, ann_feats = features(schema), annotation_features(schema)
        for split in SPLITS:
            _write_parquet(
                [d for d in rows.documents if split_of[d["id"]] == split],
                feats,
                tmp / "data" / CONFIG_DEFAULT / f"{split}.parquet",
            )
            _write_parquet(
                [a for a in rows.annotations if split_of[a["id"]] == split],
                ann_feats,
                tmp / "data" / CONFIG_ANNOTATIONS / f"{split}.parquet",
            )
        event_counts: dict[str, int] = {}
        event_features: datasets.Features | None = None
        events_excluded = 0
        if events is not None:
            released = {d["id"]: split_of[d["id"]] for d in rows.documents}
            if len(events):
                event_split = events[_event_doc_column(events)].astype(str).map(released)
                events_excluded = int(event_split.isna().sum())  # their document needs review
                events = events[event_split.notna()].reset_index(drop=True)
                event_split = event_split[event_split.notna()].reset_index(drop=True)
            to_csv_frame(events).to_csv(tmp / "events.csv", index=False)
            # one Arrow schema for all splits: a column empty in one split keeps its type.
            # An event is in its document's split; an empty split gets no file (the
            # datasets library cannot read a parquet file without rows).
            table = pa.Table.from_pandas(events, preserve_index=False)
            event_features = datasets.Features.from_arrow_schema(table.schema)
            for split in SPLITS:
                mask = (event_split == split).tolist() if len(events) else []
                if any(mask):
                    event_counts[split] = sum(mask)
                    (tmp / "data" / CONFIG_EVENTS).mkdir(parents=True, exist_ok=True)
                    pq.write_table(
                        table.filter(mask), tmp / "data" / CONFIG_EVENTS / f"{split}.parquet"
                    )
        if agreement is not None:
            (tmp / "agreement.json").write_text(json.dumps(agreement, indent=2, default=str) + "\n")
        counts = _counts(rows.documents, rows.annotations, split_of, schema)

        from .plots import write_plots  # local: matplotlib is only needed when building

        plots = write_plots(
            tmp,
            documents=pd.DataFrame(
                {"id": d["id"], "split": split_of[d["id"]], "spans": len(d["spans"])}
                for d in rows.documents
            ),
            spans=pd.DataFrame(
                [
                    {"id": d["id"], "split": split_of[d["id"]], "label": s["label"]}
                    for d in rows.documents
                    for s in d["spans"]
                ],
                columns=["id", "split", "label"],
            ),
            agreement=agreement,
            events=events,
        )
        created_at = datetime.now(UTC).replace(microsecond=0).isoformat()
        adjudication = Counter(d["adjudication"] for d in rows.documents)
        manifest: dict[str, Any] = {
            "version": version,
            "created_at": created_at,
            "schema": {
                "name": schema.name,
                "version": schema.version,
                "entity_labels": schema.entity_names,
                "relation_labels": schema.relation_names,
            },
            "source_export_sha256": source_export_sha256,
            "annotations_fingerprint": fingerprint,
            "parent": _normalise_version(parent) if parent else None,
            "seed": seed,
            "split_ratios": list(split_ratios),
            "counts": {
                "documents": len(rows.documents),
                "splits": counts,
                "events": event_counts,
                "events_without_released_document": events_excluded,
                "adjudication": dict(sorted(adjudication.items())),
                "excluded_documents": rows.excluded,
                "skipped_annotations": dict(sorted(rows.skipped_annotations.items())),
            },
        }
        card = render_card(
            manifest=manifest,
            split_bytes={
                f"{f.parent.name}/{f.stem}": f.stat().st_size
                for f in (tmp / "data").rglob("*.parquet")
            },
            schema=schema,
            agreement=agreement,
            plots=[p.relative_to(tmp).as_posix() for p in plots],
            event_splits=[s for s in SPLITS if event_counts.get(s)],
            changelog=changelog,
            event_features=event_features,
            annotators=len({a["annotator"] for a in rows.annotations}),
        )
        (tmp / CARD).write_text(card, encoding="utf-8")
        (tmp / LICENSE_FILE).write_text(LICENSE_TEXT, encoding="utf-8")
        manifest["files"] = {
            p.relative_to(tmp).as_posix(): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        try:
            tmp.rename(target)
        except OSError as exc:
            raise ReleaseError(
                f"{target}: could not move the finished release into place ({exc}); "
                "another build may have created it; releases are immutable"
            ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


# --------------------------------------------------------------------------- the card
# Hub metadata values (https://huggingface.co/docs/hub/datasets-cards). The released spans are
# people's labels (pre-annotations were corrected, then adjudicated); the texts were found.
ANNOTATIONS_CREATORS = ["expert-generated"]
LANGUAGE_CREATORS = ["found"]
SOURCE_DATASETS = ["original"]
TASK_CATEGORIES = ["token-classification"]
TASK_IDS = ["named-entity-recognition"]
CARD_TAGS = ["relation-extraction", "trafficking", "seizures", "label-studio"]
LICENSE_NAME = "news-excerpts-research-use"
LICENSE_FILE = "LICENSE.md"
LICENSE_TEXT = """\
# Licence

The texts in this dataset are excerpts of published news pages and press releases; their
copyright stays with the publishers. They are shared for research on trafficking and
enforcement only. The annotations (spans, relations, events, agreement figures) may be used
for any purpose with attribution to the contraband-corpus project.
"""
# The Hub's size buckets, upper bound (exclusive) -> name.
SIZE_CATEGORIES: tuple[tuple[float, str], ...] = (
    (1e3, "n<1K"),
    (1e4, "1K<n<10K"),
    (1e5, "10K<n<100K"),
    (1e6, "100K<n<1M"),
    (1e7, "1M<n<10M"),
    (1e8, "10M<n<100M"),
    (1e9, "100M<n<1B"),
    (1e10, "1B<n<10B"),
    (1e11, "10B<n<100B"),
    (1e12, "100B<n<1T"),
    (float("inf"), "n>1T"),
)
_MARKDOWN_SPECIALS = re.compile(r"([\\`*\[\]|])")

# What each agreement figure is, for the card (unknown keys are shown as code).
AGREEMENT_MEASURES = {
    "documents": "documents labelled by two or more annotators",
    "tasks": "tasks labelled by two or more annotators",
    "pairs": "annotator pairs compared (per task)",
    "tokens": "tokens in the alpha table",
    "exact_f1": "span F1, exact match",
    "overlap_f1": "span F1, overlapping match",
    "relation_f1": "relation F1",
    "relation_f1_given_spans": "relation F1 given matched spans",
    "alpha": "Krippendorff's alpha (nominal, tokens)",
    "kappa": "Cohen's kappa (tokens, two annotators)",
}
AGREEMENT_TABLES = {
    "labels": "Per entity label (spans counted over every annotator of the compared tasks):",
    "per_annotator": "Per annotator, against each other annotator on the tasks they share:",
}


def size_category(n: int) -> str:
    """The Hub's `size_categories` value for a dataset of `n` examples (any n)."""
    return next(name for bound, name in SIZE_CATEGORIES if n < bound)


def markdown_text(value: Any) -> str:
    """A user-controlled string as inert Markdown: HTML escaped, Markdown syntax backslashed,
    on one line (for headings and table cells)."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def markdown_code_block(text: str, *, language: str = "text") -> str:
    """`text` verbatim in a fenced code block whose fence no backtick run inside can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return "" if v is None else markdown_text(v)

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def agreement_to_markdown(agreement: Mapping[str, Any]) -> str:
    """Agreement figures (AgreementReport.to_dict()) as tables, each with a sentence saying what
    it holds; fields this code does not know are shown under their name, never as raw JSON."""
    if not agreement.get("documents"):
        return (
            "No document was annotated by two or more annotators in this release, so there are "
            "no agreement figures; assign overlapping annotators in Label Studio to measure them."
        )
    measures, blocks = [], []
    for key, value in agreement.items():
        if isinstance(value, bool | int | float | str) or value is None:
            measures.append((AGREEMENT_MEASURES.get(key, key), value))
        elif _is_list_of_scalars(value):
            blocks.append(
                f"{_agreement_sentence(key)} "
                + ", ".join(f"`{markdown_text(v)}`" for v in value)
                + "."
            )
        elif isinstance(value, Mapping) and all(isinstance(v, Mapping) for v in value.values()):
            cols = list(dict.fromkeys(c for v in value.values() for c in v))
            rows = ([k, *(v.get(c) for c in cols)] for k, v in value.items())
            blocks.append(f"{_agreement_sentence(key)}\n\n{_table([key, *cols], rows)}")
        elif isinstance(value, Sequence) and all(isinstance(v, Mapping) for v in value):
            if value:
                cols = list(dict.fromkeys(c for v in value for c in v))
                rows = ([v.get(c) for c in cols] for v in value)
                blocks.append(f"{_agreement_sentence(key)}\n\n{_table(cols, rows)}")
        elif isinstance(value, Mapping):
            blocks.append(
                f"{_agreement_sentence(key)}\n\n{_table(['key', 'value'], value.items())}"
            )
        else:
            blocks.append(f"{_agreement_sentence(key)} `{markdown_text(value)}`")
    intro = (
        f"Agreement between annotators on the {agreement['documents']} documents that two or "
        "more of them labelled (F1 of one annotator's spans against another's, averaged over "
        "pairs; see the project's docs/adjudication.md):"
    )
    return "\n\n".join([intro, _table(["measure", "value"], measures), *blocks])


def _is_list_of_scalars(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(v, bool | int | float | str) for v in value
    )


def _agreement_sentence(key: str) -> str:
    if key == "annotators":
        return "Annotators compared:"
    return AGREEMENT_TABLES.get(key, f"`{markdown_text(key)}`:")


def _data_files(config: str, splits: Sequence[str]) -> list[dict[str, str]]:
    return [{"split": s, "path": f"data/{config}/{s}.parquet"} for s in splits]


def card_metadata(
    *,
    manifest: Mapping[str, Any],
    schema: Schema,
    split_bytes: Mapping[str, int] | None = None,
    event_splits: Sequence[str] = (),
    event_features: datasets.Features | None = None,
) -> DatasetCardData:
    """The card's YAML metadata, built with huggingface_hub's DatasetCardData; `dataset_info`
    (features and split sizes of every config) written by datasets' own DatasetInfosDict."""
    counts = manifest["counts"]
    configs: list[dict[str, Any]] = [
        {
            "config_name": CONFIG_DEFAULT,
            "default": True,
            "data_files": _data_files(CONFIG_DEFAULT, SPLITS),
        },
        {"config_name": CONFIG_ANNOTATIONS, "data_files": _data_files(CONFIG_ANNOTATIONS, SPLITS)},
    ]
    if event_splits:
        configs.append(
            {"config_name": CONFIG_EVENTS, "data_files": _data_files(CONFIG_EVENTS, event_splits)}
        )
    card = DatasetCardData(
        language=["en"],
        license=LICENSE,
        license_name=LICENSE_NAME,
        license_link=LICENSE_FILE,
        annotations_creators=ANNOTATIONS_CREATORS,
        language_creators=LANGUAGE_CREATORS,
        multilinguality=["monolingual"],
        size_categories=[size_category(int(counts["documents"]))],
        source_datasets=SOURCE_DATASETS,
        task_categories=TASK_CATEGORIES,
        task_ids=TASK_IDS,
        pretty_name=f"{schema.name} corpus v{manifest['version']}",
        tags=CARD_TAGS,
        configs=configs,
    )
    _dataset_infos(
        counts=counts,
        schema=schema,
        split_bytes=split_bytes or {},
        event_splits=event_splits,
        event_features=event_features,
    ).to_dataset_card_data(card)
    return card


def _dataset_infos(
    *,
    counts: Mapping[str, Any],
    schema: Schema,
    split_bytes: Mapping[str, int],
    event_splits: Sequence[str],
    event_features: datasets.Features | None,
) -> DatasetInfosDict:
    """Features and split sizes of every config, as datasets describes them."""

    def splits(config: str, names: Sequence[str], examples: Any) -> datasets.SplitDict:
        return datasets.SplitDict(
            {
                name: datasets.SplitInfo(
                    name=name,
                    num_bytes=int(split_bytes.get(f"{config}/{name}", 0)),
                    num_examples=int(examples(name)),
                )
                for name in names
            }
        )

    per_split = counts["splits"]
    infos = {
        CONFIG_DEFAULT: datasets.DatasetInfo(
            features=features(schema),
            splits=splits(CONFIG_DEFAULT, SPLITS, lambda s: per_split[s]["documents"]),
        ),
        CONFIG_ANNOTATIONS: datasets.DatasetInfo(
            features=annotation_features(schema),
            splits=splits(CONFIG_ANNOTATIONS, SPLITS, lambda s: per_split[s]["annotator_rows"]),
        ),
    }
    if event_splits and event_features is not None:
        infos[CONFIG_EVENTS] = datasets.DatasetInfo(
            features=event_features,
            splits=splits(CONFIG_EVENTS, event_splits, lambda s: counts["events"].get(s, 0)),
        )
    return DatasetInfosDict(infos)


def _card_intro(manifest: Mapping[str, Any], schema: Schema) -> list[str]:
    version = manifest["version"]
    return [
        f"# {markdown_text(schema.name)} corpus, v{version}",
        "",
        "News reports of seizures of drugs and wildlife by customs and police, annotated with "
        f"entities and relations of the `{markdown_text(schema.name)}` schema v{schema.version}.",
        "",
        "```python",
        "import datasets",
        f'ds = datasets.load_dataset("releases/v{version}")            # adjudicated documents',
        f'raw = datasets.load_dataset("releases/v{version}", "annotations")  # every annotator',
        "```",
        "",
    ]


def _card_how_made(manifest: Mapping[str, Any], annotators: int | None) -> list[str]:
    if annotators is None:
        who = "labelled in Label Studio"
    elif annotators == 1:
        who = "labelled in Label Studio by one annotator"
    else:
        who = f"labelled in Label Studio by {annotators} annotators"
    parent = manifest.get("parent")
    return [
        "## How it was made",
        "",
        "Pages were scraped, cleaned (offsets kept back to the raw page), deduplicated "
        f"(near-duplicates share a `cluster_id`), pre-annotated and {who}. Where annotators "
        "disagreed one version was chosen per document (`adjudication`: `ground_truth` = a "
        "reviewer's mark, `single`, `agreement` or `majority`); documents still needing review "
        "are left out and listed in `manifest.json`. Annotators appear only as keyed-hash "
        "pseudonyms; no email, name or Label Studio user id is in this release.",
        "",
        f"Splits are deterministic (seed {manifest['seed']}, ratios {manifest['split_ratios']}) "
        "and grouped: documents sharing a duplicate cluster or an identical text are always "
        "in the same split."
        + (f" Documents released in v{parent} keep their split." if parent else ""),
        "",
        "Texts are excerpts of news pages; copyright stays with the publishers (licence `other`, "
        f"see [{LICENSE_FILE}]({LICENSE_FILE}): research use). Span offsets are character offsets "
        "into `text`; relation `head`/`tail` are indices into the row's `spans`.",
        "",
    ]


def _card_labels(schema: Schema) -> list[str]:
    return [
        "## Labels",
        "",
        _table(["label", "description"], ((e.name, e.description) for e in schema.entities)),
        "",
        _table(
            ["relation", "from", "to", "description"],
            ((r.name, "/".join(r.head), "/".join(r.tail), r.description) for r in schema.relations),
        ),
        "",
    ]


def _card_counts(counts: Mapping[str, Any], schema: Schema) -> list[str]:
    splits = counts["splits"]
    return [
        "## Counts",
        "",
        _table(
            ["split", "documents", "spans", "relations", "annotator rows", "events"],
            (
                (
                    s,
                    splits[s]["documents"],
                    splits[s]["spans"],
                    splits[s]["relations"],
                    splits[s]["annotator_rows"],
                    counts["events"].get(s, 0),
                )
                for s in SPLITS
            ),
        ),
        "",
        _table(
            ["label", *SPLITS],
            (
                (name, *(splits[s]["span_labels"][name] for s in SPLITS))
                for name in schema.entity_names
            ),
        ),
        "",
        _table(
            ["relation", *SPLITS],
            (
                (name, *(splits[s]["relation_labels"][name] for s in SPLITS))
                for name in schema.relation_names
            ),
        ),
        "",
        "## Adjudication",
        "",
        _table(["method", "documents"], counts["adjudication"].items()),
        "",
        f"Excluded documents (no adjudicated version): {len(counts['excluded_documents'])}.",
        "",
    ]


def _card_agreement(agreement: Mapping[str, Any] | None) -> list[str]:
    text = (
        agreement_to_markdown(agreement)
        if agreement
        else "No agreement figures were supplied for this release."
    )
    return ["## Agreement", "", text, ""]


def _card_plots(plots: Sequence[str]) -> list[str]:
    if not plots:
        return []
    return ["## Plots", ""] + [
        f"![{markdown_text(Path(p).stem.replace('_', ' '))}]({p})\n" for p in plots
    ]


def _card_changelog(manifest: Mapping[str, Any], changelog: str) -> list[str]:
    parent = manifest.get("parent")
    return [
        "## Changelog",
        "",
        markdown_code_block(changelog.strip()) if changelog.strip() else "(none given)",
        "",
        f"Parent version: {('v' + parent) if parent else 'none'}. "
        f"Source export sha256: `{manifest.get('source_export_sha256') or 'not recorded'}`. "
        f"Created {manifest['created_at']}.",
        "",
    ]


def render_card(
    *,
    manifest: Mapping[str, Any],
    schema: Schema,
    split_bytes: Mapping[str, int] | None = None,
    agreement: Mapping | None,
    plots: Sequence[str],
    event_splits: Sequence[str],
    changelog: str,
    event_features: datasets.Features | None = None,
    annotators: int | None = None,
) -> str:
    """The README.md dataset card: metadata (`card_metadata`) then prose, section by section.

    Every string a user controls (schema name, label descriptions, agreement keys) is escaped;
    the changelog is shown verbatim as code. `annotators`: how many distinct annotators the
    release holds (the prose says "one annotator" or "N annotators").
    """
    metadata = card_metadata(
        manifest=manifest,
        schema=schema,
        split_bytes=split_bytes,
        event_splits=event_splits,
        event_features=event_features,
    )
    body = [
        *_card_intro(manifest, schema),
        *_card_how_made(manifest, annotators),
        *_card_labels(schema),
        *_card_counts(manifest["counts"], schema),
        *_card_agreement(agreement),
        *_card_plots(plots),
        *_card_changelog(manifest, changelog),
    ]
    return "\n".join(["---", metadata.to_yaml(), "---", "", *body])


# --------------------------------------------------------------------------- reading & checks
def _release_dir(path: Path) -> Path:
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise ReleaseError(f"{path}: not a release (no {MANIFEST}); build one with build_release")
    return path


def read_manifest(release_dir: Path) -> dict[str, Any]:
    """The release's manifest.json as a dict."""
    return json.loads((_release_dir(release_dir) / MANIFEST).read_text(encoding="utf-8"))


def read_documents(release_dir: Path, config: str = CONFIG_DEFAULT) -> pd.DataFrame:
    """All rows of one config with a `split` column; span/relation labels decoded to names."""
    release_dir = _release_dir(release_dir)
    schema = read_manifest(release_dir)["schema"]
    ents, rels = schema["entity_labels"], schema["relation_labels"]
    frames = []
    for split in SPLITS:
        file = release_dir / "data" / config / f"{split}.parquet"
        if file.is_file():
            frames.append(pd.read_parquet(file).assign(split=split))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if config in (CONFIG_DEFAULT, CONFIG_ANNOTATIONS) and len(df):
        df["spans"] = [[{**s, "label": ents[s["label"]]} for s in spans] for spans in df["spans"]]
        df["relations"] = [[{**r, "label": rels[r["label"]]} for r in rs] for rs in df["relations"]]
    return df


def load_release(
    release_dir: Path, config: str = CONFIG_DEFAULT, *, cache_dir: Path | None = None
) -> datasets.DatasetDict:
    """The release as a DatasetDict, loaded by `datasets.load_dataset(path, config)` as users do."""
    release_dir = _release_dir(release_dir)
    return datasets.load_dataset(
        str(release_dir), config, cache_dir=str(cache_dir) if cache_dir else None
    )


def check_leakage(release_dir: Path) -> list[str]:
    """Problems showing a document group in two splits: a cluster id, an identical text or a doc id
    seen in more than one split of the default config, or an annotations row whose document sits in
    another split. An empty list proves the split is clean."""
    docs = read_documents(release_dir)
    problems = []
    for column, key in (
        ("cluster_id", lambda r: r["cluster_id"]),
        ("text", lambda r: _text_key(r["text"])),
        ("id", lambda r: r["id"]),
    ):
        seen: dict[str, set[str]] = defaultdict(set)
        ids: dict[str, set[str]] = defaultdict(set)
        for row in docs.to_dict("records"):
            seen[key(row)].add(row["split"])
            ids[key(row)].add(row["id"])
        for value, splits in sorted(seen.items()):
            if len(splits) > 1:
                shown = value[:60] if column != "text" else f"sha256 {value[:12]}"
                problems.append(
                    f"{column} {shown!r} appears in {', '.join(sorted(splits, key=SPLITS.index))} "
                    f"(documents {', '.join(sorted(ids[value]))})"
                )
    doc_split = dict(zip(docs["id"], docs["split"], strict=True)) if len(docs) else {}
    anns = read_documents(release_dir, CONFIG_ANNOTATIONS)
    for row in anns.to_dict("records") if len(anns) else []:
        if row["id"] in doc_split and doc_split[row["id"]] != row["split"]:
            problems.append(
                f"annotations row {row['id']}/{row['annotator']} is in {row['split']} but the "
                f"document is in {doc_split[row['id']]}"
            )
    return problems


def verify_release(release_dir: Path, *, ignore_secrets: bool = False) -> list[str]:
    """Files whose sha256 differs from the manifest, and files missing from or unknown to it.

    ignore_secrets: do not report unlisted files that are never published (see HUB_EXCLUDE).
    """
    release_dir = _release_dir(release_dir)
    listed = read_manifest(release_dir).get("files", {})
    present = {
        p.relative_to(release_dir).as_posix()
        for p in release_dir.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }
    if ignore_secrets:
        present = {name for name in present if name in listed or not _hub_excluded(name)}
    problems = [
        f"{name}: listed in {MANIFEST} but missing" for name in sorted(set(listed) - present)
    ]
    problems += [f"{name}: not listed in {MANIFEST}" for name in sorted(present - set(listed))]
    problems += [
        f"{name}: sha256 {_sha256(release_dir / name)[:12]}... differs from {MANIFEST} "
        f"({listed[name][:12]}...)"
        for name in sorted(present & set(listed))
        if _sha256(release_dir / name) != listed[name]
    ]
    return problems


def scan_release_for_identities(release_dir: Path, forbidden: Iterable[str]) -> list[str]:
    """Where any of the `forbidden` strings (emails, names, user ids; case-insensitive) occurs in
    the release: every text file, and every value of every parquet file (decoded, so compression
    cannot hide it). Images are not scanned; they are drawn from the same released values."""
    needles = [f.lower() for f in forbidden if str(f)]
    hits: list[str] = []
    for path in sorted(Path(release_dir).rglob("*")):
        if not path.is_file() or path.suffix == ".png":
            continue
        if path.suffix == ".parquet":
            haystack = json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False)
        else:
            haystack = path.read_bytes().decode("utf-8", errors="replace")
        haystack = haystack.lower()
        rel = path.relative_to(release_dir).as_posix()
        hits += [f"{rel}: contains {needle!r}" for needle in needles if needle in haystack]
    return hits


# --------------------------------------------------------------------------- diff
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
            f"- rows added: {len(self.added)}"
            + (f" ({', '.join(self.added)})" if self.added else ""),
            f"- rows removed: {len(self.removed)}"
            + (f" ({', '.join(self.removed)})" if self.removed else ""),
            f"- rows changed: {len(self.changed)}",
            "",
        ]
        for key, change in self.changed.items():
            lines += [f"### {key}", *change.to_markdown_lines(), ""]
        return lines


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
            f"- documents added: {len(self.added)}"
            + (f" ({', '.join(self.added)})" if self.added else ""),
            f"- documents removed: {len(self.removed)}"
            + (f" ({', '.join(self.removed)})" if self.removed else ""),
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
def _hub_excluded(rel: str) -> bool:
    from fnmatch import fnmatch

    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch(name, pat) or fnmatch(rel, pat) for pat in HUB_EXCLUDE) or any(
        part.startswith(".") for part in rel.split("/")
    )


def hub_publish_plan(release_dir: Path, *, repo_id: str) -> dict[str, Any]:
    """Exactly what `push_to_hub` would publish: repo, tag 'v'+version, files with sha256.

    Secrets (.env, keys), hidden files and raw Label Studio exports are never in the plan, even if
    someone copied them into the release folder; they are listed under `excluded`. Refuses a release
    whose files no longer match its manifest.
    """
    release_dir = _release_dir(release_dir)
    if problems := verify_release(release_dir, ignore_secrets=True):
        raise ReleaseError(
            f"{release_dir}: will not publish a release that differs from its manifest: "
            + "; ".join(problems)
        )
    version = read_manifest(release_dir)["version"]
    files, excluded = [], []
    for path in sorted(release_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(release_dir).as_posix()
        if _hub_excluded(rel):
            excluded.append(rel)
        else:
            files.append({"path": rel, "sha256": _sha256(path), "size": path.stat().st_size})
    return {
        "repo_id": repo_id,
        "repo_type": "dataset",
        "revision": f"v{version}",
        "tag": f"v{version}",
        "commit_message": f"Release v{version}",
        "files": files,
        "excluded": excluded,
    }


def push_to_hub(release_dir: Path, *, repo_id: str, token: str) -> str:
    """Upload a release to a Hugging Face dataset repo and tag the commit 'v'+version.

    Steps (huggingface_hub.HfApi): create_repo(repo_id, repo_type="dataset", exist_ok=True);
    upload_folder(...) with allow_patterns = exactly the files of `hub_publish_plan` (so secrets and
    raw exports cannot slip in); create_tag(tag="v"+version, revision=<that commit>). Returns the
    URL of the tagged revision. Untested here: the Hub is unreachable from CI, so tests check
    `hub_publish_plan` (the folder and tag it would publish). Re-pushing an existing tag fails on
    the Hub side, which keeps published versions immutable too.
    """
    from huggingface_hub import HfApi

    plan = hub_publish_plan(release_dir, repo_id=repo_id)
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(release_dir),
        repo_id=repo_id,
        repo_type="dataset",
        allow_patterns=[f["path"] for f in plan["files"]],
        commit_message=plan["commit_message"],
    )
    api.create_tag(
        repo_id,
        tag=plan["tag"],
        revision=commit.oid,
        repo_type="dataset",
        tag_message=plan["commit_message"],
    )
    return f"https://huggingface.co/datasets/{repo_id}/tree/{plan['tag']}"
