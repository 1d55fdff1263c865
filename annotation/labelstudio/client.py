"""The one module that talks to Label Studio (through label_studio_sdk); it returns our own types.

`LabelStudio` holds the connection: projects, tasks, imports, users and annotations, the
steps of an export snapshot, and the authenticated raw requests (`get`, `get_json`,
`request`) for API paths the SDK has no method for. Its plain types are in `types`; what is
exported and how is in `exports`; the one guarded use of a private SDK part is
`sdk_http_client`, beside the rule of which requests may be repeated.

Offsets: our records use DOCUMENT offsets (into the document's clean text); Label Studio
results use TASK-text offsets. The conversion happens only in `converters`:
`ls_offset = span.start - chunk_start`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.metadata import version as _package_version
from typing import Any, Literal, overload

import httpx
from label_studio_sdk import LabelStudio as _SDKClient
from label_studio_sdk.core.api_error import ApiError

from corpus.errors import LabelStudioError

from ..records import Annotation
from ..schema import Schema
from ..tasks import TaskPayload
from .converters import annotation_to_results, prediction_to_payload
from .server import Connection
from .types import (
    ExistingTask,
    LabelStudioRequestError,
    ProjectInfo,
    TaskIdRange,
    TaskListHead,
    UserInfo,
)

__all__ = [
    "ExistingTask",
    "LabelStudio",
    "LabelStudioRequestError",
    "ProjectInfo",
    "TaskIdRange",
    "TaskListHead",
    "UserInfo",
    "is_safe_to_repeat",
    "labeling_config_problems",
    "prediction_problems",
    "sdk_http_client",
]


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

    # -- tasks (their key scan and reads: task_scan.py) -----------------------------
    def delete_task(self, task_id: int) -> None:
        """Delete one task (tests and clean-ups; push never deletes)."""
        self._call(f"deleting task {task_id}", self._sdk.tasks.delete, str(task_id))

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
        body = self.get_json("reading the organization's invite link", "api/invite", params={})
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

    def set_legacy_tokens(self, enabled: bool) -> None:
        """Allow or refuse legacy (non-JWT) tokens in the organization."""
        self._call(
            "changing the token settings",
            self._sdk.jwt_settings.update,
            legacy_api_tokens_enabled=enabled,
        )

    # -- export snapshots (what is exported, and how: exports.py) ------------------
    def create_export(
        self,
        project_id: int,
        *,
        what: str,
        task_filter_options: dict[str, Any],
        annotation_filter_options: dict[str, Any],
        serialization_options: dict[str, Any],
    ) -> tuple[int, str | None]:
        """Start an export snapshot of `what` in a project; (its id, its status if given)."""
        export = self._call(
            f"exporting {what} of project {project_id}",
            self._sdk.projects.exports.create,
            project_id,
            title="contraband pull",
            task_filter_options=task_filter_options,
            annotation_filter_options=annotation_filter_options,
            serialization_options=serialization_options,
        )
        return int(export.id), getattr(export, "status", None)

    def read_export_status(self, project_id: int, export_id: int) -> str | None:
        """The status of an export snapshot ("completed", "failed", or still at work)."""
        export = self._call(
            f"checking export {export_id}", self._sdk.projects.exports.get, project_id, export_id
        )
        return export.status

    def download_export(self, project_id: int, export_id: int, *, what: str) -> bytes:
        """An export snapshot's JSON, byte for byte."""
        try:
            chunks: Iterable[bytes] = self._call(
                f"downloading export {export_id} ({what}) of project {project_id}",
                self._sdk.projects.exports.download,
                project_id,
                export_id,
                export_type="JSON",
            )
            return b"".join(chunks)
        except (ApiError, httpx.HTTPError) as exc:
            raise LabelStudioRequestError(
                f"{self.url}: downloading export {export_id} failed ({_describe(exc)})"
            ) from None

    def delete_export(self, project_id: int, export_id: int) -> None:
        """Delete an export snapshot from the server."""
        self._call(
            f"deleting export {export_id}", self._sdk.projects.exports.delete, project_id, export_id
        )

    # -- raw requests, for API paths the SDK has no method for ----------------------
    @overload
    def get_json(
        self, what: str, path: str, *, params: dict[str, Any], missing_ok: Literal[False] = False
    ) -> dict[str, Any]: ...

    @overload
    def get_json(
        self, what: str, path: str, *, params: dict[str, Any], missing_ok: bool
    ) -> dict[str, Any] | None: ...

    def get_json(
        self, what: str, path: str, *, params: dict[str, Any], missing_ok: bool = False
    ) -> dict[str, Any] | None:
        """GET an API path (see `get`); the parsed JSON body (None: HTTP 404 and missing_ok)."""
        response = self.get(what, path, params=params, missing_ok=missing_ok)
        return None if response is None else response.json()

    def get(
        self, what: str, path: str, *, params: dict[str, Any], missing_ok: bool = False
    ) -> httpx.Response | None:
        """GET an API path with the SDK's authenticated HTTP client; the response.

        Raises LabelStudioRequestError on HTTP >= 400 naming `what`; missing_ok: None on 404.
        """
        response = self._call(what, self._http.request, path, method="GET", params=params)
        if missing_ok and response.status_code == 404:
            return None
        self._raise_for_status(what, response)
        return response

    def request(
        self, what: str, method: str, path: str, *, payload: Any = None, missing_ok: bool = False
    ) -> httpx.Response:
        """A request with the SDK's authenticated HTTP client and a JSON `payload`; the response.

        Raises LabelStudioRequestError on HTTP >= 400 naming `what` (missing_ok: not on 404).
        A POST goes out once (is_safe_to_repeat).
        """
        response = self._call(what, self._http.request, path, method=method, json=payload)
        if not (missing_ok and response.status_code == 404):
            self._raise_for_status(what, response, maybe_committed=method != "GET")
        return response

    def _raise_for_status(
        self, what: str, response: httpx.Response, *, maybe_committed: bool = False
    ) -> None:
        """LabelStudioRequestError for HTTP >= 400; a 5xx of a write may have been done."""
        if response.status_code < 400:
            return
        hint = (
            " Check LABEL_STUDIO_API_KEY (.env or environment)."
            if response.status_code in (401, 403)
            else ""
        )
        raise LabelStudioRequestError(
            f"{self.url}: {what} was refused (HTTP {response.status_code}: "
            f"{response.text[:300]}).{hint}",
            maybe_committed=maybe_committed and response.status_code >= 500,
        )
