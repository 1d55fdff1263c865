"""Shared fixtures: a real Label Studio server for the whole session, a fresh project per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from annotation.labelstudio import LabelStudio, ProjectInfo
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
    try:
        info = start_server(workdir=workdir, timeout=300)
    except LabelStudioError as exc:
        pytest.fail(f"Could not start label-studio for the tests: {exc}", pytrace=False)
    try:
        values = read_env_file(workdir)
        connection = Connection(url=info.url, api_key=values["LABEL_STUDIO_API_KEY"], source=".env")
        yield LabelStudioSession(LabelStudio(connection), connection, workdir, info)
    finally:
        stop_server(workdir=workdir)


@pytest.fixture()
def ls_project(label_studio: LabelStudioSession, schema: Schema) -> Iterator[ProjectInfo]:
    """A uniquely named project made from the schema, deleted after the test."""
    project = label_studio.client.ensure_project(f"test-{uuid.uuid4().hex[:12]}", schema=schema)
    try:
        yield project
    finally:
        label_studio.client.delete_project(project.id)
