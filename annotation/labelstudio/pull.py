"""Pull a project: raw export kept unchanged for audit, converted to records, validated.

The raw export holds Label Studio user ids (and may hold emails): it stays in `out_dir`, which
gets a .gitignore for it, and is never released. Records carry only annotator pseudonyms.

The export comes in parts: the project's predictions list, then one export snapshot per task
id range (`chunk_size` ids; the snapshots carry prediction ids only, because the server reads
each task's full predictions with a query of its own), each body stored byte for byte under
`export-<time>/`. The parts are fetched through the embedded server's export workers at once
(see annotation.labelstudio.server; the main server only when there are none, so that it stays
free for the annotators) and each part is converted and validated while the server exports the
next ones. `export-<time>.json`
is the manifest (every part with its id range, task count, size and sha256) and
`export-<time>.sha256` lists the manifest's checksum first, then every part's, in
`sha256sum -c` format. `read_export` checks them and gives the tasks back in id order.
When every part says the same as the newest stored export's (find_identical_export), that
export is kept and this pull's bodies are not stored a second time; the summary says so.
"""

from __future__ import annotations

import hashlib
import json
import queue
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from corpus.errors import LabelStudioError

from ..locks import directory_lock_path, writer_lock
from ..records import AnnotatedTask
from ..schema import Schema
from ..validate import Problem, problems_to_markdown, validate_tasks
from .client import LabelStudio
from .export_records import export_to_tasks, predictions_by_id, record_to_plain
from .exports import (
    create_export_view,
    delete_export_view,
    export_raw_range_bytes,
    list_predictions_raw,
    read_task_id_range,
)
from .types import TaskIdRange

MANIFEST_FORMAT = "contraband-pull-export/2"
# Task ids per export part, at most. Small enough that conversion of one part overlaps the
# export of the next ones and the processes stay evenly busy; big enough that the per-request
# cost (about 0.1 s: view update, snapshot bookkeeping) stays small. Small projects get
# smaller parts (down to MIN_CHUNK_SIZE) so that every server process has work.
DEFAULT_CHUNK_SIZE = 1000
MIN_CHUNK_SIZE = 100


def choose_chunk_size(id_span: int, *, processes: int) -> int:
    """Ids per part for `id_span` task ids: about 4 parts per process, within the bounds."""
    wanted = -(-id_span // (4 * max(1, processes)))  # ceiling division
    return max(MIN_CHUNK_SIZE, min(DEFAULT_CHUNK_SIZE, wanted))


@dataclass(frozen=True)
class PullResult:
    tasks: list[AnnotatedTask]
    problems: list[Problem]
    export_path: Path  # the manifest of the raw export parts
    export_sha256: str  # sha256 of the manifest (which holds every part's sha256)
    drafts: int = 0  # unsubmitted drafts seen in the export (kept in the raw export, not converted)
    export_parts: tuple[Path, ...] = field(default=())  # the raw bodies, in task id order
    # The bodies said the same as those of the previous export (content_digest), which is
    # kept instead of a second copy.
    export_reused: bool = False

    def summary_line(self) -> str:
        annotations = sum(len(t.annotations) for t in self.tasks)
        skipped = sum(1 for t in self.tasks for a in t.annotations if a.cancelled)
        predictions = sum(len(t.predictions) for t in self.tasks)
        removed = sum(1 for p in self.problems if p.removed)
        return (
            f"pull: {len(self.tasks)} tasks, {annotations} annotations ({skipped} skipped), "
            f"{predictions} predictions, {self.drafts} drafts not converted; "
            f"{len(self.problems)} problems "
            f"({removed} spans/relations left out, see validation.md); raw export "
            + ("unchanged since " if self.export_reused else "")
            + f"{self.export_path} "
            + (
                "(nothing changed on the server: no second copy kept; "
                if self.export_reused
                else "("
            )
            + f"sha256 {self.export_sha256[:12]}...)"
        )


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def plan_id_ranges(first_id: int, last_id: int, *, chunk_size: int) -> list[tuple[int, int]]:
    """Inclusive task id ranges of `chunk_size` ids covering first_id..last_id."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    return [
        (lo, min(lo + chunk_size - 1, last_id)) for lo in range(first_id, last_id + 1, chunk_size)
    ]


@dataclass(frozen=True)
class ExportPart:
    """One raw body of a pull: the predictions list, or the tasks of one id range."""

    kind: str  # "predictions" | "tasks"
    first_id: int | None
    last_id: int | None
    raw: bytes


def iter_export_parts(
    clients: Sequence[LabelStudio],
    project_id: int,
    ranges: Sequence[tuple[int, int]],
) -> Iterator[ExportPart]:
    """The predictions list, then the tasks of every id range in order, through all `clients`.

    Each client (one per server process) runs one request at a time and exports through its
    own temporary Data Manager view, so len(clients) requests run at once; the views are
    deleted at the end, also on errors. Later parts are fetched while the caller handles
    earlier ones.
    """
    views: list[tuple[LabelStudio, int]] = []
    slots: queue.Queue[tuple[LabelStudio, int]] = queue.Queue()
    executor = ThreadPoolExecutor(max_workers=max(1, len(clients)), thread_name_prefix="export")
    futures: list[Future[ExportPart]] = []
    try:
        for client in clients:
            views.append((client, create_export_view(client, project_id)))
            slots.put(views[-1])

        def export(first: int | None, last: int | None) -> ExportPart:
            client, view_id = slots.get()
            try:
                if first is None or last is None:
                    return ExportPart(
                        "predictions", None, None, list_predictions_raw(client, project_id)
                    )
                raw = export_raw_range_bytes(
                    client, project_id, view_id=view_id, first_id=first, last_id=last
                )
                return ExportPart("tasks", first, last, raw)
            finally:
                slots.put((client, view_id))

        futures = [executor.submit(export, None, None)]
        futures += [executor.submit(export, first, last) for first, last in ranges]
        for future in futures:
            yield future.result()
    except BaseException:
        _stop_exports(executor, futures, views, quiet=True)  # keep the error that stopped us
        raise
    _stop_exports(executor, futures, views, quiet=False)


def _stop_exports(
    executor: ThreadPoolExecutor,
    futures: Sequence[Future[ExportPart]],
    views: Sequence[tuple[LabelStudio, int]],
    *,
    quiet: bool,
) -> None:
    """Cancel what has not started, wait for the rest, delete the temporary views.

    quiet: another error is on its way up, so a view that cannot be deleted does not replace
    it (the view then stays as a tab titled EXPORT_VIEW_TITLE; delete it in the Data Manager).
    """
    for future in futures:
        future.cancel()
    executor.shutdown(wait=True)
    for client, view_id in views:
        try:
            delete_export_view(client, view_id)
        except LabelStudioError:
            if not quiet:
                raise


def export_clients(client: LabelStudio) -> list[LabelStudio]:
    """The server processes a pull exports through: one client per export worker of the
    client's server that answers; the client itself when there is none.

    The main server is left to the annotators: an export keeps a server process busy for a
    second or more per part, and an annotator's save sent to that process meanwhile waits
    for it. The workers run at a lower CPU priority (server.EXPORT_WORKER_NICENESS), so a save
    on the main server also comes first for the CPU.
    """
    from .server import is_healthy

    workers = [
        LabelStudio(replace(client.connection, url=url, export_urls=()), timeout=client.timeout)
        for url in client.connection.export_urls
        if is_healthy(url)
    ]
    return workers or [client]


def read_export(manifest_path: Path) -> list[dict[str, Any]]:
    """Every task of a stored raw export (manifest + parts), in task id order.

    Each part's sha256 is checked against the manifest first: a changed part is an error.
    Prediction ids in the tasks are replaced by the predictions from the predictions part, so
    the tasks read like one export snapshot with full predictions.
    """
    manifest_path = Path(manifest_path)
    manifest = json.loads(manifest_path.read_bytes())
    predictions: dict[int, dict[str, Any]] = {}
    tasks: list[dict[str, Any]] = []
    for part in manifest["parts"]:
        path = manifest_path.parent / part["file"]
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if digest != part["sha256"]:
            raise LabelStudioError(
                f"{path}: sha256 {digest} differs from {part['sha256']} in {manifest_path}; "
                "the stored raw export was changed after the pull. Pull again."
            )
        if part["kind"] == "predictions":
            predictions = predictions_by_id(raw)
            continue
        for task in json.loads(raw):
            task["predictions"] = [
                predictions.get(p, p) if isinstance(p, int) else p
                for p in task.get("predictions") or []
            ]
            tasks.append(task)
    return tasks


@dataclass(frozen=True)
class _PullJob:
    """What `pull` exports and how (its options but `out_dir` and `lock_wait`)."""

    client: LabelStudio
    project_id: int
    schema: Schema
    secret: str
    chunk_size: int | None
    clients: Sequence[LabelStudio] | None
    on_part: Callable[[int, int], None] | None


def pull(
    *,
    client: LabelStudio,
    project_id: int,
    out_dir: Path,
    schema: Schema,
    secret: str,
    chunk_size: int | None = None,
    clients: Sequence[LabelStudio] | None = None,
    on_part: Callable[[int, int], None] | None = None,
    lock_wait: float = 600.0,
) -> PullResult:
    """Export the project, keep the raw export with its sha256, convert, validate and write records.

    One pull per `out_dir` at a time (a lock file there; another waits up to `lock_wait` s).
    A failed pull removes its partial raw export; one killed outright is removed by the next
    pull (`remove_partial_exports`).

    Writes out_dir/export-<UTC time>.json (manifest) + export-<UTC time>/ (raw parts) +
    export-<UTC time>.sha256, annotations.jsonl, validation.md/.json.
    `clients`: the server processes to export through (default: `client` and its export
    workers). `chunk_size`: task ids per part (default: choose_chunk_size).
    `on_part(tasks_done, tasks_total)` is called after each part (for a progress bar).
    Tasks created while the pull runs (ids above the highest id at its start) are left for
    the next pull.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ignore = out_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text(
            "# raw Label Studio exports hold user ids/emails: never commit or release "
            "them\nexport-*\n",
            encoding="utf-8",
        )
    job = _PullJob(
        client=client,
        project_id=project_id,
        schema=schema,
        secret=secret,
        chunk_size=chunk_size,
        clients=clients,
        on_part=on_part,
    )
    lock = directory_lock_path("pull", out_dir)
    with writer_lock(lock, what=f"pull into {out_dir}", wait=lock_wait):
        remove_partial_exports(out_dir)
        return _pull_locked(out_dir, job)


def _pull_locked(out_dir: Path, job: _PullJob) -> PullResult:
    """`pull` with the lock of `out_dir` held: a fresh export folder, removed on failure."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if (out_dir / f"export-{stamp}").exists():  # a second pull within the same second
        stamp += f"-{time.monotonic_ns()}"
    parts_dir = out_dir / f"export-{stamp}"
    parts_dir.mkdir()
    try:
        return _pull_into(parts_dir, job)
    except BaseException:
        # A failed pull leaves no partial raw export behind (it holds user ids).
        shutil.rmtree(parts_dir, ignore_errors=True)
        for leftover in (out_dir / f"export-{stamp}.json", out_dir / f"export-{stamp}.sha256"):
            leftover.unlink(missing_ok=True)
        raise


def remove_partial_exports(out_dir: Path) -> list[Path]:
    """Delete raw export folders that have no manifest: a pull that was killed (kill -9, power
    cut) before it finished. Call with the pull lock held. The removed folders, sorted."""
    removed = []
    for folder in sorted(Path(out_dir).glob("export-*")):
        if folder.is_dir() and not folder.with_name(f"{folder.name}.json").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.with_name(f"{folder.name}.sha256").unlink(missing_ok=True)
            removed.append(folder)
    return removed


def _pull_into(parts_dir: Path, job: _PullJob) -> PullResult:
    """The body of `pull`: export into `parts_dir`, then write the manifest (last, atomically:
    a folder without one is a partial export), the checksums and the records."""
    out_dir = parts_dir.parent
    stamp = parts_dir.name.removeprefix("export-")
    client, project_id = job.client, job.project_id
    id_range = read_task_id_range(client, project_id)
    clients = list(job.clients) if job.clients is not None else export_clients(client)
    ranges = _plan_parts(id_range, chunk_size=job.chunk_size, processes=len(clients))
    pulled = _PulledParts(parts_dir, job, user_emails=client.list_user_emails())
    exporting = iter_export_parts(clients, project_id, ranges)
    with closing(exporting):  # deletes the temporary views also when a part fails
        for part in exporting:
            pulled.add(part)
            if job.on_part is not None:
                job.on_part(len(pulled.records), id_range.count)
    manifest = {
        "format": MANIFEST_FORMAT,
        "server": client.url,
        "project_id": project_id,
        "pulled_at": stamp,
        "tasks_at_start": id_range.count,
        "server_processes": len(clients),
        "tasks": len(pulled.records),
        "export_options": "the predictions list (GET /api/predictions/?project=ID), then an "
        "export snapshot per task id range: every annotation (usual, ground truth, skipped), "
        "drafts, prediction ids, completed_by as user id",
        "parts": pulled.parts,
    }
    parts = pulled.parts
    previous = find_identical_export(out_dir, parts)
    if previous is not None:
        # Nothing changed on the server: the previous raw export already holds these bytes.
        _remove_parts(parts_dir)
        export_path, digest = previous
        parts = json.loads(export_path.read_bytes())["parts"]
    else:
        export_path, digest = _write_manifest(out_dir, stamp, manifest, parts)
    _write_records(out_dir, pulled, project_id=project_id, export=(export_path, digest))
    return PullResult(
        pulled.records,
        pulled.problems,
        export_path,
        digest,
        pulled.drafts,
        tuple(out_dir / p["file"] for p in parts),
        export_reused=previous is not None,
    )


def _plan_parts(
    id_range: TaskIdRange, *, chunk_size: int | None, processes: int
) -> list[tuple[int, int]]:
    """The task id ranges to export (`chunk_size` ids each, default `choose_chunk_size`)."""
    if not id_range.count:
        return []
    if chunk_size is None:
        id_span = id_range.last_id - id_range.first_id + 1
        chunk_size = choose_chunk_size(id_span, processes=processes)
    return plan_id_ranges(id_range.first_id, id_range.last_id, chunk_size=chunk_size)


@dataclass
class _PulledParts:
    """What the pull has read so far: each part's body stored under `parts_dir` and listed for
    the manifest, the tasks converted and validated, their problems and drafts."""

    parts_dir: Path
    job: _PullJob
    user_emails: Mapping[int, str]
    predictions: dict[int, dict[str, Any]] = field(default_factory=dict)
    records: list[AnnotatedTask] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # annotations.jsonl
    parts: list[dict[str, Any]] = field(default_factory=list)  # the manifest's
    drafts: int = 0

    def add(self, part: ExportPart) -> None:
        """Store one part (the predictions list, or a task id range converted now)."""
        if part.kind == "predictions":
            part_path = self.parts_dir / "predictions.json"
            self.predictions = predictions_by_id(part.raw)
            tasks_in_part = 0
        else:
            part_path = self.parts_dir / f"tasks-{part.first_id:09d}-{part.last_id:09d}.json"
            tasks_in_part = self._convert(json.loads(part.raw))
        part_path.write_bytes(part.raw)
        self.parts.append(
            {
                "file": f"{self.parts_dir.name}/{part_path.name}",
                "kind": part.kind,
                "first_task_id": part.first_id,
                "last_task_id": part.last_id,
                "tasks": tasks_in_part,
                "predictions": len(self.predictions) if part.kind == "predictions" else None,
                "bytes": len(part.raw),
                "sha256": hashlib.sha256(part.raw).hexdigest(),
                "content_sha256": content_digest(part),
            }
        )

    def _convert(self, export: list[dict[str, Any]]) -> int:
        """Convert and validate the tasks of one part; how many there were."""
        converted, found = export_to_tasks(
            export,
            secret=self.job.secret,
            user_emails=self.user_emails,
            predictions=self.predictions,
        )
        converted, invalid = validate_tasks(converted, schema=self.job.schema)
        self.records.extend(converted)
        self.problems.extend(found)
        self.problems.extend(invalid)
        self.drafts += sum(len(t.get("drafts") or []) for t in export)
        self.lines.extend(
            json.dumps(record_to_plain(r), ensure_ascii=False) + "\n" for r in converted
        )
        return len(export)


def _write_records(
    out_dir: Path, pulled: _PulledParts, *, project_id: int, export: tuple[Path, str]
) -> None:
    """annotations.jsonl and the validation report (Markdown and JSON) beside the export."""
    export_path, digest = export
    records, problems = pulled.records, pulled.problems
    _write_text(out_dir / "annotations.jsonl", "".join(pulled.lines))
    _write_text(out_dir / "validation.md", problems_to_markdown(problems, total_tasks=len(records)))
    _write_text(
        out_dir / "validation.json",
        json.dumps(
            {
                "project_id": project_id,
                "export": export_path.name,
                "export_sha256": digest,
                "tasks": len(records),
                "problems": [p.to_dict() for p in problems],
            },
            ensure_ascii=False,
            indent=2,
        ),
    )


def _write_manifest(
    out_dir: Path, stamp: str, manifest: Mapping[str, Any], parts: Sequence[Mapping[str, Any]]
) -> tuple[Path, str]:
    """Write export-<stamp>.json and its sha256sum file; (manifest path, manifest sha256)."""
    export_path = out_dir / f"export-{stamp}.json"
    manifest_bytes = json.dumps(manifest, indent=2).encode("utf-8")
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    _write_text(
        out_dir / f"export-{stamp}.sha256",
        f"{digest}  {export_path.name}\n" + "".join(f"{p['sha256']}  {p['file']}\n" for p in parts),
    )
    # The manifest last, atomically: an export folder without one is a partial export.
    _write_text(export_path, manifest_bytes.decode("utf-8"))
    return export_path, digest


# Fields the server computes at request time (a relative age such as "15 minutes"): they
# change a body without any change in the project, so they are left out of the comparison.
VOLATILE_PREDICTION_FIELDS = ("created_ago",)


def content_digest(part: ExportPart) -> str:
    """sha256 of what a part says about the project: the raw body, except for predictions,
    whose VOLATILE_PREDICTION_FIELDS are dropped (canonical JSON, sorted by prediction id)."""
    if part.kind != "predictions":
        return hashlib.sha256(part.raw).hexdigest()
    items = [
        {k: v for k, v in item.items() if k not in VOLATILE_PREDICTION_FIELDS}
        for item in json.loads(part.raw)
    ]
    items.sort(key=lambda item: int(item.get("id") or 0))
    canonical = json.dumps(items, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(canonical).hexdigest()


def _part_identity(part: Mapping[str, Any]) -> tuple[Any, ...]:
    digest = part.get("content_sha256") or part["sha256"]
    return (part["kind"], part["first_task_id"], part["last_task_id"], digest)


def find_identical_export(
    out_dir: Path, parts: Sequence[Mapping[str, Any]]
) -> tuple[Path, str] | None:
    """The newest stored export whose parts say the same as `parts`: (manifest, its sha256).

    Parts are compared by content_sha256 (content_digest: the bytes, except for the
    predictions' request-time fields), so the kept export may differ from this pull's bodies
    in those fields only. Only the newest manifest is compared (an older identical one means something changed
    in between and changed back, which is worth keeping). A manifest that cannot be read or
    whose sha256 file disagrees is never reused.
    """
    manifests = list(Path(out_dir).glob("export-*.json"))
    if not manifests:
        return None
    newest = max(manifests, key=lambda path: (path.stat().st_mtime_ns, path.name))
    sums = newest.with_suffix(".sha256")
    try:
        raw = newest.read_bytes()
        stored = json.loads(raw)["parts"]
        listed = sums.read_text(encoding="utf-8").split()[0]
    except (OSError, ValueError, KeyError, IndexError):
        return None
    digest = hashlib.sha256(raw).hexdigest()
    if listed != digest:
        return None
    if [_part_identity(p) for p in stored] != [_part_identity(p) for p in parts]:
        return None
    if not all((out_dir / p["file"]).is_file() for p in stored):
        return None
    return newest, digest


def _remove_parts(parts_dir: Path) -> None:
    """Delete the raw parts of this pull (they duplicate the previous export)."""
    for path in parts_dir.iterdir():
        path.unlink()
    parts_dir.rmdir()
