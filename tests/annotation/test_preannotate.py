"""Rule pre-annotator and trained-pipeline loading (annotation/preannotate.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import spacy

from annotation.gold import load_gold_dir, score_against_gold
from annotation.preannotate import (
    Preannotator,
    build_rule_pipeline,
    default_rule_config_dir,
    load_preannotator,
    preannotate_documents,
)
from annotation.records import Annotation
from annotation.schema import Schema, load_schema
from corpus.errors import ConfigError
from corpus.records import STATUS_DUPLICATE, Document, stable_id

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def rules(schema: Schema) -> Preannotator:
    return load_preannotator(schema=schema)


def _triples(annotation: Annotation) -> tuple[set[tuple[str, str]], set[tuple[str, str, str]]]:
    spans = {(s.label, s.text) for s in annotation.spans}
    by_id = {s.id: s.text for s in annotation.spans}
    relations = {(by_id[r.head], r.label, by_id[r.tail]) for r in annotation.relations}
    return spans, relations


def test_predict_plain_sentence_gives_nested_spans_and_relations(rules: Preannotator) -> None:
    text = (
        "On May 11, 2019, Ho Chi Minh City Customs Department seized more than 500 kg of "
        "ketamine in Ho Chi Minh City."
    )
    (annotation,) = rules.predict([text])
    spans, relations = _triples(annotation)
    assert spans == {
        ("DATE", "May 11, 2019"),
        ("AGENCY", "Ho Chi Minh City Customs Department"),
        ("SEIZURE", "500 kg of ketamine"),
        ("QUANTITY", "500 kg"),
        ("DRUG", "ketamine"),
        ("LOCATION", "Ho Chi Minh City"),
    }
    assert relations == {
        ("500 kg of ketamine", "QUANTITY_OF", "500 kg"),
        ("500 kg of ketamine", "SEIZED_ITEM", "ketamine"),
        ("500 kg of ketamine", "SEIZED_BY", "Ho Chi Minh City Customs Department"),
        ("500 kg of ketamine", "SEIZED_AT", "Ho Chi Minh City"),
        ("500 kg of ketamine", "SEIZED_ON", "May 11, 2019"),
    }
    assert annotation.source == "prediction" and annotation.annotator == rules.model_version
    assert rules.model_version.startswith("rules-") and annotation.score is not None
    assert len({s.id for s in annotation.spans}) == len(annotation.spans)


def test_predict_attaches_place_and_date_to_the_preceding_seizure(rules: Preannotator) -> None:
    text = (
        "It led to the seizure of 8.3 tons of pangolin scales (in March 2019) in Hai Phong, "
        "or the seizure of 500kg ketamine in Ho Chi Minh City (in May 2019)."
    )
    _, relations = _triples(rules.predict([text])[0])
    assert {r for r in relations if r[1] in ("SEIZED_AT", "SEIZED_ON")} == {
        ("8.3 tons of pangolin scales", "SEIZED_ON", "March 2019"),
        ("8.3 tons of pangolin scales", "SEIZED_AT", "Hai Phong"),
        ("500kg ketamine", "SEIZED_AT", "Ho Chi Minh City"),
        ("500kg ketamine", "SEIZED_ON", "May 2019"),
    }
    assert ("8.3 tons of pangolin scales", "SEIZED_ITEM", "pangolin scales") in relations


def test_predict_generic_item_only_inside_a_seizure(rules: Preannotator) -> None:
    seized, talk = rules.predict(
        ["Police seized 276kg of drugs.", "They fight drugs and wildlife crime."]
    )
    assert ("DRUG", "drugs") in _triples(seized)[0]
    assert _triples(talk)[0] == set()


def test_predict_operation_patterns_and_participation(rules: Preannotator) -> None:
    text = (
        "OMD 5 and Operation Mekong Dragon were co-initiated by Vietnam Customs; "
        "the case M918 followed."
    )
    spans, relations = _triples(rules.predict([text])[0])
    assert {
        ("OPERATION", "OMD 5"),
        ("OPERATION", "Operation Mekong Dragon"),
        ("OPERATION", "M918"),
    } <= spans
    assert ("Vietnam Customs", "PARTICIPATES_IN", "Operation Mekong Dragon") in relations


def test_predict_offsets_shift_spans_to_document_positions(rules: Preannotator) -> None:
    chunk = "Vietnam Customs seized 3,000 cigars."
    plain, shifted = rules.predict([chunk, chunk], offsets=[0, 100])
    assert [(s.start + 100, s.end + 100) for s in plain.spans] == [
        (s.start, s.end) for s in shifted.spans
    ]
    assert shifted.spans[0].text == chunk[plain.spans[0].start : plain.spans[0].end]
    with pytest.raises(ValueError, match="2 texts but 1 offsets"):
        rules.predict([chunk, chunk], offsets=[0])


def _cleaned_seeds() -> list[Document]:
    clean = pytest.importorskip("corpus.clean")
    docs = []
    for path in sorted(SEEDS.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        docs.append(
            Document(id=stable_id(str(path), raw), source=str(path), raw_text=raw, site="seeds")
        )
    return clean.clean_documents(docs, config=clean.load_clean_config())


def test_rules_find_seizures_quantities_and_agencies_of_the_gold(
    rules: Preannotator, schema: Schema
) -> None:
    docs = _cleaned_seeds()
    gold = load_gold_dir(SEEDS / "gold", docs, schema=schema)
    totals: dict[str, dict[str, int]] = {}
    predictions = rules.predict([d.clean_text for d in docs])
    for doc, predicted in zip(docs, predictions, strict=False):
        for label, counts in score_against_gold(predicted, gold[doc.id]).items():
            for key, n in counts.items():
                totals.setdefault(label, {"tp": 0, "fp": 0, "fn": 0})[key] += n
    for label in ("SEIZURE", "QUANTITY", "AGENCY", "QUANTITY_OF", "SEIZED_ITEM"):
        c = totals[label]
        recall = c["tp"] / (c["tp"] + c["fn"])
        precision = c["tp"] / (c["tp"] + c["fp"])
        assert recall >= 0.75 and precision >= 0.75, (label, c)


def test_rule_relations_on_seeds_satisfy_schema(rules: Preannotator, schema: Schema) -> None:
    docs = _cleaned_seeds()
    for doc, annotation in zip(docs, rules.predict([d.clean_text for d in docs]), strict=False):
        for r in annotation.relations:
            head, tail = annotation.span(r.head), annotation.span(r.tail)
            assert head and tail
            assert schema.relation_problem(r.label, head.label, tail.label) is None, (doc.source, r)
        for s in annotation.spans:
            assert doc.clean_text[s.start : s.end] == s.text


def _copy_config(tmp_path: Path) -> Path:
    target = tmp_path / "configs"
    shutil.copytree(default_rule_config_dir() / "gazetteer", target / "gazetteer")
    shutil.copy(default_rule_config_dir() / "preannotate.yaml", target / "preannotate.yaml")
    return target


def test_pattern_file_with_unknown_label_names_file_and_line(
    tmp_path: Path, schema: Schema
) -> None:
    config_dir = _copy_config(tmp_path)
    drugs = config_dir / "gazetteer" / "drugs.jsonl"
    lines = drugs.read_text(encoding="utf-8").splitlines()
    lines.insert(2, json.dumps({"label": "NARCOTIC", "pattern": "heroin"}))
    lines.append("{not json")
    drugs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        build_rule_pipeline(schema=schema, config_dir=config_dir)
    message = str(err.value)
    assert f"{drugs} line 3: label 'NARCOTIC' is not in schema v1" in message
    assert f"{drugs} line {len(lines)}: not valid JSON" in message


def test_relation_rule_outside_schema_is_refused(tmp_path: Path, schema: Schema) -> None:
    config_dir = _copy_config(tmp_path)
    config = config_dir / "preannotate.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "{relation: SEIZED_ON, head: SEIZURE, tail: [DATE]",
            "{relation: SEIZED_ON, head: SEIZURE, tail: [AGENCY]",
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match="SEIZED_ON goes from SEIZURE to DATE, not from SEIZURE to AGENCY"
    ):
        build_rule_pipeline(schema=schema, config_dir=config_dir)


def test_model_version_follows_the_pattern_files(
    tmp_path: Path, schema: Schema, rules: Preannotator
) -> None:
    config_dir = _copy_config(tmp_path)
    assert (
        load_preannotator(schema=schema, config_dir=config_dir).model_version == rules.model_version
    )
    with (config_dir / "gazetteer" / "drugs.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"label": "DRUG", "pattern": "captagon"}) + "\n")
    assert (
        load_preannotator(schema=schema, config_dir=config_dir).model_version != rules.model_version
    )


def test_load_preannotator_rejects_a_path_that_is_not_a_pipeline(
    tmp_path: Path, schema: Schema
) -> None:
    with pytest.raises(ConfigError, match="not a spaCy pipeline directory"):
        load_preannotator(tmp_path, schema=schema)


def test_trained_pipeline_spans_get_the_rule_relations(tmp_path: Path, schema: Schema) -> None:
    # A stand-in for a trained pipeline: a saved pipeline whose entities come from doc.ents.
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "AGENCY", "pattern": "Vietnam Customs"},
            {"label": "SEIZURE", "pattern": "8.3 tons of pangolin scales"},
            {"label": "LOCATION", "pattern": "Hai Phong"},
        ]
    )
    nlp.meta["name"] = "tiny"
    nlp.meta["version"] = "0.1.0"
    nlp.to_disk(tmp_path / "model")
    model = load_preannotator(tmp_path / "model", schema=schema)
    assert model.model_version == "model-tiny-0.1.0"
    (annotation,) = model.predict(
        [
            "Vietnam Customs seized 8.3 tons of pangolin scales in Hai Phong. "
            "Later, Vietnam Customs met."
        ]
    )
    spans, relations = _triples(annotation)
    assert ("SEIZURE", "8.3 tons of pangolin scales") in spans
    assert relations == {
        ("8.3 tons of pangolin scales", "SEIZED_BY", "Vietnam Customs"),
        ("8.3 tons of pangolin scales", "SEIZED_AT", "Hai Phong"),
    }


def test_preannotate_documents_writes_one_line_per_kept_document(
    tmp_path: Path, schema: Schema
) -> None:
    docs = [
        Document(
            id="a", source="a.txt", raw_text="", clean_text="Customs seized 500 kg of ketamine."
        ),
        Document(
            id="b",
            source="b.txt",
            raw_text="",
            clean_text="Customs seized 500 kg of ketamine.",
            status=STATUS_DUPLICATE,
        ),
        Document(id="c", source="c.txt", raw_text="", clean_text="Nothing to see."),
    ]
    out = tmp_path / "pre.jsonl"
    assert preannotate_documents(docs, out=out, schema=schema) == 2
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a", "c"]
    first = rows[0]
    assert first["model_version"].startswith("rules-") and rows[1]["spans"] == []
    labels = [s["label"] for s in first["spans"]]
    assert labels == ["SEIZURE", "QUANTITY", "DRUG"]
    for s in first["spans"]:
        assert first["text"][s["start"] : s["end"]] == s["text"]
    assert {(r["head"], r["tail"], r["label"]) for r in first["relations"]} == {
        (0, 1, "QUANTITY_OF"),
        (0, 2, "SEIZED_ITEM"),
    }
