"""`build_release`: write `releases/vX.Y.Z/` from adjudicated tasks, as a list of named steps."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import datasets
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.errors import ReleaseError

from ..events import to_csv_frame
from ..records import AnnotatedTask
from ..schema import Schema
from .card import LICENSE_FILE, LICENSE_TEXT, render_card
from .layout import (
    CARD,
    CONFIG_ANNOTATIONS,
    CONFIG_DEFAULT,
    CONFIG_EVENTS,
    EVENT_DOC_COLUMNS,
    MANIFEST,
    SPLITS,
    file_sha256,
)
from .rows import DocumentRows, annotation_features, documents_from_tasks, features
from .splits import assign_splits
from .versions import next_version, normalise_version


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
    path = Path(releases_dir) / f"v{normalise_version(parent)}"
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


def _new_release_dir(releases_dir: Path, version: str) -> Path:
    """`releases_dir/v<version>`; refuses one that exists (releases are immutable)."""
    target = releases_dir / f"v{version}"
    if target.exists():
        raise ReleaseError(
            f"{target}: release v{version} already exists and releases are immutable; "
            f"build v{next_version(releases_dir)} (or another new version) instead"
        )
    return target


def _released_rows(tasks: Sequence[AnnotatedTask], *, schema: Schema, version: str) -> DocumentRows:
    """The rows of the release; refuses a release without any adjudicated document."""
    rows = documents_from_tasks(tasks, schema=schema)
    if not rows.documents:
        raise ReleaseError(
            f"release v{version}: no document has an adjudicated annotation "
            f"({len(rows.excluded)} excluded, e.g. {rows.excluded[:3]}); "
            "adjudicate before releasing"
        )
    return rows


def _split_documents(
    rows: DocumentRows,
    *,
    releases_dir: Path,
    parent: str | None,
    seed: int,
    split_ratios: tuple[float, float, float],
    min_docs_per_split: int,
) -> dict[str, str]:
    """Split of every document id of both configs; the parent's documents keep their split."""
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
    return split_of


def _write_document_splits(
    out: Path, rows: DocumentRows, split_of: Mapping[str, str], schema: Schema
) -> None:
    """data/default/<split>.parquet and data/annotations/<split>.parquet."""
    feats, ann_feats = features(schema), annotation_features(schema)
    for split in SPLITS:
        _write_parquet(
            [d for d in rows.documents if split_of[d["id"]] == split],
            feats,
            out / "data" / CONFIG_DEFAULT / f"{split}.parquet",
        )
        _write_parquet(
            [a for a in rows.annotations if split_of[a["id"]] == split],
            ann_feats,
            out / "data" / CONFIG_ANNOTATIONS / f"{split}.parquet",
        )


@dataclass(frozen=True)
class ReleasedEvents:
    """The events written with a release: the table (only events of released documents), rows
    per split, their `Features`, and how many were left out because their document was not."""

    table: pd.DataFrame | None = None
    counts: dict[str, int] = field(default_factory=dict)
    features: datasets.Features | None = None
    excluded: int = 0


def _write_events(
    out: Path, events: pd.DataFrame | None, *, rows: DocumentRows, split_of: Mapping[str, str]
) -> ReleasedEvents:
    """events.csv and data/events/<split>.parquet: each event in its document's split."""
    if events is None:
        return ReleasedEvents()
    released = {d["id"]: split_of[d["id"]] for d in rows.documents}
    excluded = 0
    if len(events):
        event_split = events[_event_doc_column(events)].astype(str).map(released)
        excluded = int(event_split.isna().sum())  # their document needs review
        events = events[event_split.notna()].reset_index(drop=True)
        event_split = event_split[event_split.notna()].reset_index(drop=True)
    to_csv_frame(events).to_csv(out / "events.csv", index=False)
    # one Arrow schema for all splits: a column empty in one split keeps its type.
    # An event is in its document's split; an empty split gets no file (the
    # datasets library cannot read a parquet file without rows).
    table = pa.Table.from_pandas(events, preserve_index=False)
    counts: dict[str, int] = {}
    for split in SPLITS:
        mask = (event_split == split).tolist() if len(events) else []
        if any(mask):
            counts[split] = sum(mask)
            (out / "data" / CONFIG_EVENTS).mkdir(parents=True, exist_ok=True)
            pq.write_table(table.filter(mask), out / "data" / CONFIG_EVENTS / f"{split}.parquet")
    return ReleasedEvents(
        table=events,
        counts=counts,
        features=datasets.Features.from_arrow_schema(table.schema),
        excluded=excluded,
    )


def _write_release_plots(
    out: Path,
    rows: DocumentRows,
    split_of: Mapping[str, str],
    *,
    agreement: Mapping | None,
    events: pd.DataFrame | None,
) -> list[Path]:
    """plots/*.png of the card (documents and spans per split, agreement, seizures)."""
    from .plots import write_plots  # local: matplotlib is only needed when building

    return write_plots(
        out,
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


def _manifest(
    *,
    version: str,
    schema: Schema,
    rows: DocumentRows,
    split_of: Mapping[str, str],
    events: ReleasedEvents,
    source_export_sha256: str | None,
    fingerprint: str | None,
    parent: str | None,
    seed: int,
    split_ratios: tuple[float, float, float],
) -> dict[str, Any]:
    """manifest.json without the file hashes (`_write_manifest` adds them last)."""
    adjudication = Counter(d["adjudication"] for d in rows.documents)
    return {
        "version": version,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "schema": {
            "name": schema.name,
            "version": schema.version,
            "entity_labels": schema.entity_names,
            "relation_labels": schema.relation_names,
        },
        "source_export_sha256": source_export_sha256,
        "annotations_fingerprint": fingerprint,
        "parent": normalise_version(parent) if parent else None,
        "seed": seed,
        "split_ratios": list(split_ratios),
        "counts": {
            "documents": len(rows.documents),
            "splits": _counts(rows.documents, rows.annotations, split_of, schema),
            "events": events.counts,
            "events_without_released_document": events.excluded,
            "adjudication": dict(sorted(adjudication.items())),
            "excluded_documents": rows.excluded,
            "skipped_annotations": dict(sorted(rows.skipped_annotations.items())),
        },
    }


def _write_card(
    out: Path,
    manifest: Mapping[str, Any],
    *,
    rows: DocumentRows,
    schema: Schema,
    agreement: Mapping | None,
    plots: Sequence[Path],
    events: ReleasedEvents,
    changelog: str,
) -> None:
    """README.md (the dataset card) and LICENSE.md."""
    card = render_card(
        manifest=manifest,
        split_bytes={
            f"{f.parent.name}/{f.stem}": f.stat().st_size for f in (out / "data").rglob("*.parquet")
        },
        schema=schema,
        agreement=agreement,
        plots=[p.relative_to(out).as_posix() for p in plots],
        event_splits=[s for s in SPLITS if events.counts.get(s)],
        changelog=changelog,
        event_features=events.features,
        annotators=len({a["annotator"] for a in rows.annotations}),
    )
    (out / CARD).write_text(card, encoding="utf-8")
    (out / LICENSE_FILE).write_text(LICENSE_TEXT, encoding="utf-8")


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """manifest.json with the sha256 of every file written before it."""
    manifest["files"] = {
        p.relative_to(out).as_posix(): file_sha256(p) for p in sorted(out.rglob("*")) if p.is_file()
    }
    (out / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _move_into_place(tmp: Path, target: Path) -> None:
    """Rename the finished temporary directory to its version (atomic on one file system)."""
    os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
    try:
        tmp.rename(target)
    except OSError as exc:
        raise ReleaseError(
            f"{target}: could not move the finished release into place ({exc}); "
            "another build may have created it; releases are immutable"
        ) from None


def build_release(tasks: Sequence[AnnotatedTask], *, releases_dir: Path, **options: Any) -> Path:
    """Write releases/v<version>/ from adjudicated tasks and return its path.

    Refuses (ReleaseError) when that directory exists: a release is immutable; bump the
    version instead (`next_version`). `fingerprint` (optional) identifies the annotations the
    release was built from; it is stored as manifest["annotations_fingerprint"] so a caller can
    see that nothing changed since the latest release. Everything is written into a temporary
    sibling directory first and renamed into place, so a failed build leaves nothing behind;
    one build per releases directory at a time (a lock file there), and the temporary
    directories of a build that was killed outright are removed by the next one.
    Options: version, schema (required), source_export_sha256, agreement, events, parent, seed,
    split_ratios, changelog, min_docs_per_split, fingerprint.
    """
    from ..locks import directory_lock_path, writer_lock

    releases_dir = Path(releases_dir)
    with writer_lock(
        directory_lock_path("release", releases_dir),
        what=f"release build in {releases_dir}",
        wait=600,
    ):
        remove_interrupted_builds(releases_dir)
        return _build_release_unlocked(tasks, releases_dir=releases_dir, **options)


def remove_interrupted_builds(releases_dir: Path) -> list[Path]:
    """Delete the `.tmp-v*` directories a killed build left (call with the release lock held)."""
    removed = []
    for tmp in sorted(Path(releases_dir).glob(".tmp-v*")):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def _build_release_unlocked(
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
    """`build_release` with the lock of `releases_dir` held.

    Refuses (ReleaseError) when that directory exists: a release is immutable; bump the
    version instead (`next_version`). `fingerprint` (optional) identifies the annotations the
    release was built from; it is stored as manifest["annotations_fingerprint"] so a caller can
    see that nothing changed since the latest release. Everything is written into a temporary
    sibling directory first and renamed into place, so a failed build leaves nothing behind.
    """
    version = normalise_version(version)
    releases_dir = Path(releases_dir)
    target = _new_release_dir(releases_dir, version)
    rows = _released_rows(tasks, schema=schema, version=version)
    split_of = _split_documents(
        rows,
        releases_dir=releases_dir,
        parent=parent,
        seed=seed,
        split_ratios=split_ratios,
        min_docs_per_split=min_docs_per_split,
    )
    releases_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-v{version}-", dir=releases_dir))
    try:
        _write_document_splits(tmp, rows, split_of, schema)
        released_events = _write_events(tmp, events, rows=rows, split_of=split_of)
        if agreement is not None:
            (tmp / "agreement.json").write_text(json.dumps(agreement, indent=2, default=str) + "\n")
        plots = _write_release_plots(
            tmp, rows, split_of, agreement=agreement, events=released_events.table
        )
        manifest = _manifest(
            version=version,
            schema=schema,
            rows=rows,
            split_of=split_of,
            events=released_events,
            source_export_sha256=source_export_sha256,
            fingerprint=fingerprint,
            parent=parent,
            seed=seed,
            split_ratios=split_ratios,
        )
        _write_card(
            tmp,
            manifest,
            rows=rows,
            schema=schema,
            agreement=agreement,
            plots=plots,
            events=released_events,
            changelog=changelog,
        )
        _write_manifest(tmp, manifest)
        _move_into_place(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target
