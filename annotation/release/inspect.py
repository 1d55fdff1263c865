"""Read a written release back and check it: manifest, documents, `datasets` loading, file
hashes, split leakage and annotator identities."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import datasets
import pandas as pd
import pyarrow.parquet as pq

from corpus.errors import ReleaseError

from .layout import CONFIG_ANNOTATIONS, CONFIG_DEFAULT, MANIFEST, SPLITS, file_sha256, hub_excluded
from .splits import text_key


def checked_release_dir(path: Path) -> Path:
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise ReleaseError(f"{path}: not a release (no {MANIFEST}); build one with build_release")
    return path


def read_manifest(release_dir: Path) -> dict[str, Any]:
    """The release's manifest.json as a dict."""
    return json.loads((checked_release_dir(release_dir) / MANIFEST).read_text(encoding="utf-8"))


def read_documents(release_dir: Path, config: str = CONFIG_DEFAULT) -> pd.DataFrame:
    """All rows of one config with a `split` column; span/relation labels decoded to names."""
    release_dir = checked_release_dir(release_dir)
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
    release_dir = checked_release_dir(release_dir)
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
        ("text", lambda r: text_key(r["text"])),
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
    release_dir = checked_release_dir(release_dir)
    listed = read_manifest(release_dir).get("files", {})
    present = {
        p.relative_to(release_dir).as_posix()
        for p in release_dir.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }
    if ignore_secrets:
        present = {name for name in present if name in listed or not hub_excluded(name)}
    problems = [
        f"{name}: listed in {MANIFEST} but missing" for name in sorted(set(listed) - present)
    ]
    problems += [f"{name}: not listed in {MANIFEST}" for name in sorted(present - set(listed))]
    problems += [
        f"{name}: sha256 {file_sha256(release_dir / name)[:12]}... differs from {MANIFEST} "
        f"({listed[name][:12]}...)"
        for name in sorted(present & set(listed))
        if file_sha256(release_dir / name) != listed[name]
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
