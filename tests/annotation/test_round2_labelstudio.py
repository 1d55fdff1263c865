"""The second annotation round against the real server (session fixture): stable pseudonyms
across a restart on another port, overlap and agreement, a trained model in the loop."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import pytest

from annotation.gold import load_gold_dir
from annotation.labelstudio import LabelStudio
from annotation.labelstudio.exports import export_raw
from annotation.labelstudio.pull import pull
from annotation.labelstudio.server import Connection, find_free_port, start_server, stop_server
from annotation.labelstudio.task_scan import list_task_keys
from annotation.model_version import model_version_of
from annotation.pipeline import push_corpus, release_annotations
from annotation.records import SOURCE_ADJUDICATED, AnnotatedTask, Annotation, Span
from annotation.release import build_release
from annotation.schema import PROJECT_ROOT
from annotation.tasks import documents_to_tasks
from annotation.training.export import export_spacy
from annotation.training.train import train_model
from corpus.curate import curate
from corpus.records import read_corpus

pytestmark = pytest.mark.labelstudio

SEEDS = PROJECT_ROOT / "seeds"
SECRET = "round2-pseudonym-secret"
ALICE = "alice.round2@example.org"
BOB = "bob.round2@example.org"


@pytest.fixture(scope="module")
def seed_corpus(tmp_path_factory):
    """The five seed pages curated once; `first_four` is a corpus of four of them."""
    root = tmp_path_factory.mktemp("round2")
    summary = curate([SEEDS], out_dir=root / "all", progress=False)
    assert summary.kept == 5
    frame = pd.read_parquet(root / "all" / "corpus.parquet")
    kept = frame[frame["status"] == "kept"].sort_values("id")
    (root / "first_four").mkdir()
    kept.head(4).to_parquet(root / "first_four" / "corpus.parquet")
    (root / "extra").mkdir()
    (root / "extra" / "extra-page.txt").write_text(
        "Border guards seized 12 kg of heroin in Lao Cai on June 2, 2021.\n", encoding="utf-8"
    )
    curate([root / "extra" / "extra-page.txt"], out_dir=root / "extra-corpus", progress=False)
    extra = pd.read_parquet(root / "extra-corpus" / "corpus.parquet")
    (root / "plus_one").mkdir()
    pd.concat([kept, extra[extra["status"] == "kept"]]).to_parquet(
        root / "plus_one" / "corpus.parquet"
    )
    return root


def _annotators_by_document(release: Path) -> set[tuple[str, str]]:
    frames = [pd.read_parquet(p) for p in sorted((release / "data" / "annotations").glob("*"))]
    rows = pd.concat(frames)
    return set(zip(rows["id"], rows["annotator"], strict=True))


def _restart(label_studio, *, port: int, export_workers: int | None) -> str:
    stop_server(workdir=label_studio.workdir)
    return start_server(
        workdir=label_studio.workdir, port=port, timeout=300, export_workers=export_workers
    ).url


def test_pseudonyms_survive_a_restart_on_another_port(
    label_studio, ls_project, schema, seed_corpus, tmp_path
):
    client = label_studio.client
    docs = [d for d in read_corpus(str(seed_corpus / "all")) if d.status == "kept"]
    gold = load_gold_dir(SEEDS / "gold", docs, schema=schema)
    tasks = documents_to_tasks(docs[:3], schema=schema)
    client.import_tasks(ls_project.id, tasks)
    existing = list_task_keys(client, ls_project.id)
    for email in (ALICE, BOB):
        user = client.create_user(email)
        for task in tasks:
            client.add_annotation(
                existing[task.key].id, gold[task.doc_id], chunk_start=0, user_id=user
            )

    out = tmp_path / "pull"
    first = pull(client=client, project_id=ls_project.id, out_dir=out, schema=schema, secret=SECRET)
    again = pull(client=client, project_id=ls_project.id, out_dir=out, schema=schema, secret=SECRET)
    assert again.export_reused and again.export_path == first.export_path
    assert "no second copy kept" in again.summary_line()
    assert len(list(out.glob("export-*.json"))) == len(list(out.glob("export-*/"))) == 1
    before = release_annotations(
        out / "annotations.jsonl", version="0.1.0", releases_dir=tmp_path / "releases"
    )

    old_port = label_studio.server.port
    new_port = find_free_port()
    assert new_port != old_port
    try:
        url = _restart(label_studio, port=new_port, export_workers=0)
        assert url.endswith(f":{new_port}")
        moved = LabelStudio(Connection(url=url, api_key=label_studio.connection.api_key))
        second = pull(
            client=moved,
            project_id=ls_project.id,
            out_dir=tmp_path / "pull-after-restart",
            schema=schema,
            secret=SECRET,
        )
    finally:
        _restart(label_studio, port=old_port, export_workers=None)
    after = release_annotations(
        tmp_path / "pull-after-restart" / "annotations.jsonl",
        version="0.2.0",
        releases_dir=tmp_path / "releases",
    )

    assert len(second.tasks) == 3
    named_before = _annotators_by_document(before.path)
    assert len({name for _, name in named_before}) == 2 and len(named_before) == 6
    assert _annotators_by_document(after.path) == named_before


def _synthetic_release(root: Path, schema) -> Path:
    """A small release of short sentences: enough for a ner model to learn something."""
    agencies = ["Vietnam Customs", "China Customs", "Border guards", "Lao Customs"]
    places = ["Hai Phong", "Lao Cai", "Quang Binh", "Mong Cai", "Da Nang"]
    drugs = ["ketamine", "heroin", "methamphetamine"]
    tasks = []
    for i in range(40):
        agency, place, drug = agencies[i % 4], places[i % 5], drugs[i % 3]
        text = f"{agency} seized {drug} in {place} last week."
        spans = tuple(
            Span(f"s{j}", text.index(p), text.index(p) + len(p), label, p)
            for j, (p, label) in enumerate(
                [(agency, "AGENCY"), (drug, "DRUG"), (place, "LOCATION")]
            )
        )
        annotation = Annotation("annotator-0000000000", spans)
        tasks.append(
            AnnotatedTask(
                doc_id=f"t{i:02d}",
                task_id=i,
                text=text,
                chunk_end=len(text),
                meta={"cluster_id": f"t{i:02d}"},
                annotations=(annotation,),
                adjudicated=annotation.with_(source=SOURCE_ADJUDICATED),
                adjudication="single",
            )
        )
    return build_release(tasks, version="0.1.0", releases_dir=root / "releases", schema=schema)


def _task_state(client: LabelStudio, project_id: int) -> dict[str, tuple]:
    """task key -> (annotation ids and results, prediction model versions), from the export."""
    state = {}
    for task in export_raw(client, project_id):
        annotations = tuple(
            (a["id"], a["completed_by"], repr(a["result"])) for a in task["annotations"]
        )
        versions = tuple(sorted(p["model_version"] for p in task["predictions"]))
        state[task["data"]["task_key"]] = (annotations, versions)
    return state


@pytest.mark.slow
def test_second_round_overlap_agreement_and_a_model_in_the_loop(
    label_studio, schema, seed_corpus, tmp_path
):
    client = label_studio.client
    title = f"round2-{uuid.uuid4().hex[:10]}"
    workdir = label_studio.workdir
    try:
        # round 1: four documents, rule predictions, two annotators per task
        first = push_corpus(
            seed_corpus / "first_four", workdir=workdir, project_title=title, progress=False
        )
        project_id = first.push.project_id
        assert first.push.imported == 4 and first.shown_version.startswith("rules-")
        fields = client.read_project_fields(
            project_id, ["maximum_annotations", "overlap_cohort_percentage", "model_version"]
        )
        assert fields == {
            "maximum_annotations": 2,
            "overlap_cohort_percentage": 100,
            "model_version": first.shown_version,
        }
        docs = [d for d in read_corpus(str(seed_corpus / "all")) if d.status == "kept"]
        tasks = documents_to_tasks(docs, schema=schema)
        gold = load_gold_dir(SEEDS / "gold", docs, schema=schema)
        existing = list_task_keys(client, project_id)
        alice, bob = client.create_user(ALICE), client.create_user(BOB)
        pushed = [t for t in tasks if t.key in existing]
        assert len(pushed) == 4
        # Alice labels three tasks; Bob two of them, leaving out the dates: the overlap.
        for task in pushed[:3]:
            client.add_annotation(
                existing[task.key].id, gold[task.doc_id], chunk_start=0, user_id=alice
            )
            state = client.get_json("task", f"api/tasks/{existing[task.key].id}/", params={})
            assert (state["overlap"], state["is_labeled"]) == (2, False)  # waits for a second
        for task in pushed[:2]:
            no_dates = tuple(s for s in gold[task.doc_id].spans if s.label != "DATE")
            ids = {s.id for s in no_dates}
            relations = tuple(
                r for r in gold[task.doc_id].relations if r.head in ids and r.tail in ids
            )
            client.add_annotation(
                existing[task.key].id,
                gold[task.doc_id].with_(spans=no_dates, relations=relations),
                chunk_start=0,
                user_id=bob,
            )
        pulled = pull(
            client=client,
            project_id=project_id,
            out_dir=tmp_path / "pull",
            schema=schema,
            secret=SECRET,
        )
        release = release_annotations(
            tmp_path / "pull" / "annotations.jsonl",
            version="0.1.0",
            releases_dir=tmp_path / "releases",
        )
        agreement = json.loads((release.path / "agreement.json").read_text())
        assert agreement["documents"] == 2  # only the overlap is compared
        assert 0 < agreement["exact_f1"] < 1  # Bob left out the dates
        assert len(pulled.tasks) == 4

        # a model trained on a release pre-annotates the new task and refreshes the
        # unannotated one; annotated tasks keep their annotations and their predictions
        before = _task_state(client, project_id)
        spacy_dir = tmp_path / "spacy"
        export_spacy(
            _synthetic_release(tmp_path / "synthetic", schema), out_dir=spacy_dir, schema=schema
        )
        model = train_model(
            spacy_dir,
            config=PROJECT_ROOT / "configs" / "spacy" / "ner.cfg",
            out_dir=tmp_path / "model",
            overrides={"training.max_steps": 30, "training.eval_frequency": 10},
        ).model_path
        version = model_version_of(model)
        second = push_corpus(
            seed_corpus / "all",
            workdir=workdir,
            project_title=title,
            model=model,
            progress=False,
        )
        assert (second.push.imported, second.push.predictions) == (1, 1)
        assert (second.refresh.refreshed, second.refresh.annotated) == (1, 3)
        assert second.shown_version == version
        assert version in second.summary_line() and "refreshed" in second.summary_line()
        assert client.read_project_fields(project_id, ["model_version"]) == {
            "model_version": version
        }
        after = _task_state(client, project_id)
        annotated = {t.key for t in pushed[:3]}
        for key, (annotations, versions) in after.items():
            if key in annotated:
                assert (annotations, versions) == before[key]  # untouched
            else:
                assert annotations == () and versions == (version,)
        assert len(after) == 5

        third = push_corpus(
            seed_corpus / "all",
            workdir=workdir,
            project_title=title,
            model=model,
            progress=False,
        )
        assert (third.push.imported, third.refresh.refreshed, third.refresh.current) == (0, 0, 2)
        assert third.model_version is None and third.shown_version == version
        assert _task_state(client, project_id) == after

        # a new page pushed with the rules: the project switches to the rules' version, and
        # the unannotated tasks follow, so that none shows nothing; annotated ones stay
        fourth = push_corpus(
            seed_corpus / "plus_one", workdir=workdir, project_title=title, progress=False
        )
        rules = fourth.shown_version
        assert fourth.push.imported == 1 and rules.startswith("rules-")
        assert (fourth.refresh.refreshed, fourth.refresh.annotated) == (2, 3)
        final = _task_state(client, project_id)
        assert len(final) == 6
        for key, (annotations, versions) in final.items():
            if key in annotated:
                assert (annotations, versions) == before[key]
            else:
                assert annotations == () and versions == (rules,)
    finally:
        project_id = client.find_project(title)
        if project_id is not None:
            client.delete_project(project_id)
