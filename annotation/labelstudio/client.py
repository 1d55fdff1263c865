"""The one module that talks to Label Studio (through label_studio_sdk); it returns our own types.

Offsets: our records use DOCUMENT offsets (into the document's clean text); Label Studio
results use TASK-text offsets. The conversion happens only in `converters`:
`ls_offset = span.start - chunk_start`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version as _package_version
from typing import Any, Literal, overload

import httpx
from label_studio_sdk import LabelStudio as _SDKClient
from label_studio_sdk.core.api_error import ApiError

from corpus.errors import LabelStudioError

from ..records import Annotation
from ..schema import TEXT_DATA_KEY, Schema
from ..tasks import TaskPayload
from .converters import annotation_to_results, prediction_to_payload
from .server import Connection

# Key scan page size. The server's cost is about the same per task whatever the page size
# (measured 0.7-1 ms/task for 500, 2,000 and 20,000 on 2 busy cores); 5,000 keeps one
# response around 2.5 MB and the number of requests small.
_SCAN_PAGE_SIZE = 5000


class LabelStudioRequestError(LabelStudioError):
    """A request failed; `maybe_committed`: the server may have done it anyway (timeout)."""

    def __init__(self, message: str, *, maybe_committed: bool = False) -> None:
        super().__init__(message)
        self.maybe_committed = maybe_committed


@dataclass(frozen=True)
class ProjectInfo:
    """A project as ensure_project left it."""

    id: int
    title: str
    url: str
    created: bool  # made by this call
    config_differs: bool  # the server's labeling config is not the one generated from the schema
    config_updated: bool  # ... and this call replaced it (update_config=True)


@dataclass(frozen=True)
class ExistingTask:
    """What push needs to know about a task already in the project."""

    id: int
    key: str
    content_hash: str | None
    annotation_count: int  # submitted + skipped annotations


@dataclass(frozen=True)
class TaskListHead:
    """How many tasks a project has and its task with the highest id (None when empty)."""

    count: int
    last: ExistingTask | None


@dataclass(frozen=True)
class TaskIdRange:
    """A project's task count and lowest/highest task id (all 0 when it has no tasks)."""

    count: int
    first_id: int
    last_id: int


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


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        body = exc.body
        if isinstance(body, dict):
            body = body.get("validation_errors") or body.get("detail") or body
        return f"HTTP {exc.status_code}: {body}"
    return f"{type(exc).__name__}: {exc}"


# -- the SDK's private parts, and what may be repeated ----------------------------

# The SDK retries a request on 5xx/408/409/429 and on dropped connections (2 times by default).
# That is only safe for requests that do the same thing twice: reads, updates, deletes. A
# create (annotation, prediction, export, view, project, user, token) or an import that the
# server committed before the error would be done twice, so those go out exactly once and a
# failure says the server may have done it (LabelStudioRequestError.maybe_committed).
_CREATE_METHOD_PREFIXES = ("create", "import")
_UNSAFE_HTTP_METHODS = frozenset({"POST"})
_HTTP_CLIENT_PARAMETERS = frozenset({"method", "params", "json", "request_options"})


def is_safe_to_repeat(func: Callable[..., Any], kwargs: Mapping[str, Any]) -> bool:
    """False for SDK create*/import* methods and raw POST requests (see above)."""
    if getattr(func, "__name__", "").startswith(_CREATE_METHOD_PREFIXES):
        return False
    return str(kwargs.get("method", "GET")).upper() not in _UNSAFE_HTTP_METHODS


def sdk_http_client(sdk: _SDKClient) -> Any:
    """The SDK's authenticated HTTP client, for API paths the SDK has no method for.

    The only use of a private SDK part (`_client_wrapper.httpx_client`) in this project.
    Checked on every client: if an SDK release renames it or changes its `request`, this fails
    at once with what to do, instead of in the middle of a pull.
    """
    wrapper = getattr(sdk, "_client_wrapper", None)
    http = getattr(wrapper, "httpx_client", None)
    request = getattr(http, "request", None)
    parameters = set(inspect.signature(request).parameters) if callable(request) else set()
    if not _HTTP_CLIENT_PARAMETERS <= parameters:
        raise LabelStudioError(
            f"label-studio-sdk {_package_version('label-studio-sdk')} no longer has the "
            "authenticated HTTP client this project relies on (_client_wrapper.httpx_client."
            "request with method, params, json, request_options); install the version in "
            "pyproject.toml (label-studio-sdk>=2.1,<3) or update "
            "annotation/labelstudio/client.py:sdk_http_client"
        )
    return http


def labeling_config_problems(config: str, *, labels: Sequence[str]) -> list[str]:
    """What the SDK's own LabelInterface finds wrong in a labeling config, and labels that
    differ from `labels` (empty: the config is valid and offers exactly those labels)."""
    from label_studio_sdk.label_interface import LabelInterface  # local: slow to import

    # The SDK raises its own private exception classes and lxml's: importing them would use
    # more private parts, so anything the parser or a check raises counts as a problem.
    try:
        interface = LabelInterface(config)
        interface.validate()
    except Exception as exc:
        return [f"{type(exc).__name__}: {exc}"]
    offered = [name for group in interface.labels for name in group]
    if sorted(offered) != sorted(labels):
        return [f"the config offers labels {offered}, the schema {list(labels)}"]
    return []


def prediction_problems(config: str, payload: Mapping[str, Any]) -> list[str]:
    """What the SDK's LabelInterface finds wrong in a prediction payload for `config`."""
    from label_studio_sdk.label_interface import LabelInterface  # local: slow to import

    errors = LabelInterface(config).validate_prediction(dict(payload), return_errors=True)
    return [str(e) for e in errors] if isinstance(errors, list) else []


def _task_to_existing(task: Mapping[str, Any]) -> ExistingTask:
    """ExistingTask from a task as the tasks API serialises it (no task_key: "#<task id>")."""
    data = task.get("data") or {}
    key = str(data.get("task_key") or f"#{task['id']}")
    count = int(task.get("total_annotations") or 0) + int(task.get("cancelled_annotations") or 0)
    return ExistingTask(int(task["id"]), key, data.get("content_hash"), count)


# -- the client -----------------------------------------------------------------


class LabelStudio:
    """A connected Label Studio server. Every method returns our own types or plain JSON."""

    def __init__(
        self, connection: Connection, *, timeout: float = 300, import_timeout: float | None = None
    ) -> None:
        """`import_timeout` (seconds) bounds one import request; default `timeout`."""
        self.connection = connection
        self.url = connection.url
        self.timeout = timeout
        self.import_timeout = import_timeout or timeout
        try:
            self._sdk = _SDKClient(
                base_url=connection.url, api_key=connection.api_key, timeout=timeout
            )
        except (ApiError, httpx.HTTPError) as exc:
            raise LabelStudioError(f"{connection}: cannot connect ({_describe(exc)})") from None
        self._http = sdk_http_client(self._sdk)

    def __repr__(self) -> str:
        return f"LabelStudio({self.url!r})"

    def _call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the SDK; errors become LabelStudioRequestError naming `what`.

        A request that is not safe to repeat (is_safe_to_repeat) goes out once, without the
        SDK's automatic retries.
        """
        if not is_safe_to_repeat(func, kwargs):
            kwargs["request_options"] = {**(kwargs.get("request_options") or {}), "max_retries": 0}
        try:
            return func(*args, **kwargs)
        except httpx.TimeoutException as exc:
            raise LabelStudioRequestError(
                f"{self.url}: {what} timed out ({exc}); the server may still have done it",
                maybe_committed=True,
            ) from None
        except httpx.TransportError as exc:
            raise LabelStudioRequestError(
                f"{self.url}: {what} failed ({_describe(exc)}); is the server running? "
                "(`contraband server status`)",
                maybe_committed=True,
            ) from None
        except ApiError as exc:
            hint = (
                " Check LABEL_STUDIO_API_KEY (.env or environment)."
                if exc.status_code in (401, 403)
                else ""
            )
            raise LabelStudioRequestError(
                f"{self.url}: {what} was refused ({_describe(exc)}).{hint}",
                maybe_committed=exc.status_code is not None and exc.status_code >= 500,
            ) from None

    # -- identity ---------------------------------------------------------------
    def whoami(self) -> UserInfo:
        """The user the key belongs to (also a cheap check that the key works)."""
        me = self._call("reading the current user", self._sdk.users.whoami)
        return UserInfo(id=int(me.id), email=str(me.email))

    def create_personal_access_token(self) -> str:
        """A personal access token (JWT refresh token) for the current user; one per user."""
        token = self._call("creating a personal access token", self._sdk.tokens.create)
        return str(token.token)

    # -- projects ---------------------------------------------------------------
    def find_project(self, title: str) -> int | None:
        """Id of the project with exactly this title, or None."""
        pager = self._call("listing projects", self._sdk.projects.list, title=title, page_size=100)
        for project in pager:
            if project.title == title:
                return int(project.id)
        return None

    def ensure_project(
        self,
        title: str,
        *,
        schema: Schema,
        update_config: bool = False,
        model_version: str | None = None,
    ) -> ProjectInfo:
        """Create the project from the schema, or check (update_config: update) an existing one."""
        if len(title) < 3:
            raise LabelStudioError(
                f"Project title {title!r} is too short: Label Studio needs at least 3 characters"
            )
        config = schema.to_labeling_config()
        settings: dict[str, Any] = {
            "label_config": config,
            "expert_instruction": schema.to_instructions_html(),
            "show_instruction": True,
        }
        if model_version:
            settings["model_version"] = model_version
        project_id = self.find_project(title)
        if project_id is None:
            project = self._call(
                f"creating project {title!r}", self._sdk.projects.create, title=title, **settings
            )
            return ProjectInfo(
                int(project.id), title, self._project_url(int(project.id)), True, False, False
            )
        project = self._call(f"reading project {project_id}", self._sdk.projects.get, project_id)
        differs = (project.label_config or "").strip() != config.strip()
        if differs and update_config:
            self._call(
                f"updating the labeling config of project {project_id} ({title!r})",
                self._sdk.projects.update,
                project_id,
                **settings,
            )
        return ProjectInfo(
            project_id,
            title,
            self._project_url(project_id),
            False,
            differs,
            differs and update_config,
        )

    def update_project_fields(
        self, project_id: int, wanted: Mapping[str, Any]
    ) -> dict[str, tuple[Any, Any]]:
        """Set project fields (overlap, sampling, model_version...) that differ; what changed.

        The project is read first and only differing fields are sent, so pushing the same
        settings again changes nothing (Label Studio re-draws the overlap on every change).
        Answers field -> (old value, new value).
        """
        project = self._call(f"reading project {project_id}", self._sdk.projects.get, project_id)
        changed = {
            name: (getattr(project, name, None), value)
            for name, value in wanted.items()
            if getattr(project, name, None) != value
        }
        if changed:
            self._call(
                f"updating the settings {', '.join(changed)} of project {project_id}",
                self._sdk.projects.update,
                project_id,
                **{name: new for name, (_, new) in changed.items()},
            )
        return changed

    def read_project_fields(self, project_id: int, names: Sequence[str]) -> dict[str, Any]:
        """Some fields of a project as the server has them now (tests, summaries)."""
        project = self._call(f"reading project {project_id}", self._sdk.projects.get, project_id)
        return {name: getattr(project, name, None) for name in names}

    def _project_url(self, project_id: int) -> str:
        return f"{self.url}/projects/{project_id}/data"

    def delete_project(self, project_id: int) -> None:
        """Delete a project with its tasks and annotations."""
        self._call(f"deleting project {project_id}", self._sdk.projects.delete, project_id)

    # -- tasks ------------------------------------------------------------------
    def list_task_keys(
        self, project_id: int, *, after_id: int | None = None, page_size: int = _SCAN_PAGE_SIZE
    ) -> dict[str, ExistingTask]:
        """task_key -> ExistingTask for every task of the project (ids above `after_id` if given).

        Tasks without a task_key (imported by hand) are listed under "#<task id>". When a key
        is on several tasks (a duplicate, see `list_tasks`), the one with the most annotations
        stands for it, the lowest id among equals.
        """
        found: dict[str, ExistingTask] = {}
        for task in self.list_tasks(project_id, after_id=after_id, page_size=page_size):
            held = found.get(task.key)
            if held is None or task.annotation_count > held.annotation_count:
                found[task.key] = task
        return found

    def list_tasks(
        self, project_id: int, *, after_id: int | None = None, page_size: int = _SCAN_PAGE_SIZE
    ) -> list[ExistingTask]:
        """Every task of the project (ids above `after_id` if given), in id order.

        This is the key scan of every push, so it bypasses the SDK's pydantic models (they
        cost about as much client time as the server spends) and reads the JSON pages itself:
        only the fields push needs, storage URIs not resolved, `page_size` tasks per request.
        """
        items: list[dict[str, Any]] = []
        if after_id is not None:
            items.append(
                {
                    "filter": "filter:tasks:id",
                    "operator": "greater",
                    "type": "Number",
                    "value": after_id,
                }
            )
        # Ordered by id so that pages stay stable while another import adds tasks.
        query = json.dumps(
            {"filters": {"conjunction": "and", "items": items}, "ordering": ["tasks:id"]}
        )
        what = f"listing the tasks of project {project_id}"
        found: list[ExistingTask] = []
        seen_ids: set[int] = set()
        seen = 0
        page = 1
        while True:
            body = self._get_json(
                what,
                "api/tasks/",
                params={
                    "project": project_id,
                    "fields": "task_only",
                    "include": "id,data,total_annotations,cancelled_annotations",
                    "resolve_uri": "false",
                    "query": query,
                    "page": page,
                    "page_size": page_size,
                },
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

    def read_task_text(self, task_id: int) -> str | None:
        """The text of one task as annotators see it; None if the task no longer exists."""
        body = self._get_json(
            f"reading task {task_id}",
            f"api/tasks/{task_id}/",
            params={"resolve_uri": "false"},
            missing_ok=True,
        )
        if body is None:
            return None
        return str((body.get("data") or {}).get(TEXT_DATA_KEY) or "")

    def read_task_list_head(self, project_id: int) -> TaskListHead:
        """The project's task count and its highest-id task, in one cheap request.

        One page of one task ordered by id descending: the server counts the filtered tasks
        for `total` but serialises only that task (push uses this to check a ledger is current).
        """
        query = json.dumps(
            {"filters": {"conjunction": "and", "items": []}, "ordering": ["-tasks:id"]}
        )
        body = self._get_json(
            f"reading the task count of project {project_id}",
            "api/tasks/",
            params={
                "project": project_id,
                "fields": "task_only",
                "include": "id,data,total_annotations,cancelled_annotations",
                "resolve_uri": "false",
                "query": query,
                "page": 1,
                "page_size": 1,
            },
        )
        tasks = body.get("tasks") or []
        last = _task_to_existing(tasks[0]) if tasks else None
        return TaskListHead(int(body.get("total") or 0), last)

    def get_task(self, task_id: int) -> ExistingTask | None:
        """One task's key, content hash and annotation count; None if it no longer exists."""
        body = self._get_json(
            f"reading task {task_id}",
            f"api/tasks/{task_id}/",
            params={"resolve_uri": "false"},
            missing_ok=True,
        )
        return None if body is None else _task_to_existing(body)

    def delete_task(self, task_id: int) -> None:
        """Delete one task (tests and clean-ups; push never deletes)."""
        self._call(f"deleting task {task_id}", self._sdk.tasks.delete, str(task_id))

    @overload
    def _get_json(
        self, what: str, path: str, *, params: dict[str, Any], missing_ok: Literal[False] = False
    ) -> dict[str, Any]: ...

    @overload
    def _get_json(
        self, what: str, path: str, *, params: dict[str, Any], missing_ok: bool
    ) -> dict[str, Any] | None: ...

    def _get_json(
        self, what: str, path: str, *, params: dict[str, Any], missing_ok: bool = False
    ) -> dict[str, Any] | None:
        """GET an API path with the SDK's authenticated HTTP client; the parsed JSON body.

        missing_ok: answer None instead of raising on HTTP 404.
        """
        response = self._get(what, path, params=params, missing_ok=missing_ok)
        return None if response is None else response.json()

    def _get(
        self, what: str, path: str, *, params: dict[str, Any], missing_ok: bool = False
    ) -> httpx.Response | None:
        """GET an API path with the SDK's authenticated HTTP client; the response (None: 404)."""
        response = self._call(
            what,
            self._http.request,
            path,
            method="GET",
            params=params,
        )
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code >= 400:
            hint = (
                " Check LABEL_STUDIO_API_KEY (.env or environment)."
                if response.status_code in (401, 403)
                else ""
            )
            raise LabelStudioRequestError(
                f"{self.url}: {what} was refused (HTTP {response.status_code}: "
                f"{response.text[:300]}).{hint}",
                maybe_committed=False,
            )
        return response

    def import_tasks(
        self,
        project_id: int,
        tasks: Sequence[TaskPayload],
        predictions: Mapping[str, Annotation] | None = None,
    ) -> list[int]:
        """Import tasks (with their predictions, keyed by task key) in ONE request; new task ids.

        The SDK's own retries are off for this request: a retried import duplicates tasks.
        Callers that retry must first re-read which keys arrived (push.py does).
        """
        predictions = predictions or {}
        request = []
        for task in tasks:
            item: dict[str, Any] = {"data": task.data}
            prediction = predictions.get(task.key)
            if prediction is not None:
                item["predictions"] = [
                    prediction_to_payload(prediction, chunk_start=task.chunk_start)
                ]
            request.append(item)
        return self._import(project_id, request, what="tasks")

    def import_annotated_tasks(
        self,
        project_id: int,
        tasks: Sequence[TaskPayload],
        annotations: Mapping[str, Annotation],
        predictions: Mapping[str, Annotation] | None = None,
    ) -> list[int]:
        """Import tasks with inline annotations (fixtures, benchmarks), made by the key's user.

        Label Studio marks inline annotations as ground truth unless told otherwise: we say false.
        `predictions` (by task key) are imported with them.
        """
        request = []
        for task in tasks:
            item: dict[str, Any] = {"data": task.data}
            prediction = (predictions or {}).get(task.key)
            if prediction is not None:
                item["predictions"] = [
                    prediction_to_payload(prediction, chunk_start=task.chunk_start)
                ]
            annotation = annotations.get(task.key)
            if annotation is not None:
                item["annotations"] = [
                    {
                        "result": annotation_to_results(annotation, chunk_start=task.chunk_start),
                        "ground_truth": annotation.ground_truth,
                        "was_cancelled": annotation.cancelled,
                    }
                ]
            request.append(item)
        return self._import(project_id, request, what="annotated tasks")

    def _import(self, project_id: int, request: list[dict[str, Any]], *, what: str) -> list[int]:
        """One bulk-import request, SDK retries off (a retried import duplicates tasks); task ids."""
        response = self._call(
            f"importing {len(request)} {what} into project {project_id}",
            self._sdk.projects.import_tasks,
            project_id,
            request=request,
            return_task_ids=True,
            request_options={"max_retries": 0, "timeout_in_seconds": self.import_timeout},
        )
        return [int(i) for i in (response.task_ids or [])]

    def update_task(
        self, task_id: int, task: TaskPayload, prediction: Annotation | None = None
    ) -> None:
        """Replace a task's data and predictions (push only does this for unannotated tasks)."""
        self._call(f"updating task {task_id}", self._sdk.tasks.update, str(task_id), data=task.data)
        old = self._call(
            f"listing predictions of task {task_id}", self._sdk.predictions.list, task=task_id
        )
        for item in old:
            self._call(f"deleting prediction {item.id}", self._sdk.predictions.delete, item.id)
        if prediction is not None:
            payload = prediction_to_payload(prediction, chunk_start=task.chunk_start)
            self._call(
                f"adding a prediction to task {task_id}",
                self._sdk.predictions.create,
                task=task_id,
                **payload,
            )

    # -- predictions ------------------------------------------------------------
    def list_prediction_versions(self, project_id: int) -> dict[int, list[str]]:
        """Task id -> the model versions of its predictions (one list request)."""
        versions: dict[int, list[str]] = {}
        for item in json.loads(self.list_predictions_raw(project_id)):
            versions.setdefault(int(item["task"]), []).append(str(item.get("model_version") or ""))
        return versions

    def replace_predictions(
        self, project_id: int, items: Sequence[tuple[int, Annotation, int]]
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
        self._request(
            f"deleting the old predictions of {len(task_ids)} task(s) in project {project_id}",
            "POST",
            f"api/dm/actions?id=delete_tasks_predictions&project={project_id}",
            payload={"selectedItems": {"all": False, "included": task_ids}},
        )
        payload = [
            {"task": task_id, **prediction_to_payload(prediction, chunk_start=chunk_start)}
            for task_id, prediction, chunk_start in items
        ]
        response = self._request(
            f"importing {len(payload)} prediction(s) into project {project_id}",
            "POST",
            f"api/projects/{project_id}/import/predictions",
            payload=payload,
        )
        body = response.json() if response.content else {}
        return int(body.get("created", len(payload))) if isinstance(body, dict) else len(payload)

    # -- users and annotations --------------------------------------------------
    def list_user_emails(self) -> dict[int, str]:
        """User id -> email of every user the server lists (pull pseudonymises from these)."""
        users = self._call("listing users", self._sdk.users.list)
        return {int(u.id): str(u.email) for u in users if u.email}

    def create_user(self, email: str, *, first_name: str = "", last_name: str = "") -> int:
        """Id of a user with this email (created if needed) who is in the current organization."""
        me = self._call("reading the current user", self._sdk.users.whoami)
        organization = me.active_organization
        existing = next(
            (u for u in self._call("listing users", self._sdk.users.list) if u.email == email), None
        )
        if existing is None:
            user = self._call(
                f"creating user {email}",
                self._sdk.users.create,
                username=email,
                email=email,
                first_name=first_name,
                last_name=last_name,
            )
            user_id = int(user.id)
        else:
            user_id = int(existing.id)
        # Without an active organization the user sees no projects.
        self._call(
            f"adding user {user_id} to organization {organization}",
            self._sdk.users.update,
            user_id,
            active_organization=organization,
        )
        return user_id

    def invite_url(self) -> str:
        """The organization's sign-up link (anyone who opens it can join: share it privately)."""
        body = self._get_json("reading the organization's invite link", "api/invite", params={})
        return f"{self.url}{body['invite_url']}"

    def add_annotation(
        self,
        task_id: int,
        annotation: Annotation,
        *,
        chunk_start: int,
        user_id: int | None,
        ground_truth: bool = False,
    ) -> int:
        """Create an annotation on a task as user `user_id` (default: the key's user); its id.

        An admin key may set completed_by to another user of the organization; the result is
        read back to make sure the server attributed it as asked.
        """
        options: dict[str, Any] = {
            "result": annotation_to_results(annotation, chunk_start=chunk_start),
            "ground_truth": ground_truth,
            "was_cancelled": annotation.cancelled,
        }
        if user_id is not None:
            options["completed_by"] = user_id
        if annotation.lead_time is not None:
            options["lead_time"] = annotation.lead_time
        created = self._call(
            f"adding an annotation to task {task_id}",
            self._sdk.annotations.create,
            task_id,
            **options,
        )
        if user_id is not None:
            stored = self._call(
                f"reading annotation {created.id}", self._sdk.annotations.get, created.id
            )
            if int(stored.completed_by) != user_id:
                raise LabelStudioError(
                    f"Task {task_id}, annotation {created.id}: the server attributed it "
                    f"to user {stored.completed_by}, "
                    f"not to user {user_id}; use an admin key, or that user's own key"
                )
        return int(created.id)

    # -- export -----------------------------------------------------------------
    def export_raw_bytes(self, project_id: int) -> bytes:
        """The raw JSON export of the whole project in one snapshot, byte for byte.

        Every task, every annotator's annotations (skipped and ground truth included), drafts and
        full predictions; completed_by as user ids. pull uses export_raw_range_bytes instead
        (the same JSON, one task id range per request, so ranges can run in parallel).
        """
        return self._export_snapshot(
            project_id,
            task_filter_options={},
            serialization_options=EXPORT_SERIALIZATION,
            what="all tasks",
        )

    def _export_snapshot(
        self,
        project_id: int,
        *,
        task_filter_options: dict[str, Any],
        serialization_options: dict[str, Any],
        what: str,
    ) -> bytes:
        """Make an export snapshot, download it unchanged, delete it.

        A snapshot because the quick export only gives prediction ids.
        """
        export = self._call(
            f"exporting {what} of project {project_id}",
            self._sdk.projects.exports.create,
            project_id,
            title="contraband pull",
            task_filter_options={"only_with_annotations": False, **task_filter_options},
            annotation_filter_options=EXPORT_ANNOTATION_FILTER,
            serialization_options=serialization_options,
        )
        status = getattr(export, "status", None)
        if status not in (None, "completed"):
            export = self._wait_for_export(project_id, int(export.id))
        try:
            chunks: Iterable[bytes] = self._call(
                f"downloading export {export.id} ({what}) of project {project_id}",
                self._sdk.projects.exports.download,
                project_id,
                export.id,
                export_type="JSON",
            )
            data = b"".join(chunks)
        except (ApiError, httpx.HTTPError) as exc:
            raise LabelStudioRequestError(
                f"{self.url}: downloading export {export.id} failed ({_describe(exc)})"
            ) from None
        self._call(
            f"deleting export {export.id}", self._sdk.projects.exports.delete, project_id, export.id
        )
        return data

    def read_task_id_range(self, project_id: int) -> TaskIdRange:
        """The task count and the lowest and highest task id of a project (two cheap requests)."""
        ends = []
        for ordering in ("tasks:id", "-tasks:id"):
            query = json.dumps(
                {"filters": {"conjunction": "and", "items": []}, "ordering": [ordering]}
            )
            body = self._get_json(
                f"reading the task id range of project {project_id}",
                "api/tasks/",
                params={
                    "project": project_id,
                    "fields": "task_only",
                    "include": "id",
                    "resolve_uri": "false",
                    "query": query,
                    "page": 1,
                    "page_size": 1,
                },
            )
            tasks = body.get("tasks") or []
            if not tasks:
                return TaskIdRange(0, 0, 0)
            ends.append(int(tasks[0]["id"]))
        return TaskIdRange(int(body.get("total") or 0), ends[0], ends[1])

    def create_export_view(self, project_id: int) -> int:
        """A Data Manager tab used to export one task id range at a time; its id.

        Annotators see it as a tab titled "contraband pull (temporary)" while a pull runs;
        delete it with delete_export_view.
        """
        response = self._request(
            f"creating a pull view in project {project_id}",
            "POST",
            "api/dm/views/",
            payload={
                "project": project_id,
                "data": {"title": EXPORT_VIEW_TITLE, "filters": _id_range_filters(0, 0)},
            },
        )
        return int(response.json()["id"])

    def delete_export_view(self, view_id: int) -> None:
        """Delete a view made by create_export_view (a missing view is fine)."""
        self._request(
            f"deleting pull view {view_id}", "DELETE", f"api/dm/views/{view_id}/", missing_ok=True
        )

    def export_raw_range_bytes(
        self, project_id: int, *, view_id: int, first_id: int, last_id: int
    ) -> bytes:
        """The raw JSON export of the tasks with first_id <= id <= last_id, predictions as ids.

        As export_raw_bytes otherwise; the full predictions come from list_predictions_raw.
        Points the view `view_id` (create_export_view) at the range, then exports that view.
        One view must not be used by two exports at the same time.
        """
        self._request(
            f"pointing pull view {view_id} at tasks {first_id}-{last_id}",
            "PATCH",
            f"api/dm/views/{view_id}/",
            payload={
                "project": project_id,
                "data": {
                    "title": EXPORT_VIEW_TITLE,
                    "filters": _id_range_filters(first_id, last_id),
                },
            },
        )
        return self._export_snapshot(
            project_id,
            task_filter_options={"view": view_id},
            serialization_options=RANGE_EXPORT_SERIALIZATION,
            what=f"tasks {first_id}-{last_id}",
        )

    def list_predictions_raw(self, project_id: int) -> bytes:
        """Every prediction of the project (result, model_version, score, task id, ...) as the
        predictions API sends them: one JSON array, byte for byte."""
        response = self._get(
            f"listing the predictions of project {project_id}",
            "api/predictions/",
            params={"project": project_id},
        )
        assert response is not None  # missing_ok is off
        return response.content

    def _request(
        self, what: str, method: str, path: str, *, payload: Any = None, missing_ok: bool = False
    ) -> httpx.Response:
        """A request with the SDK's authenticated HTTP client; raises on HTTP >= 400."""
        response = self._call(what, self._http.request, path, method=method, json=payload)
        if response.status_code >= 400 and not (missing_ok and response.status_code == 404):
            raise LabelStudioRequestError(
                f"{self.url}: {what} was refused (HTTP {response.status_code}: "
                f"{response.text[:300]})",
                maybe_committed=response.status_code >= 500,
            )
        return response

    def list_tasks_raw_pages(self, project_id: int, *, page_size: int = 1000) -> bytes:
        """Every task with annotations, predictions and drafts from the paged tasks list API.

        The answer is a JSON array of the page bodies exactly as the server sent them
        (`[{"tasks": [...], "total": N, ...}, ...]`), so its checksum audits what was received;
        `pages_to_tasks` flattens it. Pages are ordered by task id.
        Measured at 20,000 annotated tasks: the same records as export_raw_bytes but about
        twice as slow (148 s against 72 s; `fields=all` computes every Data Manager column), so
        pull uses export snapshots (per id range); scripts/bench_labelstudio.py measures both.
        """
        query = json.dumps(
            {"filters": {"conjunction": "and", "items": []}, "ordering": ["tasks:id"]}
        )
        bodies: list[bytes] = []
        seen = 0
        page = 1
        while True:
            response = self._get(
                f"listing the tasks of project {project_id} with annotations (page {page})",
                "api/tasks/",
                params={
                    "project": project_id,
                    "fields": "all",
                    "resolve_uri": "false",
                    "query": query,
                    "page": page,
                    "page_size": page_size,
                },
            )
            assert response is not None  # missing_ok is off
            body = response.json()
            bodies.append(response.content)
            tasks = body.get("tasks") or []
            seen += len(tasks)
            if not tasks or seen >= int(body.get("total") or 0):
                return b"[" + b",".join(bodies) + b"]"
            page += 1

    def _wait_for_export(self, project_id: int, export_id: int, *, timeout: float = 600) -> Any:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            export = self._call(
                f"checking export {export_id}",
                self._sdk.projects.exports.get,
                project_id,
                export_id,
            )
            if export.status == "completed":
                return export
            if export.status == "failed":
                raise LabelStudioError(
                    f"{self.url}: export {export_id} of project {project_id} failed on the server"
                )
            time.sleep(1)
        raise LabelStudioError(
            f"{self.url}: export {export_id} of project {project_id} did not finish in "
            f"{timeout:.0f} s"
        )

    def export_raw(self, project_id: int) -> list[dict[str, Any]]:
        """The raw JSON export parsed (see export_raw_bytes)."""
        return json.loads(self.export_raw_bytes(project_id))

    def set_legacy_tokens(self, enabled: bool) -> None:
        """Allow or refuse legacy (non-JWT) tokens in the organization."""
        self._call(
            "changing the token settings",
            self._sdk.jwt_settings.update,
            legacy_api_tokens_enabled=enabled,
        )
