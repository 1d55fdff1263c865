"""One writer at a time: exclusive locks across processes on one machine (`fcntl.flock`).

A push plans from the keys in the project and then imports what is missing; two pushes that
overlap both see the keys missing and both import them. `writer_lock` serialises them: the
lock file holds who has it (pid, host, command, since when) so that the one who waits can say
so. The kernel drops a flock when its holder dies (also on kill -9), so a crash never leaves
a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from corpus.errors import ContrabandError


class LockBusyError(ContrabandError, TimeoutError):
    """Another process holds the lock and did not let go in time."""


def lock_dir() -> Path:
    """Machine-wide lock directory of this user (shared by every working directory)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"contraband-locks-{os.getuid()}"


def project_lock_path(server_url: str, project_title: str) -> Path:
    """The lock file of one project on one server."""
    server = re.sub(r"[^A-Za-z0-9.-]+", "_", server_url.split("://", 1)[-1]).strip("_")
    digest = hashlib.sha1(f"{server_url}\0{project_title}".encode()).hexdigest()[:12]
    title = re.sub(r"[^A-Za-z0-9.-]+", "_", project_title)[:40]
    return lock_dir() / f"{server}-{title}-{digest}.lock"


def directory_lock_path(kind: str, directory: Path) -> Path:
    """The lock file of writers of `kind` ("pull", "release") into one directory (kept outside
    it, so that a release or export folder holds nothing but its data)."""
    resolved = str(Path(directory).resolve())
    digest = hashlib.sha1(resolved.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return lock_dir() / f"{kind}-{Path(resolved).name[:40]}-{digest}.lock"


def _read_holder(handle: Any) -> dict[str, Any]:
    handle.seek(0)
    try:
        holder = json.loads(handle.read() or "{}")
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def describe_holder(holder: dict[str, Any]) -> str:
    """'since 2026-12-07T05:01:02Z, pid 123 on host (contraband push ...)'."""
    if not holder:
        return "(holder unknown)"
    return (
        f"since {holder.get('since', '?')}, pid {holder.get('pid', '?')} on "
        f"{holder.get('host', '?')} ({holder.get('command', '?')})"
    )


@contextmanager
def writer_lock(
    path: Path,
    *,
    what: str,
    wait: float = 600.0,
    on_wait: Callable[[str], None] | None = None,
    poll: float = 0.5,
) -> Iterator[None]:
    """Hold the exclusive lock at `path` for the `with` block.

    When another process holds it: `on_wait(message)` is called once, then the lock is tried
    again every `poll` seconds for up to `wait` seconds (0: do not wait); LockBusyError then,
    naming the holder. `what` says what is locked, e.g. "push of project 'news' at URL".
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = describe_holder(_read_holder(handle))
                if time.monotonic() >= deadline:
                    raise LockBusyError(
                        f"Another {what} is running {holder}; it still held {path} after "
                        f"{wait:.0f} s. Wait for it to finish (or stop it) and run again"
                    ) from None
                if not told and on_wait is not None:
                    on_wait(f"another {what} is running {holder}; waiting for it to finish")
                    told = True
                time.sleep(poll)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "command": " ".join(
                            Path(a).name if i == 0 else a for i, a in enumerate(sys.argv)
                        )[:200],
                    }
                )
            )
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
