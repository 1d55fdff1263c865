"""Refreshing the predictions of unannotated tasks (`push --model`): plan and apply."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tqdm import tqdm

from corpus.errors import SchemaError

from ..records import Annotation
from ..schema import Schema, load_schema
from ..tasks import TaskPayload
from .client import LabelStudio
from .converters import prediction_to_payload
from .exports import list_predictions_raw
from .push import check_predictions
from .task_scan import list_task_keys
from .types import ExistingTask


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
    replace_predictions). Running it again refreshes nothing.
    """
    existing = list_task_keys(client, project_id)
    versions = list_prediction_versions(client, project_id)
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
        replace_predictions(
            client,
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


def list_prediction_versions(client: LabelStudio, project_id: int) -> dict[int, list[str]]:
    """Task id -> the model versions of its predictions (one list request)."""
    versions: dict[int, list[str]] = {}
    for item in json.loads(list_predictions_raw(client, project_id)):
        versions.setdefault(int(item["task"]), []).append(str(item.get("model_version") or ""))
    return versions


def replace_predictions(
    client: LabelStudio, project_id: int, items: Sequence[tuple[int, Annotation, int]]
) -> int:
    """Give each task (task id, prediction, chunk start) this prediction instead of its old ones.

    Two requests: the Data Manager's "delete predictions" action on the tasks, then one
    bulk import of the new predictions. Annotations and drafts are not touched. If the
    import fails after the deletion, the tasks have no prediction until the next refresh.
    Answers how many predictions were imported.
    """
    if not items:
        return 0
    task_ids = [task_id for task_id, _, _ in items]
    client.request(
        f"deleting the old predictions of {len(task_ids)} task(s) in project {project_id}",
        "POST",
        f"api/dm/actions?id=delete_tasks_predictions&project={project_id}",
        payload={"selectedItems": {"all": False, "included": task_ids}},
    )
    payload = [
        {"task": task_id, **prediction_to_payload(prediction, chunk_start=chunk_start)}
        for task_id, prediction, chunk_start in items
    ]
    response = client.request(
        f"importing {len(payload)} prediction(s) into project {project_id}",
        "POST",
        f"api/projects/{project_id}/import/predictions",
        payload=payload,
    )
    body = response.json() if response.content else {}
    return int(body.get("created", len(payload))) if isinstance(body, dict) else len(payload)
