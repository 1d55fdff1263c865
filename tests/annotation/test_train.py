"""Training: a short spaCy run on an exported release completes, scores per label, and predicts."""

from __future__ import annotations

import json

import pytest
import spacy

from annotation.pseudonym import pseudonymise
from annotation.records import SOURCE_ADJUDICATED, AnnotatedTask, Annotation, Span
from annotation.release import build_release
from annotation.schema import PROJECT_ROOT, load_schema
from annotation.spacy_export import export_spacy
from annotation.train import train_model

SCHEMA = load_schema()
ANNOTATOR = pseudonymise("http://ls.local#1", secret="k")
AGENCIES = ["Vietnam Customs", "China Customs", "Border guards", "Lao Customs"]
PLACES = ["Hai Phong", "Lao Cai", "Quang Binh", "Mong Cai", "Da Nang"]
DRUGS = ["ketamine", "heroin", "methamphetamine"]


def make_tasks(n: int) -> list[AnnotatedTask]:
    tasks = []
    for i in range(n):
        agency, place, drug = AGENCIES[i % 4], PLACES[i % 5], DRUGS[i % 3]
        text = f"{agency} seized {drug} in {place} last week."
        spans = tuple(
            Span(f"s{j}", text.index(p), text.index(p) + len(p), label, p)
            for j, (p, label) in enumerate(
                [(agency, "AGENCY"), (drug, "DRUG"), (place, "LOCATION")]
            )
        )
        ann = Annotation(ANNOTATOR, spans)
        tasks.append(
            AnnotatedTask(
                doc_id=f"t{i:02d}",
                task_id=i,
                text=text,
                chunk_end=len(text),
                meta={"cluster_id": f"t{i:02d}"},
                annotations=(ann,),
                adjudicated=ann.with_(source=SOURCE_ADJUDICATED),
                adjudication="single",
            )
        )
    return tasks


@pytest.mark.slow
def test_train_short_ner_run_writes_scores_and_predicts(tmp_path):
    release = build_release(
        make_tasks(40), version="0.1.0", releases_dir=tmp_path / "releases", schema=SCHEMA
    )
    export_spacy(release, out_dir=tmp_path / "spacy", schema=SCHEMA)
    result = train_model(
        tmp_path / "spacy",
        config=PROJECT_ROOT / "configs" / "spacy" / "ner.cfg",
        out_dir=tmp_path / "model",
        overrides={"training.max_steps": 40, "training.eval_frequency": 10},
    )
    scores = json.loads((tmp_path / "model" / "scores.json").read_text())
    assert set(scores["dev"]["ents_per_type"]) <= {"AGENCY", "DRUG", "LOCATION"}
    assert {"p", "r", "f"} <= set(next(iter(scores["dev"]["ents_per_type"].values())))
    assert "test" in scores and result.scores["dev"]["ents_f"] == scores["dev"]["ents_f"]
    assert "dev NER F" in result.summary_line()
    nlp = spacy.load(result.model_path)
    assert "ner" in nlp.pipe_names
    doc = nlp("China Customs seized heroin in Da Nang last week.")
    assert {e.label_ for e in doc.ents} & {"AGENCY", "DRUG", "LOCATION"}
