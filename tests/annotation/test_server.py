"""The embedded server: idempotent start, private credentials, both token kinds, lookup."""

from __future__ import annotations

import stat

import pytest

from annotation.labelstudio import LabelStudio
from annotation.labelstudio.server import (
    Connection,
    resolve_connection,
    server_status,
    start_server,
)
from annotation.secrets import read_env_file
from corpus.errors import LabelStudioError


@pytest.mark.labelstudio
def test_server_start_when_running_reports_the_same_server(label_studio):
    # The running server, not the fixture's first one: a test may restart it (same port).
    running = server_status(workdir=label_studio.workdir)
    assert running is not None and running.url == label_studio.server.url
    again = start_server(workdir=label_studio.workdir)
    assert again.pid == running.pid
    assert server_status(workdir=label_studio.workdir) == again
    assert again.url.startswith("http://127.0.0.1:")


@pytest.mark.labelstudio
def test_server_credentials_are_in_a_private_env_file_and_never_shown(label_studio):
    path = label_studio.workdir / ".env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = read_env_file(label_studio.workdir)
    for name in (
        "LABEL_STUDIO_URL",
        "LABEL_STUDIO_USERNAME",
        "LABEL_STUDIO_PASSWORD",
        "LABEL_STUDIO_API_KEY",
    ):
        assert values.get(name), name
    shown = repr(label_studio.server) + str(label_studio.server) + repr(label_studio.connection)
    shown += str(label_studio.connection)
    assert values["LABEL_STUDIO_PASSWORD"] not in shown
    assert values["LABEL_STUDIO_API_KEY"] not in shown


@pytest.mark.labelstudio
def test_server_legacy_token_and_personal_access_token_both_work(label_studio):
    legacy = LabelStudio(label_studio.connection)
    me = legacy.whoami()
    token = legacy.create_personal_access_token()
    assert token.count(".") == 2  # a JWT
    personal = LabelStudio(Connection(url=label_studio.connection.url, api_key=token))
    assert personal.whoami() == me


@pytest.mark.labelstudio
def test_server_wrong_token_is_refused_with_a_hint(label_studio):
    wrong = LabelStudio(Connection(url=label_studio.connection.url, api_key="not-a-real-token"))
    with pytest.raises(LabelStudioError, match="LABEL_STUDIO_API_KEY"):
        wrong.whoami()


def test_resolve_connection_prefers_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", "https://ls.example.org/")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "secret-token")
    connection = resolve_connection(workdir=tmp_path)
    assert connection.url == "https://ls.example.org"
    assert connection.source == "environment"
    assert "secret-token" not in repr(connection) + str(connection)


def test_resolve_connection_without_any_server_says_how_to_start_one(tmp_path, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    with pytest.raises(LabelStudioError, match="contraband server start"):
        resolve_connection(workdir=tmp_path)
