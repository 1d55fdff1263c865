"""What a user sees for each mistake in configs/schema.yaml and configs/preannotate.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from annotation.preannotate import build_rule_pipeline, default_rule_config_dir
from annotation.schema import Schema, load_schema
from corpus.errors import ConfigError, SchemaError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _error(func, *args, error=ConfigError) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as info:
        func(*args)
    return str(info.value)


# -- the label schema ---------------------------------------------------------------------

SCHEMA = """\
name: test
version: 1
entities:
  - {name: DRUG, colour: "#ff7f0e", hotkey: d}
  - {name: AGENCY, colour: "#1f77b4", hotkey: a}
relations:
  - {name: SEIZED_BY, head: [DRUG], tail: [AGENCY]}
"""


def _schema_error(tmp_path: Path, old: str, new: str) -> str:
    path = _write(tmp_path / "schema.yaml", SCHEMA.replace(old, new, 1))
    return _error(load_schema, path, error=SchemaError)


def test_schema_without_mistakes_loads(tmp_path: Path) -> None:
    schema = load_schema(_write(tmp_path / "schema.yaml", SCHEMA))
    assert schema.entity_names == ["DRUG", "AGENCY"]


def test_schema_misspelt_hotkey_key(tmp_path: Path) -> None:
    message = _schema_error(tmp_path, "hotkey: d", "hotky: d")
    assert "entities[0].hotky: unknown key 'hotky'; did you mean 'hotkey'?" in message


def test_schema_duplicate_entity_name(tmp_path: Path) -> None:
    message = _schema_error(tmp_path, "name: AGENCY", "name: DRUG")
    assert "entities: label 'DRUG' is defined twice; rename or merge one" in message


def test_schema_duplicate_relation_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "schema.yaml",
        SCHEMA + "  - {name: SEIZED_BY, head: [DRUG], tail: [DRUG]}\n",
    )
    message = _error(load_schema, path, error=SchemaError)
    assert "relations: relation 'SEIZED_BY' is defined twice; rename or merge one" in message


def test_schema_duplicate_hotkey(tmp_path: Path) -> None:
    message = _schema_error(tmp_path, "hotkey: a", "hotkey: d")
    assert "entities: hotkey 'd' is used by DRUG and AGENCY; give each its own" in message


def test_schema_invalid_colour(tmp_path: Path) -> None:
    message = _schema_error(tmp_path, '"#ff7f0e"', "orange")
    assert "entities[0].colour: must be a colour written #rrggbb or #rgb" in message
    assert "got 'orange'" in message


def test_schema_relation_end_that_is_not_an_entity(tmp_path: Path) -> None:
    message = _schema_error(tmp_path, "tail: [AGENCY]", "tail: [AGENCYY]")
    assert (
        "relations[0].tail: relation SEIZED_BY: 'AGENCYY' is not an entity label; "
        "did you mean 'AGENCY'?" in message
    )


def test_schema_markup_in_a_name_is_refused(tmp_path: Path) -> None:
    message = _schema_error(tmp_path, "name: DRUG", "name: <b>DRUG</b>")
    assert "entities[0].name: must be a letter followed by letters, digits, _ or -" in message


def test_schema_version_must_be_a_positive_integer(tmp_path: Path) -> None:
    message = _schema_error(tmp_path, "version: 1", "version: '2'")
    assert "version: Input should be a valid integer, got '2' (str)" in message


def test_schema_reports_every_mistake_at_once(tmp_path: Path) -> None:
    text = SCHEMA.replace("hotkey: a", "hotkey: d").replace('"#1f77b4"', "blue")
    message = _error(load_schema, _write(tmp_path / "schema.yaml", text), error=SchemaError)
    assert "2 problem(s)" in message and "hotkey 'd'" in message and "'blue'" in message


# -- the pre-annotation rules -------------------------------------------------------------


@pytest.fixture()
def rule_dir(tmp_path: Path) -> Path:
    target = tmp_path / "configs"
    shutil.copytree(default_rule_config_dir(), target)
    return target


def test_preannotate_misspelt_nested_key(rule_dir: Path, schema: Schema) -> None:
    config = rule_dir / "preannotate.yaml"
    config.write_text(config.read_text().replace("connectors:", "conectors:"))
    message = _error(lambda: build_rule_pipeline(schema=schema, config_dir=rule_dir))
    assert "seizure.conectors: unknown key 'conectors'; did you mean 'connectors'?" in message
    assert str(config) in message


def test_preannotate_bad_choice_names_the_rule_path(rule_dir: Path, schema: Schema) -> None:
    config = rule_dir / "preannotate.yaml"
    config.write_text(config.read_text().replace("attach: nearest}", "attach: closest}", 1))
    message = _error(lambda: build_rule_pipeline(schema=schema, config_dir=rule_dir))
    assert (
        "relations.same_sentence[0].attach: Input should be 'all' or 'nearest', got 'closest'"
        in message
    )


def test_preannotate_score_out_of_range(rule_dir: Path, schema: Schema) -> None:
    config = rule_dir / "preannotate.yaml"
    config.write_text(config.read_text().replace("rule_score: 0.5", "rule_score: 5"))
    message = _error(lambda: build_rule_pipeline(schema=schema, config_dir=rule_dir))
    assert "rule_score: Input should be less than or equal to 1, got 5 (int)" in message
