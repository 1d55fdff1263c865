"""Exports: the raw JSON of a project, whole or one task id range at a time, byte for byte.

Functions over a connected `LabelStudio` client. The client keeps the SDK calls (an export
snapshot's create, status, download and delete) and the authenticated raw requests; this
module decides what is exported and how: the filters, the temporary Data Manager view of
range exports, the predictions list and the task id range that pull plans its parts from.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from corpus.errors import LabelStudioError

from .task_scan import task_list_params
from .types import TaskIdRange

if TYPE_CHECKING:
    from .client import LabelStudio

# What every export holds: all annotations (usual, ground truth, skipped), drafts and
# full predictions, completed_by as a user id.
EXPORT_ANNOTATION_FILTER = {"usual": True, "ground_truth": True, "skipped": True}
EXPORT_SERIALIZATION = {
    "predictions": {"only_id": False},
    "drafts": {"only_id": False},
    "annotations__completed_by": {"only_id": True},
}
# The range exports of pull: prediction ids only. The snapshot reads each task's predictions
# with a query of its own; pull reads them all in one request instead (list_predictions_raw).
RANGE_EXPORT_SERIALIZATION = {**EXPORT_SERIALIZATION, "predictions": {"only_id": True}}
EXPORT_VIEW_TITLE = "contraband pull (temporary)"
# How long an export snapshot may take on the server, in seconds.
EXPORT_TIMEOUT = 600.0


def export_raw_bytes(client: LabelStudio, project_id: int) -> bytes:
    """The raw JSON export of the whole project in one snapshot, byte for byte.

    Every task, every annotator's annotations (skipped and ground truth included), drafts and
    full predictions; completed_by as user ids. pull uses export_raw_range_bytes instead
    (the same JSON, one task id range per request, so ranges can run in parallel).
    """
    return _export_snapshot(
        client,
        project_id,
        task_filter_options={},
        serialization_options=EXPORT_SERIALIZATION,
        what="all tasks",
    )


def export_raw(client: LabelStudio, project_id: int) -> list[dict[str, Any]]:
    """The raw JSON export parsed (see export_raw_bytes)."""
    return json.loads(export_raw_bytes(client, project_id))


def export_raw_range_bytes(
    client: LabelStudio, project_id: int, *, view_id: int, first_id: int, last_id: int
) -> bytes:
    """The raw JSON export of the tasks with first_id <= id <= last_id, predictions as ids.

    As export_raw_bytes otherwise; the full predictions come from list_predictions_raw.
    Points the view `view_id` (create_export_view) at the range, then exports that view.
    One view must not be used by two exports at the same time.
    """
    client.request(
        f"pointing pull view {view_id} at tasks {first_id}-{last_id}",
        "PATCH",
        f"api/dm/views/{view_id}/",
        payload={
            "project": project_id,
            "data": {"title": EXPORT_VIEW_TITLE, "filters": _id_range_filters(first_id, last_id)},
        },
    )
    return _export_snapshot(
        client,
        project_id,
        task_filter_options={"view": view_id},
        serialization_options=RANGE_EXPORT_SERIALIZATION,
        what=f"tasks {first_id}-{last_id}",
    )


def create_export_view(client: LabelStudio, project_id: int) -> int:
    """A Data Manager tab used to export one task id range at a time; its id.

    Annotators see it as a tab titled "contraband pull (temporary)" while a pull runs;
    delete it with delete_export_view.
    """
    response = client.request(
        f"creating a pull view in project {project_id}",
        "POST",
        "api/dm/views/",
        payload={
            "project": project_id,
            "data": {"title": EXPORT_VIEW_TITLE, "filters": _id_range_filters(0, 0)},
        },
    )
    return int(response.json()["id"])


def delete_export_view(client: LabelStudio, view_id: int) -> None:
    """Delete a view made by create_export_view (a missing view is fine)."""
    client.request(
        f"deleting pull view {view_id}", "DELETE", f"api/dm/views/{view_id}/", missing_ok=True
    )


def read_task_id_range(client: LabelStudio, project_id: int) -> TaskIdRange:
    """The task count and the lowest and highest task id of a project (two cheap requests)."""
    ends = []
    for ordering in ("tasks:id", "-tasks:id"):
        body = client.get_json(
            f"reading the task id range of project {project_id}",
            "api/tasks/",
            params=task_list_params(project_id, ordering=ordering, include="id"),
        )
        tasks = body.get("tasks") or []
        if not tasks:
            return TaskIdRange(0, 0, 0)
        ends.append(int(tasks[0]["id"]))
    return TaskIdRange(int(body.get("total") or 0), ends[0], ends[1])


def list_predictions_raw(client: LabelStudio, project_id: int) -> bytes:
    """Every prediction of the project (result, model_version, score, task id, ...) as the
    predictions API sends them: one JSON array, byte for byte."""
    response = client.get(
        f"listing the predictions of project {project_id}",
        "api/predictions/",
        params={"project": project_id},
    )
    assert response is not None  # missing_ok is off
    return response.content


def list_tasks_raw_pages(client: LabelStudio, project_id: int, *, page_size: int = 1000) -> bytes:
    """Every task with annotations, predictions and drafts from the paged tasks list API.

    The answer is a JSON array of the page bodies exactly as the server sent them
    (`[{"tasks": [...], "total": N, ...}, ...]`), so its checksum audits what was received;
    `pages_to_tasks` flattens it. Pages are ordered by task id.
    Measured at 20,000 annotated tasks: the same records as export_raw_bytes but about
    twice as slow (148 s against 72 s; `fields=all` computes every Data Manager column), so
    pull uses export snapshots (per id range); scripts/bench_labelstudio.py measures both.
    """
    bodies: list[bytes] = []
    seen = 0
    page = 1
    while True:
        response = client.get(
            f"listing the tasks of project {project_id} with annotations (page {page})",
            "api/tasks/",
            params=task_list_params(project_id, fields="all", page=page, page_size=page_size),
        )
        assert response is not None  # missing_ok is off
        body = response.json()
        bodies.append(response.content)
        tasks = body.get("tasks") or []
        seen += len(tasks)
        if not tasks or seen >= int(body.get("total") or 0):
            return b"[" + b",".join(bodies) + b"]"
        page += 1


def _export_snapshot(
    client: LabelStudio,
    project_id: int,
    *,
    task_filter_options: dict[str, Any],
    serialization_options: dict[str, Any],
    what: str,
) -> bytes:
    """Make an export snapshot, download it unchanged, delete it.

    A snapshot because the quick export only gives prediction ids.
    """
    export_id, status = client.create_export(
        project_id,
        what=what,
        task_filter_options={"only_with_annotations": False, **task_filter_options},
        annotation_filter_options=EXPORT_ANNOTATION_FILTER,
        serialization_options=serialization_options,
    )
    if status not in (None, "completed"):
        _wait_for_export(client, project_id, export_id)
    data = client.download_export(project_id, export_id, what=what)
    client.delete_export(project_id, export_id)
    return data


def _wait_for_export(
    client: LabelStudio, project_id: int, export_id: int, *, timeout: float = EXPORT_TIMEOUT
) -> None:
    """Poll an export snapshot once a second until the server has made it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.read_export_status(project_id, export_id)
        if status == "completed":
            return
        if status == "failed":
            raise LabelStudioError(
                f"{client.url}: export {export_id} of project {project_id} failed on the server"
            )
        time.sleep(1)
    raise LabelStudioError(
        f"{client.url}: export {export_id} of project {project_id} did not finish in "
        f"{timeout:.0f} s"
    )


def _id_range_filters(first_id: int, last_id: int) -> dict[str, Any]:
    """Data Manager filters selecting first_id <= task id <= last_id."""
    return {
        "conjunction": "and",
        "items": [
            {
                "filter": "filter:tasks:id",
                "operator": "in",
                "type": "Number",
                "value": {"min": first_id, "max": last_id},
            }
        ],
    }
