"""Label Studio on PostgreSQL: the database setting, and the push/pull round trip on a real
server running on PostgreSQL (CONTRABAND_TEST_POSTGRES_URL; `.ci/run` starts one).

Every Label Studio test of test_push_pull.py runs here a second time, on the session's
PostgreSQL server (the `label_studio` fixture is overridden below).
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from annotation.cli import main
from annotation.labelstudio import LabelStudio
from annotation.labelstudio.database import (
    DATABASE_VARIABLE,
    Database,
    check_database_matches,
    parse_database_url,
    resolve_database,
    write_database_record,
)
from annotation.labelstudio.pull import pull
from annotation.labelstudio.push import push_tasks
from annotation.labelstudio.server import (
    Connection,
    _server_environment,
    server_status,
    set_user_password,
)
from annotation.secrets import read_env_file, set_env_values
from annotation.tasks import documents_to_tasks
from corpus.errors import LabelStudioError
from corpus.records import Document

SECRET = "postgres-pseudonym-secret"
on_postgresql = [pytest.mark.labelstudio, pytest.mark.postgres]


@pytest.fixture()
def label_studio(label_studio_postgres):
    """In this module every Label Studio test runs on the PostgreSQL server."""
    return label_studio_postgres


# -- the database setting (no server) ------------------------------------------------


def test_database_url_is_parsed_and_the_password_never_shown():
    database = parse_database_url("postgresql://ann%40lab:s%3Acret@db.example.org:6543/ls")
    assert (database.user, database.password) == ("ann@lab", "s:cret")
    assert (database.host, database.port, database.name) == ("db.example.org", 6543, "ls")
    assert database.display() == "postgresql://ann@lab@db.example.org:6543/ls"
    assert "s:cret" not in repr(database) + str(database)
    assert database.to_environment() == {
        "DJANGO_DB": "default",
        "POSTGRE_NAME": "ls",
        "POSTGRE_USER": "ann@lab",
        "POSTGRE_PASSWORD": "s:cret",
        "POSTGRE_HOST": "db.example.org",
        "POSTGRE_PORT": "6543",
    }
    assert parse_database_url("postgres://u:p@h/n").port == 5432
    assert parse_database_url("sqlite") == Database()


def test_database_url_problems_are_listed_together_without_the_password():
    with pytest.raises(LabelStudioError) as caught:
        parse_database_url("postgressql://:hunter2@:99999/?sslmode=require")
    message = str(caught.value)
    assert "hunter2" not in message
    assert "6 problem(s)" in message
    for expected in ("'postgressql'", "port", "no user", "no host", "no database name", "after ?"):
        assert expected in message
    with pytest.raises(LabelStudioError, match="after \\? or #") as caught:
        parse_database_url("postgresql://u:hunter2@h/n?password=hunter2")
    assert "hunter2" not in str(caught.value)


def test_database_comes_from_the_option_then_the_environment_then_env_file(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_VARIABLE, raising=False)
    assert resolve_database(None, workdir=tmp_path) == (Database(), "default")
    set_env_values({DATABASE_VARIABLE: "postgresql://u:p@file/db"}, workdir=tmp_path)
    assert resolve_database(None, workdir=tmp_path)[0].host == "file"
    monkeypatch.setenv(DATABASE_VARIABLE, "postgresql://u:p@environment/db")
    assert resolve_database(None, workdir=tmp_path)[0].host == "environment"
    assert resolve_database("sqlite", workdir=tmp_path)[0] == Database()
    monkeypatch.setenv(DATABASE_VARIABLE, "mysql://u:p@h/db")
    with pytest.raises(LabelStudioError, match=f"{DATABASE_VARIABLE} \\(environment\\)"):
        resolve_database(None, workdir=tmp_path)


def test_server_environment_selects_only_the_chosen_database(tmp_path, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_POSTGRE_HOST", "stray.example.org")
    monkeypatch.setenv("DJANGO_DB", "default")
    credentials = {
        "LABEL_STUDIO_USERNAME": "a@b.c",
        "LABEL_STUDIO_PASSWORD": "pw",
        "LABEL_STUDIO_API_KEY": "key",
    }
    sqlite_env = _server_environment(tmp_path, credentials, Database())
    assert sqlite_env["DJANGO_DB"] == "sqlite"
    assert "LABEL_STUDIO_POSTGRE_HOST" not in sqlite_env
    postgres = parse_database_url("postgresql://u:p@127.0.0.1:5433/ls")
    postgres_env = _server_environment(tmp_path, credentials, postgres)
    assert (postgres_env["DJANGO_DB"], postgres_env["POSTGRE_HOST"]) == ("default", "127.0.0.1")
    assert "LABEL_STUDIO_POSTGRE_HOST" not in postgres_env


def test_a_data_dir_is_not_started_on_another_database(tmp_path):
    postgres = parse_database_url("postgresql://u:secret@127.0.0.1:5433/ls")
    check_database_matches(tmp_path, postgres)  # a fresh data dir takes any database
    write_database_record(tmp_path, postgres)
    assert "secret" not in (tmp_path / "database.json").read_text()
    check_database_matches(tmp_path, parse_database_url("postgresql://u:other@127.0.0.1:5433/ls"))
    with pytest.raises(
        LabelStudioError, match="runs on postgresql://u@127.0.0.1:5433/ls, not sqlite"
    ):
        check_database_matches(tmp_path, Database())
    sqlite_dir = tmp_path / "old"
    sqlite_dir.mkdir()
    (sqlite_dir / "label_studio.sqlite3").write_bytes(b"")  # started before database.json
    with pytest.raises(LabelStudioError, match="runs on sqlite"):
        check_database_matches(sqlite_dir, postgres)


# -- the server on PostgreSQL -----------------------------------------------------------


def _all_text_under(path: Path) -> str:
    return "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in path.rglob("*") if p.is_file()
    )


@pytest.mark.labelstudio
@pytest.mark.postgres
def test_postgres_server_never_shows_the_database_password(
    label_studio_postgres, postgres_database
):
    workdir = label_studio_postgres.workdir
    password = postgres_database.password
    info = server_status(workdir=workdir)
    assert info is not None and info.database == postgres_database.display()
    status = CliRunner().invoke(main, ["server", "status", "--workdir", str(workdir)])
    assert status.exit_code == 0, status.output
    assert postgres_database.display() in status.output
    shown = status.output + repr(info) + info.summary_line()
    shown += _all_text_under(info.data_dir)  # server.log, server.json, database.json, PID files
    for pid in (
        info.pid,
        *(int(p.name.split("-")[-1][:-5]) for p in (info.data_dir / "run").glob("*.json")),
    ):
        shown += Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    assert password and password not in shown
    assert read_env_file(workdir)[DATABASE_VARIABLE].endswith(f"/{postgres_database.name}")


@pytest.mark.labelstudio
@pytest.mark.postgres
def test_postgres_pull_through_export_workers_equals_pull_through_one_process(
    label_studio_postgres, schema, tmp_path
):
    session = label_studio_postgres
    workers = session.server.export_urls
    if not workers:
        pytest.skip("the PostgreSQL server has no export worker (CONTRABAND_EXPORT_WORKERS=0)")
    client = LabelStudio(
        Connection(session.connection.url, session.connection.api_key, export_urls=workers)
    )
    project = client.ensure_project(f"test-pg-{uuid.uuid4().hex[:12]}", schema=schema)
    try:
        text = "Border guards seized {n} kg of heroin in Lao Cai on June 2, 2021."
        docs = [
            Document(id=f"d{n}", source=f"d{n}", raw_text="", clean_text=text.format(n=n))
            for n in range(30)
        ]
        tasks = documents_to_tasks(docs, schema=schema)
        push_tasks(tasks, client=client, project_id=project.id, schema=schema, progress=False)
        parallel = pull(
            client=client,
            project_id=project.id,
            out_dir=tmp_path / "parallel",
            schema=schema,
            secret=SECRET,
            chunk_size=7,
        )
        single = pull(
            client=client,
            project_id=project.id,
            out_dir=tmp_path / "single",
            schema=schema,
            secret=SECRET,
            chunk_size=7,
            clients=[client],
        )
        assert len(parallel.tasks) == 30 and parallel.problems == []
        assert sorted(map(repr, parallel.tasks)) == sorted(map(repr, single.tasks))
    finally:
        client.delete_project(project.id)


@pytest.mark.labelstudio
@pytest.mark.postgres
def test_postgres_annotator_password_is_set_in_the_server_database(label_studio_postgres):
    session = label_studio_postgres
    email = f"pg-{uuid.uuid4().hex[:8]}@example.org"
    session.client.create_user(email)  # exists only in the PostgreSQL database
    set_user_password(workdir=session.workdir, email=email, password=uuid.uuid4().hex)


# -- test_push_pull.py's Label Studio tests, again on PostgreSQL ----------------------------


def _load_push_pull_tests() -> dict[str, object]:
    """Every test of test_push_pull.py that talks to the server, as `<name>_on_postgresql`."""
    path = Path(__file__).with_name("test_push_pull.py")
    spec = importlib.util.spec_from_file_location("push_pull_tests_for_postgresql", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = {}
    for name, test in vars(module).items():
        if name.startswith("test_") and "label_studio" in inspect.signature(test).parameters:

            @functools.wraps(test)
            def again(*args, _test=test, **kwargs):
                return _test(*args, **kwargs)

            for mark in on_postgresql:
                again = mark(again)
            found[f"{name}_on_postgresql"] = again
    return found


globals().update(_load_push_pull_tests())
