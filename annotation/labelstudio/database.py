"""Which database the embedded Label Studio server runs on: SQLite (default) or PostgreSQL.

`contraband server start --database postgresql://USER:PASSWORD@HOST:PORT/NAME`, or the same
URL in CONTRABAND_DATABASE_URL (environment or the 0600 `.env`), runs the server with
`DJANGO_DB=default` and `POSTGRE_NAME/USER/PASSWORD/HOST/PORT`, the settings Label Studio reads.
`sqlite` (or no setting) keeps the SQLite file in the data dir.

The password never leaves this record except into the server's environment: `display()`,
`repr()` and every message show the URL without it. The data dir records which database it
was started on (`DATA_DIR/database.json`, no password): starting it on another one is refused,
because the projects, annotations and users live in the database, not in the data dir.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from corpus.errors import LabelStudioError

from ..secrets import read_env_file

DATABASE_VARIABLE = "CONTRABAND_DATABASE_URL"
DATABASE_RECORD = "database.json"  # in the data dir: the database it runs on (no password)
SQLITE = "sqlite"
POSTGRESQL = "postgresql"
_POSTGRESQL_SCHEMES = ("postgresql", "postgres")
DEFAULT_POSTGRESQL_PORT = 5432
# Label Studio's names for its database settings; also read with these prefixes.
_LABEL_STUDIO_NAMES = (
    "DJANGO_DB",
    "DATABASE_NAME",
    "POSTGRE_NAME",
    "POSTGRE_USER",
    "POSTGRE_PASSWORD",
    "POSTGRE_HOST",
    "POSTGRE_PORT",
)
_PREFIXES = ("", "LABEL_STUDIO_", "HEARTEX_")


@dataclass(frozen=True)
class Database:
    """The embedded server's database (the password is never in repr, str or display())."""

    kind: str = SQLITE  # sqlite | postgresql
    host: str = ""
    port: int = 0
    name: str = ""
    user: str = ""
    password: str = field(default="", repr=False)

    @property
    def is_postgresql(self) -> bool:
        """True for PostgreSQL, False for the SQLite file in the data dir."""
        return self.kind == POSTGRESQL

    def display(self) -> str:
        """The URL without the password: `postgresql://user@host:5432/name`, or `sqlite`."""
        if not self.is_postgresql:
            return SQLITE
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.name}"

    def __str__(self) -> str:
        return self.display()

    def identity(self) -> dict[str, str | int]:
        """What names the database (kind, host, port, name, user): recorded in the data dir."""
        return {
            "kind": self.kind,
            "host": self.host,
            "port": self.port,
            "name": self.name,
            "user": self.user,
        }

    def connect(self) -> Any:
        """An autocommit psycopg connection to this PostgreSQL database (psycopg comes with
        label-studio), for tests and benchmarks that create and drop databases."""
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.name,
            autocommit=True,
        )

    def to_environment(self) -> dict[str, str]:
        """The Label Studio settings that select this database (the password included)."""
        if not self.is_postgresql:
            return {"DJANGO_DB": SQLITE}
        return {
            "DJANGO_DB": "default",  # label-studio's name for its PostgreSQL settings
            "POSTGRE_NAME": self.name,
            "POSTGRE_USER": self.user,
            "POSTGRE_PASSWORD": self.password,
            "POSTGRE_HOST": self.host,
            "POSTGRE_PORT": str(self.port),
        }


def label_studio_database_variables() -> tuple[str, ...]:
    """Every environment variable Label Studio reads a database setting from (with prefixes):
    removed from the server's environment so that only `Database.to_environment` decides."""
    return tuple(prefix + name for prefix in _PREFIXES for name in _LABEL_STUDIO_NAMES)


def parse_database_url(url: str, *, source: str = "--database") -> Database:
    """`sqlite`, or `postgresql://USER[:PASSWORD]@HOST[:PORT]/NAME` -> Database.

    Every problem is reported at once, naming `source` and the URL without its password.
    Query parameters are refused: Label Studio reads only user, password, host, port and name.
    """
    text = url.strip()
    if text.lower() in (SQLITE, "sqlite://", ""):
        return Database()
    parts = urlsplit(text)
    problems = []
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        port = None
        problems.append("the port is not a number from 1 to 65535")
    shown = _without_password(text.split("?", 1)[0].split("#", 1)[0])
    if parts.scheme.lower() not in _POSTGRESQL_SCHEMES:
        problems.append(
            f"the scheme is {parts.scheme or '(none)'!r}; use postgresql://USER:PASSWORD@HOST:"
            "PORT/NAME, or `sqlite` for the SQLite file in the data dir"
        )
    user = unquote(parts.username or "")
    if not user:
        problems.append("no user: write USER@ before the host")
    host = unquote(parts.hostname or "")
    if not host:
        problems.append("no host: write the server's name or address after @")
    name = unquote(parts.path.lstrip("/"))
    if not name or "/" in name:
        problems.append("no database name: end the URL with /NAME (one path segment)")
    if parts.query or parts.fragment:
        problems.append(
            "parameters after ? or # are not supported: Label Studio reads only user, "
            "password, host, port and database name; remove them"
        )
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise LabelStudioError(
            f"{source}: {shown} is not a database URL Label Studio can use: "
            f"{len(problems)} problem(s):\n{listed}"
        )
    return Database(
        kind=POSTGRESQL,
        host=host,
        port=port or DEFAULT_POSTGRESQL_PORT,
        name=name,
        user=user,
        password=unquote(parts.password or ""),
    )


def _without_password(url: str) -> str:
    """The URL with any password replaced by ***, for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, at, location = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    masked = f"{user}:***" if ":" in credentials else user
    return f"{scheme}://{masked}{at}{location}"


def resolve_database(option: str | None, *, workdir: Path) -> tuple[Database, str]:
    """The database to start on and where that came from: `option` (--database), else
    CONTRABAND_DATABASE_URL from the environment, else from `.env`, else SQLite."""
    if option is not None:
        return parse_database_url(option, source="--database"), "--database"
    if os.environ.get(DATABASE_VARIABLE):
        source = f"{DATABASE_VARIABLE} (environment)"
        return parse_database_url(os.environ[DATABASE_VARIABLE], source=source), source
    stored = read_env_file(workdir).get(DATABASE_VARIABLE)
    if stored:
        source = f"{Path(workdir) / '.env'}: {DATABASE_VARIABLE}"
        return parse_database_url(stored, source=source), source
    return Database(), "default"


def read_database_record(data_dir: Path) -> dict | None:
    """The database the data dir was last started on (identity only), or None."""
    return read_json_file(Path(data_dir) / DATABASE_RECORD)


def read_json_file(path: Path) -> dict | None:
    """A small JSON state file of the data dir, or None when it is missing or unreadable
    (a crash while it was written): the caller starts over as if it were missing."""
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def check_database_matches(data_dir: Path, database: Database) -> None:
    """Refuse to start a data dir on another database than the one it was started on.

    The projects, tasks, annotations and users are in the database: switching would make
    them vanish from the server (and a push would then create every task again)."""
    recorded = read_database_record(data_dir)
    if recorded is None:
        if (Path(data_dir) / "label_studio.sqlite3").exists():
            recorded = Database().identity()
        else:
            return
    if recorded == database.identity():
        return
    before = Database(**{k: v for k, v in recorded.items() if k in Database.__dataclass_fields__})
    raise LabelStudioError(
        f"{data_dir}: this data dir runs on {before.display()}, not {database.display()}; "
        f"its projects and annotations are in that database. Start it on the same one "
        f"(--database or {DATABASE_VARIABLE}), or use another --workdir for the other database"
    )


def write_database_record(data_dir: Path, database: Database) -> None:
    """Record the database (no password) the data dir runs on."""
    path = Path(data_dir) / DATABASE_RECORD
    path.write_text(json.dumps(database.identity(), indent=2) + "\n", encoding="utf-8")
