"""Second-round parts without a server: project settings, model versions, refresh plan,
email pseudonyms, onboarding emails, the reuse of an unchanged raw export."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from annotation.annotators import append_logins, normalise_emails
from annotation.labelstudio import ExistingTask
from annotation.labelstudio.export_records import export_to_tasks
from annotation.labelstudio.pull import ExportPart, content_digest, find_identical_export
from annotation.labelstudio.refresh import plan_refresh
from annotation.model_version import model_name, model_version_of
from annotation.project_settings import SETTINGS_FILE, ProjectSettings, load_project_settings
from annotation.pseudonym import annotator_pseudonym
from annotation.tasks import documents_to_tasks
from corpus.errors import ConfigError, InputError
from corpus.records import Document

SECRET = "round2-secret"


# -- project settings ---------------------------------------------------------------
def test_default_project_settings_ask_for_two_annotators_on_every_task():
    settings = load_project_settings()
    assert settings.to_project_fields() == {
        "maximum_annotations": 2,
        "overlap_cohort_percentage": 100,
        "sampling": "Sequential sampling",
        "show_overlap_first": True,
    }
    assert SETTINGS_FILE == "labelstudio.yaml"


def test_project_settings_refuse_a_misspelt_key_naming_it(tmp_path):
    path = tmp_path / "ls.yaml"
    path.write_text("annotators_per_task: 2\noverlap_percentage: 50\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'overlap_percentage'") as caught:
        load_project_settings(path)
    assert str(path) in str(caught.value) and "did you mean 'overlap_percent'" in str(caught.value)


def test_project_settings_report_every_bad_value_together(tmp_path):
    path = tmp_path / "ls.yaml"
    path.write_text(
        "annotators_per_task: 0\noverlap_percent: 150\nsampling: random\n"
        "show_overlap_first: 'yes'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_project_settings(path)
    message = str(caught.value)
    for name in ("annotators_per_task", "overlap_percent", "sampling", "show_overlap_first"):
        assert name in message
    assert "'sequential', 'uniform' or 'uncertainty'" in message
    path.write_text("annotators_per_task: true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="annotators_per_task"):
        load_project_settings(path)  # a bool is not a count


def test_uncertainty_sampling_maps_to_label_studio_s_value():
    fields = ProjectSettings(annotators_per_task=3, overlap_percent=20, sampling="uncertainty")
    assert fields.to_project_fields()["sampling"] == "Uncertainty sampling"
    assert fields.describe() == "3 annotator(s) on 20% of tasks, uncertainty order"


# -- model versions -----------------------------------------------------------------
def _fake_model(path: Path, *, name: str = "pipeline", weights: bytes = b"w1") -> Path:
    (path / "ner").mkdir(parents=True)
    (path / "meta.json").write_text(json.dumps({"name": name, "version": "0.0.0"}))
    (path / "config.cfg").write_text("[nlp]\n")
    (path / "ner" / "model").write_bytes(weights)
    return path


def test_model_version_changes_with_the_weights_and_not_with_the_place(tmp_path):
    first = _fake_model(tmp_path / "models" / "ner" / "model-best")
    version = model_version_of(first)
    assert version.startswith("model-ner-model-best-") and len(version.rsplit("-", 1)[1]) == 12
    retrained = _fake_model(tmp_path / "again" / "ner" / "model-best", weights=b"w2")
    copy = _fake_model(tmp_path / "copy" / "ner" / "model-best")
    assert model_version_of(retrained) != version
    assert model_version_of(copy) == version  # same name, same bytes


def test_model_name_prefers_a_named_pipeline_and_needs_meta_json(tmp_path):
    named = _fake_model(tmp_path / "x" / "model-best", name="trafficking ner")
    assert model_name(named) == "trafficking-ner"
    with pytest.raises(ConfigError, match="meta.json"):
        model_name(tmp_path)


# -- refresh plan -------------------------------------------------------------------
def test_plan_refresh_never_touches_an_annotated_task_and_skips_current_ones():
    docs = [
        Document(id=f"d{i}", source=f"d{i}.txt", raw_text="", clean_text=f"Text number {i}.")
        for i in range(5)
    ]
    from annotation.schema import load_schema

    tasks = documents_to_tasks(docs, schema=load_schema())
    existing = {
        tasks[0].key: ExistingTask(10, tasks[0].key, tasks[0].content_hash, 2),  # annotated
        tasks[1].key: ExistingTask(11, tasks[1].key, tasks[1].content_hash, 1),  # skipped only
        tasks[2].key: ExistingTask(12, tasks[2].key, tasks[2].content_hash, 0),  # rules preds
        tasks[3].key: ExistingTask(13, tasks[3].key, tasks[3].content_hash, 0),  # model preds
    }  # tasks[4] is not in the project: the import's business
    versions = {10: ["rules-1"], 11: ["rules-1"], 12: ["rules-1", "model-m-1"], 13: ["model-m-1"]}
    plan = plan_refresh(tasks, existing, versions, model_version="model-m-1")
    assert [old.id for _, old in plan.refresh] == [12]
    assert [old.id for _, old in plan.current] == [13]
    assert [old.id for _, old in plan.annotated] == [10, 11]


# -- pseudonyms ---------------------------------------------------------------------
def _annotated_export(user: object) -> list[dict]:
    return [
        {
            "id": 1,
            "data": {"text": "Vietnam Customs", "doc_id": "d"},
            "annotations": [{"id": 5, "completed_by": user, "result": []}],
        }
    ]


def test_pseudonyms_come_from_the_email_whatever_the_server_or_user_id():
    one, _ = export_to_tasks(
        _annotated_export(7), secret=SECRET, user_emails={7: "Ann@Example.org"}
    )
    other, _ = export_to_tasks(
        _annotated_export(42),
        secret=SECRET,
        user_emails={42: "ann@example.org"},
        server_url="http://127.0.0.1:9999",
    )
    expanded, _ = export_to_tasks(
        _annotated_export({"id": 3, "email": "ann@example.org"}), secret=SECRET
    )
    names = {t.annotations[0].annotator for t in (*one, *other, *expanded)}
    assert names == {annotator_pseudonym(email="ann@example.org", user_id=None, secret=SECRET)}
    assert "example" not in names.pop()


def test_a_deleted_user_falls_back_to_the_user_id_and_the_key_matters():
    [task], _ = export_to_tasks(_annotated_export(7), secret=SECRET, user_emails={})
    assert task.annotations[0].annotator == annotator_pseudonym(
        email=None, user_id=7, secret=SECRET
    )
    assert annotator_pseudonym(email="a@b.org", user_id=None, secret="k1") != (
        annotator_pseudonym(email="a@b.org", user_id=None, secret="k2")
    )


# -- onboarding ---------------------------------------------------------------------
def test_normalise_emails_lower_cases_deduplicates_and_reports_every_bad_one():
    assert normalise_emails(["Ann@Example.org", "ann@example.org ", "bo@x.io"]) == [
        "ann@example.org",
        "bo@x.io",
    ]
    with pytest.raises(InputError, match="'not-an-email', 'a@b'"):
        normalise_emails(["ok@x.org", "not-an-email", "a@b"])


def test_one_time_passwords_go_to_a_file_only_the_owner_can_read(tmp_path):
    path = append_logins(tmp_path / ".contraband" / "logins.txt", [("a@x.org", "pw1")], url="U")
    append_logins(path, [("b@x.org", "pw2")], url="U")
    assert path.stat().st_mode & 0o077 == 0
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert lines == ["a@x.org  pw1  U/user/login/", "b@x.org  pw2  U/user/login/"]


# -- raw export reuse ---------------------------------------------------------------
def _stored_export(out: Path, stamp: str, body: bytes) -> list[dict]:
    (out / f"export-{stamp}").mkdir(parents=True)
    (out / f"export-{stamp}" / "tasks.json").write_bytes(body)
    parts = [
        {
            "file": f"export-{stamp}/tasks.json",
            "kind": "tasks",
            "first_task_id": 1,
            "last_task_id": 1,
            "sha256": hashlib.sha256(body).hexdigest(),
        }
    ]
    manifest = json.dumps({"parts": parts}).encode()
    (out / f"export-{stamp}.json").write_bytes(manifest)
    (out / f"export-{stamp}.sha256").write_text(
        f"{hashlib.sha256(manifest).hexdigest()}  export-{stamp}.json\n"
    )
    return parts


def test_an_identical_export_is_found_and_a_changed_one_is_not(tmp_path):
    parts = _stored_export(tmp_path, "20260101T000000Z", b"[1]")
    found = find_identical_export(tmp_path, parts)
    assert found is not None and found[0].name == "export-20260101T000000Z.json"
    changed = [{**parts[0], "sha256": hashlib.sha256(b"[2]").hexdigest()}]
    assert find_identical_export(tmp_path, changed) is None
    assert find_identical_export(tmp_path / "nothing-here", parts) is None
    (tmp_path / "export-20260101T000000Z.sha256").write_text("0" * 64 + "  x\n")
    assert find_identical_export(tmp_path, parts) is None  # a tampered manifest is not reused


def test_content_digest_ignores_the_predictions_request_time_age_only():
    def predictions(age: str, score: float) -> ExportPart:
        body = [{"id": 2, "score": score, "created_ago": age}, {"id": 1, "created_ago": age}]
        return ExportPart("predictions", None, None, json.dumps(body).encode())

    assert content_digest(predictions("15 minutes", 0.5)) == content_digest(
        predictions("40 minutes", 0.5)
    )
    assert content_digest(predictions("15 minutes", 0.5)) != content_digest(
        predictions("15 minutes", 0.7)
    )
    tasks = ExportPart("tasks", 1, 2, b'[{"created_ago": "1 minute"}]')
    assert content_digest(tasks) == hashlib.sha256(tasks.raw).hexdigest()  # tasks: the bytes
