"""Push and pull against a real Label Studio server (session fixture, one project per test)."""

from __future__ import annotations

import hashlib
import json

import pytest

from annotation.labelstudio import ExistingTask, LabelStudio, TaskListHead, task_scan
from annotation.labelstudio import push as push_module
from annotation.labelstudio.exports import export_raw
from annotation.labelstudio.ledger import (
    Ledger,
    LedgerError,
    check_ledger_current,
    ledger_path,
    read_ledger,
    write_ledger,
)
from annotation.labelstudio.pull import pull
from annotation.labelstudio.push import push_tasks
from annotation.labelstudio.task_scan import list_task_keys
from annotation.records import SOURCE_PREDICTION, Annotation, Relation, Span
from annotation.tasks import documents_to_tasks
from corpus.errors import SchemaError
from corpus.records import Document

pytestmark = pytest.mark.labelstudio

SECRET = "test-pseudonym-secret"
SHORT = "Vietnam Customs seized 500 kg of ketamine in Hai Phong on May 11, 2019."
LONG = "\n\n".join(
    [
        "Intro paragraph about smuggling routes in the region.",
        "The Anti-Smuggling and Investigation Department seized 8.3 tons of pangolin scales.",
        "Later, UNODC praised Operation Mekong Dragon.",
    ]
)


def make_docs() -> list[Document]:
    return [
        Document(
            id="short1",
            source="short1.txt",
            raw_text=SHORT,
            clean_text=SHORT,
            url="https://x.test/1",
        ),
        Document(
            id="long1", source="long1.txt", raw_text=LONG, clean_text=LONG, url="https://x.test/2"
        ),
    ]


def find(doc: str, phrase: str, label: str, span_id: str) -> Span:
    start = doc.index(phrase)
    return Span(span_id, start, start + len(phrase), label, phrase)


def short_prediction() -> Annotation:
    spans = (
        find(SHORT, "Vietnam Customs", "AGENCY", "p1"),
        find(SHORT, "500 kg of ketamine", "SEIZURE", "p2"),
        find(SHORT, "ketamine", "DRUG", "p3"),
    )
    relations = (Relation("p2", "p1", "SEIZED_BY"), Relation("p2", "p3", "SEIZED_ITEM"))
    return Annotation("rules-v1", spans, relations, source=SOURCE_PREDICTION, score=0.5)


def test_ensure_project_accepts_the_generated_config_and_reports_a_changed_one(
    label_studio, ls_project, schema
):
    again = label_studio.client.ensure_project(ls_project.title, schema=schema)
    assert (again.id, again.created, again.config_differs) == (ls_project.id, False, False)
    changed = schema.__class__(
        schema.name, schema.version + 1, schema.entities[:-1], (), schema.guidelines
    )
    reported = label_studio.client.ensure_project(ls_project.title, schema=changed)
    assert (reported.config_differs, reported.config_updated) == (True, False)
    updated = label_studio.client.ensure_project(
        ls_project.title, schema=changed, update_config=True
    )
    assert updated.config_updated
    assert not label_studio.client.ensure_project(ls_project.title, schema=changed).config_differs


def test_push_with_predictions_then_push_again_imports_nothing(label_studio, ls_project, schema):
    client = label_studio.client
    tasks = documents_to_tasks(make_docs(), schema=schema, max_chars=100)
    assert len(tasks) == 4
    first = push_tasks(
        tasks,
        client=client,
        project_id=ls_project.id,
        predictions={"short1:0": short_prediction()},
        schema=schema,
        progress=False,
    )
    assert (first.imported, first.predictions) == (4, 1)
    again = push_tasks(
        tasks, client=client, project_id=ls_project.id, schema=schema, progress=False
    )
    assert (again.imported, again.unchanged) == (0, 4)
    assert "imported 0" in again.summary_line()
    assert sorted(list_task_keys(client, ls_project.id)) == sorted(t.key for t in tasks)
    raw = export_raw(client, ls_project.id)
    predictions = [p for t in raw for p in t["predictions"]]
    assert len(predictions) == 1 and predictions[0]["model_version"] == "rules-v1"


def test_list_task_keys_reads_every_page_and_only_ids_after_a_floor(
    label_studio, ls_project, schema
):
    client = label_studio.client
    tasks = documents_to_tasks(make_docs(), schema=schema, max_chars=100)
    push_tasks(tasks, client=client, project_id=ls_project.id, schema=schema, progress=False)
    whole = list_task_keys(client, ls_project.id)
    paged = list_task_keys(client, ls_project.id, page_size=1)
    assert paged == whole and sorted(paged) == sorted(t.key for t in tasks)
    assert {k: v.content_hash for k, v in paged.items()} == {t.key: t.content_hash for t in tasks}
    lowest = min(v.id for v in whole.values())
    above = list_task_keys(client, ls_project.id, after_id=lowest, page_size=2)
    assert sorted(v.id for v in above.values()) == sorted(v.id for v in whole.values())[1:]


def test_repush_does_not_recheck_predictions_of_tasks_already_present(
    label_studio, ls_project, schema
):
    tasks = documents_to_tasks(make_docs()[:1], schema=schema)
    client = label_studio.client
    push_tasks(tasks, client=client, project_id=ls_project.id, schema=schema, progress=False)
    bad = short_prediction().with_(spans=(find(SHORT, "Hai Phong", "PLACE", "p9"),), relations=())
    again = push_tasks(
        tasks,
        client=client,
        project_id=ls_project.id,
        predictions={"short1:0": bad},
        schema=schema,
        progress=False,
    )
    assert (again.imported, again.unchanged) == (0, 1)


def test_push_refuses_invalid_predictions_before_importing(label_studio, ls_project, schema):
    tasks = documents_to_tasks(make_docs()[:1], schema=schema)
    bad = short_prediction().with_(spans=(find(SHORT, "Hai Phong", "PLACE", "p9"),), relations=())
    with pytest.raises(SchemaError, match="PLACE"):
        push_tasks(
            tasks,
            client=label_studio.client,
            project_id=ls_project.id,
            predictions={"short1:0": bad},
            schema=schema,
            progress=False,
        )
    assert list_task_keys(label_studio.client, ls_project.id) == {}


def test_push_after_a_timed_out_import_does_not_duplicate(
    label_studio, ls_project, schema, tmp_path
):
    docs = [
        Document(id=f"bulk{i}", source="b", raw_text="", clean_text=f"{SHORT} Case {i}. " * 20)
        for i in range(600)
    ]
    tasks = documents_to_tasks(docs, schema=schema)
    impatient = LabelStudio(label_studio.connection, import_timeout=0.05)
    summary = push_tasks(
        tasks,
        client=impatient,
        project_id=ls_project.id,
        batch_size=600,
        progress=False,
        settle=5,
        ledger_dir=tmp_path,
    )
    assert summary.retried_batches >= 1  # the response was lost: the import was re-checked
    keys = [t.key for t in tasks]
    present = list_task_keys(label_studio.client, ls_project.id)
    assert sorted(present) == sorted(keys)
    assert len({t.id for t in present.values()}) == len(keys)
    raw = export_raw(label_studio.client, ls_project.id)
    assert len(raw) == len(keys)  # no duplicated task under the same key
    # The failed batch made the ledger untrustworthy: it was rebuilt from a full scan.
    path = ledger_path(tmp_path, server_url=impatient.url, project_id=ls_project.id)
    ledger = read_ledger(path, server_url=impatient.url, project_id=ls_project.id)
    assert ledger is not None
    assert dict(ledger.tasks) == {k: (v.id, v.content_hash) for k, v in present.items()}


def test_push_reports_changed_annotated_text_and_updates_unannotated(
    label_studio, ls_project, schema
):
    client = label_studio.client
    docs = make_docs()
    tasks = documents_to_tasks(docs, schema=schema)
    push_tasks(tasks, client=client, project_id=ls_project.id, progress=False)
    existing = list_task_keys(client, ls_project.id)
    client.add_annotation(
        existing["short1:0"].id,
        short_prediction().with_(annotator="x"),
        chunk_start=0,
        user_id=None,
    )
    edited = [
        d.with_(clean_text=d.clean_text.replace("Customs", "customs").replace("Intro", "Opening"))
        for d in docs
    ]
    summary = push_tasks(
        documents_to_tasks(edited, schema=schema),
        client=client,
        project_id=ls_project.id,
        progress=False,
    )
    assert (summary.imported, summary.updated, len(summary.conflicts)) == (0, 1, 1)
    assert f"Task {existing['short1:0'].id} (document short1, key short1:0)" in summary.conflicts[0]
    assert "changed (1 -> 1 characters): 'C' -> 'c'" in summary.conflicts[0]  # diff summary
    raw = {t["data"]["task_key"]: t for t in export_raw(client, ls_project.id)}
    assert raw["short1:0"]["data"]["text"] == SHORT  # annotated: not replaced
    assert raw["long1:0"]["data"]["text"] == LONG.replace("Intro", "Opening")  # updated


def test_pull_two_annotators_round_trip_exactly_with_document_offsets(
    label_studio, ls_project, schema, tmp_path
):
    client = label_studio.client
    tasks = documents_to_tasks(make_docs(), schema=schema, max_chars=100)
    push_tasks(
        tasks,
        client=client,
        project_id=ls_project.id,
        predictions={"short1:0": short_prediction()},
        schema=schema,
        progress=False,
    )
    existing = list_task_keys(client, ls_project.id)
    ann1 = client.create_user("annotator.one@example.org", first_name="One")
    ann2 = client.create_user("annotator.two@example.org", first_name="Two")
    chunk = next(t for t in tasks if "pangolin" in t.text)
    assert chunk.chunk_start > 0
    chunk_spans = (
        find(LONG, "Anti-Smuggling and Investigation Department", "AGENCY", "c1"),
        find(LONG, "8.3 tons of pangolin scales", "SEIZURE", "c2"),
        find(LONG, "pangolin scales", "WILDLIFE", "c3"),
        find(LONG, "8.3 tons", "QUANTITY", "c4"),
    )
    chunk_relations = (
        Relation("c2", "c1", "SEIZED_BY"),
        Relation("c2", "c3", "SEIZED_ITEM"),
        Relation("c2", "c4", "QUANTITY_OF"),
    )
    made = {
        ("short1:0", ann1): Annotation(
            "one", short_prediction().spans, short_prediction().relations
        ),
        ("short1:0", ann2): Annotation(
            "two", short_prediction().spans[:2], short_prediction().relations[:1]
        ),
        (chunk.key, ann1): Annotation("one", chunk_spans, chunk_relations),
    }
    for (key, user), annotation in made.items():
        task = next(t for t in tasks if t.key == key)
        client.add_annotation(
            existing[key].id, annotation, chunk_start=task.chunk_start, user_id=user
        )
    skipped_task = next(t for t in tasks if t.key not in {"short1:0", chunk.key})
    client.add_annotation(
        existing[skipped_task.key].id,
        Annotation("two", cancelled=True),
        chunk_start=0,
        user_id=ann2,
    )

    result = pull(
        client=client, project_id=ls_project.id, out_dir=tmp_path, schema=schema, secret=SECRET
    )

    assert result.problems == []
    raw = result.export_path.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == result.export_sha256
    assert (
        result.export_sha256
        in (tmp_path / result.export_path.name.replace(".json", ".sha256")).read_text()
    )
    by_key = {t.meta["task_key"]: t for t in result.tasks}
    assert len(by_key) == len(tasks)
    pseudonyms = {}
    for (key, user), annotation in made.items():
        record = by_key[key]
        got = [a for a in record.annotations if set(a.spans) == set(annotation.spans)]
        assert len(got) == 1, (key, user)
        assert set(got[0].relations) == set(annotation.relations)
        doc_text = SHORT if key.startswith("short1") else LONG
        assert all(doc_text[s.start : s.end] == s.text for s in got[0].spans)
        pseudonyms.setdefault(user, set()).add(got[0].annotator)
    assert all(len(p) == 1 for p in pseudonyms.values())
    assert pseudonyms[ann1] != pseudonyms[ann2]
    assert all(p.startswith("annotator-") for names in pseudonyms.values() for p in names)
    assert [a.cancelled for a in by_key[skipped_task.key].annotations] == [True]
    prediction = by_key["short1:0"].predictions
    assert len(prediction) == 1 and set(prediction[0].spans) == set(short_prediction().spans)
    lines = (tmp_path / "annotations.jsonl").read_text().splitlines()
    assert len(lines) == len(tasks)
    assert "example.org" not in "".join(lines)
    assert json.loads((tmp_path / "validation.json").read_text())["problems"] == []


def test_pull_reports_broken_annotations_with_task_id_and_keeps_valid_ones(
    label_studio, ls_project, schema, tmp_path
):
    client = label_studio.client
    tasks = documents_to_tasks(make_docs()[:1], schema=schema)
    push_tasks(tasks, client=client, project_id=ls_project.id, progress=False)
    task_id = list_task_keys(client, ls_project.id)["short1:0"].id
    good = short_prediction()
    broken = Annotation(
        "x",
        good.spans
        + (
            Span("w", 40, 45, "LOCATION", "Hai Phong"),  # wrong offsets
            find(SHORT, "Hai Phong", "HARBOUR", "u"),  # unknown label
        ),
        good.relations + (Relation("p2", "ghost", "SEIZED_AT"), Relation("p1", "p3", "SEIZED_BY")),
    )
    broken_id = client.add_annotation(task_id, broken, chunk_start=0, user_id=None)
    good_id = client.add_annotation(task_id, good.with_(annotator="y"), chunk_start=0, user_id=None)

    result = pull(
        client=client, project_id=ls_project.id, out_dir=tmp_path, schema=schema, secret=SECRET
    )

    codes = sorted(p.code for p in result.problems)
    assert codes == [
        "relation_labels_not_allowed",
        "relation_missing_span",
        "span_text_mismatch",
        "unknown_label",
    ]
    assert all(p.task_id == task_id and p.annotation_id == broken_id for p in result.problems)
    assert all(f"Task {task_id}, annotation {broken_id}" in p.message for p in result.problems)
    annotations = {a.id: a for a in result.tasks[0].annotations}
    assert set(annotations[broken_id].spans) == set(good.spans)
    assert set(annotations[broken_id].relations) == set(good.relations)
    assert set(annotations[good_id].spans) == set(good.spans)
    report = (tmp_path / "validation.md").read_text()
    assert f"Task {task_id}" in report and "HARBOUR" in report


def count_key_scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Spy on the real key scan (task_scan.list_tasks, also behind list_task_keys) wherever
    push calls it; the list grows by one per call."""
    calls: list[int] = []
    real = task_scan.list_tasks

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(task_scan, "list_tasks", spy)
    monkeypatch.setattr(push_module, "list_tasks", spy)
    return calls


def test_push_with_a_current_ledger_plans_without_a_key_scan(
    label_studio, ls_project, schema, tmp_path, monkeypatch
):
    client = LabelStudio(label_studio.connection)
    docs = make_docs()
    tasks = documents_to_tasks(docs, schema=schema)
    first = push_tasks(
        tasks, client=client, project_id=ls_project.id, progress=False, ledger_dir=tmp_path
    )
    assert (first.imported, first.ledger) == (2, "absent")
    path = ledger_path(tmp_path, server_url=client.url, project_id=ls_project.id)
    on_server = list_task_keys(client, ls_project.id)
    ledger = read_ledger(path, server_url=client.url, project_id=ls_project.id)
    assert ledger is not None
    assert dict(ledger.tasks) == {k: (v.id, v.content_hash) for k, v in on_server.items()}

    scans = count_key_scans(monkeypatch)
    again = push_tasks(
        tasks, client=client, project_id=ls_project.id, progress=False, ledger_dir=tmp_path
    )
    assert (again.imported, again.unchanged, again.ledger, len(scans)) == (0, 2, "current", 0)
    assert "planned from the push ledger" in again.summary_line()

    # Changed text: the annotated task is reported, the unannotated one updated, still no scan.
    client.add_annotation(
        on_server["short1:0"].id,
        short_prediction().with_(annotator="x"),
        chunk_start=0,
        user_id=None,
    )
    edited = [
        d.with_(clean_text=d.clean_text.replace("Customs", "customs").replace("Intro", "Opening"))
        for d in docs
    ]
    changed = push_tasks(
        documents_to_tasks(edited, schema=schema),
        client=client,
        project_id=ls_project.id,
        progress=False,
        ledger_dir=tmp_path,
    )
    assert (changed.imported, changed.updated, len(changed.conflicts)) == (0, 1, 1)
    assert (changed.ledger, len(scans)) == ("current", 0)
    assert (
        f"Task {on_server['short1:0'].id} (document short1, key short1:0)" in (changed.conflicts[0])
    )
    settled = push_tasks(
        documents_to_tasks(edited, schema=schema),
        client=client,
        project_id=ls_project.id,
        progress=False,
        ledger_dir=tmp_path,
    )
    assert (settled.updated, len(settled.conflicts), settled.ledger) == (0, 1, "current")
    assert len(scans) == 0
    assert len(export_raw(client, ls_project.id)) == 2


def test_push_with_a_stale_ledger_scans_the_keys_and_never_duplicates(
    label_studio, ls_project, schema, tmp_path, monkeypatch
):
    client = LabelStudio(label_studio.connection)
    tasks = documents_to_tasks(make_docs(), schema=schema, max_chars=100)
    push_tasks(tasks, client=client, project_id=ls_project.id, progress=False, ledger_dir=tmp_path)
    scans = count_key_scans(monkeypatch)
    existing = list_task_keys(client, ls_project.id)
    scans.clear()

    # A task deleted behind the ledger's back: found missing by the scan and imported again.
    client.delete_task(existing[tasks[1].key].id)
    summary = push_tasks(
        tasks, client=client, project_id=ls_project.id, progress=False, ledger_dir=tmp_path
    )
    assert (summary.ledger, summary.imported, summary.unchanged) == ("stale", 1, 3)
    assert "3 tasks, the ledger 4" in summary.ledger_note
    assert len(scans) == 1

    # Deleted and another added (same count): the highest id gives it away.
    scans.clear()
    present = list_task_keys(client, ls_project.id)
    scans.clear()
    client.delete_task(present["short1:0"].id)
    extra = documents_to_tasks(
        [Document(id="extra1", source="e", raw_text=SHORT, clean_text=SHORT)], schema=schema
    )
    client.import_tasks(ls_project.id, extra)
    summary = push_tasks(
        tasks + extra,
        client=client,
        project_id=ls_project.id,
        progress=False,
        ledger_dir=tmp_path,
    )
    assert (summary.ledger, summary.imported, summary.unchanged) == ("stale", 1, 4)
    assert "highest task" in summary.ledger_note
    assert len(scans) == 1
    final = list_task_keys(client, ls_project.id)
    assert sorted(final) == sorted(t.key for t in tasks + extra)
    assert len(export_raw(client, ls_project.id)) == len(tasks) + 1  # no duplicate

    scans.clear()
    current = push_tasks(
        tasks + extra,
        client=client,
        project_id=ls_project.id,
        progress=False,
        ledger_dir=tmp_path,
    )
    assert (current.ledger, current.imported, len(scans)) == ("current", 0, 0)


def test_push_reports_and_ignores_a_corrupt_ledger(
    label_studio, ls_project, schema, tmp_path, monkeypatch
):
    client = LabelStudio(label_studio.connection)
    tasks = documents_to_tasks(make_docs(), schema=schema, max_chars=100)
    push_tasks(tasks, client=client, project_id=ls_project.id, progress=False, ledger_dir=tmp_path)
    path = ledger_path(tmp_path, server_url=client.url, project_id=ls_project.id)
    path.write_text('{"format": "contraband-push-ledger/1", "tasks": {"short1:0": [1', "utf-8")
    scans = count_key_scans(monkeypatch)
    summary = push_tasks(
        tasks, client=client, project_id=ls_project.id, progress=False, ledger_dir=tmp_path
    )
    assert (summary.ledger, summary.imported, summary.unchanged, len(scans)) == (
        "unreadable",
        0,
        4,
        1,
    )
    assert str(path) in summary.ledger_note and "not a valid ledger" in summary.ledger_note
    assert "push ledger unreadable" in summary.summary_line()
    again = push_tasks(
        tasks, client=client, project_id=ls_project.id, progress=False, ledger_dir=tmp_path
    )
    assert (again.ledger, len(scans)) == ("current", 1)  # rewritten after the scan


def test_check_ledger_current_needs_count_highest_id_key_and_hash_to_agree():
    ledger = Ledger("http://ls", 7, {"a:0": (3, "h1"), "b:0": (9, "h2")})
    head = TaskListHead(2, ExistingTask(9, "b:0", "h2", 0))
    assert check_ledger_current(ledger, head) is None
    assert "3 tasks, the ledger 2" in check_ledger_current(ledger, TaskListHead(3, head.last))
    reused = TaskListHead(2, ExistingTask(9, "c:0", "h3", 0))  # deleted, then another imported
    assert "highest task is 9 (c:0" in check_ledger_current(ledger, reused)
    newer = TaskListHead(2, ExistingTask(10, "b:0", "h2", 0))
    assert check_ledger_current(ledger, newer) is not None
    assert check_ledger_current(Ledger("http://ls", 7, {}), TaskListHead(0, None)) is None


def test_read_ledger_round_trips_and_refuses_another_project_s_ledger(tmp_path):
    path = ledger_path(tmp_path, server_url="http://127.0.0.1:8080", project_id=7)
    assert path.parent == tmp_path and read_ledger(path, server_url="x", project_id=7) is None
    ledger = Ledger("http://127.0.0.1:8080", 7, {"a:0": (3, "h1"), "#4": (4, None)})
    write_ledger(path, ledger)
    assert read_ledger(path, server_url="http://127.0.0.1:8080", project_id=7) == ledger
    with pytest.raises(LedgerError, match="project 7, not http://127.0.0.1:8080 project 8"):
        read_ledger(path, server_url="http://127.0.0.1:8080", project_id=8)
    path.write_text(path.read_text().replace("[3,", '["3",'), encoding="utf-8")
    with pytest.raises(LedgerError, match="entry 'a:0'"):
        read_ledger(path, server_url="http://127.0.0.1:8080", project_id=7)


def test_push_asks_a_prediction_function_only_for_the_tasks_it_sends(
    label_studio, ls_project, schema
):
    client = label_studio.client
    tasks = documents_to_tasks(make_docs(), schema=schema, max_chars=100)
    asked: list[list[str]] = []

    def predict(outgoing):
        asked.append([t.key for t in outgoing])
        return {t.key: short_prediction() for t in outgoing if t.key == "short1:0"}

    first = push_tasks(
        tasks[:1],
        client=client,
        project_id=ls_project.id,
        predictions=predict,
        schema=schema,
        progress=False,
    )
    assert first.predictions == 1 and asked == [["short1:0"]]
    second = push_tasks(
        tasks,
        client=client,
        project_id=ls_project.id,
        predictions=predict,
        schema=schema,
        progress=False,
    )
    # only the three new chunks are pre-annotated; the task already present is not
    assert second.imported == 3 and asked[1] == [t.key for t in tasks[1:]]
    third = push_tasks(
        tasks,
        client=client,
        project_id=ls_project.id,
        predictions=predict,
        schema=schema,
        progress=False,
    )
    assert third.imported == 0 and len(asked) == 2
