"""Tables derived from installed packages' data, kept on disk between runs.

Every run of the cleaner needs the same few tables built from data that ships inside
installed packages: py3langid's language model (an LZMA file that takes ~0.4 s of CPU to
decompress and ~0.1 s to turn into lookup arrays) and wordfreq's word lists (~0.4 s to
read and index). Built once per machine and kept in a cache directory, they load in
milliseconds; arrays are memory-mapped, so the worker processes of one run share them.

The cache directory is `$CONTRABAND_CACHE_DIR`, else `$XDG_CACHE_HOME/contraband-corpus`,
else `~/.cache/contraband-corpus`. Each entry's file name holds a hash of its key (the
versions of the packages it was built from and of the format): a new package version or a
changed setting builds a new entry, never reads a stale one. Deleting the directory is
always safe. When it cannot be written (a read-only home), the tables are built in memory
each run, as without a cache, and one warning says why.

Entries hold plain data only: arrays as `.npy` files (loaded without pickle) and other
tables through `marshal` (built-in types only; it cannot run code).
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np

CACHE_DIR_ENV = "CONTRABAND_CACHE_DIR"
FORMAT = 1  # bump when what an entry holds changes for the same key

log = logging.getLogger(__name__)
_warned: set[str] = set()


def cache_dir() -> Path:
    """Where the entries live (see the module docstring)."""
    named = os.environ.get(CACHE_DIR_ENV)
    if named:
        return Path(named).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "contraband-corpus"


def entry_name(name: str, key: Mapping[str, Any]) -> str:
    """`name` plus a hash of `key` (JSON-able) and of the cache format."""
    blob = json.dumps({"format": FORMAT, **key}, sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def cached_arrays(
    name: str,
    key: Mapping[str, Any],
    build: Callable[[], dict[str, np.ndarray]],
    *,
    names: Collection[str],
) -> dict[str, np.ndarray]:
    """The arrays `build()` returns (named `names`), read (memory-mapped, read-only) from
    the cache entry for (`name`, `key`) when it exists; built and stored there otherwise."""
    folder = cache_dir() / entry_name(name, key)
    if folder.is_dir():
        try:
            return {
                array_name: np.load(folder / f"{array_name}.npy", mmap_mode="r", allow_pickle=False)
                for array_name in names
            }
        except (OSError, ValueError) as exc:  # damaged, or a file missing: build it again
            _warn(folder, f"is unreadable ({exc}); building it again")
            shutil.rmtree(folder, ignore_errors=True)
    arrays = build()
    _store(folder, lambda tmp: _write_arrays(tmp, arrays))
    return arrays


def cached_value(name: str, key: Mapping[str, Any], build: Callable[[], Any]) -> Any:
    """What `build()` returns (built-in types only: dicts, lists, tuples, sets, str,
    numbers), read from the cache entry for (`name`, `key`) when it exists; built and
    stored there otherwise."""
    path = cache_dir() / (entry_name(name, key) + ".marshal")
    try:
        return marshal.loads(path.read_bytes())
    except FileNotFoundError:
        pass
    except (OSError, EOFError, ValueError, TypeError) as exc:
        _warn(path, f"is unreadable ({exc}); building it again")
    value = build()
    _store(path, lambda tmp: tmp.write_bytes(marshal.dumps(value)))
    return value


def _write_arrays(folder: Path, arrays: Mapping[str, np.ndarray]) -> None:
    folder.mkdir()
    for array_name, array in arrays.items():
        np.save(folder / f"{array_name}.npy", np.ascontiguousarray(array), allow_pickle=False)


def _store(target: Path, write: Callable[[Path], None]) -> None:
    """Write an entry under a temporary name beside `target`, then rename it into place,
    so a reader never sees half an entry; two processes building the same entry at once
    both succeed (the first rename wins, the same content). A cache that cannot be
    written is skipped with one warning: the value is still returned."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    except OSError as exc:
        _warn(target.parent, f"cannot be written ({exc}); tables are rebuilt every run")
        return
    try:
        temporary = scratch / target.name
        write(temporary)
        try:
            os.rename(temporary, target)
        except OSError:
            if not target.exists():  # not another process's entry: a real failure
                raise
    except OSError as exc:
        _warn(target, f"cannot be written ({exc}); tables are rebuilt every run")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _warn(path: Path, problem: str) -> None:
    if str(path) not in _warned:
        _warned.add(str(path))
        log.warning("cache %s %s (set %s to move the cache)", path, problem, CACHE_DIR_ENV)
