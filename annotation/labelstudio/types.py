"""The plain types the Label Studio client returns: projects, tasks, users, and its error.

No SDK and no I/O here, so the rest of the project (push plans, tests) can use them without
importing the client.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.errors import LabelStudioError


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


@dataclass(frozen=True)
class UserInfo:
    """A Label Studio user: id and email."""

    id: int
    email: str
