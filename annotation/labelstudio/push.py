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

The ledger itself is in ledger.py, duplicated keys and their repair in duplicates.py, and
`push --model`'s refresh of predictions in refresh.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from corpus.errors import SchemaError

from ..records import AnnotatedTask, Annotation
from ..schema import Schema, load_schema
from ..tasks import TaskPayload
from ..validate import Problem, check_annotation
from .client import LabelStudio
from .duplicates import DuplicateKey, find_duplicate_keys
from .importer import BatchImporter
from .ledger import LedgerError, check_ledger_current, ledger_path, read_ledger
from .task_scan import get_task, list_tasks, read_task_list_head, read_task_text
from .types import ExistingTask


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
    ] = ()  # keys of pushed documents that the new tasks no longer have (left in place)
    # Unannotated chunk tasks of an edited (updated) document that its new text no longer has.
    delete: tuple[ExistingTask, ...] = ()
    # Tasks kept under the key of an older id scheme (same text, now another key).
    adopted: int = 0
    # Changed unannotated chunks of a document with a changed annotated chunk: left as they are.
    held: tuple[ExistingTask, ...] = ()

    def conflict_messages(self, diffs: Mapping[int, str] | None = None) -> list[str]:
        """One message per changed-but-annotated task: task id, document id, what changed."""
        diffs = diffs or {}
        return [
            f"Task {old.id} (document {task.doc_id}, key {old.key}): the document text changed "
            f"(content hash {old.content_hash} -> {task.content_hash}"
            f"{'; ' + diffs[old.id] if old.id in diffs else ''}) but the task has "
            f"{old.annotation_count if old.annotation_count >= 0 else 'some'} "
            "annotation(s), so it was not replaced and the new text was not imported. "
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
    deleted: int = 0  # unannotated chunk tasks of edited documents, removed
    duplicates: tuple[str, ...] = ()  # one message per task key held by several tasks

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
            parts.append(
                f"{self.stale} other chunk tasks of those annotated documents left in place"
            )
        if self.deleted:
            parts.append(f"{self.deleted} unannotated chunk tasks of edited documents removed")
        if self.duplicates:
            parts.append(
                f"{len(self.duplicates)} task key(s) on several tasks (run `contraband doctor "
                "--repair`)"
            )
        if self.retried_batches:
            parts.append(f"{self.retried_batches} batch(es) retried without duplicates")
        if self.ledger == "current":
            parts.append("planned from the push ledger (no key scan)")
        elif self.ledger in ("stale", "unreadable"):
            parts.append(f"push ledger {self.ledger}, keys scanned: {self.ledger_note}")
        return (
            ", ".join(parts) + f"; project {self.project_id} at {self.url} ({self.seconds:.1f} s)"
        )


def scan_existing(
    client: LabelStudio, project_id: int
) -> tuple[dict[str, ExistingTask], list[DuplicateKey]]:
    """The project's tasks by key (a duplicated key: its annotated or lowest-id task) and the
    duplicated keys."""
    listed = list_tasks(client, project_id)
    found: dict[str, ExistingTask] = {}
    for task in listed:
        held = found.get(task.key)
        if held is None or task.annotation_count > held.annotation_count:
            found[task.key] = task
    return found, find_duplicate_keys(listed)


def _read_existing(
    tasks: Sequence[TaskPayload],
    *,
    client: LabelStudio,
    project_id: int,
    path: Path | None,
) -> tuple[dict[str, ExistingTask], str, str, list[DuplicateKey]]:
    """Existing tasks from a current ledger, else from a full key scan.

    Returns (tasks by key, ledger status, note, duplicated keys found by the scan). From a
    ledger, only the tasks of documents whose text changed are read from the server (one GET
    each) for their annotation count, the one thing plan_push needs that the ledger lacks.
    A ledger is never current while a key is duplicated (the task count differs from it).
    """

    def scanned(status: str, note: str) -> tuple[dict[str, ExistingTask], str, str, list]:
        found, duplicates = scan_existing(client, project_id)
        return found, status, note, duplicates

    if path is None:
        return scanned("none", "")
    try:
        ledger = read_ledger(path, server_url=client.url, project_id=project_id)
    except LedgerError as exc:
        return scanned("unreadable", str(exc))
    if ledger is None:
        return scanned("absent", f"no ledger at {path} yet")
    why = check_ledger_current(ledger, read_task_list_head(client, project_id))
    if why is not None:
        return scanned("stale", f"ledger {path}: {why}")
    existing = ledger.to_existing()
    touched = {
        task.doc_id
        for task in tasks
        if (old := existing.get(task.key)) is None or old.content_hash != task.content_hash
    }
    for key, old in list(existing.items()):
        if doc_of(key) not in touched:
            continue
        fresh = get_task(client, old.id)
        if fresh is None or fresh.key != key:
            # Deleted or re-keyed behind the ledger's back after all: trust nothing.
            note = f"ledger {path}: task {old.id} ({key}) is no longer on the server as such"
            return scanned("stale", note)
        existing[key] = fresh
    return existing, "current", "", []


def chunk_start_of(key: str) -> int:
    """The chunk start a task key ends with ("<doc_id>:<chunk_start>"); -1 when it has none."""
    _, _, tail = key.rpartition(":")
    return int(tail) if tail.isdigit() else -1


def doc_of(key: str) -> str:
    """The document id a task key starts with."""
    return key.rsplit(":", 1)[0]


def plan_push(tasks: Sequence[TaskPayload], existing: Mapping[str, ExistingTask]) -> PushPlan:
    """Sort tasks into new / unchanged / update / conflict / delete per document (pure).

    A document is known by its id (from its source), its text by the content hash, so an
    edited page keeps its id. With the same chunk layout, changed chunks are updated and
    missing ones imported; when a changed chunk is annotated, it is reported (conflict) and the
    document's other chunks are left as they are too (never half old, half new). With another
    layout (chunks moved), an unannotated document's tasks are updated in order, extra chunks
    imported and surplus ones deleted; a document with any annotated chunk is reported and
    left alone. A task whose key is not in
    the project but whose exact text is, under a key no new task has (an older id scheme), is
    unchanged: it is never imported a second time.
    """
    by_doc = _tasks_by_document(tasks)
    pushed = {t.key for t in tasks}
    old_by_doc: dict[str, list[ExistingTask]] = {}
    legacy: dict[str | None, list[ExistingTask]] = {}  # content hash -> tasks of no new key
    for key, old in existing.items():
        if doc_of(key) in by_doc:
            old_by_doc.setdefault(doc_of(key), []).append(old)
        elif key not in pushed:
            legacy.setdefault(old.content_hash, []).append(old)
    plan = _PlanBuilder()
    for doc_id, news in by_doc.items():
        olds = sorted(old_by_doc.get(doc_id, []), key=lambda o: chunk_start_of(o.key))
        if not olds:
            plan.new_document(news, legacy)
        elif {o.key for o in olds} <= {t.key for t in news}:
            plan.same_layout(news, olds)
        else:
            plan.other_layout(news, olds)
    return plan.build()


def _tasks_by_document(tasks: Sequence[TaskPayload]) -> dict[str, list[TaskPayload]]:
    """The tasks of each document, in order; a key given twice is an error."""
    seen: set[str] = set()
    by_doc: dict[str, list[TaskPayload]] = {}
    for task in tasks:
        if task.key in seen:
            raise SchemaError(
                f"Task key {task.key} appears twice in the tasks to push; keys must be "
                "unique per project"
            )
        seen.add(task.key)
        by_doc.setdefault(task.doc_id, []).append(task)
    return by_doc


@dataclass
class _PlanBuilder:
    """`plan_push`'s lists, filled one document at a time."""

    new: list[TaskPayload] = field(default_factory=list)
    unchanged: list[TaskPayload] = field(default_factory=list)
    update: list[tuple[TaskPayload, ExistingTask]] = field(default_factory=list)
    conflicts: list[tuple[TaskPayload, ExistingTask]] = field(default_factory=list)
    stale: list[ExistingTask] = field(default_factory=list)
    delete: list[ExistingTask] = field(default_factory=list)
    held: list[ExistingTask] = field(default_factory=list)
    adopted: int = 0

    def new_document(
        self, news: list[TaskPayload], legacy: dict[str | None, list[ExistingTask]]
    ) -> None:
        """A document the project does not have: imported, except the tasks whose exact
        text is there under an older key (adopted as unchanged)."""
        for task in news:
            if legacy.get(task.content_hash):
                legacy[task.content_hash].pop(0)
                self.unchanged.append(task)
                self.adopted += 1
            else:
                self.new.append(task)

    def same_layout(self, news: list[TaskPayload], olds: list[ExistingTask]) -> None:
        """Same chunk layout (some chunks may be missing): changed chunks updated, missing
        ones imported; an annotated changed chunk holds the whole document back."""
        by_key = {o.key: o for o in olds}
        changed = [
            (t, by_key[t.key])
            for t in news
            if t.key in by_key and by_key[t.key].content_hash != t.content_hash
        ]
        self.unchanged.extend(
            t for t in news if t.key in by_key and by_key[t.key].content_hash == t.content_hash
        )
        self.new.extend(t for t in news if t.key not in by_key)
        annotated = [(t, o) for t, o in changed if o.annotation_count != 0]
        if annotated:
            # Never a document half old, half new: its other chunks stay as they are too.
            self.conflicts.extend(annotated)
            self.held.extend(o for t, o in changed if o.annotation_count == 0)
        else:
            self.update.extend(changed)

    def other_layout(self, news: list[TaskPayload], olds: list[ExistingTask]) -> None:
        """Chunks moved: an unannotated document's tasks are updated in order, extra chunks
        imported and surplus ones deleted; one with any annotated chunk is left alone."""
        if any(o.annotation_count != 0 for o in olds):  # -1 (unknown) counts as annotated
            new_keys = {t.key for t in news}
            for index, old in enumerate(olds):
                if old.annotation_count != 0:
                    self.conflicts.append((news[min(index, len(news) - 1)], old))
                elif old.key not in new_keys:
                    self.stale.append(old)
            return
        for task, old in zip(news, olds, strict=False):
            if task.key == old.key and task.content_hash == old.content_hash:
                self.unchanged.append(task)
            else:
                self.update.append((task, old))
        self.new.extend(news[len(olds) :])
        self.delete.extend(olds[len(news) :])

    def build(self) -> PushPlan:
        return PushPlan(
            tuple(self.new),
            tuple(self.unchanged),
            tuple(self.update),
            tuple(self.conflicts),
            tuple(self.stale),
            delete=tuple(self.delete),
            adopted=self.adopted,
            held=tuple(self.held),
        )


def diff_summary(old: str, new: str, *, context: int = 30) -> str:
    """'characters 140-152 of 2,301 changed (12 -> 15 characters): "...old..." -> "...new..."'.

    The changed stretch is what lies between the common prefix and the common suffix (linear
    time; enough for a reviewer to find the edit)."""
    if old == new:
        return "same text"
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    old_part = old[prefix : len(old) - suffix]
    new_part = new[prefix : len(new) - suffix]

    def cut(text: str) -> str:
        return text if len(text) <= context else text[:context] + "..."

    return (
        f"characters {prefix}-{len(old) - suffix} of {len(old):,} changed "
        f"({len(old_part)} -> {len(new_part)} characters): {cut(old_part)!r} -> {cut(new_part)!r}"
    )


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
    re-push pre-annotates nothing. Those of the tasks this push sends are checked against
    `schema` (default configs/schema.yaml) first; a SchemaError lists every problem before any
    import.
    settle: seconds to wait for a timed-out import to appear (default: the client's import
    timeout, at least 5).
    ledger_dir: keep a push ledger for this server and project there and plan from it when it is
    provably current (see the module docstring); None: scan the project's keys every time.
    """
    started = time.monotonic()
    path = (
        None
        if ledger_dir is None
        else ledger_path(ledger_dir, server_url=client.url, project_id=project_id)
    )
    existing, ledger_status, ledger_note, duplicates = _read_existing(
        tasks, client=client, project_id=project_id, path=path
    )
    plan = plan_push(tasks, existing)
    # Only the predictions that this push sends are checked: an unchanged task's prediction
    # is already in the project (it was checked when it was sent), and checking 50,000 of them
    # on every re-push would cost more than the push itself.
    outgoing = [*plan.new, *(task for task, _ in plan.update)]
    sent = _outgoing_predictions(outgoing, predictions, schema=schema, dry_run=dry_run)
    diffs = _conflict_diffs(client, plan)

    def summary(*, retried: int, task_ids: tuple[int, ...] = ()) -> PushSummary:
        """The push's summary as things stand when it is called (one place builds it)."""
        return PushSummary(
            project_id=project_id,
            url=client.url,
            tasks_in=len(tasks),
            imported=len(plan.new),
            unchanged=len(plan.unchanged),
            updated=len(plan.update),
            conflicts=tuple(plan.conflict_messages(diffs)),
            stale=len(plan.stale) + len(plan.held),
            predictions=sum(1 for t in plan.new if t.key in sent),
            retried_batches=retried,
            seconds=time.monotonic() - started,
            dry_run=dry_run,
            task_ids=task_ids,
            ledger=ledger_status,
            ledger_note=ledger_note,
            deleted=len(plan.delete),
            duplicates=tuple(d.message() for d in duplicates),
        )

    if dry_run:
        return summary(retried=0)
    importer = BatchImporter(
        client=client,
        project_id=project_id,
        predictions=sent,
        attempts=attempts,
        settle=settle if settle is not None else max(5.0, float(client.import_timeout or 0)),
        ledger=path,
        known={k: (v.id, v.content_hash) for k, v in existing.items()},
        max_id=max((t.id for t in existing.values()), default=0),
    )
    with tqdm(total=len(plan.new), unit="task", desc="push", disable=not progress) as bar:
        for i in range(0, len(plan.new), batch_size):
            batch = plan.new[i : i + batch_size]
            importer.import_batch(batch)
            bar.update(len(batch))
    importer.replace_and_delete(plan)
    importer.finish_ledger()
    return summary(retried=importer.retried, task_ids=tuple(importer.imported))


def _outgoing_predictions(
    outgoing: Sequence[TaskPayload],
    predictions: Mapping[str, Annotation]
    | Callable[[Sequence[TaskPayload]], Mapping[str, Annotation]]
    | None,
    *,
    schema: Schema | None,
    dry_run: bool,
) -> dict[str, Annotation]:
    """The predictions of the tasks this push sends (a callable is asked for those only, and
    not in a dry run), checked against the schema: a SchemaError lists every problem."""
    if callable(predictions):
        found = dict(predictions(outgoing)) if outgoing and not dry_run else {}
    else:
        found = dict(predictions or {})
    if found and outgoing:
        problems = check_predictions(outgoing, found, schema=schema or load_schema())
        if problems:
            shown = "\n".join(p.message for p in problems[:20])
            more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise SchemaError(
                f"{len(problems)} problem(s) in the predictions; nothing was pushed. Fix "
                "the pre-annotator "
                f"(configs/ gazetteers and rules) or the schema:\n{shown}{more}"
            )
    return found


MAX_CONFLICT_DIFFS = 100  # conflicts whose old text is fetched for a diff summary


def _conflict_diffs(client: LabelStudio, plan: PushPlan) -> dict[int, str]:
    """Task id -> diff summary of the old and new text, for the first conflicts."""
    diffs: dict[int, str] = {}
    for task, old in plan.conflicts[:MAX_CONFLICT_DIFFS]:
        old_text = read_task_text(client, old.id)
        if old_text is not None:
            diffs[old.id] = diff_summary(old_text, task.text)
    return diffs
