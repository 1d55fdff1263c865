"""corpus/settings.py: where configs are found, and the one message a user sees per mistake
(the schema's and pre-annotation's own mistakes: tests/annotation/test_settings_messages.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from annotation.preannotate import build_rule_pipeline
from annotation.schema import Schema
from corpus.dedup import load_dedup_config
from corpus.errors import ConfigError
from corpus.settings import (
    CONFIG_DIR_ENV,
    SettingsModel,
    default_config_dir,
    default_config_path,
    load_settings,
)

REPO = Path(__file__).resolve().parents[2]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _error(func, *args, error=ConfigError) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as info:
        func(*args)
    return str(info.value)


class _Dates(SettingsModel):
    day_first: bool = True
    min_pages: int = 3


class _Section(SettingsModel):
    boilerplate: _Dates = _Dates()


# -- where the configs are ---------------------------------------------------------------


def test_default_config_path_finds_the_checkout_configs_without_override(monkeypatch) -> None:
    monkeypatch.delenv(CONFIG_DIR_ENV, raising=False)
    assert default_config_dir() == REPO / "configs"
    assert default_config_path("spacy/ner.cfg") == REPO / "configs" / "spacy" / "ner.cfg"


def test_config_dir_override_wins_file_by_file(monkeypatch, tmp_path: Path) -> None:
    _write(tmp_path / "dedup.yaml", "threshold: 0.9\n")
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    assert default_config_path("dedup.yaml") == tmp_path / "dedup.yaml"
    assert load_dedup_config().threshold == 0.9
    assert default_config_path("schema.yaml") == REPO / "configs" / "schema.yaml"


def test_config_dir_override_refuses_a_misspelt_file_name(monkeypatch, tmp_path: Path) -> None:
    _write(tmp_path / "shema.yaml", "version: 1\n")
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    message = _error(default_config_path, "schema.yaml")
    assert "'shema.yaml' is not a config name; did you mean 'schema.yaml'?" in message
    assert CONFIG_DIR_ENV in message


def test_config_dir_override_must_be_a_directory(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "missing"))
    assert "not a directory" in _error(default_config_path, "schema.yaml")


# -- one message per kind of mistake ------------------------------------------------------


def test_misspelt_key_names_file_key_path_and_nearest_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "clean.yaml", "boilerplate:\n  min_pges: 4\n")
    message = _error(load_settings, path, _Section)
    assert message.startswith(f"{path}: 1 problem(s):")
    assert "boilerplate.min_pges: unknown key 'min_pges'; did you mean 'min_pages'?" in message


def test_no_as_a_string_is_not_a_bool(tmp_path: Path) -> None:
    path = _write(tmp_path / "clean.yaml", 'boilerplate:\n  day_first: "no"\n')
    message = _error(load_settings, path, _Section)
    assert "boilerplate.day_first: Input should be a valid boolean, got 'no' (str)" in message


def test_wrong_type_names_the_value_and_its_type(tmp_path: Path) -> None:
    path = _write(tmp_path / "dedup.yaml", "shingle_size: 5.5\nworkers: '2'\n")
    message = _error(load_dedup_config, path)
    assert "2 problem(s)" in message
    assert "shingle_size: Input should be a valid integer, got 5.5 (float)" in message
    assert "workers: Input should be a valid integer, got '2' (str)" in message


def test_value_out_of_range_names_the_rule(tmp_path: Path) -> None:
    path = _write(tmp_path / "dedup.yaml", "threshold: 1.5\n")
    message = _error(load_dedup_config, path)
    assert "threshold: Input should be less than or equal to 1, got 1.5 (float)" in message


def test_values_that_disagree_are_refused_with_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path / "dedup.yaml", "bands: 30\n")
    message = _error(load_dedup_config, path)
    assert "bands*rows=210 exceeds num_perm=154; raise num_perm or lower bands/rows" in message


def test_unknown_choice_lists_the_valid_ones(tmp_path: Path) -> None:
    path = _write(tmp_path / "dedup.yaml", "keeper_policy: [longest, oldest]\n")
    message = _error(load_dedup_config, path)
    assert (
        "keeper_policy[1]: Input should be 'earliest_published', 'longest' or 'first_seen', "
        "got 'oldest' (str)" in message
    )


def test_shipped_configs_all_load(schema: Schema) -> None:
    load_dedup_config()
    assert "contraband_relations" in build_rule_pipeline(schema=schema).pipe_names
    assert spacy.util.load_config(default_config_path("spacy/ner.cfg"))["nlp"]["lang"] == "en"
