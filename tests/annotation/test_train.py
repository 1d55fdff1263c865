"""Training: a short spaCy run on an exported release completes, learns relations, scores per
label with support beside the rule pre-annotator, and predicts."""

from __future__ import annotations

import json

import pytest
import spacy
from click.testing import CliRunner

from annotation.cli import main
from annotation.preannotate import load_preannotator
from annotation.pseudonym import pseudonymise
from annotation.records import SOURCE_ADJUDICATED, AnnotatedTask, Annotation, Relation, Span
from annotation.release import build_release
from annotation.schema import PROJECT_ROOT, load_schema
from annotation.training.export import export_spacy
from annotation.training.model_check import model_vs_rules_warning
from annotation.training.relation_model import RELATION_MODEL
from annotation.training.train import comparison_table, train_model, train_relations

SCHEMA = load_schema()
ANNOTATOR = pseudonymise("http://ls.local#1", secret="k")
AGENCIES = ["Vietnam Customs", "China Customs", "Border guards", "Lao Customs"]
PLACES = ["Hai Phong", "Lao Cai", "Quang Binh", "Mong Cai", "Da Nang"]
DRUGS = ["ketamine", "heroin", "methamphetamine"]


def make_tasks(n: int) -> list[AnnotatedTask]:
    """'<agency> seized <n> kg of <drug> in <place> last week. <agency 2> thanked officers in
    <place 2>.' The seizure is linked to the first agency and place only."""
    tasks = []
    for i in range(n):
        agency, other = AGENCIES[i % 4], AGENCIES[(i + 1) % 4]
        place, far, drug = PLACES[i % 5], PLACES[(i + 2) % 5], DRUGS[i % 3]
        seizure = f"{20 + i} kg of {drug}"
        text = f"{agency} seized {seizure} in {place} last week. {other} thanked officers in {far}."
        found = [
            (agency, "AGENCY", 0),
            (seizure, "SEIZURE", 0),
            (place, "LOCATION", 0),
            (other, "AGENCY", text.index(". ")),
            (far, "LOCATION", text.index(". ")),
        ]
        spans = tuple(
            Span(f"s{j}", text.index(p, after), text.index(p, after) + len(p), label, p)
            for j, (p, label, after) in enumerate(found)
        )
        relations = (Relation("s1", "s0", "SEIZED_BY"), Relation("s1", "s2", "SEIZED_AT"))
        ann = Annotation(ANNOTATOR, spans, relations)
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


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    release = build_release(
        make_tasks(40), version="0.1.0", releases_dir=tmp / "releases", schema=SCHEMA
    )
    export_spacy(release, out_dir=tmp / "spacy", schema=SCHEMA)
    return tmp / "spacy"


@pytest.fixture(scope="module")
def trained(export_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    result = train_model(
        export_dir,
        config=PROJECT_ROOT / "configs" / "spacy" / "ner.cfg",
        out_dir=out,
        overrides={"training.max_steps": 100, "training.eval_frequency": 20},
    )
    return out, result


@pytest.mark.slow
def test_train_short_ner_run_writes_scores_with_support_and_predicts(trained) -> None:
    out, result = trained
    scores = json.loads((out / "scores.json").read_text())
    per_type = scores["dev"]["ents_per_type"]
    assert set(per_type) <= {"AGENCY", "SEIZURE", "LOCATION"}
    assert {"p", "r", "f", "support"} <= set(per_type["AGENCY"])
    assert per_type["AGENCY"]["support"] > 0 and per_type["SEIZURE"]["support"] > 0
    assert scores["dev"]["rel_per_type"]["SEIZED_BY"]["support"] > 0
    assert "test" in scores and result.scores["dev"]["ents_f"] == scores["dev"]["ents_f"]
    assert scores["training"]["relation_pairs"]["SEIZED_BY"] > 0
    assert "dev NER F" in result.summary_line() and "vs rules" in result.summary_line()
    nlp = spacy.load(result.model_path)
    assert "ner" in nlp.pipe_names and RELATION_MODEL in nlp.pipe_names
    doc = nlp("China Customs seized 75 kg of heroin in Da Nang last week.")
    assert {e.label_ for e in doc.ents} & {"AGENCY", "SEIZURE", "LOCATION"}


@pytest.mark.slow
def test_train_pipeline_predicts_relations_on_held_out_text_when_pre_annotating(trained) -> None:
    _, result = trained
    preannotator = load_preannotator(result.model_path, schema=SCHEMA)
    assert RELATION_MODEL in preannotator.nlp.pipe_names
    assert "contraband_relations" not in preannotator.nlp.pipe_names  # learned, not ruled
    text = "Lao Customs seized 77 kg of heroin in Hai Phong last week."
    [annotation] = preannotator.predict([text])
    by_id = {s.id: s for s in annotation.spans}
    relations = {(by_id[r.head].text, by_id[r.tail].text, r.label) for r in annotation.relations}
    assert ("77 kg of heroin", "Lao Customs", "SEIZED_BY") in relations
    assert ("77 kg of heroin", "Hai Phong", "SEIZED_AT") in relations


@pytest.mark.slow
def test_train_compares_model_and_rules_on_the_same_split(trained) -> None:
    out, result = trained
    comparison = json.loads((out / "scores.json").read_text())["comparison"]
    assert comparison["split"] == "test" and comparison["documents"] > 0
    model, rules = comparison["model"], comparison["rules"]
    assert model["spans"]["support"] == rules["spans"]["support"] > 0  # the same gold
    assert model["relations"]["support"] == rules["relations"]["support"] > 0
    assert set(model["spans"]["per_label"]["AGENCY"]) == {"p", "r", "f", "support", "predicted"}
    table = comparison_table(comparison)
    assert "SEIZED_BY" in table and "all spans" in table and "rules P" in table
    # the warning before push follows the stored figures
    worse = model["spans"]["f"] < rules["spans"]["f"] or (
        model["relations"]["f"] < rules["relations"]["f"]
    )
    assert (model_vs_rules_warning(result.model_path) is not None) == worse


@pytest.mark.slow
def test_train_relations_alone_onto_a_copy_of_a_trained_pipeline(trained, export_dir, tmp_path):
    _, base = trained
    result = train_relations(export_dir, base=base.model_path, out_dir=tmp_path / "rel")
    assert RELATION_MODEL in spacy.load(result.model_path).pipe_names
    assert result.comparison is not None and (tmp_path / "rel" / "scores.json").is_file()
    assert base.model_path.is_dir()  # the base is copied, not changed


def test_model_check_warns_when_the_model_scores_below_the_rules(tmp_path) -> None:
    model = tmp_path / "model-best"
    model.mkdir()
    assert "no scores.json" in model_vs_rules_warning(model)

    def write(model_f: float, rules_f: float) -> None:
        figures = {"spans": {"f": 0.9}, "relations": {"f": 0.5}}
        comparison = {
            "split": "test",
            "documents": 12,
            "model": {**figures, "relations": {"f": model_f}},
            "rules": {**figures, "relations": {"f": rules_f}},
        }
        (tmp_path / "scores.json").write_text(json.dumps({"comparison": comparison}))

    write(0.3, 0.7)
    warning = model_vs_rules_warning(model)
    assert "relations F1 0.300 < rules 0.700" in warning and "spans" not in warning
    assert "push without --model" in warning
    write(0.8, 0.7)
    assert model_vs_rules_warning(model) is None
    (tmp_path / "scores.json").write_text(json.dumps({"dev": {}}))
    assert "no model-vs-rules comparison" in model_vs_rules_warning(model)


def test_cli_train_relations_needs_a_base_pipeline(tmp_path) -> None:
    (tmp_path / "export").mkdir()
    result = CliRunner().invoke(main, ["train", str(tmp_path / "export"), "--config", "relations"])
    assert result.exit_code != 0
    assert "--base models/ner/model-best" in result.output


def test_cli_push_with_a_model_worse_than_the_rules_warns_first(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    model = tmp_path / "models" / "ner" / "model-best"
    model.mkdir(parents=True)
    figures = {"relations": {"f": 0.0}, "spans": {"f": 0.434}}
    comparison = {
        "split": "test",
        "documents": 28,
        "model": figures,
        "rules": {"relations": {"f": 0.725}, "spans": {"f": 0.955}},
    }
    (model.parent / "scores.json").write_text(json.dumps({"comparison": comparison}))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = CliRunner().invoke(
        main,
        ["push", str(corpus), "--model", str(model), "--workdir", str(tmp_path / "w")],
    )
    assert "warning: the model scores below the rule pre-annotator on the test split" in (
        result.output
    )
    assert "spans F1 0.434 < rules 0.955; relations F1 0.000 < rules 0.725" in result.output
