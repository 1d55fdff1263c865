#!/usr/bin/env python3
"""Pre-annotation quality: the domain dev set split into a tuned and a held-out part, and the seeds.

The domain set (../shared/eval/domain/, never copied into this repository) holds real pages about
seizures from many sites with hand-made gold. Its pages are split once and for all by site:
pages that share a host or a `dup_group` (syndicated copies of one story) form one group, and a
group is held out when the first byte of sha1(its sorted hosts joined by " ") is odd. Rules are
tuned on the other part only; `--errors` prints the misses and false hits of the tuned part and
refuses to print anything about held-out pages.

The pages are cleaned with `contraband curate` (as ../shared/eval/score_domain.py does), then
pre-annotated in-process. Scoring follows score_domain.py: per page, sets of (label, text) and
(label, head text, tail text), text lower-cased with non-alphanumerics removed, over the gold
items whose text survives cleaning. The seed figures are exact-offset micro F1 against
seeds/gold/ (spans over the entity labels, relations over the relation labels).

Usage: PYTHONPATH=. .venv/bin/python scripts/bench_preannotate.py [--model PATH] [--errors]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ../shared/eval/domain beside the repository (or beside a parent folder, for a git worktree)
DEFAULT_EVAL = next(
    (d / "shared" / "eval" / "domain" for d in ROOT.parents if (d / "shared" / "eval").is_dir()),
    ROOT.parent / "shared" / "eval" / "domain",
)
LABELS = ["AGENCY", "OPERATION", "SEIZURE", "DRUG", "WILDLIFE", "QUANTITY", "LOCATION", "DATE"]
RELATIONS = [
    "SEIZED_BY",
    "SEIZED_ITEM",
    "QUANTITY_OF",
    "SEIZED_AT",
    "SEIZED_ON",
    "PART_OF",
    "PARTICIPATES_IN",
    "COOPERATES_WITH",
]
PARTS = ("held-out", "tuned")
Counts = collections.Counter


def squash(text: str | None) -> str:
    """Lower-case and drop every non-alphanumeric character (the scorer's text key)."""
    return re.sub(r"[^a-z0-9]+", "", (text or "").lower())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def host_of(url: str) -> str:
    """The host of a URL without a leading www."""
    host = url.split("/")[2] if "//" in url else url
    return host.lower().removeprefix("www.")


def split_pages(pages: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Page id -> "held-out" or "tuned"; pages sharing a host or dup_group stay together."""
    pages = list(pages)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for page in pages:
        keys = ["host:" + host_of(page["url"])]
        if page.get("dup_group"):
            keys.append("group:" + page["dup_group"])
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
    hosts: dict[str, set[str]] = collections.defaultdict(set)
    for page in pages:
        hosts[find("host:" + host_of(page["url"]))].add(host_of(page["url"]))
    part_of_group = {
        root: PARTS[0] if hashlib.sha1(" ".join(sorted(h)).encode()).digest()[0] % 2 else PARTS[1]
        for root, h in hosts.items()
    }
    return {page["id"]: part_of_group[find("host:" + host_of(page["url"]))] for page in pages}


def curate_pages(pages: list[dict[str, Any]], workdir: Path) -> dict[str, str]:
    """Page id -> clean text, through the `contraband curate` command (as the scorer does)."""
    raw = workdir / "pages.jsonl"
    with raw.open("w", encoding="utf-8") as fh:
        for p in pages:
            row = {"url": p["url"], "text": p["text"], "domain_id": p["id"]}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    corpus = workdir / "corpus"
    cli = Path(sys.executable).with_name("contraband")
    command = [str(cli), "curate", str(raw), "--out", str(corpus), "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        sys.exit(f"contraband curate failed:\n{(done.stdout + done.stderr)[-2000:]}")
    import pandas as pd

    frames = [pd.read_parquet(f) for f in sorted(corpus.glob("*.parquet"))]
    out: dict[str, str] = {}
    for _, row in pd.concat(frames).iterrows():
        meta = row["metadata"]
        meta = json.loads(meta) if isinstance(meta, str) else dict(meta or {})
        if "domain_id" in meta:
            out[meta["domain_id"]] = row["clean_text"]
    return out


def score_page(
    gold: dict[str, Any], clean: str, annotation: Any
) -> tuple[Counts[tuple[str, str]], list[tuple[str, str, str]]]:
    """Counts keyed (label, tp/fp/fn) for one page, and its error list (kind, label, text)."""
    counts: Counts[tuple[str, str]] = collections.Counter()
    errors: list[tuple[str, str, str]] = []
    squashed = squash(clean)
    ents = [(e["label"], squash(e["text"])) for e in gold["entities"]]
    raw_text = {(e["label"], squash(e["text"])): e["text"] for e in gold["entities"]}
    want = {e for e in ents if e[0] in LABELS and e[1] in squashed}
    keys = [squash(s.text) for s in annotation.spans]
    got = {(s.label, k) for s, k in zip(annotation.spans, keys, strict=True) if s.label in LABELS}
    pred_text = {(s.label, squash(s.text)): s.text for s in annotation.spans}
    for label, key in want | got:
        kind = "tp" if (label, key) in want and (label, key) in got else "fp"
        if (label, key) not in got:
            kind = "fn"
        counts[label, kind] += 1
        if kind != "tp":
            errors.append((kind, label, (pred_text | raw_text).get((label, key), key)))
    index = {s.id: k for s, k in zip(annotation.spans, keys, strict=True)}
    want_rel = {
        (r["label"], ents[r["head"]][1], ents[r["tail"]][1])
        for r in gold["relations"]
        if ents[r["head"]][1] in squashed and ents[r["tail"]][1] in squashed
    }
    got_rel = {(r.label, index[r.head], index[r.tail]) for r in annotation.relations}
    for rel in want_rel | got_rel:
        kind = "tp" if rel in want_rel and rel in got_rel else "fp" if rel in got_rel else "fn"
        counts["REL:" + rel[0], kind] += 1
        if kind != "tp":
            errors.append((kind, rel[0], f"{rel[1]} -> {rel[2]}"))
    return counts, errors


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 (0 when undefined)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def total(counts: Counts[tuple[str, str]], labels: Iterable[str]) -> tuple[int, int, int]:
    """Summed tp, fp, fn over labels."""
    labels = list(labels)
    return tuple(sum(counts[lab, k] for lab in labels) for k in ("tp", "fp", "fn"))  # type: ignore[return-value]


def seed_counts(preannotator: Any) -> Counts[tuple[str, str]]:
    """Exact-offset counts against seeds/gold/, keyed (label, tp/fp/fn); relations as REL:x."""
    sys.path.insert(0, str(ROOT))
    from annotation.gold import load_gold_dir, score_against_gold
    from annotation.schema import load_schema
    from corpus import clean
    from corpus.records import Document, stable_id

    docs = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        docs.append(
            Document(id=stable_id(str(path), raw), source=str(path), raw_text=raw, site="seeds")
        )
    docs = clean.clean_documents(docs, config=clean.load_clean_config())
    gold = load_gold_dir(ROOT / "seeds" / "gold", docs, schema=load_schema())
    counts: Counts[tuple[str, str]] = collections.Counter()
    for doc, predicted in zip(
        docs, preannotator.predict([d.clean_text for d in docs]), strict=True
    ):
        for label, c in score_against_gold(predicted, gold[doc.id]).items():
            key = label if label in LABELS else "REL:" + label
            for kind, n in c.items():
                counts[key, kind] += n
    return counts


def print_table(parts: dict[str, Counts[tuple[str, str]]]) -> None:
    """Per label: P/R/F1 and gold support of every part side by side, then the micro totals."""
    names = list(parts)
    print(f"{'label':16s}" + "".join(f"{n:>28s}" for n in names))
    rows = LABELS + ["REL:" + r for r in RELATIONS]
    for label in rows:
        cells = []
        for name in names:
            tp, fp, fn = total(parts[name], [label])
            p, r, f = prf(tp, fp, fn)
            cells.append(f"P {p:.2f} R {r:.2f} F {f:.2f} n{tp + fn:4d}")
        print(f"{label:16s}" + "".join(f"{c:>28s}" for c in cells))
    for title, labels in (("entities", LABELS), ("relations", ["REL:" + r for r in RELATIONS])):
        cells = []
        for name in names:
            tp, fp, fn = total(parts[name], labels)
            p, r, f = prf(tp, fp, fn)
            cells.append(f"P {p:.3f} R {r:.3f} F {f:.3f}")
        print(f"{title.upper():16s}" + "".join(f"{c:>28s}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    """Print the held-out, tuned and seed figures per label (and tuned-part errors on request)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL, help="the domain/ folder")
    ap.add_argument("--model", default=None, help="a trained spaCy pipeline instead of the rules")
    ap.add_argument("--errors", action="store_true", help="print the tuned part's errors")
    args = ap.parse_args(argv)
    if not (args.eval_dir / "gold.jsonl").is_file():
        sys.exit(f"{args.eval_dir}: no gold.jsonl; pass --eval-dir pointing at the domain set")
    sys.path.insert(0, str(ROOT))
    from annotation.preannotate import load_preannotator
    from annotation.schema import load_schema

    pages = read_jsonl(args.eval_dir / "pages.jsonl")
    part_of = split_pages(pages)
    golds = read_jsonl(args.eval_dir / "gold.jsonl")
    with tempfile.TemporaryDirectory(prefix="bench-preannotate-") as tmp:
        clean = curate_pages(pages, Path(tmp))
    preannotator = load_preannotator(args.model, schema=load_schema())
    ids = [g["id"] for g in golds if g["id"] in clean]
    predicted = dict(zip(ids, preannotator.predict([clean[i] for i in ids]), strict=True))
    parts: dict[str, Counts[tuple[str, str]]] = {p: collections.Counter() for p in PARTS}
    for g in golds:
        if g["id"] not in predicted:
            continue
        counts, errors = score_page(g, clean[g["id"]], predicted[g["id"]])
        parts[part_of[g["id"]]].update(counts)
        if args.errors and part_of[g["id"]] == "tuned":
            for kind, label, text in sorted(errors):
                print(f"{g['id']} {kind} {label:16s} {text}")
    sizes = collections.Counter(part_of[g["id"]] for g in golds)
    print(f"domain gold pages: held-out {sizes['held-out']}, tuned {sizes['tuned']}")
    parts["seeds (exact)"] = seed_counts(preannotator)
    print(f"model: {preannotator.model_version}")
    print_table(parts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
