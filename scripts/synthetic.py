"""Deterministic synthetic corpus of news-like pages with planted duplicates.

Pages look like the seed dumps: a scrape timestamp, a site menu, the headline, a
"10:10 | 24/05/2019" date line, the article (lead + paragraphs, with the headline doubled
as image alt text and slug-prefixed related links), a byline, a related-news tail block,
"Latest Most read" and "Mobile Version". Some pages are exact copies of an earlier
article (new chrome around the same body); others are near-duplicates whose body was
edited word by word until its Jaccard similarity to the original (word 5-gram shingles
of corpus.dedup) reached a target drawn uniformly from [0.5, 1.0). The ground truth
records every planted pair with its measured Jaccard on the article bodies.

Used by scripts/bench_corpus.py and the tests; importable without side effects.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from corpus.dedup import jaccard, shingle_sets

_SYLLABLES = (
    "ba ca da fa ga ha ka la ma na pa ra sa ta va xa be ce de le me ne re se te ve bi ci di "
    "li mi ni ri si ti vi bo co do go ho lo mo no ro so to vo bu cu du gu lu mu nu ru su tu "
    "an en in on un ang eng ing ong ung ar er ir or ur al el il ol ul"
).split()
_NEWS_WORDS = (
    "customs police border seized smuggling drugs ketamine heroin methamphetamine pangolin "
    "scales ivory rhino horn shipment container port province department officers suspects "
    "arrested investigation trafficking authorities cooperation conference operation agency "
    "kilograms tons cases goods vehicle truck airport international regional enforcement "
    "the of and to in a on for with by from at that was were has have been is are as"
).split()
_FIRST = "Nguyen Tran Le Pham Hoang Vu Dang Bui Do Ho Ngo Duong".split()
_GIVEN = "Binh Loan Hung Lan Minh Thu Nam Hoa Tuan Huong Kiet Phong".split()
MENU = "Advertisement Contact us RSS Vietnamese"


@dataclass(frozen=True)
class SyntheticPage:
    """One generated page: its source name, full raw text and the article body alone."""

    source: str
    raw: str
    body: str
    published: str  # ISO date of the article


@dataclass(frozen=True)
class PlantedPair:
    """A planted duplicate: page `duplicate` derives from page `original`."""

    original: int
    duplicate: int
    kind: str  # "exact" or "near"
    target: float  # the Jaccard the edit aimed for (1.0 for exact copies)
    jaccard: float  # measured Jaccard of the two bodies (word 5-gram shingles)


@dataclass(frozen=True)
class SyntheticCorpus:
    pages: list[SyntheticPage]
    pairs: list[PlantedPair]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words = set(_NEWS_WORDS)
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _sentence(rng: random.Random, vocab: list[str], weights: list[float]) -> str:
    words = rng.choices(vocab, cum_weights=weights, k=rng.randint(10, 26))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), f"{rng.randint(2, 900)} kg")
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _headline(rng: random.Random, vocab: list[str], weights: list[float]) -> str:
    return " ".join(
        w.capitalize() for w in rng.choices(vocab, cum_weights=weights, k=rng.randint(5, 10))
    )


def _body(rng: random.Random, vocab: list[str], weights: list[float], size: int) -> list[str]:
    paragraphs: list[str] = []
    while sum(len(p) + 2 for p in paragraphs) < size:
        paragraphs.append(
            " ".join(_sentence(rng, vocab, weights) for _ in range(rng.randint(2, 4)))
        )
    paragraphs[0] = "VCN- " + paragraphs[0]
    return paragraphs


def _edit_body(
    paragraphs: list[str], target: float, rng: random.Random, vocab: list[str]
) -> tuple[str, float]:
    """Substitute words (in a fixed random order) until the Jaccard is closest to `target`."""
    words = [p.split(" ") for p in paragraphs]
    slots = [(i, j) for i, p in enumerate(words) for j in range(len(p))]
    rng.shuffle(slots)
    replacements = [rng.choice(vocab) + "x" for _ in slots]
    original = "\n\n".join(paragraphs)
    base = shingle_sets([original], shingle_size=5)[0]

    def edited(m: int) -> str:
        copy = [list(p) for p in words]
        for (i, j), word in zip(slots[:m], replacements[:m], strict=False):
            copy[i][j] = word
        return "\n\n".join(" ".join(p) for p in copy)

    def similarity(m: int) -> float:
        return jaccard(base, shingle_sets([edited(m)], shingle_size=5)[0])

    lo, hi = 1, len(slots)  # J(m) falls as m grows; find the m closest to target
    while lo < hi:
        mid = (lo + hi) // 2
        if similarity(mid) > target:
            lo = mid + 1
        else:
            hi = mid
    best = min({max(1, lo - 1), lo}, key=lambda m: abs(similarity(m) - target))
    text = edited(best)
    return text, similarity(best)


def _page(
    rng: random.Random,
    index: int,
    headline: str,
    body: str,
    published: tuple[int, int, int],
    related: list[str],
    vocab: list[str],
    weights: list[float],
) -> str:
    year, month, day = published
    slug = headline.lower()
    paragraphs = body.split("\n\n")
    lines = [
        f"July {rng.randint(1, 28)}, 2020 {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        MENU,
        headline,
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} | {day:02d}/{month:02d}/{year}",
        paragraphs[0],
        "\n".join([f"{slug} {related[0]}", f"{slug} {related[1]}", slug]),
        *paragraphs[1:],
        f"By {rng.choice(_FIRST)} {rng.choice(_GIVEN)}/ {rng.choice(_FIRST)} {rng.choice(_GIVEN)}",
        "Related News",
    ]
    for title in related[2:]:
        lines.append(f"{title}\n\n{title}\n\nVCN - {_sentence(rng, vocab, weights)}")
    lines += ["Latest Most read", "Mobile Version"]
    return "\n\n".join(lines)


def generate_corpus(
    n_pages: int,
    *,
    seed: int = 7,
    page_bytes: int = 3000,
    exact_rate: float = 0.05,
    near_rate: float = 0.15,
    vocabulary_size: int = 6000,
) -> SyntheticCorpus:
    """`n_pages` pages (~`page_bytes` each); about exact_rate/near_rate of them are planted copies.

    Same arguments, same corpus, byte for byte. Originals of planted pairs are never
    themselves planted copies; near-duplicate targets are uniform in [0.5, 1.0).
    """
    rng = random.Random(seed)
    vocab = _vocabulary(rng, vocabulary_size)
    weights = list(
        itertools.accumulate(1.0 / (rank + 10) for rank in range(len(vocab)))
    )  # Zipf-like
    rng.shuffle(vocab)
    body_size = int(page_bytes * 0.6)
    pages: list[SyntheticPage] = []
    pairs: list[PlantedPair] = []
    originals: list[tuple[int, str, list[str], tuple[int, int, int]]] = []
    for index in range(n_pages):
        related = [_headline(rng, vocab, weights) for _ in range(5)]
        roll = rng.random()
        if originals and roll < exact_rate + near_rate:
            orig_index, headline, paragraphs, date = rng.choice(originals)
            later = (date[0] + 1, date[1], date[2])  # copies appear later: the original keeps
            if roll < exact_rate:
                body, target, measured, kind = "\n\n".join(paragraphs), 1.0, 1.0, "exact"
            else:
                target = rng.uniform(0.5, 1.0)
                body, measured = _edit_body(paragraphs, target, rng, vocab)
                kind = "near"
            pairs.append(PlantedPair(orig_index, index, kind, round(target, 4), measured))
            published = later
        else:
            headline = _headline(rng, vocab, weights)
            paragraphs = _body(rng, vocab, weights, body_size)
            published = (rng.randint(2015, 2020), rng.randint(1, 12), rng.randint(1, 28))
            originals.append((index, headline, paragraphs, published))
            body = "\n\n".join(paragraphs)
        raw = _page(rng, index, headline, body, published, related, vocab, weights)
        iso = f"{published[0]:04d}-{published[1]:02d}-{published[2]:02d}"
        pages.append(
            SyntheticPage(source=f"synthetic/{index:07d}.txt", raw=raw, body=body, published=iso)
        )
    return SyntheticCorpus(pages=pages, pairs=pairs)
