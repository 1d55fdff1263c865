"""The push ledger: task key -> (task id, content hash) per server and project, trusted only when
provably current (see push.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.errors import SchemaError

from .types import ExistingTask, TaskListHead

LEDGER_FORMAT = "contraband-push-ledger/1"


@dataclass(frozen=True)
class Ledger:
    """What one push left in one project: task key -> (task id, content hash)."""

    server_url: str
    project_id: int
    tasks: Mapping[str, tuple[int, str | None]]

    def highest(self) -> tuple[str, int, str | None] | None:
        """(key, id, content hash) of the task with the highest id, None when empty."""
        if not self.tasks:
            return None
        key, (task_id, content_hash) = max(self.tasks.items(), key=lambda item: item[1][0])
        return key, task_id, content_hash

    def to_existing(self) -> dict[str, ExistingTask]:
        """The ledger as a key scan would answer it, annotation counts unknown (-1)."""
        return {k: ExistingTask(i, k, h, -1) for k, (i, h) in self.tasks.items()}


class LedgerError(SchemaError):
    """A ledger file that cannot be read as one (push ignores it and scans the keys)."""


def ledger_path(ledger_dir: Path, *, server_url: str, project_id: int) -> Path:
    """The ledger file of one server URL and project inside `ledger_dir`."""
    server = re.sub(r"[^A-Za-z0-9.-]+", "_", server_url.split("://", 1)[-1]).strip("_")
    return Path(ledger_dir) / f"{server}-project-{project_id}.json"


def check_ledger_current(ledger: Ledger, head: TaskListHead) -> str | None:
    """Why the ledger does not describe the project as the server has it now; None if current."""
    if head.count != len(ledger.tasks):
        return f"the project has {head.count} tasks, the ledger {len(ledger.tasks)}"
    highest = ledger.highest()
    if head.last is None or highest is None:
        return None
    key, task_id, content_hash = highest
    last = head.last
    if (last.id, last.key, last.content_hash) != (task_id, key, content_hash):
        return (
            f"the project's highest task is {last.id} ({last.key}, content hash "
            f"{last.content_hash}), the ledger's {task_id} ({key}, content hash {content_hash})"
        )
    return None


def read_ledger(path: Path, *, server_url: str, project_id: int) -> Ledger | None:
    """The ledger at `path`, None if there is none; LedgerError if it is not a readable ledger."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"Push ledger {path}: cannot be read ({exc})") from None
    try:
        body: Any = json.loads(raw)
        if not isinstance(body, dict) or body.get("format") != LEDGER_FORMAT:
            raise ValueError(f"format is not {LEDGER_FORMAT!r}")
        if body.get("server_url") != server_url or body.get("project_id") != project_id:
            raise ValueError(
                f"it belongs to {body.get('server_url')} project {body.get('project_id')}, "
                f"not {server_url} project {project_id}"
            )
        tasks: dict[str, tuple[int, str | None]] = {}
        for key, value in body["tasks"].items():
            task_id, content_hash = value
            if not isinstance(task_id, int) or not (
                content_hash is None or isinstance(content_hash, str)
            ):
                raise ValueError(f"entry {key!r} is {value!r}, not [task id, content hash]")
            tasks[str(key)] = (task_id, content_hash)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LedgerError(
            f"Push ledger {path}: not a valid ledger ({type(exc).__name__}: {exc}). It is "
            "ignored and rewritten after a full key scan; delete it to silence this."
        ) from None
    return Ledger(server_url, project_id, tasks)


def write_ledger(path: Path, ledger: Ledger) -> None:
    """Write the ledger atomically (a temporary file renamed over the old one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "format": LEDGER_FORMAT,
        "server_url": ledger.server_url,
        "project_id": ledger.project_id,
        "tasks": {k: [i, h] for k, (i, h) in sorted(ledger.tasks.items(), key=lambda x: x[1][0])},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)
