"""The embedded Label Studio server (`contraband server start|stop|status`) and connection lookup.

The embedded server is the `label-studio` executable installed next to this Python, run on
127.0.0.1 with its data dir in `WORKDIR/label-studio-data`. On first start an admin account
and a legacy API token are created non-interactively and stored in the 0600 `WORKDIR/.env`.
Telemetry, version checks and error reporting are switched off. The PID files of every spawned
process, and the checks before one is signalled, are in processes.py.

`resolve_connection` decides which server the other commands talk to: LABEL_STUDIO_URL and
LABEL_STUDIO_API_KEY from the environment or `.env` (the embedded server writes its own there).

Export workers: the Django development server that `label-studio start` runs is one process,
so one request uses one core. Next to the main server, start_server runs `export_workers`
more `label-studio start` processes on the same data dir and database (loopback ports of their
own, listed in the state file and in `Connection.export_urls`); pull exports task id ranges
through all of them at once. On SQLite the database is put in WAL mode so that these readers
never block each other or an annotator saving (label-studio's own AZURE_MOUNT_FIX switch does
that); on PostgreSQL (`--database`, see database.py) readers never block writers anyway, and
each process holds its own connections.

Processes you can trust: every process a start spawns (main server and export workers, each
in a process group of its own) gets a PID file in `DATA_DIR/run/`. `stop_server` stops every
one of them, also when the main process crashed (kill -9) and left its export workers
running; `start_server` stops such leftovers before starting anew. A process is only
signalled when it still runs label-studio with this data dir as its working directory (pids
are reused). The port of the last start is kept in `DATA_DIR/server-port`; a restart takes
it again when it is free, so the server's URL (and everything keyed by it) stays the same.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from corpus.errors import LabelStudioError

from ..secrets import read_env_file, set_env_values
from .database import (
    DATABASE_VARIABLE,
    Database,
    check_database_matches,
    label_studio_database_variables,
    parse_database_url,
    read_database_record,
    read_json_file,
    resolve_database,
    write_database_record,
)
from .processes import (
    RUN_DIR,
    data_dir_of,
    is_our_process,
    runs_in,
    stop_recorded_processes,
    terminate,
    write_pid_file,
)

STATE_FILE = "server.json"
LOG_FILE = "server.log"
PORT_FILE = "server-port"  # the main server's port, kept across stops and crashes
DEFAULT_ADMIN_EMAIL = "admin@contraband.local"

# Variables that label-studio also reads without a prefix; a stray value would change its setup.
_UNPREFIXED_VARIABLES = ("HOST", "PORT", "USERNAME", "PASSWORD")
EXPORT_WORKERS_VARIABLE = "CONTRABAND_EXPORT_WORKERS"
# Export workers yield the CPU to the main server, which serves the annotators: a pull that
# keeps both cores busy must not make a save wait (niceness 10: about a tenth of the CPU
# share of the main server when both want the same core).
EXPORT_WORKER_NICENESS = 10


def default_export_workers() -> int:
    """Extra server processes for exports: CONTRABAND_EXPORT_WORKERS, else one per extra core
    (at most 3: each process holds about 300 MB)."""
    value = os.environ.get(EXPORT_WORKERS_VARIABLE)
    if value is not None:
        try:
            workers = int(value)
        except ValueError:
            workers = -1
        if workers < 0:
            raise LabelStudioError(
                f"{EXPORT_WORKERS_VARIABLE}={value!r} is not a whole number >= 0; "
                "set it to 0 (no export workers) or more"
            )
        return workers
    return max(0, min((os.cpu_count() or 1) - 1, 3))


@dataclass(frozen=True)
class ServerInfo:
    """A running embedded server (never holds the password or token)."""

    url: str
    port: int
    pid: int
    data_dir: Path
    username: str
    export_urls: tuple[str, ...] = ()  # export worker processes (see the module docstring)
    database: str = "sqlite"  # Database.display(): never the password

    def summary_line(self) -> str:
        workers = f", {len(self.export_urls)} export workers" if self.export_urls else ""
        return (
            f"Label Studio is running at {self.url} (pid {self.pid}{workers}, "
            f"data in {self.data_dir}, database {self.database}); log in as {self.username}"
        )


@dataclass(frozen=True)
class Connection:
    """Where a Label Studio server is and the key to use (the key is never shown in repr/str)."""

    url: str
    api_key: str = field(repr=False)
    source: str = "environment"  # environment | .env
    export_urls: tuple[str, ...] = ()  # more processes of the same server, for parallel exports

    def __str__(self) -> str:
        return f"Label Studio at {self.url} (key from {self.source})"


def find_executable() -> Path:
    """The `label-studio` executable installed next to the running Python."""
    path = Path(sys.executable).parent / "label-studio"
    if not path.exists():
        raise LabelStudioError(
            f"{path}: label-studio is not installed in this environment; "
            "run `pip install 'label-studio>=1.23,<2'` (or scripts/bootstrap.sh)"
        )
    return path


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_healthy(url: str, *, timeout: float = 3.0) -> bool:
    """True when GET `url`/health answers 200."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _read_state(data_dir: Path) -> dict | None:
    return read_json_file(data_dir / STATE_FILE)


def server_status(*, workdir: Path = Path(".")) -> ServerInfo | None:
    """The embedded server if it is running and answers /health, else None."""
    data_dir = data_dir_of(workdir)
    state = _read_state(data_dir)
    if not state or not is_our_process(int(state["pid"])):
        return None
    info = ServerInfo(
        url=state["url"],
        port=int(state["port"]),
        pid=int(state["pid"]),
        data_dir=data_dir,
        username=state["username"],
        export_urls=tuple(
            w["url"] for w in state.get("export_workers", []) if is_our_process(int(w["pid"]))
        ),
        database=str(state.get("database", "sqlite")),
    )
    return info if is_healthy(info.url) else None


def _admin_credentials(workdir: Path) -> dict[str, str]:
    """Admin email/password/token from .env, generated on first start."""
    values = read_env_file(workdir)
    wanted = {
        "LABEL_STUDIO_USERNAME": values.get("LABEL_STUDIO_USERNAME") or DEFAULT_ADMIN_EMAIL,
        "LABEL_STUDIO_PASSWORD": values.get("LABEL_STUDIO_PASSWORD") or secrets.token_urlsafe(18),
        "LABEL_STUDIO_API_KEY": values.get("LABEL_STUDIO_API_KEY") or secrets.token_hex(20),
    }
    if any(values.get(k) != v for k, v in wanted.items()):
        set_env_values(wanted, workdir=workdir)
    return wanted


def _check_env_not_external(workdir: Path) -> None:
    """Refuse to overwrite an external server's settings in .env with the embedded one's."""
    url = read_env_file(workdir).get("LABEL_STUDIO_URL")
    if url and not url.startswith("http://127.0.0.1:"):
        raise LabelStudioError(
            f"{Path(workdir) / '.env'}: LABEL_STUDIO_URL points at {url}, not at an "
            "embedded server; "
            "remove LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY from .env to use the "
            "embedded server, "
            "or keep using that server without `contraband server start`"
        )


def _server_environment(
    data_dir: Path, credentials: dict[str, str], database: Database
) -> dict[str, str]:
    """The environment of every label-studio process of this data dir (secrets included: an
    environment is readable only by its user, a command line by everyone)."""
    dropped = set(_UNPREFIXED_VARIABLES) | set(label_studio_database_variables())
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(database.to_environment())
    env.update(
        {
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
            "LABEL_STUDIO_USERNAME": credentials["LABEL_STUDIO_USERNAME"],
            "LABEL_STUDIO_PASSWORD": credentials["LABEL_STUDIO_PASSWORD"],
            "LABEL_STUDIO_USER_TOKEN": credentials["LABEL_STUDIO_API_KEY"],
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LATEST_VERSION_CHECK": "false",
            "COLLECT_ANALYTICS": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            # SQLite in WAL mode: export workers read while the main server writes (label-studio
            # applies it to SQLite connections only; PostgreSQL readers never block writers).
            "AZURE_MOUNT_FIX": "true",
            # Off already in label-studio's flag file; set here so that each check is a dict
            # lookup instead of a flag evaluation (checked several times per exported task).
            "fflag_feat_fit_568_finite_state_management": "false",
            "fflag_feat_fit_710_fsm_state_fields": "false",
        }
    )
    return env


def _port_is_free(port: int) -> bool:
    """Nobody listens on 127.0.0.1:port (connections of a dead server in TIME_WAIT do not
    count: the server binds with SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _previous_port(workdir: Path) -> int | None:
    """The port of the last start, if still free: a stable URL keeps annotator pseudonyms stable.

    Read from DATA_DIR/server-port (kept with the data), else from LABEL_STUDIO_URL in .env."""
    stored = data_dir_of(workdir) / PORT_FILE
    candidates: list[str] = []
    if stored.exists():
        candidates.append(stored.read_text(encoding="utf-8").strip())
    url = read_env_file(workdir).get("LABEL_STUDIO_URL", "")
    if url.startswith("http://127.0.0.1:"):
        candidates.append(url.rsplit(":", 1)[1].strip("/"))
    for candidate in candidates:
        if candidate.isdigit() and 0 < int(candidate) < 65536 and _port_frees(int(candidate)):
            return int(candidate)
    return None


PORT_WAIT_SECONDS = 10.0  # a server killed a moment ago can hold its port a little longer


def _port_frees(port: int, *, wait: float = PORT_WAIT_SECONDS) -> bool:
    """`_port_is_free(port)` now or within `wait` seconds (right after a crash and
    `server stop`, the dead server's sockets can take a moment to let the port go)."""
    deadline = time.monotonic() + wait
    while not _port_is_free(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def _log_tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _lower_priority() -> None:
    """Run in an export worker's process before label-studio starts: a lower CPU priority."""
    os.nice(EXPORT_WORKER_NICENESS)


def _spawn(
    executable: Path, port: int, data_dir: Path, env: dict[str, str], *, export: bool = False
) -> subprocess.Popen:
    """One `label-studio start` process on 127.0.0.1:port, logging to the data dir; an
    `export` worker runs at a lower CPU priority than the main server."""
    with open(data_dir / LOG_FILE, "ab") as log:
        return subprocess.Popen(
            [
                str(executable),
                "start",
                "--no-browser",
                "--internal-host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=data_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop_server ends the whole group
            preexec_fn=_lower_priority if export else None,
        )


def _wait_healthy(process: subprocess.Popen, url: str, *, deadline: float, log_path: Path) -> bool:
    """Wait for url/health; False at the deadline; raises when the process exits first."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabelStudioError(
                f"label-studio exited with code {process.returncode} before answering on {url}; "
                f"last lines of {log_path}:\n{_log_tail(log_path)}"
            )
        if is_healthy(url, timeout=2):
            return True
        time.sleep(1)
    return False


def _start_export_workers(
    count: int,
    *,
    executable: Path,
    data_dir: Path,
    env: dict[str, str],
    state: dict,
    timeout: float,
) -> list[str]:
    """Start `count` export workers (after the main server ran migrations); their URLs.

    A worker that does not come up is stopped and left out: exports then use fewer processes.
    """
    started = [(p, f"http://127.0.0.1:{p}") for p in (find_free_port() for _ in range(count))]
    processes = [
        (_spawn(executable, port, data_dir, env, export=True), url) for port, url in started
    ]
    for (process, _), (port, _) in zip(processes, started, strict=True):
        write_pid_file(data_dir, role="export", pid=process.pid, port=port)
    state["export_workers"] = [{"pid": p.pid, "url": url} for p, url in processes]
    (data_dir / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")
    deadline = time.monotonic() + timeout
    urls = []
    for process, url in processes:
        try:
            healthy = _wait_healthy(process, url, deadline=deadline, log_path=data_dir / LOG_FILE)
        except LabelStudioError:
            healthy = False
        if healthy:
            urls.append(url)
        else:
            terminate(process.pid, data_dir=data_dir)
            (data_dir / RUN_DIR / f"export-{process.pid}.json").unlink(missing_ok=True)
    state["export_workers"] = [{"pid": p.pid, "url": u} for p, u in processes if u in urls]
    (data_dir / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")
    return urls


def _remember_database(workdir: Path, url: str | None) -> None:
    """Keep a database URL given by flag or environment in the 0600 .env (it holds the
    password), so that later starts and `annotators add` use the same database."""
    stored = read_env_file(workdir).get(DATABASE_VARIABLE)
    if url and url != stored and (stored or parse_database_url(url).is_postgresql):
        set_env_values({DATABASE_VARIABLE: url.strip()}, workdir=workdir)


def start_server(
    *,
    workdir: Path = Path("."),
    port: int | None = None,
    timeout: float = 180,
    export_workers: int | None = None,
    database: str | None = None,
) -> ServerInfo:
    """Start the embedded server (or report the running one) and wait until /health answers.

    The first start takes about 35 s (database migrations); later starts about 5 s.
    `export_workers` more processes serve parallel exports (default: default_export_workers()).
    `database`: `postgresql://USER:PASSWORD@HOST:PORT/NAME` or `sqlite`; default
    CONTRABAND_DATABASE_URL (environment, then .env), else SQLite. A URL given here or in the
    environment is kept in .env, so later starts (and `annotators add`) use the same database.
    A running server started on another database is refused, not reported.
    """
    workdir = Path(workdir)
    chosen, source = resolve_database(database, workdir=workdir)
    running = server_status(workdir=workdir)
    if running is not None:
        if running.database != chosen.display():
            raise LabelStudioError(
                f"The embedded server in {running.data_dir} already runs on "
                f"{running.database}, not {chosen.display()} ({source}); stop it first "
                "(`contraband server stop`)"
            )
        return running
    executable = find_executable()
    _check_env_not_external(workdir)
    data_dir = data_dir_of(workdir)
    check_database_matches(data_dir, chosen)
    data_dir.mkdir(parents=True, exist_ok=True)
    stop_recorded_processes(data_dir)  # leftovers of a crash (e.g. its export workers)
    credentials = _admin_credentials(workdir)
    _remember_database(
        workdir, database if database is not None else os.environ.get(DATABASE_VARIABLE)
    )
    port = port or _previous_port(workdir) or find_free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = data_dir / LOG_FILE
    env = _server_environment(data_dir, credentials, chosen)
    write_database_record(data_dir, chosen)
    process = _spawn(executable, port, data_dir, env)
    write_pid_file(data_dir, role="main", pid=process.pid, port=port)
    (data_dir / PORT_FILE).write_text(f"{port}\n", encoding="utf-8")
    state = {
        "pid": process.pid,
        "port": port,
        "url": url,
        "username": credentials["LABEL_STUDIO_USERNAME"],
        "database": chosen.display(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (data_dir / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")
    try:
        healthy = _wait_healthy(
            process, url, deadline=time.monotonic() + timeout, log_path=log_path
        )
    except LabelStudioError:
        stop_recorded_processes(data_dir)
        (data_dir / STATE_FILE).unlink(missing_ok=True)
        raise
    if not healthy:
        stop_recorded_processes(data_dir)
        (data_dir / STATE_FILE).unlink(missing_ok=True)
        raise LabelStudioError(
            f"label-studio did not answer on {url}/health within {timeout:.0f} s and was "
            f"stopped; see {log_path}, or retry with a longer timeout (the first start runs "
            "migrations)"
        )
    set_env_values({"LABEL_STUDIO_URL": url}, workdir=workdir)
    workers = default_export_workers() if export_workers is None else export_workers
    export_urls = _start_export_workers(
        workers, executable=executable, data_dir=data_dir, env=env, state=state, timeout=timeout
    )
    return ServerInfo(
        url=url,
        port=port,
        pid=process.pid,
        data_dir=data_dir,
        username=credentials["LABEL_STUDIO_USERNAME"],
        export_urls=tuple(export_urls),
        database=chosen.display(),
    )


def stop_server(*, workdir: Path = Path(".")) -> bool:
    """Stop every process of the embedded server (main and export workers, also the ones a
    crashed main server left running); False when none was running."""
    data_dir = data_dir_of(workdir)
    state = _read_state(data_dir)
    stopped = stop_recorded_processes(data_dir)
    if state:  # a server started before PID files existed
        for worker in state.get("export_workers", []):
            if runs_in(int(worker["pid"]), data_dir):
                terminate(int(worker["pid"]), data_dir=data_dir)
                stopped += 1
        if runs_in(int(state["pid"]), data_dir):
            terminate(int(state["pid"]), data_dir=data_dir)
            stopped += 1
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    return stopped > 0


def _export_urls_of(workdir: Path, url: str) -> tuple[str, ...]:
    """The export workers of the embedded server in `workdir` when `url` is that server."""
    state = _read_state(data_dir_of(workdir))
    if not state or state.get("url") != url:
        return ()
    return tuple(w["url"] for w in state.get("export_workers", []) if is_our_process(int(w["pid"])))


def resolve_connection(*, workdir: Path = Path(".")) -> Connection:
    """The server to use: LABEL_STUDIO_URL/LABEL_STUDIO_API_KEY from the environment, else .env."""
    env_file = read_env_file(workdir)
    url = os.environ.get("LABEL_STUDIO_URL") or env_file.get("LABEL_STUDIO_URL")
    key = os.environ.get("LABEL_STUDIO_API_KEY") or env_file.get("LABEL_STUDIO_API_KEY")
    if url and key:
        source = "environment" if os.environ.get("LABEL_STUDIO_API_KEY") else ".env"
        url = url.rstrip("/")
        return Connection(
            url=url, api_key=key, source=source, export_urls=_export_urls_of(workdir, url)
        )
    missing = " and ".join(
        n for n, v in (("LABEL_STUDIO_URL", url), ("LABEL_STUDIO_API_KEY", key)) if not v
    )
    raise LabelStudioError(
        f"No Label Studio server configured: {missing} is not set in the environment or "
        f"{Path(workdir) / '.env'}; "
        "run `contraband server start` for the embedded server, or set LABEL_STUDIO_URL and "
        "LABEL_STUDIO_API_KEY for your own"
    )


def set_user_password(*, workdir: Path = Path("."), email: str, password: str) -> None:
    """Set a user's password on the embedded server's data dir (`label-studio reset_password`).

    Label Studio's API cannot set passwords; its own command can, on the server's database.
    The password goes through stdin, never on a command line other local users could read.
    """
    data_dir = data_dir_of(workdir)
    if (
        not (data_dir / "label_studio.sqlite3").exists()
        and _read_state(data_dir) is None
        and read_database_record(data_dir) is None
    ):
        raise LabelStudioError(
            f"{data_dir}: no embedded Label Studio data here; start it with "
            "`contraband server start` (an external server's users sign up with its invite link)"
        )
    database, _ = resolve_database(None, workdir=workdir)
    check_database_matches(data_dir, database)
    env = _server_environment(data_dir, _admin_credentials(workdir), database)
    result = subprocess.run(
        [str(find_executable()), "reset_password", "--username", email],
        cwd=data_dir,
        env=env,
        input=f"{password}\n",
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,  # no controlling terminal: the password is read from stdin
    )
    if result.returncode != 0 or "not found" in result.stdout:
        raise LabelStudioError(
            f"Setting the password of {email} failed (label-studio reset_password exit "
            f"{result.returncode}: {(result.stdout + result.stderr).strip()[-300:]})"
        )
