"""Measure near-duplicate decisions on the real pages of ../shared/eval (read at run time,
never copied into the repository).

    .venv/bin/python scripts/bench_dedup_quality.py [--eval DIR] [--config PATH]

DIR defaults to $CONTRABAND_EVAL_DIR, else ../shared/eval beside the checkout.

Domain set (domain/: 40 customs and police news pages, 8 groups of pages that report the same
story): same-story pairs merged and distinct pages merged, on three texts of every page:
- `raw`: the page as scraped (every menu, related list and share bar still in);
- `curate`: the clean text `contraband curate` gives today (run in-process here);
- `ideal`: only the lines labelled content (what a perfect boilerplate remover would keep).
For each same-story pair it prints the measured Jaccard and containment of the content
shingles (the sets dedup decides on) beside whether the pair was merged.

Trafilatura dev set (trafilatura-dev.jsonl.gz: 640 real pages of ~600 sites, whole-page dumps
full of menus): pages merged on the raw dumps and on curate's clean text. Two dumps of one page
(two converters) are the only true duplicates there; every other merge is a false one.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# ../shared/eval beside the checkout; CONTRABAND_EVAL_DIR points elsewhere (e.g. a worktree)
EVAL_DIR = Path(os.environ.get("CONTRABAND_EVAL_DIR") or ROOT.parent / "shared" / "eval")

from corpus.curate import curate  # noqa: E402
from corpus.dedup import (  # noqa: E402
    DedupConfig,
    containment,
    content_shingle_sets,
    find_duplicates,
    jaccard,
    load_dedup_config,
)


@dataclass(frozen=True)
class PairScore:
    """Same-story pairs in one cluster (`found`) and merged as duplicates, distinct pairs
    put in one cluster or merged, and the same-story pairs' measured values."""

    found: int
    found_duplicates: int
    wanted: int
    false_merges: list[tuple[str, str]]
    false_duplicates: list[tuple[str, str]]
    rows: list[tuple[str, str, float, float, bool]]


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSONL file (gzip when the name ends in .gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def curated_texts(pages: dict[str, str], urls: dict[str, str], work: Path) -> dict[str, str]:
    """Clean text of each page as `contraband curate` makes it (keyed like `pages`)."""
    work.mkdir(parents=True, exist_ok=True)
    source = work / "pages.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for key, text in pages.items():
            row = {"url": urls[key], "text": text, "bench_key": key}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    curate([source], out_dir=work / "corpus", progress=False)
    frame = pd.concat(pd.read_parquet(p) for p in sorted((work / "corpus").glob("*.parquet")))
    return {
        json.loads(meta)["bench_key"]: clean or ""
        for meta, clean in zip(frame["metadata"], frame["clean_text"], strict=True)
    }


def merged_pairs(
    texts: dict[str, str], config: DedupConfig, *, level: str = "cluster_keeper"
) -> set[tuple[str, str]]:
    """Pairs of keys that `find_duplicates` puts in one cluster (`level` "cluster_keeper":
    same cluster_id, duplicates and same-story links; "keeper": duplicates only)."""
    keys = list(texts)
    rows = find_duplicates([texts[k] for k in keys], config=config).rows
    members: dict[int, list[str]] = defaultdict(list)
    for key, component in zip(keys, rows[level].tolist(), strict=True):
        members[component].append(key)
    return {
        tuple(sorted(pair))  # type: ignore[misc]
        for group in members.values()
        for pair in itertools.combinations(group, 2)
    }


def score_pairs(
    texts: dict[str, str], wanted: set[tuple[str, str]], config: DedupConfig
) -> PairScore:
    """Same-story pairs in one cluster (of `wanted`), false merges, and each wanted pair's
    values (Jaccard, containment, merged as duplicates)."""
    merged = merged_pairs(texts, config)
    duplicates = merged_pairs(texts, config, level="keeper")
    keys = sorted({k for pair in wanted for k in pair})
    sets = dict(
        zip(keys, content_shingle_sets([texts[k] for k in keys], config=config), strict=True)
    )
    rows = [
        (a, b, jaccard(sets[a], sets[b]), containment(sets[a], sets[b]), (a, b) in duplicates)
        for a, b in sorted(wanted)
    ]
    return PairScore(
        len(merged & wanted),
        len(duplicates & wanted),
        len(wanted),
        sorted(merged - wanted),
        sorted(duplicates - wanted),
        rows,
    )


def domain(eval_dir: Path, config: DedupConfig, work: Path) -> None:
    """Same-story pairs on the domain set with raw, curated and ideal text."""
    pages = {p["id"]: p for p in read_jsonl(eval_dir / "domain" / "pages.jsonl")}
    labels = {p["id"]: p["lines"] for p in read_jsonl(eval_dir / "domain" / "lines.jsonl")}
    groups: dict[str, list[str]] = defaultdict(list)
    for pid, page in pages.items():
        if page.get("dup_group"):
            groups[page["dup_group"]].append(pid)
    wanted = {
        tuple(sorted(pair))
        for group in groups.values()
        for pair in itertools.combinations(group, 2)
    }
    raw = {pid: page["text"] for pid, page in pages.items()}
    ideal = {
        pid: "\n".join(line["text"] for line in labels[pid] if line["label"] == "CONTENT")
        for pid in pages
    }
    variants = {
        "raw": raw,
        "curate": curated_texts(raw, {pid: p["url"] for pid, p in pages.items()}, work / "domain"),
        "ideal": ideal,
    }
    scores = {name: score_pairs(texts, wanted, config) for name, texts in variants.items()}  # type: ignore[arg-type]
    print("domain set: same-story pairs in one cluster (cluster_id) / merged as duplicates")
    for name, score in scores.items():
        print(
            f"  {name:7s} {score.found}/{score.wanted} same-story pairs in one cluster, "
            f"{score.found_duplicates} merged as duplicates; distinct pairs in one cluster "
            f"{len(score.false_merges)} {score.false_merges or ''}, merged as duplicates "
            f"{len(score.false_duplicates)} {score.false_duplicates or ''}"
        )
    print("  pair        " + "".join(f"{name:>22s}" for name in scores))
    for i, (a, b, *_) in enumerate(scores["raw"].rows):
        cells = "".join(
            f"  J {s.rows[i][2]:.2f} C {s.rows[i][3]:.2f} {'merged' if s.rows[i][4] else '-':>6s}"
            for s in scores.values()
        )
        print(f"  {a} {b} {cells}")


def trafilatura(eval_dir: Path, config: DedupConfig, work: Path) -> None:
    """Merges among the trafilatura dev pages, raw dumps and curated text."""
    records = read_jsonl(eval_dir / "trafilatura-dev.jsonl.gz")
    raw = {r["eval_id"]: r["text"] for r in records}
    print("trafilatura dev set (640 pages, every merge listed):")
    urls = {r["eval_id"]: r["url"] for r in records}
    curated = curated_texts(raw, urls, work / "trafilatura")
    for name, texts in (("raw", raw), ("curate", curated)):
        merged = sorted(merged_pairs(texts, config))
        duplicates = sorted(merged_pairs(texts, config, level="keeper"))
        print(
            f"  {name:7s} {len(duplicates)} pairs merged as duplicates {duplicates}; "
            f"{len(merged)} pairs in one cluster {merged}"
        )


def main(argv: list[str] | None = None) -> int:
    """Print the figures; exit status 0 (it measures, it does not judge)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", type=Path, default=EVAL_DIR)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--skip-trafilatura", action="store_true")
    args = parser.parse_args(argv)
    if not (args.eval / "domain" / "pages.jsonl").exists():
        print(f"no evaluation data at {args.eval}", file=sys.stderr)
        return 2
    config = load_dedup_config(args.config)
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        domain(args.eval, config, Path(tmp))
        if not args.skip_trafilatura:
            trafilatura(args.eval, config, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
