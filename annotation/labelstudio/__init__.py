"""Label Studio room: everything that talks to the Label Studio server, and nothing else.

    server          start/stop/find the local Label Studio process, `Connection`, its credentials
    processes       the server's PID files; a process is signalled only when it is ours
    client          `LabelStudio`: the only module that imports label_studio_sdk; returns our types
    converters      records (document offsets) <-> Label Studio JSON (task offsets), pure
    push            plan and import tasks and predictions (`plan_push`, `push_tasks`)
    ledger          the push ledger (task key -> id, content hash), trusted only when current
    duplicates      tasks sharing a key (`find_duplicate_keys`) and `repair_duplicates`
    refresh         new predictions for unannotated tasks (`plan_refresh`, `refresh_predictions`)
    pull            export annotations in parts and store them checked (`pull`, `read_export`)
    export_records  exported tasks -> our records, annotators pseudonymised (`export_to_tasks`)

The public names of `client` and `converters` are re-exported here, so
`from annotation.labelstudio import LabelStudio` keeps working; import the other modules
by their own module path (`from annotation.labelstudio.pull import pull`).
"""

from __future__ import annotations

from .client import (
    EXPORT_ANNOTATION_FILTER,
    EXPORT_SERIALIZATION,
    EXPORT_VIEW_TITLE,
    RANGE_EXPORT_SERIALIZATION,
    ExistingTask,
    LabelStudio,
    LabelStudioRequestError,
    ProjectInfo,
    TaskIdRange,
    TaskListHead,
    UserInfo,
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

__all__ = [
    "EXPORT_ANNOTATION_FILTER",
    "EXPORT_SERIALIZATION",
    "EXPORT_VIEW_TITLE",
    "RANGE_EXPORT_SERIALIZATION",
    "ExistingTask",
    "LabelStudio",
    "LabelStudioRequestError",
    "ProjectInfo",
    "TaskIdRange",
    "TaskListHead",
    "UserInfo",
    "annotation_to_results",
    "is_safe_to_repeat",
    "labeling_config_problems",
    "pages_to_tasks",
    "prediction_problems",
    "prediction_to_payload",
    "results_to_annotation",
    "sdk_http_client",
]
