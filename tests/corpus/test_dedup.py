"""Tests of corpus.dedup on small inline documents."""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from corpus.dedup import (
    DedupConfig,
    deduplicate,
    detection_probability,
    jaccard,
    load_dedup_config,
    minhash_signatures,
    normalise_for_dedup,
    shingle_sets,
)
from corpus.errors import ConfigError
from corpus.records import STATUS_REJECTED, Document

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_dedup_config()


def words(seed: int, n: int) -> list[str]:
    """n distinct pseudo-words, so every 5-gram shingle is unique."""
    rng = random.Random(seed)
    return [f"w{seed}x{i}{rng.choice('abcdefgh')}" for i in range(n)]


def doc(doc_id: str, text: str, published: str | None = None) -> Document:
    return Document(
        id=doc_id, source=f"{doc_id}.txt", raw_text=text, clean_text=text, published=published
    )


def edited(tokens: list[str], positions: list[int]) -> str:
    out = list(tokens)
    for p in positions:
        out[p] = out[p][::-1]  # same length: the keeper's "longest" rule stays neutral
    return " ".join(out)


def by_id(docs: list[Document]) -> dict[str, Document]:
    return {d.id: d for d in docs}


def test_dedup_normalise_drops_case_punctuation_and_whitespace() -> None:
    assert normalise_for_dedup("Hello,\n  WORLD!  ﬁne") == "hello world fine"


def test_dedup_exact_duplicates_after_whitespace_and_case_normalisation() -> None:
    text = " ".join(words(1, 60))
    out = by_id(
        deduplicate([doc("a", text), doc("b", text.upper().replace(" ", "\n"))], config=CONFIG)
    )
    assert out["a"].status == "kept" and out["b"].status == "duplicate"
    assert out["b"].duplicate_of == "a"
    assert out["b"].similarity == 1.0
    assert out["a"].cluster_id == out["b"].cluster_id == "c-a"


def test_dedup_near_duplicate_merged_with_measured_similarity_and_earlier_published_keeper() -> (
    None
):
    tokens = words(2, 200)
    original, variant = " ".join(tokens), edited(tokens, [50, 150])
    expected = jaccard(*shingle_sets([original, variant], shingle_size=5))
    assert 0.85 < expected < 0.95
    # The variant comes first in input order but was published earlier: it is the keeper.
    out = by_id(
        deduplicate(
            [doc("late", original, "2020-05-02"), doc("early", variant, "2020-05-01")],
            config=CONFIG,
        )
    )
    assert out["early"].status == "kept"
    assert out["late"].status == "duplicate"
    assert out["late"].duplicate_of == "early"
    assert out["late"].similarity == pytest.approx(expected)
    assert out["late"].cluster_id == out["early"].cluster_id == "c-early"


def test_dedup_keeper_is_longer_on_equal_dates_then_first_seen() -> None:
    tokens = words(3, 200)
    short, long = " ".join(tokens), " ".join(tokens) + " extra words at the end"
    out = by_id(
        deduplicate(
            [doc("short", short, "2020-01-01"), doc("long", long, "2020-01-01")], config=CONFIG
        )
    )
    assert out["short"].duplicate_of == "long"
    same = edited(tokens, [10])
    out = by_id(deduplicate([doc("first", short), doc("second", same)], config=CONFIG))
    assert out["second"].duplicate_of == "first" and out["first"].status == "kept"


def test_dedup_pair_at_low_jaccard_is_not_merged() -> None:
    a = words(4, 200)
    b = a[:90] + words(5, 110)
    assert 0.2 < jaccard(*shingle_sets([" ".join(a), " ".join(b)], shingle_size=5)) < 0.4
    out = deduplicate([doc("a", " ".join(a)), doc("b", " ".join(b))], config=CONFIG)
    assert [d.status for d in out] == ["kept", "kept"]
    assert out[0].cluster_id == "c-a" and out[1].cluster_id == "c-b"
    assert out[1].duplicate_of is None


def test_dedup_cluster_of_three_shares_one_cluster_id() -> None:
    tokens = words(6, 200)
    docs = [
        doc("x", " ".join(tokens)),
        doc("y", edited(tokens, [20])),
        doc("z", edited(tokens, [180])),
    ]
    out = deduplicate(docs, config=CONFIG)
    assert {d.cluster_id for d in out} == {"c-x"}
    assert [d.status for d in out] == ["kept", "duplicate", "duplicate"]
    assert all(d.duplicate_of == "x" for d in out[1:])


def test_dedup_leaves_rejected_documents_untouched() -> None:
    text = " ".join(words(7, 50))
    rejected = Document(
        id="r",
        source="r.txt",
        raw_text=text,
        clean_text=text,
        status=STATUS_REJECTED,
        reject_reason="binary_file",
    )
    out = deduplicate([doc("k", text), rejected], config=CONFIG)
    assert out[1] is rejected
    assert out[0].status == "kept" and out[0].cluster_id == "c-k"


def test_dedup_records_repeated_paragraph_on_both_documents() -> None:
    shared = " ".join(words(8, 30))
    a = f"{' '.join(words(9, 40))}\n\n  {shared}\n\nshort line"
    b = f"{shared}\n{' '.join(words(10, 40))}"
    out = deduplicate([doc("a", a), doc("b", b)], config=CONFIG)
    assert [d.status for d in out] == ["kept", "kept"]
    (pa,), (pb,) = out[0].duplicate_paragraphs, out[1].duplicate_paragraphs
    assert pa["cluster"] == pb["cluster"]
    assert a[pa["start"] : pa["end"]] == shared == b[pb["start"] : pb["end"]]


def test_dedup_detection_probability_of_configured_bands_and_rows() -> None:
    assert detection_probability(0.8, bands=CONFIG.bands, rows=CONFIG.rows) >= 0.99
    assert detection_probability(0.5, bands=CONFIG.bands, rows=CONFIG.rows) < 0.2
    assert detection_probability(0.3, bands=CONFIG.bands, rows=CONFIG.rows) < 0.01


def test_dedup_signatures_are_stable_across_calls_and_processes() -> None:
    texts = [
        " ".join(words(11, 80)),
        "Vietnam Customs seized 500 kg of ketamine in Ho Chi Minh City.",
    ]
    first = minhash_signatures(texts, config=CONFIG)
    assert first.shape == (2, CONFIG.num_perm) and first.dtype == np.uint32
    assert np.array_equal(first, minhash_signatures(texts, config=CONFIG))
    assert np.array_equal(first, minhash_signatures(texts, config=replace(CONFIG, workers=1)))
    code = (
        "import sys, json; from corpus.dedup import load_dedup_config, minhash_signatures;"
        "texts = json.loads(sys.stdin.read());"
        "print(json.dumps(minhash_signatures(texts, config=load_dedup_config()).tolist()))"
    )
    import json

    other = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(texts),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    )
    assert np.array_equal(first, np.array(json.loads(other.stdout), dtype=np.uint32))


def test_dedup_signature_agreement_estimates_jaccard() -> None:
    tokens = words(12, 300)
    texts = [" ".join(tokens), edited(tokens, [40, 140, 240])]
    truth = jaccard(*shingle_sets(texts, shingle_size=5))
    sig = minhash_signatures(texts, config=CONFIG)
    assert abs(float((sig[0] == sig[1]).mean()) - truth) < 0.1


def test_dedup_config_rejects_unknown_keys_and_bad_bands(tmp_path: Path) -> None:
    bad = tmp_path / "dedup.yaml"
    bad.write_text("shingles: 5\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match="shingles: unknown key 'shingles'; did you mean 'shingle_size'"
    ):
        load_dedup_config(bad)
    with pytest.raises(ConfigError, match="exceeds num_perm"):
        DedupConfig(num_perm=100, bands=20, rows=6)


def test_dedup_signature_agreement_is_unbiased_over_many_pairs() -> None:
    # the 32-bit permutation family: over many pairs, agreement tracks Jaccard with the
    # spread of independent permutations (binomial: sd ~ sqrt(J(1-J)/num_perm) ~ 0.04)
    rng = np.random.default_rng(11)
    errors = []
    for _ in range(150):
        tokens = words(int(rng.integers(0, 10_000)), 300)
        n_edits = int(rng.integers(1, 30))
        positions = sorted(rng.choice(300, size=n_edits, replace=False).tolist())
        texts = [" ".join(tokens), edited(tokens, positions)]
        truth = jaccard(*shingle_sets(texts, shingle_size=5))
        sig = minhash_signatures(texts, config=CONFIG)
        errors.append(float((sig[0] == sig[1]).mean()) - truth)
    errors = np.array(errors)
    assert abs(errors.mean()) < 0.01
    assert 0.02 < errors.std() < 0.06
