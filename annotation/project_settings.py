"""Label Studio project settings from configs/labelstudio.yaml: overlap, sampling order.

How many annotators label a task, on what share of the tasks, and in which order tasks are
handed out are project settings in Label Studio. They live in a config file so that every
`push` applies the same settings to a new or an existing project; a misspelt key or a bad
value is an error naming the file, the key and the rule (corpus.settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from corpus.settings import SettingsModel, default_config_path, load_settings

SETTINGS_FILE = "labelstudio.yaml"
# Our names -> Label Studio's sampling values.
SAMPLING = {
    "sequential": "Sequential sampling",
    "uniform": "Uniform sampling",
    "uncertainty": "Uncertainty sampling",
}


class ProjectSettings(SettingsModel):
    """The annotation-assignment settings of a project (see configs/labelstudio.yaml)."""

    annotators_per_task: int = Field(default=1, ge=1, le=100)
    overlap_percent: int = Field(default=100, ge=0, le=100)
    sampling: Literal["sequential", "uniform", "uncertainty"] = "sequential"
    show_overlap_first: bool = True

    def to_project_fields(self) -> dict[str, Any]:
        """The settings as Label Studio project fields."""
        return {
            "maximum_annotations": self.annotators_per_task,
            "overlap_cohort_percentage": self.overlap_percent,
            "sampling": SAMPLING[self.sampling],
            "show_overlap_first": self.show_overlap_first,
        }

    def describe(self) -> str:
        """One phrase for summaries: '2 annotator(s) on 100% of tasks, sequential order'."""
        return (
            f"{self.annotators_per_task} annotator(s) on {self.overlap_percent}% of tasks, "
            f"{self.sampling} order"
        )


def load_project_settings(path: str | Path | None = None) -> ProjectSettings:
    """Read configs/labelstudio.yaml (or `path`); unknown keys and bad values are errors."""
    source = Path(path) if path is not None else default_config_path(SETTINGS_FILE)
    return load_settings(source, ProjectSettings, what="Label Studio project settings")
