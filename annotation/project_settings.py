"""Label Studio project settings from configs/labelstudio.yaml: overlap, sampling order.

How many annotators label a task, on what share of the tasks, and in which order tasks are
handed out are project settings in Label Studio. They live in a config file so that every
`push` applies the same settings to a new or an existing project; a misspelt key is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from corpus.config import read_yaml_mapping
from corpus.errors import ConfigError

from .schema import PROJECT_ROOT

DEFAULT_SETTINGS_PATH = PROJECT_ROOT / "configs" / "labelstudio.yaml"
# Our names -> Label Studio's sampling values.
SAMPLING = {
    "sequential": "Sequential sampling",
    "uniform": "Uniform sampling",
    "uncertainty": "Uncertainty sampling",
}


@dataclass(frozen=True)
class ProjectSettings:
    """The annotation-assignment settings of a project (see configs/labelstudio.yaml)."""

    annotators_per_task: int = 1
    overlap_percent: int = 100
    sampling: str = "sequential"
    show_overlap_first: bool = True

    def __post_init__(self) -> None:
        problems = []
        if not _is_int(self.annotators_per_task) or not 1 <= self.annotators_per_task <= 100:
            problems.append(
                f"annotators_per_task is {self.annotators_per_task!r}; it must be a whole "
                "number from 1 to 100"
            )
        if not _is_int(self.overlap_percent) or not 0 <= self.overlap_percent <= 100:
            problems.append(
                f"overlap_percent is {self.overlap_percent!r}; it must be a whole number "
                "from 0 to 100"
            )
        if self.sampling not in SAMPLING:
            problems.append(
                f"sampling is {self.sampling!r}; it must be one of {', '.join(SAMPLING)}"
            )
        if not isinstance(self.show_overlap_first, bool):
            problems.append(
                f"show_overlap_first is {self.show_overlap_first!r}; it must be true or false"
            )
        if problems:
            raise ConfigError("; ".join(problems))

    def to_project_fields(self) -> dict[str, Any]:
        """The settings as Label Studio project fields."""
        return {
            "maximum_annotations": self.annotators_per_task,
            "overlap_cohort_percentage": self.overlap_percent,
            "sampling": SAMPLING[self.sampling],
            "show_overlap_first": self.show_overlap_first,
        }

    def describe(self) -> str:
        """One phrase for summaries: '2 annotators on 100% of tasks, sequential'."""
        return (
            f"{self.annotators_per_task} annotator(s) on {self.overlap_percent}% of tasks, "
            f"{self.sampling} order"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def load_project_settings(path: str | Path | None = None) -> ProjectSettings:
    """Read configs/labelstudio.yaml (or `path`); unknown keys and bad values are errors."""
    path = Path(path) if path is not None else DEFAULT_SETTINGS_PATH
    raw = read_yaml_mapping(path, what="Label Studio project settings")
    known = [f.name for f in fields(ProjectSettings)]
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))} (known: "
            f"{', '.join(known)}). Fix the spelling or remove them."
        )
    try:
        return ProjectSettings(**raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}. Fix the value(s).") from None
