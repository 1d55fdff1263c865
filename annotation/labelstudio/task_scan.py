"""The key scan: every task's key, content hash and annotation count, read from the JSON pages
of the tasks list API (`GET api/tasks/`) through a connected `LabelStudio` client.

Push plans from it (which tasks are new, changed or annotated), and so do refresh and
duplicates. It bypasses the SDK's pydantic models, which cost about as much client time as
the server spends, and asks only for the fields push needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..schema import TEXT_DATA_KEY
from .types import ExistingTask, TaskListHead

if TYPE_CHECKING:
    from .client import LabelStudio

# Key scan page size. The server's cost is about the same per task whatever the page size
# (measured 0.7-1 ms/task for 500, 2,000 and 20,000 on 2 busy cores); 5,000 keeps one
# response around 2.5 MB and the number of requests small.
SCAN_PAGE_SIZE = 5000
# The fields of a task that push reads (ExistingTask).
_TASK_FIELDS = "id,data,total_annotations,cancelled_annotations"


def list_task_keys(
    client: LabelStudio,
    project_id: int,
    *,
    after_id: int | None = None,
    page_size: int = SCAN_PAGE_SIZE,
) -> dict[str, ExistingTask]:
    """task_key -> ExistingTask for every task of the project (ids above `after_id` if given).

    Tasks without a task_key (imported by hand) are listed under "#<task id>". When a key
    is on several tasks (a duplicate, see `list_tasks`), the one with the most annotations
    stands for it, the lowest id among equals.
    """
    found: dict[str, ExistingTask] = {}
    for task in list_tasks(client, project_id, after_id=after_id, page_size=page_size):
        held = found.get(task.key)
        if held is None or task.annotation_count > held.annotation_count:
            found[task.key] = task
    return found


def list_tasks(
    client: LabelStudio,
    project_id: int,
    *,
    after_id: int | None = None,
    page_size: int = SCAN_PAGE_SIZE,
) -> list[ExistingTask]:
    """Every task of the project (ids above `after_id` if given), in id order.

    `page_size` tasks per request, ordered by id so that pages stay stable while another
    import adds tasks.
    """
    filters = []
    if after_id is not None:
        filters.append(
            {
                "filter": "filter:tasks:id",
                "operator": "greater",
                "type": "Number",
                "value": after_id,
            }
        )
    found: list[ExistingTask] = []
    seen_ids: set[int] = set()
    seen = 0
    page = 1
    while True:
        body = client.get_json(
            f"listing the tasks of project {project_id}",
            "api/tasks/",
            params=task_list_params(
                project_id, filters=filters, include=_TASK_FIELDS, page=page, page_size=page_size
            ),
        )
        tasks = body.get("tasks") or []
        for task in tasks:
            existing = _task_to_existing(task)
            if existing.id not in seen_ids:
                seen_ids.add(existing.id)
                found.append(existing)
        seen += len(tasks)
        if not tasks or seen >= int(body.get("total") or 0):
            return found
        page += 1


def read_task_list_head(client: LabelStudio, project_id: int) -> TaskListHead:
    """The project's task count and its highest-id task, in one cheap request.

    One page of one task ordered by id descending: the server counts the filtered tasks
    for `total` but serialises only that task (push uses this to check a ledger is current).
    """
    body = client.get_json(
        f"reading the task count of project {project_id}",
        "api/tasks/",
        params=task_list_params(project_id, ordering="-tasks:id", include=_TASK_FIELDS),
    )
    tasks = body.get("tasks") or []
    last = _task_to_existing(tasks[0]) if tasks else None
    return TaskListHead(int(body.get("total") or 0), last)


def get_task(client: LabelStudio, task_id: int) -> ExistingTask | None:
    """One task's key, content hash and annotation count; None if it no longer exists."""
    body = _read_task(client, task_id)
    return None if body is None else _task_to_existing(body)


def read_task_text(client: LabelStudio, task_id: int) -> str | None:
    """The text of one task as annotators see it; None if the task no longer exists."""
    body = _read_task(client, task_id)
    return None if body is None else str((body.get("data") or {}).get(TEXT_DATA_KEY) or "")


def task_list_params(
    project_id: int,
    *,
    ordering: str = "tasks:id",
    filters: Sequence[Mapping[str, Any]] = (),
    fields: str = "task_only",
    include: str | None = None,
    page: int = 1,
    page_size: int = 1,
) -> dict[str, Any]:
    """Query parameters of one page of the tasks list API (`GET api/tasks/`).

    `filters`: Data Manager filter items, all of which a task must pass; `include`: only
    these task fields (with fields="task_only"). Storage URIs are not resolved.
    """
    params: dict[str, Any] = {"project": project_id, "fields": fields}
    if include is not None:
        params["include"] = include
    query = {"filters": {"conjunction": "and", "items": list(filters)}, "ordering": [ordering]}
    return params | {
        "resolve_uri": "false",
        "query": json.dumps(query),
        "page": page,
        "page_size": page_size,
    }


def _read_task(client: LabelStudio, task_id: int) -> dict[str, Any] | None:
    return client.get_json(
        f"reading task {task_id}",
        f"api/tasks/{task_id}/",
        params={"resolve_uri": "false"},
        missing_ok=True,
    )


def _task_to_existing(task: Mapping[str, Any]) -> ExistingTask:
    """ExistingTask from a task as the tasks API serialises it (no task_key: "#<task id>")."""
    data = task.get("data") or {}
    key = str(data.get("task_key") or f"#{task['id']}")
    count = int(task.get("total_annotations") or 0) + int(task.get("cancelled_annotations") or 0)
    return ExistingTask(int(task["id"]), key, data.get("content_hash"), count)
