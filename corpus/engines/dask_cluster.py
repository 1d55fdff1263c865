"""A Dask cluster for curate: connect to a running scheduler, or start a local cluster of
worker processes, and hand curate a `DaskExecutor` over it.

Dask (`dask[dataframe]`, `distributed`) is the optional `dask` extra: without it,
`--engine dask` stops with the install command. On a real cluster every worker needs this
package installed and the output directory on a file system it shares with the client
(docs/scale.md).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import InputError
from ..parallel import DaskExecutor

# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also fixes glibc's mmap
# threshold at 128 KiB: every larger array (the cleaner's per-chunk numpy arrays) is then a
# fresh mmap, zeroed page by page and unmapped when freed, which made cleaning cost 1.7x the
# CPU of a plain process. Blocks below 32 MiB come from the heap again; the trim threshold
# still hands freed memory back to the system.
WORKER_ENVIRON = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20)}

MISSING_EXTRA = (
    "curate --engine dask needs Dask, which is not installed: pip install '.[dask]' in a "
    "clone (or pip install 'contraband-corpus[dask]'), then run again"
)


def import_distributed() -> Any:
    """The `distributed` module; InputError naming the install command when it is missing."""
    try:
        import distributed
    except ImportError as exc:
        raise InputError(MISSING_EXTRA) from exc
    return distributed


@contextmanager
def dask_executor(
    *, workers: int | None = None, scheduler: str | None = None, progress: bool = True
) -> Iterator[DaskExecutor]:
    """A `DaskExecutor` on the scheduler at `scheduler` (e.g. tcp://10.0.0.5:8786), or on a
    local cluster of `workers` single-threaded processes (default: one per CPU) that is
    stopped on exit."""
    distributed = import_distributed()
    if scheduler is not None and workers is not None:
        raise InputError(
            "curate: --workers starts a local cluster and --scheduler uses a running one; "
            "pass only one of them"
        )
    if workers is not None and workers < 1:
        raise InputError(f"curate: --workers {workers} is not a worker count; pass 1 or more")
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except OSError as exc:
            raise InputError(
                f"curate: cannot reach the Dask scheduler at {scheduler} ({exc}); check the "
                "address (tcp://HOST:8786) and that the scheduler is running"
            ) from exc
        cluster = None
        warning = slow_worker_warning(client)
        if warning:
            print(warning, file=sys.stderr)
    else:
        cluster = _local_cluster(distributed, workers or os.cpu_count() or 1)
        client = distributed.Client(cluster)
    try:
        if progress:
            n = len(client.scheduler_info().get("workers", {}))
            print(
                f"curate: Dask cluster at {client.scheduler.address}, {n} worker(s)",
                file=sys.stderr,
            )
        yield DaskExecutor(client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# Dask's statistical profiler samples each worker's threads every 10 ms and keeps one
# profile a second for the last 1,000 seconds (and the same per task group): a worker's
# memory grew by ~0.15 MiB a second of the run for its first quarter hour, more than what
# the partitions need. Curate's local workers run without it (the dashboard's task stream
# and progress still work; only its Profile page is empty).
WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


def _local_cluster(distributed: Any, workers: int) -> Any:
    """A LocalCluster of `workers` single-threaded worker processes started with
    `WORKER_ENVIRON` (a variable already set in this environment wins) and
    `WORKER_CONFIG`."""
    import dask

    environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRON.items()}
    with dask.config.set({**environ, **WORKER_CONFIG}):
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: the dashboard (with bokeh) or none
            silence_logs=logging.ERROR,
        )


def _malloc_environ() -> tuple[str | None, str | None]:
    """This process's MALLOC_TRIM_THRESHOLD_ and MALLOC_MMAP_THRESHOLD_ (run on a worker)."""
    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("MALLOC_MMAP_THRESHOLD_")


def slow_worker_warning(client: Any) -> str | None:
    """A warning when workers of a running cluster have glibc's mmap threshold fixed at
    128 KiB (Dask's MALLOC_TRIM_THRESHOLD_ without a MALLOC_MMAP_THRESHOLD_), else None."""
    found = client.run(_malloc_environ)
    slow = sum(1 for trim, mmap in found.values() if trim is not None and mmap is None)
    if not slow:
        return None
    mmap = WORKER_ENVIRON["MALLOC_MMAP_THRESHOLD_"]
    return (
        f"curate: warning: {slow} of {len(found)} Dask worker(s) run with "
        "MALLOC_TRIM_THRESHOLD_ set (Dask's default) and no MALLOC_MMAP_THRESHOLD_: cleaning "
        f"costs them about 1.7x the CPU; start the workers with MALLOC_MMAP_THRESHOLD_={mmap} "
        "in their environment (docs/scale.md)"
    )
