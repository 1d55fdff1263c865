"""Push tasks (with predictions) to a Label Studio project: idempotent, resumable, not destructive.

Label Studio has no uniqueness constraint on task data and a timed-out import may still be
committed, so: the project's task keys are read first and only new keys are imported; after a
failed or timed-out batch the keys are read again (waiting until the server has settled) and
only the still-missing tasks are retried. A task that has annotations is never replaced: if its
text changed, that is reported.

The key scan costs the server about 1 ms per task, so push can keep a ledger (task key -> task
id, content hash) per server and project, rewritten after every successful import batch. The
next push trusts it only if it is provably current: the project's task count, its highest task
id and that task's key and content hash all equal the ledger's. Task ids only grow (SQLite gives
max + 1, PostgreSQL a sequence), so a task added or deleted behind the ledger's back changes the
count or the highest id, or puts another key on it. A ledger that is not current, unreadable, or
followed by a failed batch means a full key scan and a rewritten ledger. What a ledger cannot see:
task data edited in place by someone else (the task_key/content_hash fields of the task data).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential
from tqdm import tqdm

from corpus.errors import SchemaError

from .labelstudio import ExistingTask, LabelStudio, LabelStudioRequestError, TaskListHead
from .records import AnnotatedTask, Annotation
from .schema import Schema, load_schema
from .tasks import TaskPayload
from .validate import Problem, check_annotation


@dataclass(frozen=True)
class PushPlan:
    """What a push would do, decided from the tasks and the keys already in the project."""

    new: tuple[TaskPayload, ...]
    unchanged: tuple[TaskPayload, ...]
    update: tuple[
        tuple[TaskPayload, ExistingTask], ...
    ]  # text changed, no annotations yet: replaced
    conflicts: tuple[
        tuple[TaskPayload, ExistingTask], ...
    ]  # text changed, annotated: reported only
    stale: tuple[
        ExistingTask, ...
    ] = ()  # keys of pushed documents that the new tasks no longer have

    def conflict_messages(self) -> list[str]:
        return [
            f"Task {old.id} ({task.key}): the document text changed (content hash "
            f"{old.content_hash} -> "
            f"{task.content_hash}) but the task has {old.annotation_count} "
            "annotation(s), so it was not replaced. "
            "Review it in Label Studio; delete the task there if the new text should be "
            "annotated instead."
            for task, old in self.conflicts
        ]


@dataclass(frozen=True)
class PushSummary:
    project_id: int
    url: str
    tasks_in: int
    imported: int
    unchanged: int
    updated: int
    conflicts: tuple[str, ...]
    stale: int
    predictions: int
    retried_batches: int
    seconds: float
    dry_run: bool = False
    task_ids: tuple[int, ...] = field(default=(), repr=False)
    # "none" (no ledger_dir), "current" (planned from the ledger, no key scan), "absent",
    # "stale", "unreadable" (full key scan; the reason is in ledger_note)
    ledger: str = "none"
    ledger_note: str = ""

    @classmethod
    def planned_new_project(cls, title: str, tasks: Sequence[TaskPayload]) -> PushSummary:
        """The dry-run plan when the project does not exist yet: every task would be new."""
        return cls(
            project_id=0,
            url=f"(new project {title!r}, created on a real push)",
            tasks_in=len(tasks),
            imported=len(tasks),
            unchanged=0,
            updated=0,
            conflicts=(),
            stale=0,
            predictions=0,
            retried_batches=0,
            seconds=0.0,
            dry_run=True,
        )

    def summary_line(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        parts = [
            f"push: {self.tasks_in} tasks in -> {verb} {self.imported} "
            f"({self.predictions} with predictions)",
            f"{self.unchanged} already present",
            f"{self.updated} {'would be ' if self.dry_run else ''}updated",
            f"{len(self.conflicts)} changed but annotated (reported, not replaced)",
        ]
        if self.stale:
            parts.append(f"{self.stale} older chunk tasks no longer produced (left in place)")
        if self.retried_batches:
            parts.append(f"{self.retried_batches} batch(es) retried without duplicates")
        if self.ledger == "current":
            parts.append("planned from the push ledger (no key scan)")
        elif self.ledger in ("stale", "unreadable"):
            parts.append(f"push ledger {self.ledger}, keys scanned: {self.ledger_note}")
        return (
            ", ".join(parts) + f"; project {self.project_id} at {self.url} ({self.seconds:.1f} s)"
        )


LEDGER_FORMAT = "contraband-push-ledger/1"


@dataclass(frozen=True)
class Ledger:
    """What one push left in one project: task key -> (task id, content hash)."""

    server_url: str
    project_id: int
    tasks: Mapping[str, tuple[int, str | None]]

    def highest(self) -> tuple[str, int, str | None] | None:
        """(key, id, content hash) of the task with the highest id, None when empty."""
        if not self.tasks:
            return None
        key, (task_id, content_hash) = max(self.tasks.items(), key=lambda item: item[1][0])
        return key, task_id, content_hash

    def to_existing(self) -> dict[str, ExistingTask]:
        """The ledger as a key scan would answer it, annotation counts unknown (-1)."""
        return {k: ExistingTask(i, k, h, -1) for k, (i, h) in self.tasks.items()}


class LedgerError(SchemaError):
    """A ledger file that cannot be read as one (push ignores it and scans the keys)."""


def ledger_path(ledger_dir: Path, *, server_url: str, project_id: int) -> Path:
    """The ledger file of one server URL and project inside `ledger_dir`."""
    server = re.sub(r"[^A-Za-z0-9.-]+", "_", server_url.split("://", 1)[-1]).strip("_")
    return Path(ledger_dir) / f"{server}-project-{project_id}.json"


def check_ledger_current(ledger: Ledger, head: TaskListHead) -> str | None:
    """Why the ledger does not describe the project as the server has it now; None if current."""
    if head.count != len(ledger.tasks):
        return f"the project has {head.count} tasks, the ledger {len(ledger.tasks)}"
    highest = ledger.highest()
    if head.last is None or highest is None:
        return None
    key, task_id, content_hash = highest
    last = head.last
    if (last.id, last.key, last.content_hash) != (task_id, key, content_hash):
        return (
            f"the project's highest task is {last.id} ({last.key}, content hash "
            f"{last.content_hash}), the ledger's {task_id} ({key}, content hash {content_hash})"
        )
    return None


def read_ledger(path: Path, *, server_url: str, project_id: int) -> Ledger | None:
    """The ledger at `path`, None if there is none; LedgerError if it is not a readable ledger."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"Push ledger {path}: cannot be read ({exc})") from None
    try:
        body: Any = json.loads(raw)
        if not isinstance(body, dict) or body.get("format") != LEDGER_FORMAT:
            raise ValueError(f"format is not {LEDGER_FORMAT!r}")
        if body.get("server_url") != server_url or body.get("project_id") != project_id:
            raise ValueError(
                f"it belongs to {body.get('server_url')} project {body.get('project_id')}, "
                f"not {server_url} project {project_id}"
            )
        tasks: dict[str, tuple[int, str | None]] = {}
        for key, value in body["tasks"].items():
            task_id, content_hash = value
            if not isinstance(task_id, int) or not (
                content_hash is None or isinstance(content_hash, str)
            ):
                raise ValueError(f"entry {key!r} is {value!r}, not [task id, content hash]")
            tasks[str(key)] = (task_id, content_hash)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LedgerError(
            f"Push ledger {path}: not a valid ledger ({type(exc).__name__}: {exc}). It is "
            "ignored and rewritten after a full key scan; delete it to silence this."
        ) from None
    return Ledger(server_url, project_id, tasks)


def write_ledger(path: Path, ledger: Ledger) -> None:
    """Write the ledger atomically (a temporary file renamed over the old one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "format": LEDGER_FORMAT,
        "server_url": ledger.server_url,
        "project_id": ledger.project_id,
        "tasks": {k: [i, h] for k, (i, h) in sorted(ledger.tasks.items(), key=lambda x: x[1][0])},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)


def _read_existing(
    tasks: Sequence[TaskPayload],
    *,
    client: LabelStudio,
    project_id: int,
    path: Path | None,
) -> tuple[dict[str, ExistingTask], str, str]:
    """Existing tasks from a current ledger, else from a full key scan; (tasks, status, note).

    From a ledger, only tasks whose content hash changed are read from the server (one GET each)
    for their annotation count, the one thing plan_push needs that the ledger does not hold.
    """
    if path is None:
        return client.list_task_keys(project_id), "none", ""
    try:
        ledger = read_ledger(path, server_url=client.url, project_id=project_id)
    except LedgerError as exc:
        return client.list_task_keys(project_id), "unreadable", str(exc)
    if ledger is None:
        return client.list_task_keys(project_id), "absent", f"no ledger at {path} yet"
    why = check_ledger_current(ledger, client.read_task_list_head(project_id))
    if why is not None:
        return client.list_task_keys(project_id), "stale", f"ledger {path}: {why}"
    existing = ledger.to_existing()
    for task in tasks:
        old = existing.get(task.key)
        if old is None or old.content_hash == task.content_hash:
            continue
        fresh = client.get_task(old.id)
        if fresh is None or fresh.key != task.key:
            # Deleted or re-keyed behind the ledger's back after all: trust nothing.
            note = f"ledger {path}: task {old.id} ({task.key}) is no longer on the server as such"
            return client.list_task_keys(project_id), "stale", note
        existing[task.key] = fresh
    return existing, "current", ""


def plan_push(tasks: Sequence[TaskPayload], existing: Mapping[str, ExistingTask]) -> PushPlan:
    """Sort tasks into new / unchanged / update / conflict by key and content hash (pure)."""
    seen: set[str] = set()
    new, unchanged, update, conflicts = [], [], [], []
    for task in tasks:
        if task.key in seen:
            raise SchemaError(
                f"Task key {task.key} appears twice in the tasks to push; keys must be "
                "unique per project"
            )
        seen.add(task.key)
        old = existing.get(task.key)
        if old is None:
            new.append(task)
        elif old.content_hash == task.content_hash:
            unchanged.append(task)
        elif old.annotation_count == 0:
            update.append((task, old))
        else:
            conflicts.append((task, old))
    pushed_docs = {t.doc_id for t in tasks}
    stale = tuple(
        old
        for key, old in existing.items()
        if key not in seen and key.rsplit(":", 1)[0] in pushed_docs
    )
    return PushPlan(tuple(new), tuple(unchanged), tuple(update), tuple(conflicts), stale)


def check_predictions(
    tasks: Sequence[TaskPayload], predictions: Mapping[str, Annotation], *, schema: Schema
) -> list[Problem]:
    """Every problem in the predictions (Label Studio would accept them silently)."""
    by_key = {t.key: t for t in tasks}
    problems: list[Problem] = []
    for key, prediction in predictions.items():
        task = by_key.get(key)
        if task is None:
            continue
        record = AnnotatedTask(
            doc_id=task.doc_id,
            task_id=None,
            text=task.text,
            chunk_start=task.chunk_start,
            chunk_end=task.chunk_end,
            meta={"task_key": key},
        )
        problems.extend(check_annotation(record, prediction, schema=schema)[1])
    return problems


def _wait_for_settled_keys(
    client: LabelStudio, project_id: int, after_id: int, keys: set[str], *, settle: float
) -> dict[str, ExistingTask]:
    """Keys of the batch now on the server; reads again until nothing new appears for `settle` s.

    A timed-out import may still be running on the server; one import is one transaction, so
    once the set of keys stops growing for a while it is safe to import what is missing.
    """
    present = {
        k: v for k, v in client.list_task_keys(project_id, after_id=after_id).items() if k in keys
    }
    deadline = time.monotonic() + settle
    while len(present) < len(keys) and time.monotonic() < deadline:
        time.sleep(min(1.0, settle))
        again = {
            k: v
            for k, v in client.list_task_keys(project_id, after_id=after_id).items()
            if k in keys
        }
        if len(again) > len(present):
            present = again
            deadline = time.monotonic() + settle
    return present


def push_tasks(
    tasks: Sequence[TaskPayload],
    *,
    client: LabelStudio,
    project_id: int,
    predictions: Mapping[str, Annotation]
    | Callable[[Sequence[TaskPayload]], Mapping[str, Annotation]]
    | None = None,
    schema: Schema | None = None,
    batch_size: int = 1000,
    dry_run: bool = False,
    progress: bool = True,
    attempts: int = 4,
    settle: float | None = None,
    ledger_dir: Path | None = None,
) -> PushSummary:
    """Import the tasks whose key is not in the project yet; update changed unannotated ones.

    predictions: keyed by task key, spans in document offsets; or a function that is given the
    tasks this push will send (new or updated, nothing in a dry run) and returns them, so that a
    re-push pre-annotates nothing. Those of the tasks this push sends are checked against `schema` (default configs/schema.yaml) first; a
    SchemaError lists every problem before any import.
    settle: seconds to wait for a timed-out import to appear (default: the client's import
    timeout, at least 5).
    ledger_dir: keep a push ledger for this server and project there and plan from it when it is
    provably current (see the module docstring); None: scan the project's keys every time.
    """
    started = time.monotonic()
    predict = predictions if callable(predictions) else None
    predictions = {} if predict is not None else dict(predictions or {})
    path = (
        None
        if ledger_dir is None
        else ledger_path(ledger_dir, server_url=client.url, project_id=project_id)
    )
    existing, ledger_status, ledger_note = _read_existing(
        tasks, client=client, project_id=project_id, path=path
    )
    plan = plan_push(tasks, existing)
    # Only the predictions that this push sends are checked: an unchanged task's prediction
    # is already in the project (it was checked when it was sent), and checking 50,000 of them
    # on every re-push would cost more than the push itself.
    outgoing = [*plan.new, *(task for task, _ in plan.update)]
    if predict is not None and outgoing and not dry_run:
        predictions = dict(predict(outgoing))
    if predictions and outgoing:
        schema = schema or load_schema()
        problems = check_predictions(outgoing, predictions, schema=schema)
        if problems:
            shown = "\n".join(p.message for p in problems[:20])
            more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise SchemaError(
                f"{len(problems)} problem(s) in the predictions; nothing was pushed. Fix "
                "the pre-annotator "
                f"(configs/ gazetteers and rules) or the schema:\n{shown}{more}"
            )
    with_predictions = sum(1 for t in plan.new if t.key in predictions)
    if dry_run:
        return PushSummary(
            project_id,
            client.url,
            len(tasks),
            len(plan.new),
            len(plan.unchanged),
            len(plan.update),
            tuple(plan.conflict_messages()),
            len(plan.stale),
            with_predictions,
            0,
            time.monotonic() - started,
            dry_run=True,
            ledger=ledger_status,
            ledger_note=ledger_note,
        )
    # What the ledger will say: the tasks known now, plus each batch once it is imported.
    known = {k: (v.id, v.content_hash) for k, v in existing.items()}
    ledger_trusted = True  # False once a batch failed: its outcome is only known from a scan
    settle = settle if settle is not None else max(5.0, float(client.import_timeout or 0))
    max_id = max((t.id for t in existing.values()), default=0)
    imported: list[int] = []
    retried = 0
    batches = [plan.new[i : i + batch_size] for i in range(0, len(plan.new), batch_size)]
    bar = tqdm(total=len(plan.new), unit="task", desc="push", disable=not progress)
    for batch in batches:
        pending = list(batch)
        keys = {t.key for t in batch}
        batch_floor = max_id
        for attempt in Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=1, max=20),
            retry=retry_if_exception_type(LabelStudioRequestError),
            reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    retried += attempt.retry_state.attempt_number == 2
                    present = _wait_for_settled_keys(
                        client, project_id, batch_floor, keys, settle=settle
                    )
                    already = set(imported)
                    imported.extend(t.id for t in present.values() if t.id not in already)
                    pending = [t for t in batch if t.key not in present]
                if pending:
                    ids = client.import_tasks(project_id, pending, predictions)
                    imported.extend(ids)
                    if len(ids) == len(pending):
                        # The server answers the new ids in request order.
                        known.update(
                            (t.key, (i, t.content_hash)) for t, i in zip(pending, ids, strict=True)
                        )
                    else:
                        ledger_trusted = False
                    pending = []
        if attempt.retry_state.attempt_number > 1:
            ledger_trusted = False
        if path is not None and ledger_trusted:
            write_ledger(path, Ledger(client.url, project_id, known))
        max_id = max([max_id, *imported]) if imported else max_id
        bar.update(len(batch))
    bar.close()
    for task, old in plan.update:
        client.update_task(old.id, task, predictions.get(task.key))
        known[task.key] = (old.id, task.content_hash)
    if path is not None:
        if ledger_trusted:
            write_ledger(path, Ledger(client.url, project_id, known))
        else:
            scanned = client.list_task_keys(project_id)
            write_ledger(
                path,
                Ledger(
                    client.url, project_id, {k: (v.id, v.content_hash) for k, v in scanned.items()}
                ),
            )
    return PushSummary(
        project_id,
        client.url,
        len(tasks),
        len(plan.new),
        len(plan.unchanged),
        len(plan.update),
        tuple(plan.conflict_messages()),
        len(plan.stale),
        with_predictions,
        retried,
        time.monotonic() - started,
        task_ids=tuple(imported),
        ledger=ledger_status,
        ledger_note=ledger_note,
    )


# -- refreshing the predictions of unannotated tasks (push --model) --------------------------


@dataclass(frozen=True)
class RefreshPlan:
    """Which tasks of the project get a new model's predictions (decided by plan_refresh)."""

    refresh: tuple[tuple[TaskPayload, ExistingTask], ...]  # unannotated, other predictions
    current: tuple[tuple[TaskPayload, ExistingTask], ...]  # unannotated, already this version
    annotated: tuple[tuple[TaskPayload, ExistingTask], ...]  # left exactly as they are


def plan_refresh(
    tasks: Sequence[TaskPayload],
    existing: Mapping[str, ExistingTask],
    versions: Mapping[int, Sequence[str]],
    *,
    model_version: str,
) -> RefreshPlan:
    """Sort the project's tasks by what a refresh with `model_version` does to them (pure).

    A task with any annotation (submitted or skipped) is never touched. An unannotated task is
    refreshed unless its only predictions are already of `model_version`. Tasks not in the
    project yet are left to the import.
    """
    refresh, current, annotated = [], [], []
    for task in tasks:
        old = existing.get(task.key)
        if old is None:
            continue
        if old.annotation_count != 0:
            annotated.append((task, old))
        elif set(versions.get(old.id, ())) == {model_version}:
            current.append((task, old))
        else:
            refresh.append((task, old))
    return RefreshPlan(tuple(refresh), tuple(current), tuple(annotated))


@dataclass(frozen=True)
class RefreshSummary:
    """What `push --model` did to the predictions of tasks already in the project."""

    model_version: str
    refreshed: int
    current: int
    annotated: int
    dry_run: bool = False

    def summary_phrase(self) -> str:
        verb = "would refresh" if self.dry_run else "refreshed"
        return (
            f"{self.model_version}: {verb} the predictions of {self.refreshed} unannotated "
            f"task(s), {self.current} already had them, {self.annotated} annotated task(s) "
            "left untouched"
        )


def refresh_predictions(
    tasks: Sequence[TaskPayload],
    *,
    client: LabelStudio,
    project_id: int,
    predict: Callable[[Sequence[TaskPayload]], Mapping[str, Annotation]],
    model_version: str,
    schema: Schema | None = None,
    batch_size: int = 1000,
    dry_run: bool = False,
    progress: bool = True,
) -> RefreshSummary:
    """Replace the predictions of the project's unannotated tasks by `predict`'s (a new model's).

    Annotated tasks (a submitted or skipped annotation) keep everything. The new predictions
    are computed and checked against the schema before anything changes (a SchemaError lists
    every problem); then each batch is swapped in two requests (see
    LabelStudio.replace_predictions). Running it again refreshes nothing.
    """
    existing = client.list_task_keys(project_id)
    versions = client.list_prediction_versions(project_id)
    plan = plan_refresh(tasks, existing, versions, model_version=model_version)
    summary = RefreshSummary(
        model_version,
        len(plan.refresh),
        len(plan.current),
        len(plan.annotated),
        dry_run=dry_run,
    )
    if dry_run or not plan.refresh:
        return summary
    outgoing = [task for task, _ in plan.refresh]
    predictions = dict(predict(outgoing))
    problems = check_predictions(outgoing, predictions, schema=schema or load_schema())
    if problems:
        shown = "\n".join(p.message for p in problems[:20])
        raise SchemaError(
            f"{len(problems)} problem(s) in the predictions of {model_version}; no prediction "
            f"was refreshed. Retrain the model from a release of the current schema:\n{shown}"
        )
    bar = tqdm(total=len(plan.refresh), unit="task", desc="refresh", disable=not progress)
    for start in range(0, len(plan.refresh), batch_size):
        batch = plan.refresh[start : start + batch_size]
        client.replace_predictions(
            project_id,
            [
                (old.id, predictions[task.key], task.chunk_start)
                for task, old in batch
                if task.key in predictions
            ],
        )
        bar.update(len(batch))
    bar.close()
    return summary
