"""Reading the YAML files under configs/: one reader, one set of error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


def read_yaml_mapping(
    path: str | Path, *, what: str, error: type[ConfigError] = ConfigError
) -> dict[str, Any]:
    """The mapping in a YAML file (an empty file gives {}); `what` names it in error messages.

    Missing or unreadable files, invalid YAML and a top level that is not a mapping each raise
    `error` with the path, the problem and what to do next.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(
            f"{path}: cannot read the {what} ({exc.strerror or exc}); restore it or pass another file"
        ) from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: the {what} is not valid YAML ({exc}); fix the syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: the {what} must be a mapping of settings, got {type(data).__name__}")
    return data
