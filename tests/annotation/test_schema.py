"""The schema is the single source of truth: generated artefacts follow it, bad schemas are refused."""

import xml.etree.ElementTree as ET

import pytest

from annotation.schema import load_schema, schema_from_dict
from corpus.errors import SchemaError

REQUIRED_ENTITIES = {
    "AGENCY",
    "OPERATION",
    "SEIZURE",
    "DRUG",
    "WILDLIFE",
    "LOCATION",
    "DATE",
    "QUANTITY",
}
REQUIRED_RELATIONS = {
    "SEIZED_BY": ({"SEIZURE"}, {"AGENCY"}),
    "SEIZED_ITEM": ({"SEIZURE"}, {"DRUG", "WILDLIFE"}),
    "QUANTITY_OF": ({"SEIZURE"}, {"QUANTITY"}),
    "SEIZED_AT": ({"SEIZURE"}, {"LOCATION"}),
    "SEIZED_ON": ({"SEIZURE"}, {"DATE"}),
    "PART_OF": ({"SEIZURE"}, {"OPERATION"}),
    "PARTICIPATES_IN": ({"AGENCY"}, {"OPERATION"}),
    "COOPERATES_WITH": ({"AGENCY"}, {"AGENCY"}),
}


def test_schema_default_has_required_labels_and_relations():
    schema = load_schema()
    assert REQUIRED_ENTITIES <= set(schema.entity_names)
    for name, (head, tail) in REQUIRED_RELATIONS.items():
        rel = schema.relation(name)
        assert rel is not None, name
        assert set(rel.head) == head and set(rel.tail) == tail


def test_schema_labeling_config_lists_exactly_the_schema_labels():
    schema = load_schema()
    root = ET.fromstring(schema.to_labeling_config())
    labels = [el.get("value") for el in root.iter("Label")]
    relations = [el.get("value") for el in root.iter("Relation")]
    assert labels == schema.entity_names
    assert relations == schema.relation_names
    hotkeys = [el.get("hotkey") for el in root.iter("Label")]
    assert len(set(hotkeys)) == len(hotkeys)


def test_schema_instructions_mention_every_label_and_relation():
    schema = load_schema()
    html = schema.to_instructions_html()
    for name in schema.entity_names + schema.relation_names:
        assert name in html


def test_schema_relation_problem_checks_head_and_tail():
    schema = load_schema()
    assert schema.relation_problem("SEIZED_ITEM", "SEIZURE", "WILDLIFE") is None
    assert "not from SEIZURE to AGENCY" in schema.relation_problem(
        "SEIZED_ITEM", "SEIZURE", "AGENCY"
    )
    assert "not in schema" in schema.relation_problem("SEIZED", "SEIZURE", "DRUG")
    assert schema.label_problem("DRUGS") is not None


def test_schema_bad_definition_reports_every_problem_at_once():
    bad = {
        "version": "one",
        "entities": [{"name": "A", "hotkey": "x"}, {"name": "A", "hotkey": "x"}],
        "relations": [{"name": "R", "head": ["A"], "tail": ["MISSING"]}],
    }
    with pytest.raises(SchemaError) as info:
        schema_from_dict(bad, source="bad.yaml")
    message = str(info.value)
    for fragment in (
        "bad.yaml",
        "defined twice",
        "hotkey 'x'",
        "'MISSING' is not an entity label",
        "version",
    ):
        assert fragment in message


def test_schema_missing_file_names_the_path(tmp_path):
    with pytest.raises(SchemaError, match="nope.yaml: cannot read the label schema .No such file"):
        load_schema(tmp_path / "nope.yaml")
