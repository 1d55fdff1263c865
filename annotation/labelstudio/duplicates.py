"""Duplicate task keys in a project (two tasks with one key) and `repair_duplicates`, the doctor
that removes the unannotated extra copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .client import LabelStudio
from .task_scan import get_task, list_tasks
from .types import ExistingTask


@dataclass(frozen=True)
class DuplicateKey:
    """A task key held by several tasks of one project (e.g. two pushes that overlapped)."""

    key: str
    tasks: tuple[ExistingTask, ...]  # in id order

    @property
    def removable(self) -> tuple[ExistingTask, ...]:
        """The tasks a repair deletes: every unannotated one but the one that stays.

        The task that stays is the annotated one with the lowest id, else the lowest id;
        annotated tasks are never deleted (two annotated copies are reported, not merged)."""
        keep = next((t for t in self.tasks if t.annotation_count), self.tasks[0])
        return tuple(t for t in self.tasks if t is not keep and t.annotation_count == 0)

    def message(self) -> str:
        """'Task key K is on 2 tasks (ids 12, 1803; annotated: 12): ...'."""
        ids = ", ".join(str(t.id) for t in self.tasks)
        annotated = [str(t.id) for t in self.tasks if t.annotation_count]
        removable = ", ".join(str(t.id) for t in self.removable) or "none"
        return (
            f"Task key {self.key} is on {len(self.tasks)} tasks (ids {ids}; annotated: "
            f"{', '.join(annotated) or 'none'}); `contraband doctor --repair` deletes the "
            f"unannotated extra task(s) ({removable})"
            + (
                "; the annotated copies must be merged by hand in Label Studio"
                if len(annotated) > 1
                else ""
            )
        )


def find_duplicate_keys(tasks: Sequence[ExistingTask]) -> list[DuplicateKey]:
    """Every task key (not the '#<id>' stand-ins of hand-made tasks) held by several tasks."""
    by_key: dict[str, list[ExistingTask]] = {}
    for task in tasks:
        if not task.key.startswith("#"):
            by_key.setdefault(task.key, []).append(task)
    return [
        DuplicateKey(key, tuple(sorted(group, key=lambda t: t.id)))
        for key, group in sorted(by_key.items())
        if len(group) > 1
    ]


@dataclass(frozen=True)
class DoctorSummary:
    """What `contraband doctor` found in a project, and what `--repair` removed."""

    project_id: int
    tasks: int
    duplicates: tuple[DuplicateKey, ...]
    deleted: tuple[int, ...]
    repair: bool

    def messages(self) -> list[str]:
        """One line per duplicated task key."""
        return [d.message() for d in self.duplicates]

    def summary_line(self) -> str:
        extra = sum(len(d.tasks) - 1 for d in self.duplicates)
        if not self.duplicates:
            return f"doctor: project {self.project_id}: {self.tasks} tasks, no duplicate task key"
        verb = (
            f"deleted {len(self.deleted)} unannotated duplicate task(s)"
            if self.repair
            else f"{sum(len(d.removable) for d in self.duplicates)} unannotated duplicate "
            "task(s) can be deleted with --repair"
        )
        left = sum(1 for d in self.duplicates if sum(1 for t in d.tasks if t.annotation_count) > 1)
        return (
            f"doctor: project {self.project_id}: {self.tasks} tasks, {len(self.duplicates)} "
            f"task key(s) on several tasks ({extra} extra task(s)); {verb}"
            + (f"; {left} key(s) with several annotated copies left for review" if left else "")
        )


def repair_duplicates(
    *, client: LabelStudio, project_id: int, repair: bool = False
) -> DoctorSummary:
    """Find task keys held by several tasks; with `repair`, delete the unannotated extras.

    The task kept for a key is its annotated one with the lowest id, else its lowest id.
    Annotated tasks are never deleted. Hold the project's push lock around this (a push in
    flight would be mistaken for duplicates otherwise)."""
    listed = list_tasks(client, project_id)
    duplicates = find_duplicate_keys(listed)
    deleted: list[int] = []
    if repair:
        for duplicate in duplicates:
            for task in duplicate.removable:
                fresh = get_task(client, task.id)
                if fresh is None or fresh.annotation_count:
                    continue  # gone, or annotated since the scan: keep it
                client.delete_task(task.id)
                deleted.append(task.id)
    return DoctorSummary(project_id, len(listed), tuple(duplicates), tuple(deleted), repair)
