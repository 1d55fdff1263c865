"""How curate scales: the same synthetic corpus through today's single-machine curate, curate
on Dask with 1 worker and on Dask with 2 workers, in one run, at several corpus sizes.

    .venv/bin/python scripts/bench_scale.py                     # 20,000 and 200,000 pages
    .venv/bin/python scripts/bench_scale.py --sizes 2000,8000   # a quick run

Each measurement runs in a fresh Python process (cold caches, its own memory). Reported
per run: pages/s end to end (ingest, both passes, dedup, corpus.parquet and report), the
peak resident memory of the largest worker process and of the main process (client; for
Dask with a local cluster it also hosts the scheduler), the CPU time of all the processes
per page (the work, whatever else loads the machine; in brackets the main process's
share), the bytes of band keys shuffled
across the cluster and of compact dedup arrays gathered by the main process. The machine's
load (`uptime`) is printed before and after each run: on a shared machine read the ratios.

Pages: `scripts/synthetic.py` pages (~3 KB, 5% exact and 15% near copies), generated in
blocks of 20,000 (block i with seed i; copies fall within a block), one file per page, in
8 site directories. The local curate uses 2 processes (`--local-workers`); Dask runs use a
LocalCluster of single-threaded worker processes and `--files-per-partition` files a task.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

BLOCK = 20_000
SITES = 8
MODES = ("local", "dask-1", "dask-2")


def write_pages(root: Path, n_pages: int) -> Path:
    """`n_pages` synthetic page files under `root/pages` (kept when already there)."""
    from synthetic import generate_corpus

    pages_dir = root / "pages"
    stamp = root / f".written-{n_pages}"
    if stamp.exists():
        return pages_dir
    index = 0
    for block, lo in enumerate(range(0, n_pages, BLOCK)):
        for page in generate_corpus(min(BLOCK, n_pages - lo), seed=block).pages:
            site = pages_dir / f"site{index % SITES}"
            site.mkdir(parents=True, exist_ok=True)
            (site / f"{index:07d}.txt").write_text(page.raw, "utf-8")
            index += 1
    stamp.touch()
    return pages_dir


class PeakMemory:
    """Samples the resident memory of this process and of every descendant (worker
    processes) every `interval` seconds; keeps each one's peak."""

    def __init__(self, interval: float = 0.25) -> None:
        import psutil

        self.me = psutil.Process()
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self.cpu: dict[int, float] = {}  # last seen user + system seconds of each process
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for process in [self.me, *self.me.children(recursive=True)]:
                try:
                    rss = process.memory_info().rss
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                self.peaks[process.pid] = max(self.peaks.get(process.pid, 0), rss)
                self.cpu[process.pid] = times.user + times.system
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def cpu_seconds(self) -> float:
        """CPU seconds of every process seen (to the last sample: a worker's final quarter
        second may be missed), so the work done is compared, not the load around it."""
        return sum(self.cpu.values())

    def main_cpu_seconds(self) -> float:
        """CPU seconds of this process alone (client, and a local cluster's scheduler)."""
        return self.cpu.get(self.me.pid, 0.0)

    def main(self) -> int:
        return self.peaks.get(self.me.pid, 0)

    def largest_worker(self) -> int:
        return max((v for pid, v in self.peaks.items() if pid != self.me.pid), default=0)


def run_one(mode: str, pages_dir: Path, out: Path, args: argparse.Namespace) -> dict:
    """One curate run in this process; its figures."""
    from corpus.curate import curate

    with PeakMemory() as memory:
        start = time.perf_counter()
        if mode == "local":
            summary = curate([pages_dir], out_dir=out, progress=False, workers=args.local_workers)
        else:
            summary = curate(
                [pages_dir],
                out_dir=out,
                progress=False,
                engine="dask",
                workers=int(mode.split("-")[1]),
                files_per_partition=args.files_per_partition,
            )
        seconds = time.perf_counter() - start
    return {
        "mode": mode,
        "pages": summary.pages_in,
        "seconds": round(seconds, 1),
        "pages_per_s": round(summary.pages_in / seconds, 1),
        "cpu_ms_per_page": round(1000 * memory.cpu_seconds() / summary.pages_in, 2),
        "main_cpu_ms_per_page": round(1000 * memory.main_cpu_seconds() / summary.pages_in, 2),
        "peak_worker_mib": round(memory.largest_worker() / 2**20),
        "peak_main_mib": round(memory.main() / 2**20),
        "shuffled_mib": round(summary.shuffled_bytes / 2**20, 1),
        "gathered_mib": round(summary.gathered_bytes / 2**20, 1),
        "kept": summary.kept,
        "duplicate": summary.duplicate,
    }


def load() -> str:
    """The 1-minute load average (`uptime`'s first figure)."""
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,200000", help="corpus sizes, comma-separated")
    parser.add_argument("--modes", default=",".join(MODES), help="local, dask-1, dask-2")
    parser.add_argument("--local-workers", type=int, default=2)
    parser.add_argument("--files-per-partition", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=None, help="where pages are kept (reused)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--run", default=None, help=argparse.SUPPRESS)  # one mode, internal
    parser.add_argument("--pages-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        with tempfile.TemporaryDirectory() as out:
            print(json.dumps(run_one(args.run, args.pages_dir, Path(out) / "o", args)))
        return
    base = args.dir or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        pages_dir = write_pages(base / str(size), size)
        for mode in args.modes.split(","):
            before = load()
            command = [
                sys.executable,
                __file__,
                "--run",
                mode,
                "--pages-dir",
                str(pages_dir),
                "--local-workers",
                str(args.local_workers),
                "--files-per-partition",
                str(args.files_per_partition),
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(done.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"bench_scale: {mode} at {size} pages failed")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            row.update(size=size, load_before=before, load_after=load())
            results.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(
        "| pages | run | pages/s | vs local | CPU ms/page (main) | peak worker MiB "
        "| peak main MiB | shuffled MiB | gathered MiB | load (1 min) before / after |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in results:
        local = next(
            (r for r in results if r["size"] == row["size"] and r["mode"] == "local"), None
        )
        ratio = f"{row['pages_per_s'] / local['pages_per_s']:.2f}x" if local else ""
        print(
            f"| {row['size']:,} | {row['mode']} | {row['pages_per_s']:,.0f} | {ratio} "
            f"| {row['cpu_ms_per_page']} ({row['main_cpu_ms_per_page']}) "
            f"| {row['peak_worker_mib']:,} | {row['peak_main_mib']:,} | {row['shuffled_mib']} "
            f"| {row['gathered_mib']} | {row['load_before']} / {row['load_after']} |"
        )
    for size in sorted({r["size"] for r in results}):
        speed = {r["mode"]: r["pages_per_s"] for r in results if r["size"] == size}
        if "dask-1" in speed and "dask-2" in speed:
            print(f"{size:,} pages: 2 Dask workers {speed['dask-2'] / speed['dask-1']:.2f}x one")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
