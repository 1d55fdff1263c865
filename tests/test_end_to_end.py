"""The whole round trip against a real Label Studio server (issue 4, "done when"):

seeds -> curate -> push (with predictions) -> push again (no duplicates) -> two annotators
annotate through the API, disagreeing on some spans -> pull (every span and relation arrives
exactly, offsets map back to the raw seed page) -> release v0.1.0 -> load_dataset (features and
splits) -> agreement equals what the constructed disagreement implies -> export spaCy -> a short
`spacy train` -> the trained pipeline pre-annotates new text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import datasets
import pytest

from annotation.agreement import token_labels, tokenize_spans
from annotation.gold import load_gold_dir
from annotation.labelstudio.pull import pull
from annotation.labelstudio.push import push_tasks
from annotation.labelstudio.task_scan import list_task_keys
from annotation.pipeline import predict_tasks, release_annotations
from annotation.preannotate import load_preannotator
from annotation.release import check_leakage, scan_release_for_identities
from annotation.schema import PROJECT_ROOT
from annotation.tasks import documents_to_tasks
from annotation.training.export import export_spacy
from annotation.training.train import train_model
from corpus.curate import curate
from corpus.records import read_corpus

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

SEEDS = PROJECT_ROOT / "seeds"
ANNOTATOR_A = "alice.annotator@example.org"
ANNOTATOR_B = "bob.annotator@example.org"
# B disagrees with A on purpose: in these two documents B labels no DATE at all.
B_SKIPS_DATES_IN = ("000_3f055ddc5c6ac13f", "002_6bacfc6f73d7982a")


def _without_dates(annotation):
    spans = tuple(s for s in annotation.spans if s.label != "DATE")
    ids = {s.id for s in spans}
    relations = tuple(r for r in annotation.relations if r.head in ids and r.tail in ids)
    return annotation.with_(spans=spans, relations=relations)


def _span_keys(annotation):
    return Counter((s.start, s.end, s.label) for s in annotation.spans)


def _relation_keys(annotation):
    by_id = {s.id: (s.start, s.end, s.label) for s in annotation.spans}
    return Counter((by_id[r.head], by_id[r.tail], r.label) for r in annotation.relations)


def _f1(a: Counter, b: Counter) -> float:
    matched = sum((a & b).values())
    return 2 * matched / (sum(a.values()) + sum(b.values()))


def _nominal_alpha(pairs: list[tuple[str, str]]) -> float:
    """Krippendorff's alpha for two coders, nominal data, no missing values (closed form)."""
    n = 2 * len(pairs)
    disagreements = sum(1 for a, b in pairs if a != b)
    totals = Counter(label for pair in pairs for label in pair)
    expected = (n * n - sum(c * c for c in totals.values())) / (n * (n - 1))
    observed = 2 * disagreements / n
    return 1 - observed / expected


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "corpus"
    summary = curate([SEEDS], out_dir=out, progress=False)
    assert summary.kept == 5
    return [d for d in read_corpus(str(out)) if d.status == "kept"]


def test_end_to_end_round_trip(label_studio, ls_project, schema, corpus, tmp_path):
    client = label_studio.client
    by_id = {d.id: d for d in corpus}

    # push with predictions, then again: nothing new, nothing duplicated
    tasks = documents_to_tasks(corpus, schema=schema)
    predictions = predict_tasks(tasks, schema=schema)
    first = push_tasks(
        tasks,
        client=client,
        project_id=ls_project.id,
        predictions=predictions,
        schema=schema,
        progress=False,
    )
    assert first.imported == len(tasks) and first.predictions == len(tasks)
    second = push_tasks(
        tasks,
        client=client,
        project_id=ls_project.id,
        predictions=predictions,
        schema=schema,
        progress=False,
    )
    assert second.imported == 0 and second.unchanged == len(tasks)
    existing = list_task_keys(client, ls_project.id)
    assert sorted(existing) == sorted(t.key for t in tasks)

    # two annotators; a reviewer marks A's annotations as the reference
    gold = load_gold_dir(SEEDS / "gold", corpus, schema=schema)
    assert len(gold) == 5
    user_a = client.create_user(ANNOTATOR_A, first_name="Alice")
    user_b = client.create_user(ANNOTATOR_B, first_name="Bob")
    made = {}
    for task in tasks:
        a = gold[task.doc_id]
        stem = Path(by_id[task.doc_id].source).stem
        b = _without_dates(a) if stem in B_SKIPS_DATES_IN else a
        made[task.doc_id] = (a, b)
        task_id = existing[task.key].id
        client.add_annotation(
            task_id, a, chunk_start=task.chunk_start, user_id=user_a, ground_truth=True
        )
        client.add_annotation(task_id, b, chunk_start=task.chunk_start, user_id=user_b)

    # pull: every span and relation arrives exactly, and maps back to the raw page
    pulled = pull(
        client=client,
        project_id=ls_project.id,
        out_dir=tmp_path / "pull",
        schema=schema,
        secret="e2e-secret",
    )
    assert pulled.problems == [] or all(p.removed is False for p in pulled.problems)
    assert len(pulled.tasks) == len(tasks)
    annotators = set()
    for task in pulled.tasks:
        a, b = made[task.doc_id]
        assert len(task.annotations) == 2
        assert len(task.predictions) == 1
        truth = next(x for x in task.annotations if x.ground_truth)
        other = next(x for x in task.annotations if not x.ground_truth)
        annotators |= {truth.annotator, other.annotator}
        assert _span_keys(truth) == _span_keys(a) and _span_keys(other) == _span_keys(b)
        assert _relation_keys(truth) == _relation_keys(a)
        assert _relation_keys(other) == _relation_keys(b)
        doc = by_id[task.doc_id]
        for span in truth.spans:
            assert doc.clean_text[span.start : span.end] == span.text
            raw_start, raw_end = doc.offset_map.to_raw(span.start, span.end)
            # the raw characters are the span's, up to the spaces the glue repair inserted
            assert re.sub(r"\s+", "", doc.raw_text[raw_start:raw_end]) == re.sub(
                r"\s+", "", span.text
            )
    assert len(annotators) == 2 and all(x.startswith("annotator-") for x in annotators)

    # release v0.1.0 from the pulled records
    outcome = release_annotations(
        tmp_path / "pull" / "annotations.jsonl",
        version="0.1.0",
        releases_dir=tmp_path / "releases",
        workdir=label_studio.workdir,
    )
    release = outcome.path
    assert outcome.adjudication.get("ground_truth") == 5
    dataset = datasets.load_dataset(str(release), cache_dir=str(tmp_path / "hf-cache"))
    assert set(dataset) == {"train", "validation", "test"}
    assert sum(len(split) for split in dataset.values()) == 5
    features = dataset["train"].features
    assert features["spans"].feature["label"].names == schema.entity_names
    assert features["relations"].feature["label"].names == schema.relation_names
    assert check_leakage(release) == []
    assert scan_release_for_identities(release, [ANNOTATOR_A, ANNOTATOR_B, "Alice", "Bob"]) == []
    per_annotator = datasets.load_dataset(
        str(release), "annotations", cache_dir=str(tmp_path / "hf-cache")
    )
    assert {row["annotator"] for split in per_annotator.values() for row in split} == annotators

    # agreement equals what the constructed disagreement implies
    agreement = json.loads((release / "agreement.json").read_text())
    a_spans = sum((_span_keys(a) for a, _ in made.values()), Counter())
    b_spans = sum((_span_keys(b) for _, b in made.values()), Counter())
    a_rel = sum((_relation_keys(a) for a, _ in made.values()), Counter())
    b_rel = sum((_relation_keys(b) for _, b in made.values()), Counter())
    assert agreement["exact_f1"] == pytest.approx(_f1(a_spans, b_spans))
    assert agreement["exact_f1"] < 1.0
    assert agreement["relation_f1"] == pytest.approx(_f1(a_rel, b_rel))
    per_label = {row["label"]: row for row in agreement["labels"]}
    dates_a = Counter({k: v for k, v in a_spans.items() if k[2] == "DATE"})
    dates_b = Counter({k: v for k, v in b_spans.items() if k[2] == "DATE"})
    assert per_label["DATE"]["exact_f1"] == pytest.approx(_f1(dates_a, dates_b))
    assert per_label["AGENCY"]["exact_f1"] == pytest.approx(1.0)
    pairs = []
    for doc_id, (a, b) in made.items():
        tokens = tokenize_spans(by_id[doc_id].clean_text)
        pairs += list(zip(token_labels(a, tokens), token_labels(b, tokens), strict=True))
    assert agreement["alpha"] == pytest.approx(_nominal_alpha(pairs), abs=1e-9)

    # spaCy: export, a short training run, and the model pre-annotates new text
    export = export_spacy(release, out_dir=tmp_path / "spacy", schema=schema)
    assert export.unalignable == 0 and export.docs["train"] > 0
    trained = train_model(
        tmp_path / "spacy",
        config=PROJECT_ROOT / "configs" / "spacy" / "ner.cfg",
        out_dir=tmp_path / "model",
        overrides={"training.max_steps": 60, "training.eval_frequency": 30},
    )
    assert (tmp_path / "model" / "scores.json").exists()
    preannotator = load_preannotator(trained.model_path, schema=schema)
    assert preannotator.model_version.startswith("model-")
    [prediction] = preannotator.predict(["Vietnam Customs seized 500 kg of ketamine in Hai Phong."])
    assert prediction.source == "prediction"
    assert all(s.label in schema.entity_names for s in prediction.spans)
