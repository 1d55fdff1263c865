"""corpus.cache: tables built once per machine, read back unchanged, rebuilt when stale or
damaged, and still served when the cache directory cannot be written."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from corpus import cache
from corpus.clean.fastlangid import ArrayLanguageIdentifier
from corpus.clean.language import _load_array_identifier


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


class Builder:
    """A build function that counts its calls."""

    def __init__(self, value):
        self.value = value
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.value


def test_a_value_is_built_once_and_read_back_equal(cache_dir):
    build = Builder({"ending": 0.25, "words": ("a", "b"), "seen": frozenset({"x"})})
    first = cache.cached_value("table", {"wordfreq": "3.1"}, build)
    second = cache.cached_value("table", {"wordfreq": "3.1"}, build)
    assert first == second == build.value and build.calls == 1
    assert len(list(cache_dir.iterdir())) == 1  # no temporary files left behind


def test_a_new_key_builds_a_new_entry_and_never_reads_the_old_one(cache_dir):
    old = cache.cached_value("table", {"wordfreq": "3.1"}, Builder({"a": 1.0}))
    new = cache.cached_value("table", {"wordfreq": "3.2"}, Builder({"a": 2.0}))
    assert (old, new) == ({"a": 1.0}, {"a": 2.0})
    assert len(list(cache_dir.iterdir())) == 2


def test_a_damaged_entry_is_rebuilt_with_a_warning(cache_dir, caplog):
    cache.cached_value("table", {"k": 1}, Builder({"a": 1.0}))
    (entry,) = cache_dir.iterdir()
    entry.write_bytes(b"\x00 not marshal data")
    build = Builder({"a": 1.0})
    with caplog.at_level(logging.WARNING, logger="corpus.cache"):
        assert cache.cached_value("table", {"k": 1}, build) == {"a": 1.0}
    assert build.calls == 1 and "unreadable" in caplog.text and str(entry) in caplog.text
    assert cache.cached_value("table", {"k": 1}, Builder(None)) == {"a": 1.0}  # repaired


def test_an_unwritable_cache_directory_still_gives_the_table(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(blocker / "cache"))
    with caplog.at_level(logging.WARNING, logger="corpus.cache"):
        assert cache.cached_value("table", {"k": 1}, Builder([1, 2])) == [1, 2]
        arrays = cache.cached_arrays("arrays", {"k": 1}, Builder({"x": np.arange(3)}), names=["x"])
    assert arrays["x"].tolist() == [0, 1, 2]
    assert "cannot be written" in caplog.text and cache.CACHE_DIR_ENV in caplog.text


def test_arrays_are_read_back_equal_and_read_only(cache_dir):
    made = {"counts": np.arange(10, dtype=np.uint32), "names": np.array(["en", "de"])}
    build = Builder(made)
    cache.cached_arrays("arrays", {"k": 1}, build, names=made)
    read = cache.cached_arrays("arrays", {"k": 1}, build, names=made)
    assert build.calls == 1 and set(read) == {"counts", "names"}
    assert read["counts"].dtype == np.uint32 and read["counts"].tolist() == list(range(10))
    assert read["names"].tolist() == ["en", "de"]
    with pytest.raises(ValueError):
        read["counts"][0] = 5


@pytest.mark.parametrize("damage", ["garbage", "missing"])
def test_damaged_arrays_are_rebuilt(cache_dir, caplog, damage):
    made = {"x": np.arange(4), "y": np.ones(2)}
    cache.cached_arrays("arrays", {"k": 1}, Builder(made), names=made)
    (folder,) = cache_dir.iterdir()
    if damage == "garbage":
        (folder / "x.npy").write_bytes(b"garbage")
    else:
        (folder / "y.npy").unlink()
    build = Builder(made)
    with caplog.at_level(logging.WARNING, logger="corpus.cache"):
        read = cache.cached_arrays("arrays", {"k": 1}, build, names=made)
    assert build.calls == 1 and read["x"].tolist() == [0, 1, 2, 3] and "unreadable" in caplog.text
    assert cache.cached_arrays("arrays", {"k": 1}, Builder(None), names=made)["y"].tolist() == [
        1,
        1,
    ]


def test_the_language_model_read_from_the_cache_answers_as_the_one_built(cache_dir):
    _load_array_identifier.cache_clear()
    try:
        built = _load_array_identifier()  # builds the entry
        _load_array_identifier.cache_clear()
        mapped = _load_array_identifier()  # reads it back
    finally:
        _load_array_identifier.cache_clear()
    assert isinstance(mapped.next_state, np.ndarray) and not mapped.nb_ptc.flags.writeable
    texts = [
        "Customs officers seized 500 kg of ketamine at the port on Monday.",
        "La police a saisi 8,3 tonnes d'écailles de pangolin.",
        "海关查获了大量毒品",
        "",
    ]
    assert mapped.classify_many(texts) == built.classify_many(texts)
    again = ArrayLanguageIdentifier.from_built_arrays(built.built_arrays())
    assert again.classify_many(texts) == built.classify_many(texts)


def test_glue_tables_read_from_the_cache_equal_the_tables_built(cache_dir):
    from corpus.glue import GlueConfig, GlueRepairer, _compound_heads, _ending_shares

    config = GlueConfig()
    for _ in range(2):  # the first repairer builds the entries, the second reads them
        repairer = GlueRepairer(config)
        assert repairer._ending_share("a") == _ending_shares(config.other_languages)["a"]
        assert repairer._compounds_begun("back", "en") == _compound_heads(
            repairer._common_words("en")
        ).get("back", 0)
    assert repairer._endings == _ending_shares(config.other_languages)
    assert repairer._compounds["en"] == dict(_compound_heads(repairer._common_words("en")))
    assert sorted(p.name.split("-")[1] for p in cache_dir.iterdir()) == ["compound", "ending"]
