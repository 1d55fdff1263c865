"""One executor for the corpus side: a function over items, results in input order, run in
this process, in local worker processes or on a Dask cluster.

What a task needs besides its item (the cleaner with its caches, the learned boilerplate,
the dedup config) travels in a `Job`, an object that owns it and is handed to the executor
explicitly: a local worker process receives it once when it starts (inherited when the
platform forks, else pickled once), a Dask cluster once per `map` (scattered to every
worker); only the items go with each task. There is no module-level worker state.

At most `in_flight` items per worker are submitted ahead of the one the caller waits for,
so memory stays bounded however many items come, and results come back in input order
whatever the scheduling, so the output never depends on the executor or its worker count.
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

_POLL_SECONDS = 1.0  # how often a waiting caller checks that the worker processes are alive


@dataclass(frozen=True)
class Job(Generic[S, T, R]):
    """`function(state, item)` for each item: `function` is a module-level function (so
    that it pickles by name) and `state` what it needs besides the item."""

    function: Callable[[S, T], R]
    state: S

    def __call__(self, item: T) -> R:
        return self.function(self.state, item)


class Executor(Protocol):
    """Runs a `Job` over items and yields the results in input order."""

    @property
    def workers(self) -> int:
        """How many items run at once."""
        ...

    def map(self, job: Job[Any, T, R], items: Iterable[T]) -> Iterator[R]:
        """`job(item)` for each item, in input order."""
        ...


class WorkerError(RuntimeError):
    """A worker process died (killed, out of memory) before returning its result."""


class InProcessExecutor:
    """Runs every item in this process, one after the other."""

    workers = 1

    def map(self, job: Job[Any, T, R], items: Iterable[T]) -> Iterator[R]:
        """`job(item)` for each item, in input order."""
        for item in items:
            yield job(item)


class ProcessExecutor:
    """Runs the items in `workers` local processes that each hold the job's state.

    The processes are forked where the platform allows it, so the state (and whatever the
    parent loaded before, such as word lists) is shared copy-on-write rather than copied.
    An exception in a worker is raised in the caller with the worker's traceback as a note;
    a worker that dies raises `WorkerError`.
    """

    def __init__(self, workers: int, *, in_flight: int = 2) -> None:
        if workers < 1:
            raise ValueError(f"ProcessExecutor: workers={workers!r} must be >= 1")
        self._workers = workers
        self.in_flight = in_flight

    @property
    def workers(self) -> int:
        return self._workers

    def map(self, job: Job[Any, T, R], items: Iterable[T]) -> Iterator[R]:
        """`job(item)` for each item, in input order, computed in the worker processes."""
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        tasks = context.Queue()
        results = context.Queue()
        # Frozen, the objects alive now are never scanned by the collector again: neither by
        # the workers (no copy-on-write of the parent's pages, no collections over them) nor
        # by this process while it collects results, however big the caller's heap is.
        gc.freeze()
        processes = [
            context.Process(target=_serve, args=(job, tasks, results), daemon=True)
            for _ in range(self._workers)
        ]
        finished = False
        try:
            for process in processes:
                process.start()
            done: dict[int, R] = {}
            sent = next_out = 0
            for index, item in enumerate(items):
                tasks.put((index, item))
                sent += 1
                while sent - next_out >= self.in_flight * self._workers:
                    next_out = yield from self._emit(done, next_out, results, processes)
            while next_out < sent:
                next_out = yield from self._emit(done, next_out, results, processes)
            finished = True
        finally:
            _stop(processes, tasks, graceful=finished)
            gc.unfreeze()

    def _emit(
        self,
        done: dict[int, R],
        next_out: int,
        results: Any,
        processes: list[Any],
    ) -> Iterator[R]:
        """Wait for the result of item `next_out` and yield every result now in order;
        returns the index of the next result to yield."""
        while next_out not in done:
            index, ok, value = _receive(results, processes)
            if not ok:
                raise value
            done[index] = value
        while next_out in done:
            yield done.pop(next_out)
            next_out += 1
        return next_out


def _serve(job: Job[Any, Any, Any], tasks: Any, results: Any) -> None:
    """A worker process: run `job` on each (index, item) of `tasks` until None comes."""
    while True:
        task = tasks.get()
        if task is None:
            return
        index, item = task
        try:
            results.put((index, True, job(item)))
        except Exception as exc:  # sent to the caller, who raises it
            exc.add_note(f"in a worker process:\n{traceback.format_exc()}")
            results.put((index, False, _picklable(exc)))


def _picklable(exc: Exception) -> Exception:
    """The exception itself when it pickles, else a RuntimeError with its text."""
    import pickle

    try:
        pickle.dumps(exc)
    except Exception:  # an exception holding an unpicklable object
        error = RuntimeError(f"{type(exc).__name__}: {exc}")
        for note in getattr(exc, "__notes__", []):
            error.add_note(note)
        return error
    return exc


def _receive(results: Any, processes: list[Any]) -> tuple[int, bool, Any]:
    """The next (index, ok, value) of any worker; WorkerError when a worker died."""
    while True:
        try:
            return results.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise WorkerError(
                    f"a worker process died with exit code {dead[0]} (killed, or out of "
                    "memory?); run again with fewer workers, or with 1 to clean in this process"
                ) from None


def _stop(processes: list[Any], tasks: Any, *, graceful: bool) -> None:
    """End the worker processes: ask them to stop when all went well, else terminate them."""
    if graceful:
        for _ in processes:
            tasks.put(None)
        for process in processes:
            process.join(timeout=30)
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join()
    tasks.cancel_join_thread()


class DaskExecutor:
    """Runs the items as tasks on a Dask cluster through a `distributed.Client`.

    The job's state is scattered once to every worker per `map`; each task then carries
    only its item. A task's exception is raised in the caller as Dask raises it (the
    original type and message, with the remote traceback).
    """

    def __init__(self, client: Any, *, in_flight: int = 2) -> None:
        self.client = client
        self.in_flight = in_flight

    @property
    def workers(self) -> int:
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def map(self, job: Job[Any, T, R], items: Iterable[T]) -> Iterator[R]:
        """`job(item)` for each item, in input order, computed on the cluster."""
        state = self.client.scatter(job.state, broadcast=True, hash=False)
        limit = self.in_flight * self.workers
        pending: deque[Any] = deque()
        try:
            for item in items:
                pending.append(self.client.submit(job.function, state, item, pure=False))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
            del state


def local_executor(workers: int) -> Executor:
    """The executor for `workers` local processes: this process itself for 1."""
    return InProcessExecutor() if workers == 1 else ProcessExecutor(workers)
