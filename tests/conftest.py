"""Shared fixtures: a real Label Studio server for the whole session, a fresh project per test.

`label_studio` runs on SQLite. `label_studio_postgres` runs a second server for the session on
PostgreSQL, in a fresh database of the server CONTRABAND_TEST_POSTGRES_URL names (`.ci/run`
starts one); without that variable the tests using it skip with the reason, as in a user's
clone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from annotation.labelstudio import LabelStudio, ProjectInfo
from annotation.labelstudio.database import Database, parse_database_url
from annotation.labelstudio.server import (
    Connection,
    ServerInfo,
    find_executable,
    start_server,
    stop_server,
)
from annotation.schema import Schema, load_schema
from annotation.secrets import read_env_file
from corpus.errors import LabelStudioError


@dataclass(frozen=True)
class LabelStudioSession:
    """The session's server: a connected client, its connection, and the workdir holding .env."""

    client: LabelStudio
    connection: Connection
    workdir: Path
    server: ServerInfo


@pytest.fixture(scope="session")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioSession]:
    """label-studio on a free 127.0.0.1 port with a temporary data dir; stopped at the end.

    A test may restart it (tests/annotation/test_round2_labelstudio.py does, to check that
    pseudonyms survive another port); it comes back on the same port and data dir, with
    another pid and other export worker ports.
    """
    try:
        find_executable()
    except LabelStudioError as exc:
        pytest.fail(f"The Label Studio tests need a real server: {exc}", pytrace=False)
    workdir = tmp_path_factory.mktemp("label-studio-workdir")
    yield from _run_server(workdir, database="sqlite")


def _run_server(workdir: Path, *, database: str) -> Iterator[LabelStudioSession]:
    """Start the embedded server in `workdir` on `database`, yield the session, stop it."""
    try:
        info = start_server(workdir=workdir, timeout=300, database=database)
    except LabelStudioError as exc:
        stop_server(workdir=workdir)
        pytest.fail(f"Could not start label-studio for the tests: {exc}", pytrace=False)
    try:
        values = read_env_file(workdir)
        connection = Connection(url=info.url, api_key=values["LABEL_STUDIO_API_KEY"], source=".env")
        yield LabelStudioSession(LabelStudio(connection), connection, workdir, info)
    finally:
        stop_server(workdir=workdir)


POSTGRES_URL_VARIABLE = "CONTRABAND_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server() -> Database:
    """The PostgreSQL server of CONTRABAND_TEST_POSTGRES_URL (a user that may create
    databases); skips the test when the variable is not set."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(
            f"{POSTGRES_URL_VARIABLE} is not set: no PostgreSQL server for the tests "
            "(.ci/run starts one; or point it at postgresql://USER:PW@127.0.0.1:PORT/postgres)"
        )
    return parse_database_url(url, source=POSTGRES_URL_VARIABLE)


@pytest.fixture(scope="session")
def postgres_database(postgres_server: Database) -> Iterator[Database]:
    """A fresh database on the test PostgreSQL server, dropped at the end of the session."""
    name = f"contraband_test_{uuid.uuid4().hex[:10]}"
    with postgres_server.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Database(
            **{**postgres_server.identity(), "name": name}, password=postgres_server.password
        )
    finally:
        with postgres_server.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(database: Database) -> str:
    """The URL of `database`, password included (for start_server only; never printed)."""
    from urllib.parse import quote

    return (
        f"postgresql://{quote(database.user, safe='')}:{quote(database.password, safe='')}"
        f"@{database.host}:{database.port}/{quote(database.name, safe='')}"
    )


@pytest.fixture(scope="session")
def label_studio_postgres(
    tmp_path_factory: pytest.TempPathFactory, postgres_database: Database
) -> Iterator[LabelStudioSession]:
    """A second embedded server for the session, on PostgreSQL (one start, about 40-60 s)."""
    workdir = tmp_path_factory.mktemp("label-studio-postgres-workdir")
    yield from _run_server(workdir, database=database_url(postgres_database))


@pytest.fixture()
def ls_project(label_studio: LabelStudioSession, schema: Schema) -> Iterator[ProjectInfo]:
    """A uniquely named project made from the schema, deleted after the test."""
    project = label_studio.client.ensure_project(f"test-{uuid.uuid4().hex[:12]}", schema=schema)
    try:
        yield project
    finally:
        label_studio.client.delete_project(project.id)
