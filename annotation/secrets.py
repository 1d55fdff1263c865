"""Secrets from the environment or a 0600 `.env` file; never printed, logged or released.

Lookup order for a name: the process environment, then `.env` in the working directory.
`.env` is created with mode 0600 and refused if other users can read it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from corpus.errors import ContrabandError

ENV_FILE = ".env"


class SecretsFileError(ContrabandError, PermissionError):
    """The .env file is readable by others or malformed."""


def read_env_file(workdir: Path | str = ".") -> dict[str, str]:
    """Parse `workdir/.env` (KEY=VALUE lines, # comments); {} when there is none."""
    path = Path(workdir) / ENV_FILE
    if not path.exists():
        return {}
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsFileError(
            f"{path}: permissions are {mode:o}, but a secrets file must be readable by its owner only; "
            f"run `chmod 600 {path}`"
        )
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise SecretsFileError(
                f"{path}, line {number}: expected KEY=VALUE (the value is not shown)"
            )
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def set_env_values(values: dict[str, str], *, workdir: Path | str = ".") -> Path:
    """Add or replace KEY=VALUE lines in `workdir/.env`, atomically and at mode 0600.

    The new content goes to a temporary file created with mode 0600 (never readable by others,
    not even for a moment), is flushed to disk and renamed over `.env`: a crash leaves either
    the old file or the new one, never a truncated one."""
    path = Path(workdir) / ENV_FILE
    current = read_env_file(workdir)
    current.update(values)
    _remove_orphaned_temporaries(path)
    tmp = path.with_name(f"{ENV_FILE}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("# contraband-corpus secrets: keep private (mode 0600), never commit\n")
            for key, value in current.items():
                handle.write(f"{key}={value}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _remove_orphaned_temporaries(path: Path) -> None:
    """Delete `.env.<pid>.tmp` files of writers that died before renaming (they hold secrets)."""
    for tmp in path.parent.glob(f"{ENV_FILE}.*.tmp"):
        pid = tmp.name.split(".")[-2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except PermissionError:
            continue


def get_secret(
    name: str, *, workdir: Path | str = ".", generate: Callable[[], str] | None = None
) -> str | None:
    """The secret `name` from the environment or .env; with `generate`, create and store it if missing."""
    value = os.environ.get(name) or read_env_file(workdir).get(name)
    if value:
        return value
    if generate is None:
        return None
    value = generate()
    set_env_values({name: value}, workdir=workdir)
    return value
