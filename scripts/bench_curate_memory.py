"""Peak memory and speed of `curate`: the streaming path against the old in-memory one.

    .venv/bin/python scripts/bench_curate_memory.py                 # N = 2,000 8,000 32,000
    .venv/bin/python scripts/bench_curate_memory.py --sizes 2000,8000 --json out.json

For each N, synthetic pages (scripts/synthetic.py, ~3 KB each, 4 sites = 4 directories)
are written as .txt files to a temporary directory; then each mode runs in a fresh
subprocess so its peak RSS is its own:

- streaming: `corpus.curate.curate` (two passes, temporary Parquet, bounded report);
- baseline:  the pre-streaming behaviour: list(iter_pages) -> clean_documents ->
  deduplicate -> write_corpus + render_report over the whole list.

Reported per run: wall seconds, pages/s, peak RSS of the main process (VmHWM) and the
largest cleaning worker (RUSAGE_CHILDREN). The table's last columns give the growth of
the main process' peak per extra page between consecutive sizes, and the peak that
growth extrapolates to at 1,000,000 pages.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

MODES = ("streaming", "baseline")
SITES = 4


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_pages(n: int, root: Path) -> None:
    """n synthetic pages as .txt files in SITES subdirectories of `root`."""
    from synthetic import generate_corpus

    for i, page in enumerate(generate_corpus(n, seed=11).pages):
        site = root / f"site{i % SITES}"
        site.mkdir(parents=True, exist_ok=True)
        (site / f"{i:07d}.txt").write_text(page.raw, encoding="utf-8")


def run_mode(mode: str, pages: Path, out: Path) -> dict[str, float]:
    """Curate `pages` into `out` the `mode` way; seconds and peak RSS."""
    start = time.perf_counter()
    if mode == "streaming":
        from corpus.curate import curate

        summary = curate([pages], out_dir=out, progress=False)
        n = summary.pages_in
    elif mode == "baseline":
        from corpus.clean import clean_documents, load_clean_config
        from corpus.curate import write_corpus
        from corpus.dedup import deduplicate, load_dedup_config
        from corpus.ingest import iter_pages
        from corpus.report import render_report

        docs = clean_documents(list(iter_pages([pages])), config=load_clean_config())
        docs = deduplicate(docs, config=load_dedup_config())
        out.mkdir(parents=True, exist_ok=True)
        write_corpus(docs, out / "corpus.parquet")
        (out / "report.html").write_text(render_report(docs), encoding="utf-8")
        n = len(docs)
    else:
        raise SystemExit(f"bench_curate_memory: unknown mode {mode!r}; use one of {MODES}")
    seconds = time.perf_counter() - start
    return {
        "pages": n,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def child(args: list[str]) -> dict:
    """Run this script in a fresh interpreter; its last stdout line is JSON."""
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"bench_curate_memory: child {args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,8000,32000")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--write", nargs=2, metavar=("N", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--run", nargs=3, metavar=("MODE", "PAGES", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write_pages(int(args.write[0]), Path(args.write[1]))
        print(json.dumps({"ok": True}))
        return
    if args.run:
        mode, pages, out = args.run
        print(json.dumps(run_mode(mode, Path(pages), Path(out))))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    results: list[dict] = []
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"bench_curate_{n}_"))
        try:
            child(["--write", str(n), str(work / "pages")])
            for mode in modes:
                r = child(["--run", mode, str(work / "pages"), str(work / f"out_{mode}")])
                r.update(mode=mode, n=n)
                results.append(r)
                print(
                    f"{mode:9s} N={n:>7,}: {r['seconds']:7.1f} s, {n / r['seconds']:6.0f} pages/s, "
                    f"peak RSS {r['peak_rss_mb']:7.1f} MiB (worker {r['worker_peak_rss_mb']:.1f})",
                    file=sys.stderr,
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)

    print(
        "| mode | pages | seconds | pages/s | peak RSS MiB | worker MiB | bytes/page | 1M pages |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode in modes:
        runs = [r for r in results if r["mode"] == mode]
        previous = None
        for r in runs:
            per_page = extrapolated = "-"
            if previous is not None:
                slope = (
                    (r["peak_rss_mb"] - previous["peak_rss_mb"]) * 2**20 / (r["n"] - previous["n"])
                )
                per_page = f"{slope:,.0f}"
                gib = (r["peak_rss_mb"] * 2**20 + slope * (1_000_000 - r["n"])) / 2**30
                extrapolated = f"{gib:.1f} GiB"
            print(
                f"| {mode} | {r['n']:,} | {r['seconds']:.1f} | {r['n'] / r['seconds']:.0f} | "
                f"{r['peak_rss_mb']:.0f} | {r['worker_peak_rss_mb']:.0f} | {per_page} | {extrapolated} |"
            )
            previous = r
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
