"""Pull in parts: task id ranges through every server process, raw bodies with a manifest."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict

import pytest

from annotation.labelstudio import EXPORT_VIEW_TITLE, LabelStudio
from annotation.labelstudio.export_records import export_to_tasks, record_to_plain
from annotation.labelstudio.exports import export_raw
from annotation.labelstudio.pull import export_clients, plan_id_ranges, pull, read_export
from annotation.labelstudio.server import (
    EXPORT_WORKER_NICENESS,
    STATE_FILE,
    Connection,
    default_export_workers,
    is_healthy,
)
from annotation.records import SOURCE_PREDICTION, AnnotatedTask, Annotation, Relation, Span
from annotation.tasks import documents_to_tasks
from corpus.errors import LabelStudioError
from corpus.records import Document

SECRET = "test-pseudonym-secret"
SENTENCE = "Vietnam Customs seized {n} kg of ketamine in Hai Phong on May 11, 2019."


def make_tasks(schema, n: int):
    docs = [
        Document(id=f"doc{i}", source=f"doc{i}.txt", raw_text="", clean_text=SENTENCE.format(n=i))
        for i in range(n)
    ]
    return documents_to_tasks(docs, schema=schema)


def labelled(task, annotator: str, *, source: str = "annotation") -> Annotation:
    def span(span_id: str, phrase: str, label: str) -> Span:
        start = task.text.index(phrase) + task.chunk_start
        return Span(span_id, start, start + len(phrase), label, phrase)

    seizure = task.text[task.text.index("seized ") + 7 : task.text.index(" in Hai")]
    return Annotation(
        annotator,
        (span("a", "Vietnam Customs", "AGENCY"), span("s", seizure, "SEIZURE")),
        (Relation("s", "a", "SEIZED_BY"),),
        source=source,
        score=0.75 if source == SOURCE_PREDICTION else None,
    )


def views_of(client: LabelStudio, project_id: int) -> list[str]:
    response = client.request("listing views", "GET", f"api/dm/views/?project={project_id}")
    return [view["data"].get("title") for view in response.json()]


@pytest.mark.labelstudio
def test_pull_in_parts_gives_the_records_of_one_snapshot_and_stores_every_body(
    label_studio, ls_project, schema, tmp_path
):
    client = label_studio.client
    tasks = make_tasks(schema, 7)
    annotations = {t.key: labelled(t, "x") for t in tasks}
    predictions = {t.key: labelled(t, "rules-v1", source=SOURCE_PREDICTION) for t in tasks[:5]}
    client.import_annotated_tasks(ls_project.id, tasks, annotations, predictions)
    workers = Connection(
        label_studio.connection.url,
        label_studio.connection.api_key,
        export_urls=label_studio.server.export_urls,
    )
    clients = export_clients(LabelStudio(workers))

    result = pull(
        client=client,
        project_id=ls_project.id,
        out_dir=tmp_path,
        schema=schema,
        secret=SECRET,
        chunk_size=3,
        clients=clients,
    )

    one_snapshot, _ = export_to_tasks(
        export_raw(client, ls_project.id), secret=SECRET, user_emails=client.list_user_emails()
    )
    assert result.problems == []
    assert result.tasks == one_snapshot  # same records, same (task id) order
    assert sum(len(t.predictions) for t in result.tasks) == 5
    assert [p.score for t in result.tasks for p in t.predictions] == [0.75] * 5
    # predictions list + ceil(7 / 3) task ranges, each body stored byte for byte
    assert len(result.export_parts) == 1 + 3
    manifest = json.loads(result.export_path.read_bytes())
    assert hashlib.sha256(result.export_path.read_bytes()).hexdigest() == result.export_sha256
    assert [p["kind"] for p in manifest["parts"]] == ["predictions"] + ["tasks"] * 3
    assert sum(p["tasks"] for p in manifest["parts"]) == 7
    checksums = result.export_path.with_suffix(".sha256").read_text().splitlines()
    assert checksums[0] == f"{result.export_sha256}  {result.export_path.name}"
    for line in checksums[1:]:  # `sha256sum -c` format, every part
        digest, name = line.split("  ")
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    assert len(checksums) == 1 + len(result.export_parts)
    stored = read_export(result.export_path)
    assert [t["id"] for t in stored] == [t.task_id for t in result.tasks]
    assert all(isinstance(p, dict) for t in stored for p in t["predictions"])
    lines = (tmp_path / "annotations.jsonl").read_text().splitlines()
    assert [AnnotatedTask.from_dict(json.loads(line)) for line in lines] == result.tasks
    assert EXPORT_VIEW_TITLE not in views_of(client, ls_project.id)


@pytest.mark.labelstudio
def test_read_export_refuses_a_raw_part_changed_after_the_pull(
    label_studio, ls_project, schema, tmp_path
):
    client = label_studio.client
    tasks = make_tasks(schema, 2)
    client.import_annotated_tasks(ls_project.id, tasks, {t.key: labelled(t, "x") for t in tasks})
    result = pull(
        client=client, project_id=ls_project.id, out_dir=tmp_path, schema=schema, secret=SECRET
    )
    part = result.export_parts[-1]
    part.write_bytes(part.read_bytes().replace(b"Vietnam", b"Vietnan", 1))

    with pytest.raises(LabelStudioError, match=f"{part.name}: sha256 .* differs"):
        read_export(result.export_path)


@pytest.mark.labelstudio
def test_pull_of_an_empty_project_writes_an_empty_export(
    label_studio, ls_project, schema, tmp_path
):
    result = pull(
        client=label_studio.client,
        project_id=ls_project.id,
        out_dir=tmp_path,
        schema=schema,
        secret=SECRET,
    )
    assert result.tasks == [] and result.problems == []
    assert read_export(result.export_path) == []
    assert (tmp_path / "annotations.jsonl").read_text() == ""


@pytest.mark.labelstudio
def test_server_export_workers_serve_the_same_data_and_are_found_by_resolve_connection(
    label_studio, ls_project
):
    from annotation.labelstudio.server import resolve_connection

    urls = label_studio.server.export_urls
    assert len(urls) == default_export_workers()
    assert resolve_connection(workdir=label_studio.workdir).export_urls == urls
    for url in urls:
        assert is_healthy(url)
        worker = LabelStudio(Connection(url, label_studio.connection.api_key))
        assert worker.find_project(ls_project.title) == ls_project.id
    # the workers yield the CPU to the main server, which serves the annotators' saves
    state = json.loads((label_studio.server.data_dir / STATE_FILE).read_text())
    main = os.getpriority(os.PRIO_PROCESS, label_studio.server.pid)
    for worker in state["export_workers"]:
        assert os.getpriority(os.PRIO_PROCESS, int(worker["pid"])) == main + EXPORT_WORKER_NICENESS


def test_plan_id_ranges_covers_every_id_once():
    ranges = plan_id_ranges(5, 14, chunk_size=4)
    assert ranges == [(5, 8), (9, 12), (13, 14)]
    assert plan_id_ranges(7, 7, chunk_size=2500) == [(7, 7)]
    with pytest.raises(ValueError, match="chunk_size"):
        plan_id_ranges(1, 2, chunk_size=0)


def test_export_to_tasks_resolves_prediction_ids_and_reports_a_missing_one():
    result = [
        {
            "id": "r1",
            "type": "labels",
            "value": {"start": 0, "end": 7, "text": "Vietnam", "labels": ["LOCATION"]},
        }
    ]
    export = [
        {"id": 3, "data": {"text": "Vietnam Customs", "doc_id": "d"}, "predictions": [11, 12]}
    ]
    predictions = {11: {"id": 11, "result": result, "model_version": "rules-v1", "score": 0.5}}

    records, problems = export_to_tasks(
        export, server_url="http://x", secret=SECRET, predictions=predictions
    )

    assert [p.annotator for p in records[0].predictions] == ["rules-v1"]
    assert records[0].predictions[0].spans[0].text == "Vietnam"
    assert [(p.code, p.task_id, p.removed) for p in problems] == [
        ("prediction_not_exported", 3, "prediction 12")
    ]
    assert "Task 3, prediction 12" in problems[0].message


def test_record_to_plain_gives_the_same_json_as_asdict():
    span = Span("a", 2, 9, "AGENCY", "Customs")
    annotation = Annotation(
        "annotator-1", (span,), (Relation("a", "a", "COOPERATES_WITH"),), id=4, lead_time=1.5
    )
    task = AnnotatedTask(
        "d",
        7,
        "x Customs",
        meta={"url": "https://x.test", "schema_version": 2, "nested": {"k": [1, 2]}},
        annotations=(annotation,),
        predictions=(annotation.with_(source=SOURCE_PREDICTION, score=0.5),),
        adjudicated=annotation,
        adjudication="single",
    )
    assert json.dumps(record_to_plain(task)) == json.dumps(asdict(task))
    assert json.dumps(record_to_plain(AnnotatedTask("d", None, ""))) == json.dumps(
        asdict(AnnotatedTask("d", None, ""))
    )


def test_choose_chunk_size_gives_every_process_work_within_bounds():
    from annotation.labelstudio.pull import DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, choose_chunk_size

    assert choose_chunk_size(50_000, processes=2) == DEFAULT_CHUNK_SIZE
    assert choose_chunk_size(8_000, processes=2) == 1000
    assert choose_chunk_size(10, processes=2) == MIN_CHUNK_SIZE
