"""A push's import of new tasks, batch by batch, safe to retry (see push.py).

A timed-out import may still be committed on the server, so a retried batch first reads which
of its keys the server has by now (waiting until that set stops growing) and sends only the
missing tasks. The importer keeps what the push ledger will say: the tasks known before the
push plus each batch once imported; after a failed batch the ledger is rebuilt from a key scan.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from ..records import Annotation
from ..tasks import TaskPayload
from .client import LabelStudio
from .ledger import Ledger, write_ledger
from .task_scan import list_task_keys
from .types import ExistingTask, LabelStudioRequestError

if TYPE_CHECKING:
    from .push import PushPlan


def _wait_for_settled_keys(
    client: LabelStudio, project_id: int, after_id: int, keys: set[str], *, settle: float
) -> dict[str, ExistingTask]:
    """Keys of the batch now on the server; reads again until nothing new appears for `settle` s.

    A timed-out import may still be running on the server; one import is one transaction, so
    once the set of keys stops growing for a while it is safe to import what is missing.
    """
    present = {
        k: v for k, v in list_task_keys(client, project_id, after_id=after_id).items() if k in keys
    }
    deadline = time.monotonic() + settle
    while len(present) < len(keys) and time.monotonic() < deadline:
        time.sleep(min(1.0, settle))
        again = {
            k: v
            for k, v in list_task_keys(client, project_id, after_id=after_id).items()
            if k in keys
        }
        if len(again) > len(present):
            present = again
            deadline = time.monotonic() + settle
    return present


@dataclass
class BatchImporter:
    """Imports a push's batches with retries and keeps what the ledger will say: the tasks
    known now, plus each batch once it is imported. After a failed batch the ledger is no
    longer trusted: its outcome is only known from a key scan."""

    client: LabelStudio
    project_id: int
    predictions: Mapping[str, Annotation]
    attempts: int
    settle: float
    ledger: Path | None  # where the push ledger is kept; None: no ledger
    known: dict[str, tuple[int, str]]  # task key -> (task id, content hash)
    max_id: int  # the highest task id before the next batch
    imported: list[int] = field(default_factory=list)
    retried: int = 0  # batches that needed a second attempt
    ledger_trusted: bool = True

    def import_batch(self, batch: Sequence[TaskPayload]) -> None:
        """Import one batch; a retry first reads which of its keys the server has by now
        (a timed-out import may have been committed) and sends only the missing tasks."""
        pending = list(batch)
        keys = {t.key for t in batch}
        batch_floor = self.max_id
        for attempt in Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=1, max=20),
            retry=retry_if_exception_type(LabelStudioRequestError),
            reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    self.retried += attempt.retry_state.attempt_number == 2
                    present = _wait_for_settled_keys(
                        self.client, self.project_id, batch_floor, keys, settle=self.settle
                    )
                    already = set(self.imported)
                    self.imported.extend(t.id for t in present.values() if t.id not in already)
                    pending = [t for t in batch if t.key not in present]
                if pending:
                    self._send(pending)
                    pending = []
        if attempt.retry_state.attempt_number > 1:
            self.ledger_trusted = False
        if self.ledger is not None and self.ledger_trusted:
            write_ledger(self.ledger, Ledger(self.client.url, self.project_id, self.known))
        self.max_id = max([self.max_id, *self.imported]) if self.imported else self.max_id

    def _send(self, pending: list[TaskPayload]) -> None:
        ids = self.client.import_tasks(self.project_id, pending, self.predictions)
        self.imported.extend(ids)
        if len(ids) == len(pending):  # the server answers the new ids in request order
            self.known.update(
                (t.key, (i, t.content_hash)) for t, i in zip(pending, ids, strict=True)
            )
        else:
            self.ledger_trusted = False

    def replace_and_delete(self, plan: PushPlan) -> None:
        """Replace the changed unannotated tasks and delete the ones the plan drops."""
        for task, old in plan.update:
            self.client.update_task(old.id, task, self.predictions.get(task.key))
            self.known.pop(old.key, None)
            self.known[task.key] = (old.id, task.content_hash)
        for old in plan.delete:
            self.client.delete_task(old.id)
            self.known.pop(old.key, None)

    def finish_ledger(self) -> None:
        """Write the final ledger: what this push knows, or a fresh key scan when a batch
        failed on the way."""
        if self.ledger is None:
            return
        known = self.known
        if not self.ledger_trusted:
            scanned = list_task_keys(self.client, self.project_id)
            known = {k: (v.id, v.content_hash) for k, v in scanned.items()}
        write_ledger(self.ledger, Ledger(self.client.url, self.project_id, known))
