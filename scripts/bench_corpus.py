"""Benchmark the corpus pipeline on a synthetic corpus, with datasketch as the dedup baseline.

    .venv/bin/python scripts/bench_corpus.py --pages 5000
    .venv/bin/python scripts/bench_corpus.py --scaling 2000,8000,32000

Per stage (ingest from memory, clean, dedup, and the datasketch MinHash + MinHashLSH
baseline on the same texts): pages/s, MB/s, tracemalloc peak of the stage (measured in a
second, traced run so tracing does not slow the timed one) and the process max RSS.
Dedup precision/recall are measured on the planted pairs (scripts/synthetic.py): the truth
is every pair inside a planted group whose true Jaccard on the article bodies is >= the
threshold. Dedup runs twice: on the cleaner's output (the pipeline; its recall also shows
what the cleaner leaves behind) and on the article bodies (dedup alone, the texts the
datasketch baseline gets too). Ours predicts every pair inside one duplicate cluster;
the baseline predicts every pair MinHashLSH returns for a query.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import re
import resource
import sys
import tempfile
import time
import tracemalloc
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from synthetic import SyntheticCorpus, generate_corpus  # noqa: E402

from corpus import dedup  # noqa: E402
from corpus.records import Document, stable_id  # noqa: E402

_WORD = re.compile(r"[^\W_]+")


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_stage(fn: Callable[[], Any], *, trace: bool) -> tuple[Any, float, float | None]:
    """Run `fn` timed; then again under tracemalloc for its peak (if `trace`).

    The cleaner's memo caches are emptied first, so every stage starts cold as a fresh
    `contraband curate` does, whatever ran before it. The objects the benchmark itself
    holds (the corpus, earlier stages' results) are frozen out of the garbage collector
    while a stage runs: `curate` streams and never holds them, and collections over them
    would time the benchmark's bookkeeping, not the stage.
    """
    from corpus.clean import clear_caches

    clear_caches()
    gc.collect()
    gc.freeze()
    try:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    finally:
        gc.unfreeze()
    peak = None
    if trace:
        clear_caches()
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, seconds, peak


def ingest(corpus: SyntheticCorpus) -> list[Document]:
    """What ingest does for in-memory pages: ids and records, no parsing."""
    return [
        Document(id=stable_id(p.source, p.raw), source=p.source, raw_text=p.raw, site="synthetic")
        for p in corpus.pages
    ]


def clean(docs: list[Document]) -> list[Document] | None:
    """H1's cleaner; None when corpus.clean.clean_documents does not exist yet."""
    from corpus import clean as clean_module

    if not hasattr(clean_module, "clean_documents"):
        return None
    return clean_module.clean_documents(docs, config=clean_module.load_clean_config())


def clean_one_process(docs: list[Document]) -> list[Document]:
    """The cleaner in this process only: the baseline the process pool is measured against."""
    from corpus import clean as clean_module

    return clean_module.clean_documents(docs, config=clean_module.load_clean_config(), workers=1)


def pipeline_pairs(docs: list[Document], workers: int) -> set[tuple[int, int]]:
    """Clean + dedup the way `curate` does it, minus the files: the language model loading
    in a thread while boilerplate is learned in this process, then `clean_and_scan` (each
    chunk cleaned, turned into rows and scanned in a worker), then duplicates decided on
    the compact arrays. Returns the pairs inside each cluster."""
    from corpus.clean import learn_boilerplate, load_clean_config
    from corpus.clean.language import load_in_background
    from corpus.curate import clean_and_scan

    clean_config = load_clean_config()
    dedup_config = dedup.load_dedup_config()
    load_in_background()
    learned = learn_boilerplate(docs, config=clean_config)
    scanner = dedup.ScanAccumulator(config=dedup_config)
    doc_of: list[int] = []  # input position of each page that takes part in dedup
    texts: list[str] = []
    done = 0
    for chunk in clean_and_scan(
        docs,
        clean_config=clean_config,
        dedup_config=dedup_config,
        learned=learned,
        workers=workers,
    ):
        clean_texts = chunk.rows.column("clean_text").to_pylist()
        raw_texts = chunk.rows.column("raw_text").to_pylist()
        for row in chunk.kept_rows:
            doc_of.append(done + row)
            texts.append(clean_texts[row] or raw_texts[row])
        done += chunk.rows.num_rows
        if chunk.scan is not None:
            scanner.add_scan(chunk.scan, chunk.published)
    decision = scanner.decide(lambda rows: [texts[i] for i in rows.tolist()])
    members: dict[int, list[int]] = {}
    for participant, keeper in enumerate(decision.rows["keeper"].tolist()):
        members.setdefault(int(keeper), []).append(doc_of[participant])
    return {
        p for rows in members.values() if len(rows) > 1 for p in itertools.combinations(rows, 2)
    }


def datasketch_pairs(texts: list[str], config: dedup.DedupConfig) -> set[tuple[int, int]]:
    """The baseline as a datasketch user writes it: same word 5-grams, threshold, num_perm."""
    from datasketch import MinHash, MinHashLSH

    k = config.shingle_size
    lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    signatures = []
    for i, text in enumerate(texts):
        words = _WORD.findall(unicodedata.normalize("NFKC", text).lower())
        grams = {" ".join(words[j : j + k]).encode() for j in range(max(1, len(words) - k + 1))}
        m = MinHash(num_perm=config.num_perm, seed=config.seed)
        m.update_batch(list(grams))
        lsh.insert(i, m)
        signatures.append(m)
    pairs = set()
    for i, m in enumerate(signatures):
        for j in lsh.query(m):
            if j != i:
                pairs.add((min(i, j), max(i, j)))
    return pairs


def truth_pairs(corpus: SyntheticCorpus, texts: list[str], config: dedup.DedupConfig) -> dict:
    """Planted pairs with their true Jaccard on the texts dedup sees."""
    groups: dict[int, set[int]] = {}
    for pair in corpus.pairs:
        groups.setdefault(pair.original, {pair.original}).add(pair.duplicate)
    candidates = [p for g in groups.values() for p in itertools.combinations(sorted(g), 2)]
    members = sorted({i for p in candidates for i in p})
    sets = dict(
        zip(
            members,
            dedup.shingle_sets([texts[i] for i in members], shingle_size=config.shingle_size),
            strict=True,
        )
    )
    return {p: dedup.jaccard(sets[p[0]], sets[p[1]]) for p in candidates}


def precision_recall(
    predicted: set[tuple[int, int]], truth: set[tuple[int, int]]
) -> tuple[float, float]:
    hit = len(predicted & truth)
    precision = hit / len(predicted) if predicted else 1.0
    recall = hit / len(truth) if truth else 1.0
    return precision, recall


def cluster_pairs(docs: list[Document]) -> set[tuple[int, int]]:
    """Pairs inside one duplicate cluster (a keeper and its duplicates). Same-story links
    (a shared cluster_id between kept pages) are not duplicates and are not counted."""
    members: dict[str, list[int]] = {}
    for i, d in enumerate(docs):
        if d.cluster_id is not None:
            members.setdefault(d.duplicate_of or d.id, []).append(i)
    return {
        p for rows in members.values() if len(rows) > 1 for p in itertools.combinations(rows, 2)
    }


def bench(pages: int, seed: int, trace: bool) -> dict:
    config = dedup.load_dedup_config()
    t0 = time.perf_counter()
    corpus = generate_corpus(pages, seed=seed)
    generate_s = time.perf_counter() - t0
    megabytes = sum(len(p.raw.encode("utf-8")) for p in corpus.pages) / 1e6
    rows: list[dict] = []

    def record(stage: str, seconds: float, peak: float | None, **extra: Any) -> None:
        rows.append(
            {
                "stage": stage,
                "seconds": round(seconds, 3),
                "pages_per_s": round(pages / seconds, 1),
                "mb_per_s": round(megabytes / seconds, 2),
                "tracemalloc_peak_mb": None if peak is None else round(peak, 1),
                "max_rss_mb": round(max_rss_mb(), 1),
                **extra,
            }
        )

    docs, seconds, peak = run_stage(lambda: ingest(corpus), trace=trace)
    record("ingest (from memory)", seconds, peak)
    bodies = [p.body for p in corpus.pages]
    truth = {p for p, j in truth_pairs(corpus, bodies, config).items() if j >= config.threshold}
    # First, while this process holds only the pages (as curate's streaming main process
    # does): later stages hold earlier stages' results, whose pages the forked workers
    # share and every pickled page's reference count then copies.
    workers = os.cpu_count() or 1
    pairs, pipeline_seconds, peak = run_stage(lambda: pipeline_pairs(docs, workers), trace=trace)
    p, r = precision_recall(pairs, truth)
    record(
        f"clean + dedup, curate's pipeline ({workers} processes)",
        pipeline_seconds,
        peak,
        precision=round(p, 4),
        recall=round(r, 4),
    )
    cleaned, seconds, peak = run_stage(lambda: clean(docs), trace=trace)
    notes = []
    if cleaned is None:
        notes.append(
            "corpus.clean.clean_documents is missing: clean skipped, dedup ran on raw pages"
        )
        cleaned = docs
    else:
        record("clean", seconds, peak)
    clean_seconds = seconds if cleaned is not docs else 0.0
    _, seconds, peak = run_stage(lambda: clean_one_process(docs), trace=False)
    record("clean, 1 process (baseline of the pool)", seconds, peak)
    result, after_clean_seconds, peak = run_stage(
        lambda: dedup.deduplicate(cleaned, config=config), trace=trace
    )
    p, r = precision_recall(cluster_pairs(result), truth)
    record(
        "dedup after clean (pipeline)",
        after_clean_seconds,
        peak,
        precision=round(p, 4),
        recall=round(r, 4),
    )
    body_docs = [
        d.with_(clean_text=page.body, published=page.published)
        for d, page in zip(docs, corpus.pages, strict=True)
    ]
    result, dedup_seconds, peak = run_stage(
        lambda: dedup.deduplicate(body_docs, config=config), trace=trace
    )
    ours_p, ours_r = precision_recall(cluster_pairs(result), truth)
    record(
        "dedup on article bodies (ours)",
        dedup_seconds,
        peak,
        precision=round(ours_p, 4),
        recall=round(ours_r, 4),
    )
    baseline, base_seconds, peak = run_stage(lambda: datasketch_pairs(bodies, config), trace=trace)
    base_p, base_r = precision_recall(baseline, truth)
    record(
        "dedup on article bodies (datasketch)",
        base_seconds,
        peak,
        precision=round(base_p, 4),
        recall=round(base_r, 4),
    )
    summary = {
        "pages": pages,
        "mb": round(megabytes, 2),
        "mean_page_bytes": round(megabytes * 1e6 / pages),
        "generate_seconds": round(generate_s, 1),
        "planted_pairs_at_or_above_threshold": len(truth),
        "speedup_vs_datasketch": round(base_seconds / dedup_seconds, 2),
        "clean_plus_dedup_pages_per_s": round(pages / (clean_seconds + after_clean_seconds), 1),
        "pipeline_pages_per_s": round(pages / pipeline_seconds, 1),
        "clean_ran": cleaned is not docs,
        "config": {
            "shingle_size": config.shingle_size,
            "num_perm": config.num_perm,
            "bands": config.bands,
            "rows": config.rows,
            "threshold": config.threshold,
        },
        "notes": notes,
    }
    return {"stages": rows, "summary": summary}


def scaling(sizes: list[int], seed: int) -> list[dict]:
    """Dedup alone at growing sizes: peak traced bytes per page of the dedup state."""
    config = dedup.load_dedup_config()
    out = []
    for n in sizes:
        texts = [p.raw for p in generate_corpus(n, seed=seed).pages]
        start = time.perf_counter()
        dedup.find_duplicates(texts, config=config)
        seconds = time.perf_counter() - start
        tracemalloc.start()
        dedup.find_duplicates(texts, config=config)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        input_bytes = sum(len(t.encode("utf-8")) for t in texts)
        out.append(
            {
                "pages": n,
                "seconds": round(seconds, 2),
                "pages_per_s": round(n / seconds, 1),
                "peak_mb": round(peak / 2**20, 1),
                "peak_bytes_per_page": round(peak / n),
                "input_mb": round(input_bytes / 2**20, 1),
                "max_rss_mb": round(max_rss_mb(), 1),
            }
        )
    return out


def disk_cache_state() -> str:
    """Whether the cleaner's tables (corpus.cache) are on disk before the run: "warm" (a
    later run on this machine), "cold" (the first: the pipeline stage builds them)."""
    try:
        from corpus.cache import cache_dir
    except ImportError:  # code from before the cache
        return "none (this code has no disk cache)"
    folder = cache_dir()
    warm = folder.is_dir() and any(folder.iterdir())
    return f"{'warm' if warm else 'cold'} ({folder})"


def to_markdown(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append(
            "| " + " | ".join("" if row.get(c) is None else str(row.get(c)) for c in columns) + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pages", type=int, default=5000, help="synthetic pages to generate (default 5000)"
    )
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument(
        "--scaling", help="comma-separated sizes: run dedup alone at each and report memory"
    )
    parser.add_argument(
        "--no-trace", action="store_true", help="skip the traced re-runs (no peak memory)"
    )
    parser.add_argument(
        "--cold-cache",
        action="store_true",
        help="use a new, empty cache directory (CONTRABAND_CACHE_DIR): time a machine's first "
        "run, which builds the language model's arrays and the glue tables",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if not args.cold_cache:
        return run(args)
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as empty:
        os.environ["CONTRABAND_CACHE_DIR"] = empty
        return run(args)


def run(args: argparse.Namespace) -> int:
    cache_state = disk_cache_state()
    if args.scaling:
        try:
            sizes = [int(s) for s in args.scaling.split(",")]
        except ValueError:
            print(f"--scaling {args.scaling!r}: want integers like 2000,8000,32000")
            return 1
        results: dict = {"scaling": scaling(sizes, args.seed)}
        print(to_markdown(results["scaling"]))
    else:
        results = bench(args.pages, args.seed, trace=not args.no_trace)
        results["summary"]["disk_cache"] = cache_state
        print(to_markdown(results["stages"]))
        print()
        for key, value in results["summary"].items():
            print(f"- {key}: {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
