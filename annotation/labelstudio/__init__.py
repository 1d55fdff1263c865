"""Label Studio room: everything that talks to the Label Studio server, and nothing else.

    server          start/stop/find the local Label Studio process, `Connection`, its credentials
    processes       the server's PID files; a process is signalled only when it is ours
    database        the server's database: SQLite or PostgreSQL (`--database`), never shown with its password
    client          `LabelStudio`: the only module that imports label_studio_sdk; returns our types
    types           what the client returns (`ExistingTask`, `ProjectInfo`, ...) and its error
    task_scan       every task's key, hash and annotation count from the tasks list API (`list_task_keys`)
    exports         raw JSON exports, whole or per task id range (`export_raw`, `export_raw_range_bytes`)
    converters      records (document offsets) <-> Label Studio JSON (task offsets), pure
    push            plan and import tasks and predictions (`plan_push`, `push_tasks`)
    importer        a push's batches imported with retries, and what its ledger will say
    ledger          the push ledger (task key -> id, content hash), trusted only when current
    duplicates      tasks sharing a key (`find_duplicate_keys`) and `repair_duplicates`
    refresh         new predictions for unannotated tasks (`plan_refresh`, `refresh_predictions`)
    pull            export annotations in parts and store them checked (`pull`, `read_export`)
    export_records  exported tasks -> our records, annotators pseudonymised (`export_to_tasks`)

`task_scan` and `exports` are functions over a connected client (`list_task_keys(client,
project_id)`). The public names of `client`, `types`, `task_scan`, `exports` and `converters`
are re-exported here, so `from annotation.labelstudio import LabelStudio` keeps working;
import the other modules by their own module path (`from annotation.labelstudio.pull import
pull`).
"""

from __future__ import annotations

from .client import (
    LabelStudio,
    is_safe_to_repeat,
    labeling_config_problems,
    prediction_problems,
    sdk_http_client,
)
from .converters import (
    annotation_to_results,
    pages_to_tasks,
    prediction_to_payload,
    results_to_annotation,
)
from .exports import (
    EXPORT_ANNOTATION_FILTER,
    EXPORT_SERIALIZATION,
    EXPORT_TIMEOUT,
    EXPORT_VIEW_TITLE,
    RANGE_EXPORT_SERIALIZATION,
    create_export_view,
    delete_export_view,
    export_raw,
    export_raw_bytes,
    export_raw_range_bytes,
    list_predictions_raw,
    list_tasks_raw_pages,
    read_task_id_range,
)
from .task_scan import (
    SCAN_PAGE_SIZE,
    get_task,
    list_task_keys,
    list_tasks,
    read_task_list_head,
    read_task_text,
    task_list_params,
)
from .types import (
    ExistingTask,
    LabelStudioRequestError,
    ProjectInfo,
    TaskIdRange,
    TaskListHead,
    UserInfo,
)

__all__ = [
    "EXPORT_ANNOTATION_FILTER",
    "EXPORT_SERIALIZATION",
    "EXPORT_TIMEOUT",
    "EXPORT_VIEW_TITLE",
    "RANGE_EXPORT_SERIALIZATION",
    "SCAN_PAGE_SIZE",
    "ExistingTask",
    "LabelStudio",
    "LabelStudioRequestError",
    "ProjectInfo",
    "TaskIdRange",
    "TaskListHead",
    "UserInfo",
    "annotation_to_results",
    "create_export_view",
    "delete_export_view",
    "export_raw",
    "export_raw_bytes",
    "export_raw_range_bytes",
    "get_task",
    "is_safe_to_repeat",
    "labeling_config_problems",
    "list_predictions_raw",
    "list_task_keys",
    "list_tasks",
    "list_tasks_raw_pages",
    "pages_to_tasks",
    "prediction_problems",
    "prediction_to_payload",
    "read_task_id_range",
    "read_task_list_head",
    "read_task_text",
    "results_to_annotation",
    "sdk_http_client",
    "task_list_params",
]
