"""Tests of the synthetic benchmark corpus (scripts/synthetic.py)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from synthetic import MENU, generate_corpus  # noqa: E402


def direct_jaccard(a: str, b: str, k: int = 5) -> float:
    """Word k-gram Jaccard with plain Python sets, independent of corpus.dedup hashing."""

    def grams(text: str) -> set[tuple[str, ...]]:
        tokens = re.findall(r"[^\W_]+", text.lower())
        return {tuple(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}

    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def test_synthetic_corpus_is_deterministic() -> None:
    first, second = generate_corpus(60, seed=3), generate_corpus(60, seed=3)
    assert first == second
    assert generate_corpus(60, seed=4).pages[0].raw != first.pages[0].raw


def test_synthetic_planted_jaccard_matches_direct_set_computation() -> None:
    corpus = generate_corpus(60, seed=3)
    kinds = {p.kind for p in corpus.pairs}
    assert kinds == {"exact", "near"}
    for pair in corpus.pairs:
        body_a, body_b = corpus.pages[pair.original].body, corpus.pages[pair.duplicate].body
        assert abs(direct_jaccard(body_a, body_b) - pair.jaccard) < 1e-9
        if pair.kind == "exact":
            assert body_a == body_b and pair.jaccard == 1.0
        else:
            assert 0.5 <= pair.target < 1.0
            assert abs(pair.jaccard - pair.target) < 0.05


def test_synthetic_pages_carry_chrome_and_related_blocks() -> None:
    page = generate_corpus(5, seed=1).pages[2]
    assert MENU in page.raw and "Related News" in page.raw and page.raw.endswith("Mobile Version")
    assert all(paragraph in page.raw for paragraph in page.body.split("\n\n"))
    assert 2000 < len(page.raw.encode()) < 5000
