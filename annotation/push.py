"""Push tasks (with predictions) to a Label Studio project: idempotent, resumable, not destructive.

Label Studio has no uniqueness constraint on task data and a timed-out import may still be
committed, so: the project's task keys are read first and only new keys are imported; after a
failed or timed-out batch the keys are read again (waiting until the server has settled) and
only the still-missing tasks are retried. A task that has annotations is never replaced: if its
text changed, that is reported.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential
from tqdm import tqdm

from corpus.errors import SchemaError

from .labelstudio import ExistingTask, LabelStudio, LabelStudioRequestError
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
        return (
            ", ".join(parts) + f"; project {self.project_id} at {self.url} ({self.seconds:.1f} s)"
        )


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
    predictions: Mapping[str, Annotation] | None = None,
    schema: Schema | None = None,
    batch_size: int = 1000,
    dry_run: bool = False,
    progress: bool = True,
    attempts: int = 4,
    settle: float | None = None,
) -> PushSummary:
    """Import the tasks whose key is not in the project yet; update changed unannotated ones.

    predictions: keyed by task key, spans in document offsets. Those of the tasks this push sends
    (new or updated) are checked against `schema` (default configs/schema.yaml) first; a
    SchemaError lists every problem before any import.
    settle: seconds to wait for a timed-out import to appear (default: the client's import
    timeout, at least 5).
    """
    started = time.monotonic()
    predictions = dict(predictions or {})
    existing = client.list_task_keys(project_id)
    plan = plan_push(tasks, existing)
    # Only the predictions that this push sends are checked: an unchanged task's prediction
    # is already in the project (it was checked when it was sent), and checking 50,000 of them
    # on every re-push would cost more than the push itself.
    outgoing = [*plan.new, *(task for task, _ in plan.update)]
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
        )
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
                    imported.extend(client.import_tasks(project_id, pending, predictions))
                    pending = []
        max_id = max([max_id, *imported]) if imported else max_id
        bar.update(len(batch))
    bar.close()
    for task, old in plan.update:
        client.update_task(old.id, task, predictions.get(task.key))
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
    )
