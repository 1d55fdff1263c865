"""The processes of the local Label Studio server: one PID file per spawned process under
`<data dir>/run/`, checked to be ours (same data directory) before anything is signalled.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

DATA_DIR_NAME = "label-studio-data"


RUN_DIR = "run"  # one PID file per spawned process


def data_dir_of(workdir: Path) -> Path:
    """The Label Studio data directory of a working directory (where the server keeps state)."""
    return Path(workdir).resolve() / DATA_DIR_NAME


def is_our_process(pid: int) -> bool:
    """The pid is alive and runs label-studio (pids get reused after a crash)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        return b"label-studio" in cmdline.read_bytes()
    return True


def runs_in(pid: int, data_dir: Path) -> bool:
    """The pid is alive, runs label-studio and has `data_dir` as its working directory."""
    if not is_our_process(pid):
        return False
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")) == data_dir.resolve()
    except OSError:  # no /proc (not Linux) or not ours to inspect: trust the command line
        return True


def _group_members(pgid: int, data_dir: Path) -> list[int]:
    """Live label-studio processes of process group `pgid` running in `data_dir`.

    A group outlives its leader: after kill -9 of a server, a child it forked would still be
    in the group."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and int(fields[2]) == pgid and runs_in(int(entry.name), data_dir):
            members.append(int(entry.name))
    return members


def write_pid_file(data_dir: Path, *, role: str, pid: int, port: int) -> Path:
    """Record a spawned process: DATA_DIR/run/<role>-<pid>.json (role: main | export)."""
    run = data_dir / RUN_DIR
    run.mkdir(parents=True, exist_ok=True)
    path = run / f"{role}-{pid}.json"
    body = {"role": role, "pid": pid, "port": port, "url": f"http://127.0.0.1:{port}"}
    body["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body), encoding="utf-8")
    tmp.replace(path)
    return path


def list_server_processes(*, workdir: Path = Path(".")) -> list[dict]:
    """Every process the embedded server's starts recorded, with `alive` (still running
    label-studio in this data dir, or a member of its process group is)."""
    data_dir = data_dir_of(workdir)
    found = []
    for path in sorted((data_dir / RUN_DIR).glob("*.json")):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            pid = int(body["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        alive = runs_in(pid, data_dir) or bool(_group_members(pid, data_dir))
        found.append({**body, "alive": alive, "pid_file": str(path)})
    return found


def stop_recorded_processes(data_dir: Path) -> int:
    """Stop every recorded process (export workers first) and remove the PID files; how many
    were still running."""
    stopped = 0
    files = sorted(
        (data_dir / RUN_DIR).glob("*.json"), key=lambda p: not p.name.startswith("export-")
    )
    for path in files:
        try:
            pid = int(json.loads(path.read_text(encoding="utf-8"))["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if runs_in(pid, data_dir) or _group_members(pid, data_dir):
            terminate(pid, data_dir=data_dir)
            stopped += 1
        path.unlink(missing_ok=True)
    return stopped


def terminate(pid: int, *, data_dir: Path | None = None, grace: float = 20) -> None:
    """SIGTERM the server's process group, SIGKILL it after `grace` seconds.

    With `data_dir`, the group is signalled only while a member still runs label-studio in
    that directory (its leader may be gone after a crash), and waited for until none does."""

    def alive() -> bool:
        if data_dir is not None:
            return bool(_group_members(pid, data_dir))
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
            return not finished
        except ChildProcessError:  # not our child (started by another command): poll instead
            return is_our_process(pid)

    if data_dir is not None and not alive():
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive():
            _reap(pid)
            return
        time.sleep(0.3)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect the exit status of `pid` if it is our child (no zombie left behind)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
