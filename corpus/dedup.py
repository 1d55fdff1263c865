"""Deduplication: exact duplicates, near duplicates and partial copies, same-story links and
repeated paragraphs.

The batch core works on pandas/numpy columns so each step can run per partition on a
distributed engine: texts -> token hashes -> (exact keys, content shingles of prose lines,
line keys, numeric facts) -> MinHash signatures and anchors -> band keys -> candidate pairs
(group-by) -> verified pairs (true Jaccard and containment of content shingles) ->
connected components -> keepers; facts shared by two pages that also share some wording
link them as one story (same cluster_id, both kept). Only compact arrays (64-bit keys, band
keys, anchors, facts, paragraph keys) are held for the whole corpus; texts are re-read only
for the documents that turn up in candidate pairs. `deduplicate` is the `Document`-level
wrapper over a list; `ScanAccumulator` (scan batch by batch, then `decide`) is the streaming
entry point that `corpus.curate` uses, with the same decisions. docs/dedup.md documents the
rules, the parameters and the detection curve.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as _scipy_components

from .errors import ConfigError
from .hashing import mix64, segment_hashes
from .records import STATUS_DUPLICATE, STATUS_KEPT, Document
from .settings import SettingsModel, default_config_path, load_settings

KEEPER_KEYS = ("earliest_published", "longest", "first_seen")
_SHINGLES_PER_BLOCK = 2048  # shingles of one (num_perm x shingles) uint32 MinHash block: ~1.2 MB


@dataclass(frozen=True)
class DedupConfig:
    """Parameters of the dedup stage (configs/dedup.yaml); see docs/dedup.md."""

    shingle_size: int = 5
    num_perm: int = 154
    bands: int = 22
    rows: int = 7
    seed: int = 20240521
    threshold: float = 0.8
    paragraph_min_chars: int = 80
    containment_threshold: float = 0.8
    content_line_min_words: int = 8
    min_content_shingles: int = 50
    anchor_every: int = 8
    anchor_min_shared: int = 2
    anchor_max_docs: int = 100
    link_stories: bool = True
    story_min_shared_facts: int = 3
    story_min_fact_share: float = 0.2
    story_min_containment: float = 0.05
    story_max_docs: int = 20
    keeper_policy: tuple[str, ...] = KEEPER_KEYS
    batch_size: int = 512
    workers: int = 2

    def __post_init__(self) -> None:
        problems = []
        if self.shingle_size < 1:
            problems.append(f"shingle_size={self.shingle_size} must be >= 1")
        if self.bands < 1 or self.rows < 1:
            problems.append(f"bands={self.bands}, rows={self.rows} must both be >= 1")
        if self.bands * self.rows > self.num_perm:
            problems.append(f"bands*rows={self.bands * self.rows} exceeds num_perm={self.num_perm}")
        if not 0.0 < self.threshold <= 1.0:
            problems.append(f"threshold={self.threshold} must be in (0, 1]")
        if not 0.0 < self.containment_threshold <= 1.0:
            problems.append(f"containment_threshold={self.containment_threshold} must be in (0, 1]")
        for name in (
            "content_line_min_words",
            "min_content_shingles",
            "anchor_every",
            "anchor_min_shared",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be >= 1")
        if not 0.0 <= self.story_min_containment <= 1.0:
            problems.append(f"story_min_containment={self.story_min_containment} must be in [0, 1]")
        if not 0.0 <= self.story_min_fact_share <= 1.0:
            problems.append(f"story_min_fact_share={self.story_min_fact_share} must be in [0, 1]")
        if self.story_min_shared_facts < 1:
            problems.append(f"story_min_shared_facts={self.story_min_shared_facts} must be >= 1")
        if self.story_max_docs < 2:
            problems.append(f"story_max_docs={self.story_max_docs} must be >= 2")
        if self.anchor_max_docs < 2:
            problems.append(f"anchor_max_docs={self.anchor_max_docs} must be >= 2")
        unknown = [k for k in self.keeper_policy if k not in KEEPER_KEYS]
        if unknown:
            problems.append(
                f"keeper_policy has unknown keys {unknown} (known: {list(KEEPER_KEYS)})"
            )
        if self.workers < 1:
            problems.append(f"workers={self.workers} must be >= 1")
        if self.batch_size < 1:
            problems.append(f"batch_size={self.batch_size} must be >= 1")
        if problems:
            raise ConfigError(
                "dedup config: "
                + "; ".join(problems)
                + ". Fix configs/dedup.yaml (see docs/dedup.md)."
            )


class DedupSettings(SettingsModel):
    """configs/dedup.yaml as written: types, ranges and unknown keys checked on load."""

    shingle_size: int = Field(DedupConfig.shingle_size, ge=1)
    num_perm: int = Field(DedupConfig.num_perm, ge=1)
    bands: int = Field(DedupConfig.bands, ge=1)
    rows: int = Field(DedupConfig.rows, ge=1)
    seed: int = Field(DedupConfig.seed, ge=0, lt=2**32)
    threshold: float = Field(DedupConfig.threshold, gt=0.0, le=1.0)
    paragraph_min_chars: int = Field(DedupConfig.paragraph_min_chars, ge=1)
    containment_threshold: float = Field(DedupConfig.containment_threshold, gt=0.0, le=1.0)
    content_line_min_words: int = Field(DedupConfig.content_line_min_words, ge=1)
    min_content_shingles: int = Field(DedupConfig.min_content_shingles, ge=1)
    anchor_every: int = Field(DedupConfig.anchor_every, ge=1)
    anchor_min_shared: int = Field(DedupConfig.anchor_min_shared, ge=1)
    anchor_max_docs: int = Field(DedupConfig.anchor_max_docs, ge=2)
    link_stories: bool = DedupConfig.link_stories
    story_min_shared_facts: int = Field(DedupConfig.story_min_shared_facts, ge=1)
    story_min_fact_share: float = Field(DedupConfig.story_min_fact_share, ge=0.0, le=1.0)
    story_min_containment: float = Field(DedupConfig.story_min_containment, ge=0.0, le=1.0)
    story_max_docs: int = Field(DedupConfig.story_max_docs, ge=2)
    keeper_policy: list[Literal["earliest_published", "longest", "first_seen"]] = Field(
        list(DedupConfig.keeper_policy), min_length=1
    )
    batch_size: int = Field(DedupConfig.batch_size, ge=1)
    workers: int = Field(DedupConfig.workers, ge=1)

    @model_validator(mode="after")
    def _bands_fit_permutations(self) -> DedupSettings:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands*rows={self.bands * self.rows} exceeds num_perm={self.num_perm}; "
                "raise num_perm or lower bands/rows (see docs/dedup.md)"
            )
        return self


def load_dedup_config(path: str | Path | None = None) -> DedupConfig:
    """Read configs/dedup.yaml (or `path`); unknown keys are an error, missing keys use defaults."""
    path = Path(path) if path is not None else default_config_path("dedup.yaml")
    settings = load_settings(path, DedupSettings, what="dedup config")
    values = settings.model_dump()
    values["keeper_policy"] = tuple(values["keeper_policy"])
    return DedupConfig(**values)


def detection_probability(s: float, *, bands: int, rows: int) -> float:
    """Probability that a pair with Jaccard `s` shares at least one band: 1 - (1 - s^r)^b."""
    return float(1.0 - (1.0 - s**rows) ** bands)


# --------------------------------------------------------------------------- hashing


@functools.cache
def _char_tables() -> tuple[np.ndarray, np.ndarray]:
    """Lower-case mapping and word-character flags for every BMP code point."""
    lower = np.arange(0x10000, dtype=np.uint32)
    word = np.zeros(0x10000, dtype=bool)
    for cp in range(0x10000):
        ch = chr(cp)
        low = ch.lower()
        if len(low) == 1:
            lower[cp] = ord(low)
        word[cp] = unicodedata.category(ch)[0] in "LNM"
    return lower, word


@dataclass(frozen=True)
class _Tokens:
    """Token hashes of a batch of texts, with where each token sits."""

    hashes: np.ndarray  # uint64 per token
    doc: np.ndarray  # index of the text in the batch
    line: np.ndarray  # line number inside its text
    start: np.ndarray  # code-point offsets in the NFKC text of the batch
    end: np.ndarray
    doc_bounds: np.ndarray  # token index where each text starts (len = texts + 1)
    digit: np.ndarray  # bool per token: it holds an ASCII digit
    number: np.ndarray  # bool per token: a number, maybe with a short unit or sign letter
    # ("131", "324kg", "p278", "k9"; not "co2", "w3c", "20xmlns")
    sentence_line: np.ndarray  # bool per token: its line has a sentence end (see _SENTENCE_END)


# A sentence ends at one of these followed by a space, a quote or bracket, or the line's
# end: ". ", "!", "?" and their full-width and Devanagari / Arabic forms.
_SENTENCE_END = np.array([ord(c) for c in ".!?。！？।؟"], dtype=np.uint32)
_AFTER_SENTENCE = np.array([ord(c) for c in " \t\n\u00a0\"'”’»)]"], dtype=np.uint32)

# bytes.translate table: ASCII letters and digits -> 1 (word character), the rest -> 0
_ASCII_WORD = bytes(int(c < 128 and chr(c).isalnum()) for c in range(256))


def _code_points(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower-cased code points of `text` and which of them are word characters.

    Letters, digits and combining marks of the Basic Multilingual Plane are word
    characters; everything else (punctuation, spaces, symbols, emoji) separates words.
    """
    if text.isascii():  # one byte per character: bytes methods do it at memory speed
        data = text.encode("ascii")
        return (
            np.frombuffer(data.lower(), dtype=np.uint8),
            np.frombuffer(data.translate(_ASCII_WORD), dtype=np.bool_),
        )
    lower, word_table = _char_tables()
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    bmp = cps < 0x10000
    clipped = np.where(bmp, cps, 0)
    return np.where(bmp, lower[clipped], cps), bmp & word_table[clipped]


def _sentence_ends(cps: np.ndarray) -> np.ndarray:
    """Positions of the sentence ends in `cps`: a `_SENTENCE_END` mark followed by one of
    `_AFTER_SENTENCE` or by the end of the text."""
    marks = np.flatnonzero((cps == 46) | (cps == 33) | (cps == 63))  # . ! ?
    wide = np.flatnonzero(cps > 127)
    if len(wide):
        marks = np.union1d(marks, wide[np.isin(cps[wide], _SENTENCE_END)])
    at_end = marks + 1 == len(cps)
    following = cps[np.minimum(marks + 1, len(cps) - 1)]
    return marks[at_end | np.isin(following, _AFTER_SENTENCE)]


def _tokenise(texts: Sequence[str]) -> _Tokens:
    """Vectorised dedup tokenisation of a batch: NFKC, lower case, runs of word characters.

    NFKC never merges characters across a newline, so line i of the NFKC text is line i
    of the original: that keeps paragraph ranges exact in the caller's coordinates.
    """
    nfkc = [
        t if unicodedata.is_normalized("NFKC", t) else unicodedata.normalize("NFKC", t)
        for t in texts
    ]
    cps, word = _code_points("\n".join(nfkc))
    # word runs: their edges alternate start, end, start, end...
    padded = np.zeros(len(word) + 2, dtype=np.bool_)
    padded[1:-1] = word
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]
    lengths = np.fromiter((len(t) for t in nfkc), dtype=np.int64, count=len(nfkc))
    doc_starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    bounds = np.searchsorted(starts, np.concatenate((doc_starts, [len(cps) + 1])))
    doc = np.repeat(np.arange(len(nfkc)), np.diff(bounds))
    # line i of a text starts after its i-th newline: number the batch's lines, then count
    # from the first line of each text
    newlines = np.flatnonzero(cps == 10)
    tokens_before = np.searchsorted(starts, newlines)  # tokens before each newline
    batch_line = np.repeat(
        np.arange(len(newlines) + 1), np.diff(tokens_before, prepend=0, append=len(starts))
    )
    line = batch_line - np.searchsorted(newlines, doc_starts)[doc]
    is_digit = (cps >= 48) & (cps <= 57)
    sentence_lines = np.zeros(len(newlines) + 1, dtype=bool)
    sentence_lines[np.searchsorted(newlines, _sentence_ends(cps))] = True
    # digits are word characters: the run from one token's start to the next's holds
    # only that token's digits
    digits = (
        np.add.reduceat(is_digit, starts, dtype=np.int32)
        if len(starts)
        else np.zeros(0, dtype=np.int32)
    )
    second = np.minimum(starts + 1, max(len(cps) - 1, 0))
    leads_with_digit = is_digit[starts] | ((ends - starts >= 2) & is_digit[second])
    return _Tokens(
        hashes=segment_hashes(cps, starts, ends),
        doc=doc,
        line=line,
        start=starts,
        end=ends,
        doc_bounds=bounds,
        digit=digits > 0,
        number=(digits > 0) & (ends - starts - digits <= 3) & leads_with_digit,
        sentence_line=sentence_lines[batch_line],
    )


def normalise_for_dedup(text: str) -> str:
    """The text as dedup compares it: NFKC, lower case, word runs joined by single spaces.

    Punctuation, whitespace and case differences vanish; two documents are exact
    duplicates when these strings are equal.
    """
    cps, word = _code_points(unicodedata.normalize("NFKC", text))
    lowered = cps.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")
    edges = np.diff(np.concatenate(([False], word, [False])).astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return " ".join(lowered[s:e] for s, e in zip(starts, ends, strict=True))


def _content_tokens(tokens: _Tokens, min_words: int) -> np.ndarray:
    """Per token: does it sit on a prose line, one of at least `min_words` words with at
    least one sentence end?

    Menus, share bars, tag lists and buttons are short lines; related-story headlines and
    lists joined with bullets are long but have no sentence end; paragraphs have both.
    """
    n_tok = len(tokens.hashes)
    if n_tok == 0:
        return np.zeros(0, dtype=bool)
    change = np.flatnonzero((np.diff(tokens.doc) != 0) | (np.diff(tokens.line) != 0)) + 1
    run_lengths = np.diff(np.concatenate(([0], change, [n_tok])))
    return np.repeat(run_lengths >= min_words, run_lengths) & tokens.sentence_line


def _shingles_with_content(
    tokens: _Tokens, k: int, content_tokens: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of all word k-grams of a batch, the batch index of their text, and whether
    every token of the k-gram is a content token (all True when `content_tokens` is None).

    A text with fewer than k (but some) tokens gets one shingle of all its tokens;
    a text without tokens gets none.
    """
    n_tok = len(tokens.hashes)
    counts = np.diff(tokens.doc_bounds)
    if n_tok >= k:
        first = np.arange(n_tok - k + 1)
        valid = tokens.doc[first] == tokens.doc[first + k - 1]
        first = first[valid]
    else:
        first = np.zeros(0, dtype=np.int64)
    short = np.flatnonzero((counts > 0) & (counts < k))
    starts = np.concatenate((first, tokens.doc_bounds[short]))
    ends = np.concatenate((first + k, tokens.doc_bounds[short + 1]))
    docs = (
        np.concatenate((tokens.doc[first], short)) if len(starts) else np.zeros(0, dtype=np.int64)
    )
    order = np.argsort(docs, kind="stable")
    starts, ends = starts[order], ends[order]
    if content_tokens is None:
        content = np.ones(len(starts), dtype=bool)
    else:  # no non-content token inside [start, end)
        outside = np.concatenate(([0], np.cumsum(~content_tokens)))
        content = outside[ends] == outside[starts]
    return segment_hashes(tokens.hashes, starts, ends), docs[order], content


def _shingles(tokens: _Tokens, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of all word k-grams of a batch and the batch index of their text."""
    hashes, docs, _ = _shingles_with_content(tokens, k)
    return hashes, docs


def shingle_sets(texts: Sequence[str], *, shingle_size: int) -> list[np.ndarray]:
    """Sorted unique 64-bit shingle hashes of each text (the sets Jaccard is measured on)."""
    tokens = _tokenise(texts)
    hashes, docs = _shingles(tokens, shingle_size)
    bounds = np.searchsorted(docs, np.arange(len(texts) + 1))
    return [np.unique(hashes[bounds[i] : bounds[i + 1]]) for i in range(len(texts))]


def content_shingle_sets(texts: Sequence[str], *, config: DedupConfig) -> list[np.ndarray]:
    """Sorted unique content shingles of each text: the word k-grams made only of tokens on
    prose lines (lines of at least `config.content_line_min_words` words).

    These are the sets near-duplicate decisions are measured on: menus, share bars and
    other short lines that survive cleaning cannot make two pages look alike.
    """
    tokens = _tokenise(texts)
    hashes, docs, content = _shingles_with_content(
        tokens, config.shingle_size, _content_tokens(tokens, config.content_line_min_words)
    )
    hashes, docs = hashes[content], docs[content]
    bounds = np.searchsorted(docs, np.arange(len(texts) + 1))
    return [np.unique(hashes[bounds[i] : bounds[i + 1]]) for i in range(len(texts))]


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the smaller of two sorted unique hash arrays found in the other (0.0 if empty)."""
    smaller = min(len(a), len(b))
    if smaller == 0:
        return 0.0
    return len(np.intersect1d(a, b, assume_unique=True)) / smaller


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted unique hash arrays (0.0 when both are empty)."""
    if len(a) == 0 and len(b) == 0:
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


@functools.cache
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random 32-bit a (odd) and b of h(x) = (a*x + b) mod 2^32, one pair per permutation.

    x is the upper half of a shingle's 64-bit hash, already mixed by splitmix64, so the
    keys are spread over all 32 bits; on such keys this linear family's minima agree
    with Jaccard as the 64-bit multiply-add-shift family's do (docs/dedup.md has the
    measurement), and it runs in 32-bit lanes, 2.5x faster. A prime modulus would need
    wider products than numpy holds (docs/dedup.md shows the measured failure of the
    overflow-free variant).
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 31, size=num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = rng.integers(0, 1 << 32, size=num_perm, dtype=np.uint64).astype(np.uint32)
    return a, b


def _minhash(
    shingles: np.ndarray,
    docs: np.ndarray,
    n_docs: int,
    *,
    config: DedupConfig,
    workers: int | None = None,
) -> np.ndarray:
    """n_docs x num_perm uint32 signatures; a text without shingles gets all 0xFFFFFFFF.

    Each permutation is h(x) = (a*x + b) mod 2^32 over the upper 32 bits x of the shingle
    hash (uint32 arithmetic wraps modulo 2^32 by itself). Blocks of
    whole documents (~_SHINGLES_PER_BLOCK shingles, a cache-sized temporary) run on
    `workers` threads (default `config.workers`): numpy releases the GIL inside each
    operation.
    """
    workers = config.workers if workers is None else workers
    a, b = _permutations(config.num_perm, config.seed)
    out = np.full((n_docs, config.num_perm), 0xFFFFFFFF, dtype=np.uint32)
    if len(shingles) == 0:
        return out
    x = (shingles >> np.uint64(32)).astype(np.uint32)
    doc_first = np.searchsorted(docs, np.arange(n_docs + 1))
    present = np.flatnonzero(np.diff(doc_first) > 0)
    cuts = (
        np.searchsorted(doc_first[present], np.arange(0, len(x), _SHINGLES_PER_BLOCK), side="right")
        - 1
    )
    cuts = np.unique(np.concatenate((cuts, [len(present)])))

    def sign_block(lo: int, hi: int) -> None:
        block_docs = present[lo:hi]
        s, e = doc_first[block_docs[0]], doc_first[block_docs[-1] + 1]
        # permutations x shingles: each document's shingles are contiguous in a row, so
        # reduceat runs along memory (~30% faster than the shingles x permutations layout)
        y = np.multiply.outer(a, x[s:e])  # uint32: products wrap modulo 2^32
        y += b[:, None]
        out[block_docs] = np.minimum.reduceat(y, doc_first[block_docs] - s, axis=1).T

    spans = list(zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True))
    if workers > 1 and len(spans) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda span: sign_block(*span), spans))
    else:
        for lo, hi in spans:
            sign_block(lo, hi)
    return out


def minhash_signatures(texts: Sequence[str], *, config: DedupConfig) -> np.ndarray:
    """MinHash signatures (len(texts) x num_perm, uint32) of the texts' word-shingle sets.

    Vectorised over the whole batch: one hash (a*x + b) mod 2^32 per
    permutation applied to every shingle at once, then `np.minimum.reduceat` per text.
    All shingles of the text count here; `scan_texts` signs only the content shingles.
    """
    tokens = _tokenise(texts)
    shingles, docs = _shingles(tokens, config.shingle_size)
    return _minhash(shingles, docs, len(texts), config=config)


def band_keys(
    signatures: np.ndarray, *, bands: int, rows: int, docs: np.ndarray | None = None
) -> pd.DataFrame:
    """One 64-bit key per (document, band): the hash of that band's `rows` signature values.

    Returns a frame with columns doc (row index, or `docs[i]`), band and key.
    """
    n = signatures.shape[0]
    if signatures.shape[1] < bands * rows:
        raise ValueError(
            f"signatures have {signatures.shape[1]} columns, need bands*rows={bands * rows}"
        )
    block = signatures[:, : bands * rows].astype(np.uint64).reshape(n * bands, rows)
    flat = np.ascontiguousarray(block).ravel()
    starts = np.arange(0, n * bands * rows, rows)
    keys = segment_hashes(flat, starts, starts + rows)
    doc_ids = np.arange(n) if docs is None else np.asarray(docs)
    return pd.DataFrame(
        {
            "doc": np.repeat(doc_ids.astype(np.int64), bands),
            "band": np.tile(np.arange(bands, dtype=np.int16), n),
            "key": keys,
        }
    )


def band_buckets(keys: pd.DataFrame) -> np.ndarray:
    """One uint64 per band-key row: its key mixed with its band, so that equal values mean
    the same (band, key) bucket (a rare collision of two buckets only adds a candidate)."""
    band = keys["band"].to_numpy()
    band_mix = mix64(np.arange(int(band.max()) + 1 if len(band) else 0, dtype=np.uint64) + 1)
    return keys["key"].to_numpy(dtype=np.uint64) ^ band_mix[band]


def bucket_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Pairs (a < b) of documents in one bucket, each pair once, from a frame of columns
    doc, bucket and exact (the document's exact-text hash) holding whole buckets (the
    frame of one partition after a shuffle on bucket, or all of them).

    Exact copies share every bucket of their text: only the first document (lowest doc)
    of each exact text in a bucket is paired, so a page copied a thousand times adds no
    pair, and the pairs are those of `candidate_pairs` among the first copies.
    """
    frame = frame.sort_values(["bucket", "exact", "doc"], kind="stable")
    frame = frame.drop_duplicates(["bucket", "exact"], keep="first")
    shared = frame[frame.duplicated("bucket", keep=False)][["doc", "bucket"]]
    joined = shared.merge(shared, on="bucket", suffixes=("_a", "_b"))
    joined = joined[joined["doc_a"] < joined["doc_b"]]
    pairs = joined[["doc_a", "doc_b"]].drop_duplicates()
    pairs.columns = ["a", "b"]
    return pairs.astype(np.int64).sort_values(["a", "b"]).reset_index(drop=True)


def candidate_pairs(keys: pd.DataFrame) -> pd.DataFrame:
    """Pairs (a < b) of documents sharing at least one (band, key) bucket, each pair once.

    The buckets are found by sorting one uint64 per row (key mixed with its band), which
    needs ~17 bytes per row on top of the input; only the rows in shared buckets (few)
    reach the pandas join. Two different (band, key) buckets that mix to the same value
    would only add a candidate, which verification by true Jaccard then rejects.
    """
    bucket = band_buckets(keys)
    order = np.argsort(bucket, kind="stable")
    ordered = bucket[order]
    del bucket
    same = ordered[1:] == ordered[:-1]
    shared_rows = np.zeros(len(ordered), dtype=bool)
    shared_rows[1:] |= same
    shared_rows[:-1] |= same
    del same
    rows = order[shared_rows]
    if len(rows) == 0:
        return pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64)})
    shared = pd.DataFrame(
        {
            "doc": keys["doc"].to_numpy()[rows],
            "band": keys["band"].to_numpy()[rows],
            "key": keys["key"].to_numpy()[rows],
        }
    )
    joined = shared.merge(shared, on=["band", "key"], suffixes=("_a", "_b"))
    joined = joined[joined["doc_a"] < joined["doc_b"]]
    pairs = joined[["doc_a", "doc_b"]].drop_duplicates()
    pairs.columns = ["a", "b"]
    return pairs.sort_values(["a", "b"]).reset_index(drop=True)


def verify_pairs(
    pairs: pd.DataFrame,
    shingle_sets: Mapping[int, np.ndarray] | Sequence[np.ndarray],
    *,
    threshold: float,
) -> pd.DataFrame:
    """Measure the true Jaccard of each candidate pair; keep those >= threshold.

    Returns columns a, b, similarity.
    """
    sims = np.fromiter(
        (
            jaccard(shingle_sets[a], shingle_sets[b])
            for a, b in zip(pairs["a"], pairs["b"], strict=True)
        ),
        dtype=np.float64,
        count=len(pairs),
    )
    out = pairs[["a", "b"]].assign(similarity=sims)
    return out[out["similarity"] >= threshold].reset_index(drop=True)


def shared_key_pairs(frame: pd.DataFrame, *, min_shared: int, max_docs: int) -> pd.DataFrame:
    """Pairs (a < b) of documents sharing at least `min_shared` keys, each pair once, with
    the number of keys they share (columns a, b, shared).

    `frame` has one row per distinct (doc, key). A key found in more than `max_docs`
    documents (a stock phrase, a licence notice) counts for nothing: it would only add
    quadratic work and no evidence.
    """
    key, doc = _distinct_by_key(frame)
    new_key = np.ones(len(key), dtype=bool)
    new_key[1:] = key[1:] != key[:-1]
    group = np.cumsum(new_key) - 1
    size = np.bincount(group)[group] if len(group) else np.zeros(0, dtype=np.int64)
    keep = (size >= 2) & (size <= max_docs)
    shared = pd.DataFrame({"doc": doc[keep], "key": key[keep]})
    if shared.empty:
        return pd.DataFrame(
            {"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64), "shared": np.zeros(0, int)}
        )
    joined = shared.merge(shared, on="key", suffixes=("_a", "_b"))
    joined = joined[joined["doc_a"] < joined["doc_b"]]
    counts = joined.groupby(["doc_a", "doc_b"], sort=True).size()
    counts = counts[counts >= min_shared]
    return pd.DataFrame(
        {
            "a": counts.index.get_level_values(0).to_numpy(dtype=np.int64),
            "b": counts.index.get_level_values(1).to_numpy(dtype=np.int64),
            "shared": counts.to_numpy(dtype=np.int64),
        }
    )


def _distinct_by_key(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The (key, doc) pairs of a frame whose rows are in document order, sorted by key
    (then document) with repeats of a key inside one document dropped."""
    key = frame["key"].to_numpy(dtype=np.uint64)
    doc = frame["doc"].to_numpy(dtype=np.int64)
    order = np.argsort(key, kind="stable")  # stable: documents stay in order within a key
    key, doc = key[order], doc[order]
    new = np.ones(len(key), dtype=bool)
    new[1:] = (key[1:] != key[:-1]) | (doc[1:] != doc[:-1])
    return key[new], doc[new]


def anchor_pairs(anchors: pd.DataFrame, *, min_shared: int, max_docs: int) -> pd.DataFrame:
    """Candidate pairs (a < b) of documents sharing at least `min_shared` anchors."""
    return shared_key_pairs(anchors, min_shared=min_shared, max_docs=max_docs)[["a", "b"]]


def story_pairs(facts: pd.DataFrame, *, config: DedupConfig) -> pd.DataFrame:
    """Candidate pairs (a < b) of documents that report the same story: they share at least
    `story_min_shared_facts` numeric facts, and these are at least `story_min_fact_share`
    of the facts of the one with fewer. Facts found in more than `story_max_docs`
    documents (a law's number, a stock date phrase) do not count. Columns a, b, shared.
    `decide_duplicates` links a candidate only if its wording overlaps too
    (`story_min_containment`).
    """
    pairs = shared_key_pairs(
        facts, min_shared=config.story_min_shared_facts, max_docs=config.story_max_docs
    )
    per_doc = pd.Series(_distinct_by_key(facts)[1]).value_counts()
    fewer = np.minimum(
        per_doc.reindex(pairs["a"]).to_numpy(), per_doc.reindex(pairs["b"]).to_numpy()
    )
    share = pairs["shared"].to_numpy() / np.maximum(fewer, 1)
    return pairs[share >= config.story_min_fact_share].reset_index(drop=True)


def verify_candidates(
    pairs: pd.DataFrame,
    content_sets: Mapping[int, np.ndarray] | Sequence[np.ndarray],
    *,
    config: DedupConfig,
) -> pd.DataFrame:
    """Measure each candidate pair on its content shingles and keep the duplicates.

    A pair is a duplicate when both texts have at least `min_content_shingles` content
    shingles and either their Jaccard reaches `threshold` or the pair is a partial copy:
    the smaller one is contained in the other at `containment_threshold` or more, and what
    it has of its own is at most half of what the larger has of its own (a truncated copy,
    or an article inside a longer page). Two pages of about the same size that share 80%
    of their shingles are judged by Jaccard (0.67 here), not as a partial copy. Short
    pages, and pages that are mostly short lines (menus), never pass on their own: only
    exact identity merges them. Returns columns a, b, similarity (Jaccard), containment.
    """
    a_col = pairs["a"].to_numpy(dtype=np.int64)
    b_col = pairs["b"].to_numpy(dtype=np.int64)
    sims = np.zeros(len(pairs))
    contained = np.zeros(len(pairs))
    partial = np.zeros(len(pairs), dtype=bool)
    long_enough = np.zeros(len(pairs), dtype=bool)
    for i, (a, b) in enumerate(zip(a_col.tolist(), b_col.tolist(), strict=True)):
        set_a, set_b = content_sets[a], content_sets[b]
        smaller, larger = sorted((len(set_a), len(set_b)))
        long_enough[i] = smaller >= config.min_content_shingles
        if long_enough[i]:
            inter = len(np.intersect1d(set_a, set_b, assume_unique=True))
            sims[i] = inter / (smaller + larger - inter)
            contained[i] = inter / smaller
            partial[i] = 2 * (smaller - inter) <= larger - inter
    out = pd.DataFrame({"a": a_col, "b": b_col, "similarity": sims, "containment": contained})
    duplicate = long_enough & (
        (sims >= config.threshold) | (partial & (contained >= config.containment_threshold))
    )
    return out[duplicate].reset_index(drop=True)


def connected_components(pairs: pd.DataFrame, n: int) -> np.ndarray:
    """Component label per document 0..n-1 of the undirected graph given by pairs (a, b)."""
    a = pairs["a"].to_numpy(dtype=np.int64)
    b = pairs["b"].to_numpy(dtype=np.int64)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n)).tocsr()
    _, labels = _scipy_components(graph, directed=False)
    return labels


def exact_duplicate_groups(frame: pd.DataFrame) -> np.ndarray:
    """For each row, the position of the first row with the same `exact_hash` (itself if unique).

    Rows whose `exact_hash` is 0 (no words at all) are never grouped.
    """
    hashes = frame["exact_hash"].to_numpy(dtype=np.uint64)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    rep = first[inverse.ravel()]
    empty = hashes == 0
    rep[empty] = np.flatnonzero(empty)
    return rep


def choose_keepers(
    frame: pd.DataFrame, components: np.ndarray, *, policy: Sequence[str]
) -> np.ndarray:
    """Position of the keeper of each row's component.

    `frame` has columns published (ISO 8601 or None) and length (characters). Keys of
    `policy`: earliest_published (unknown dates last), longest, first_seen (row order,
    always the final tie-break).
    """
    n = len(frame)
    sort_keys: list[np.ndarray] = []
    for key in policy:
        if key == "earliest_published":
            dates = pd.to_datetime(
                pd.Series(frame["published"], dtype=object),
                errors="coerce",
                utc=True,
                format="ISO8601",
            )
            seconds = (dates - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
            sort_keys.append(seconds.fillna(np.inf).to_numpy(dtype=np.float64))
        elif key == "longest":
            sort_keys.append(-frame["length"].to_numpy(dtype=np.int64))
        elif key != "first_seen":
            raise ValueError(f"unknown keeper policy key {key!r} (known: {list(KEEPER_KEYS)})")
    # np.lexsort sorts by the last key first: component, then the policy, then row order.
    order = np.lexsort([np.arange(n), *reversed(sort_keys), components])
    first_of_component = np.ones(n, dtype=bool)
    first_of_component[1:] = components[order][1:] != components[order][:-1]
    keeper_of_label = np.zeros(int(components.max(initial=-1)) + 1, dtype=np.int64)
    keeper_of_label[components[order][first_of_component]] = order[first_of_component]
    return keeper_of_label[components]


def find_repeated_paragraphs(frame: pd.DataFrame, *, min_chars: int | None = None) -> pd.DataFrame:
    """Paragraphs (lines) found in at least two documents, one row per occurrence.

    `frame` has columns doc, line, key (one row per line long enough to track, as
    produced by `scan_texts`); `min_chars` is applied when a `chars` column is present.
    Returns doc, line, key and cluster ("p-" + 16 hex digits of the key).
    """
    if min_chars is not None and "chars" in frame:
        frame = frame[frame["chars"] >= min_chars]
    # Sorted by (key, doc), a key's distinct documents are where the doc changes inside
    # its run: a few arrays of one number per line, not a pandas group-by.
    key = frame["key"].to_numpy(dtype=np.uint64)
    doc = frame["doc"].to_numpy(dtype=np.int64)
    order = np.lexsort((doc, key))
    k, d = key[order], doc[order]
    new_key = np.ones(len(k), dtype=bool)
    new_key[1:] = k[1:] != k[:-1]
    new_doc = new_key.copy()
    new_doc[1:] |= d[1:] != d[:-1]
    group = np.cumsum(new_key) - 1
    docs_per_key = np.bincount(group, weights=new_doc) if len(group) else np.zeros(0)
    rows = np.sort(order[docs_per_key[group] >= 2])
    hits = frame.iloc[rows].drop_duplicates(["doc", "line"])
    return hits.assign(cluster=[f"p-{int(k):016x}" for k in hits["key"]]).reset_index(drop=True)


@dataclass(frozen=True)
class Scan:
    """Compact per-corpus state: everything dedup keeps besides the caller's texts."""

    exact_hash: np.ndarray  # uint64 per text, 0 = no words
    length: np.ndarray  # characters per text
    keys: pd.DataFrame  # band keys (doc, band, key) of texts with content shingles
    lines: pd.DataFrame  # doc, line, key, chars of lines worth tracking
    anchors: pd.DataFrame  # doc, key: the sampled content shingles of each text
    facts: pd.DataFrame  # doc, key: the numeric facts of each text (see _facts)


def scan_texts(texts: Sequence[str], *, config: DedupConfig) -> Scan:
    """One streaming pass over the texts in batches, keeping only compact arrays.

    Batches run on `config.workers` threads (the heavy parts are numpy calls, which
    release the GIL); results are assembled in input order, so output does not depend
    on scheduling.
    """
    n = len(texts)
    exact = np.zeros(n, dtype=np.uint64)
    length = np.zeros(n, dtype=np.int64)

    def scan_batch(lo: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        batch = texts[lo : lo + config.batch_size]
        m = len(batch)
        tokens = _tokenise(batch)
        length[lo : lo + m] = [len(t) for t in batch]
        has = np.diff(tokens.doc_bounds) > 0
        exact[lo : lo + m][has] = segment_hashes(
            tokens.hashes, tokens.doc_bounds[:-1][has], tokens.doc_bounds[1:][has]
        ) | np.uint64(1)  # never 0, which marks "no words"
        content_tokens = _content_tokens(tokens, config.content_line_min_words)
        shingles, docs, content = _shingles_with_content(
            tokens, config.shingle_size, content_tokens
        )
        shingles, docs = shingles[content], docs[content]
        signatures = _minhash(shingles, docs, m, config=config, workers=1)
        with_shingles = np.flatnonzero(np.bincount(docs, minlength=m) > 0)
        keys = band_keys(
            signatures[with_shingles], bands=config.bands, rows=config.rows, docs=with_shingles + lo
        )
        return (
            keys,
            _line_keys(tokens, lo, config.paragraph_min_chars),
            _anchors(shingles, docs + lo, config.anchor_every),
            _facts(tokens, content_tokens, lo),
        )

    starts = range(0, n, config.batch_size)
    if config.workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=config.workers) as pool:
            parts = list(pool.map(scan_batch, starts))
    else:
        parts = [scan_batch(lo) for lo in starts]
    keys = (
        pd.concat([part[0] for part in parts], ignore_index=True)
        if parts
        else band_keys(
            np.zeros((0, config.num_perm), np.uint32), bands=config.bands, rows=config.rows
        )
    )
    lines = (
        pd.concat([part[1] for part in parts], ignore_index=True)
        if parts
        else pd.DataFrame({"doc": [], "line": [], "key": [], "chars": []})
    )
    no_keys = pd.DataFrame({"doc": np.zeros(0, np.int64), "key": np.zeros(0, np.uint64)})
    anchors = pd.concat([part[2] for part in parts], ignore_index=True) if parts else no_keys
    facts = pd.concat([part[3] for part in parts], ignore_index=True) if parts else no_keys
    return Scan(
        exact_hash=exact, length=length, keys=keys, lines=lines, anchors=anchors, facts=facts
    )


def _anchors(shingles: np.ndarray, docs: np.ndarray, every: int) -> pd.DataFrame:
    """The sampled content shingles of each text: (doc, key) for every distinct shingle
    whose hash is 0 modulo `every`.

    Sampling by hash value (not by position) keeps the same shingles in every copy of a
    passage, so a page that contains most of another shares most of its anchors whatever
    the pages' lengths: the candidate source for partial copies that MinHash bands miss.
    """
    keep = shingles % np.uint64(every) == 0
    return _distinct_keys(docs[keep], shingles[keep])


def _distinct_keys(docs: np.ndarray, keys: np.ndarray) -> pd.DataFrame:
    """A frame (doc, key) of the pairs, in the order given (by doc). A key repeated inside
    one document may appear twice: `shared_key_pairs` counts each document once per key."""
    return pd.DataFrame({"doc": docs.astype(np.int64), "key": keys.astype(np.uint64)})


@functools.cache
def _address_words() -> np.ndarray:
    """Token hashes of the words that mark a web address ("http", "https", "www")."""
    return np.unique(_tokenise(["http https www"]).hashes)


def _fact_lines(tokens: _Tokens, content_tokens: np.ndarray) -> np.ndarray:
    """Per token: is its line one that numeric facts are taken from?

    A prose line (`content_tokens`) with at most a quarter of its words holding digits
    (not a price table, a date archive or a list of page numbers) and no web address
    (markdown links and image URLs carry ids and sizes, not facts).
    """
    n_tok = len(tokens.hashes)
    if n_tok == 0:
        return np.zeros(0, dtype=bool)
    change = np.flatnonzero((np.diff(tokens.doc) != 0) | (np.diff(tokens.line) != 0)) + 1
    first = np.concatenate(([0], change))
    run_lengths = np.diff(np.concatenate((first, [n_tok])))
    digit_words = np.add.reduceat(tokens.digit.astype(np.int64), first)
    addresses = np.add.reduceat(np.isin(tokens.hashes, _address_words()).astype(np.int64), first)
    good = (digit_words * 4 <= run_lengths) & (addresses == 0)
    return content_tokens & np.repeat(good, run_lengths)


def _facts(tokens: _Tokens, content_tokens: np.ndarray, offset: int) -> pd.DataFrame:
    """The numeric facts of each text: (doc, key) for every distinct pair of neighbouring
    words on a fact line (see `_fact_lines`) made of a number and a word without digits:
    the number and the word after it ("131 packages", "p278 million", "324kg of"), or a
    word of at least 4 characters and the number after it ("december 31", "seized 221").

    Two reports of one seizure, however rewritten, give the same quantities, amounts and
    dates; two different seizures rarely share several of them. The 4-character floor
    leaves out "of 2021", "in 20", "bis 2030": short function words before a number.
    """
    n_tok = len(tokens.hashes)
    first = np.arange(max(n_tok - 1, 0))
    second = first + 1
    on_line = _fact_lines(tokens, content_tokens)
    same_line = (
        (tokens.doc[first] == tokens.doc[second])
        & (tokens.line[first] == tokens.line[second])
        & on_line[first]
    )
    word = ~tokens.digit
    long_word = word & (tokens.end - tokens.start >= 4)
    fact = same_line & (
        (tokens.number[first] & word[second]) | (long_word[first] & tokens.number[second])
    )
    first = first[fact]
    return _distinct_keys(
        tokens.doc[first] + offset, segment_hashes(tokens.hashes, first, first + 2)
    )


def _line_keys(tokens: _Tokens, offset: int, min_chars: int) -> pd.DataFrame:
    """Key of every line of the batch whose words span at least `min_chars` characters."""
    if len(tokens.hashes) == 0:
        return pd.DataFrame(
            {
                "doc": np.zeros(0, np.int64),
                "line": np.zeros(0, np.int64),
                "key": np.zeros(0, np.uint64),
                "chars": np.zeros(0, np.int64),
            }
        )
    change = np.flatnonzero((np.diff(tokens.doc) != 0) | (np.diff(tokens.line) != 0)) + 1
    first = np.concatenate(([0], change))
    last = np.concatenate((change, [len(tokens.hashes)]))
    chars = tokens.end[last - 1] - tokens.start[first]
    keep = chars >= min_chars
    first, last = first[keep], last[keep]
    return pd.DataFrame(
        {
            "doc": tokens.doc[first] + offset,
            "line": tokens.line[first],
            "key": segment_hashes(tokens.hashes, first, last),
            "chars": chars[keep],
        }
    )


@dataclass(frozen=True)
class DedupResult:
    """Outcome per text (row) and the repeated paragraphs."""

    rows: pd.DataFrame  # keeper, component, similarity, containment, exact, is_duplicate,
    # cluster_keeper (the keeper of the page's same-story cluster, which names cluster_id)
    paragraphs: pd.DataFrame  # doc, start, end, cluster (character ranges in the caller's text)
    n_candidates: int


def find_duplicates(
    texts: Sequence[str], *, published: Sequence[str | None] | None = None, config: DedupConfig
) -> DedupResult:
    """Batch core: exact groups, LSH candidates verified by true Jaccard, keepers, paragraphs.

    Similarity is the measured Jaccard of each text to its keeper (1.0 for exact copies).
    In a chain A~B~C the member C may measure below the threshold against keeper A: the
    value reported is still the measured one.
    """
    n = len(texts)
    if n == 0:
        empty = pd.DataFrame(
            {
                "keeper": [],
                "component": [],
                "similarity": [],
                "containment": [],
                "exact": [],
                "is_duplicate": [],
                "cluster_keeper": [],
            }
        )
        return DedupResult(
            rows=empty,
            paragraphs=pd.DataFrame({"doc": [], "start": [], "end": [], "cluster": []}),
            n_candidates=0,
        )
    scan = scan_texts(texts, config=config)
    decision = decide_duplicates(
        scan,
        published=list(published) if published is not None else [None] * n,
        texts_of=lambda rows: [texts[int(r)] for r in rows],
        config=config,
    )
    return DedupResult(
        rows=decision.rows,
        paragraphs=_paragraph_ranges(texts, decision.paragraph_hits),
        n_candidates=decision.n_candidates,
    )


@dataclass(frozen=True)
class DedupDecision:
    """Outcome per text decided on the compact arrays alone (no text kept).

    `paragraph_hits` are (doc, line, key, cluster) rows sorted by doc and line; turn
    them into character ranges with `paragraph_ranges` once the text is at hand.
    """

    rows: pd.DataFrame  # keeper, component, similarity, containment, exact, is_duplicate,
    # cluster_keeper (the keeper of the page's same-story cluster, which names cluster_id)
    paragraph_hits: pd.DataFrame
    n_candidates: int


def decide_duplicates(
    scan: Scan,
    *,
    published: Sequence[str | None],
    texts_of: Callable[[np.ndarray], Sequence[str]],
    config: DedupConfig,
    band_pairs: pd.DataFrame | None = None,
) -> DedupDecision:
    """Exact groups, candidates (LSH bands and anchors) verified on their content shingles,
    keepers, same-story clusters and repeated paragraphs from a `Scan` of n texts.

    `band_pairs`: the pairs sharing a band bucket, found elsewhere (`bucket_pairs` after a
    shuffle on bucket: then `scan.keys` may be empty); None finds them in `scan.keys`.

    `texts_of(rows)` returns the texts at positions `rows` (at most `config.batch_size` at
    a time); it is called only for the texts that appear in candidate or same-story pairs.
    """
    n = len(scan.exact_hash)
    frame = pd.DataFrame(
        {"exact_hash": scan.exact_hash, "length": scan.length, "published": published}
    )
    rep = exact_duplicate_groups(frame)
    is_rep = rep == np.arange(n)
    pairs = _candidates(scan, is_rep, config, band_pairs)
    stories = (
        story_pairs(_of_documents(scan.facts, is_rep), config=config)[["a", "b"]]
        if config.link_stories
        else pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64)})
    )
    involved = np.unique(np.concatenate([pairs["a"], pairs["b"], stories["a"], stories["b"]]))
    sets = dict(zip(involved.tolist(), _content_sets_of(texts_of, involved, config), strict=True))
    verified = verify_candidates(pairs, sets, config=config)
    copies = np.flatnonzero(~is_rep)
    edges = pd.concat(
        [verified[["a", "b"]], pd.DataFrame({"a": copies, "b": rep[copies]})], ignore_index=True
    )
    components = connected_components(edges, n)
    keeper = choose_keepers(frame, components, policy=config.keeper_policy)
    similarity = np.ones(n)
    contained = np.ones(n)
    for row in np.flatnonzero((keeper != np.arange(n)) & (rep != rep[keeper])):
        own, kept = sets[int(rep[row])], sets[int(rep[keeper[row]])]
        similarity[row] = jaccard(own, kept)
        contained[row] = containment(own, kept)
    overlapping = [
        containment(sets[a], sets[b]) >= config.story_min_containment
        for a, b in zip(stories["a"].tolist(), stories["b"].tolist(), strict=True)
    ]
    story = connected_components(pd.concat([edges, stories[overlapping]]), n)
    rows = pd.DataFrame(
        {
            "keeper": keeper,
            "component": components,
            "similarity": similarity,
            "containment": contained,
            "exact": rep == rep[keeper],
            "is_duplicate": keeper != np.arange(n),
            "cluster_keeper": choose_keepers(frame, story, policy=config.keeper_policy),
        }
    )
    hits = find_repeated_paragraphs(scan.lines).sort_values(["doc", "line"], kind="stable")
    return DedupDecision(
        rows=rows, paragraph_hits=hits.reset_index(drop=True), n_candidates=len(pairs)
    )


def _of_documents(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows of a per-document frame (column doc) whose document is flagged in `keep`."""
    return frame if keep.all() else frame[keep[frame["doc"].to_numpy()]]


def _candidates(
    scan: Scan, is_rep: np.ndarray, config: DedupConfig, band_pairs: pd.DataFrame | None
) -> pd.DataFrame:
    """Candidate pairs (a < b) among the representatives of exact groups: pairs sharing a
    MinHash band (near duplicates) or `anchor_min_shared` anchors (partial copies)."""
    anchors = anchor_pairs(
        _of_documents(scan.anchors, is_rep),
        min_shared=config.anchor_min_shared,
        max_docs=config.anchor_max_docs,
    )
    if band_pairs is None:
        banded = candidate_pairs(_of_documents(scan.keys, is_rep))
    else:
        a, b = band_pairs["a"].to_numpy(np.int64), band_pairs["b"].to_numpy(np.int64)
        banded = band_pairs[is_rep[a] & is_rep[b]][["a", "b"]]
    both = pd.concat([banded, anchors])
    return both.drop_duplicates().sort_values(["a", "b"]).reset_index(drop=True)


def _content_sets_of(
    texts_of: Callable[[np.ndarray], Sequence[str]], rows: np.ndarray, config: DedupConfig
) -> Iterable[np.ndarray]:
    """Re-read only the texts that appear in candidate pairs, in batches."""
    for lo in range(0, len(rows), config.batch_size):
        chunk = texts_of(rows[lo : lo + config.batch_size])
        yield from content_shingle_sets(chunk, config=config)


def _paragraph_ranges(texts: Sequence[str], hits: pd.DataFrame) -> pd.DataFrame:
    """Turn (doc, line) hits into stripped character ranges of the caller's text."""
    out: dict[str, list] = {"doc": [], "start": [], "end": [], "cluster": []}
    hits = hits.sort_values(["doc", "line"])
    current, line_starts, text = -1, [0], ""
    for doc, line, cluster in zip(
        hits["doc"].tolist(), hits["line"].tolist(), hits["cluster"].tolist(), strict=True
    ):
        if doc != current:
            current, text = doc, texts[doc]
            line_starts = [0, *itertools.accumulate(len(part) + 1 for part in text.split("\n"))]
        start, end = line_starts[line], line_starts[line + 1] - 1
        segment = text[start:end]
        out["doc"].append(doc)
        out["start"].append(start + len(segment) - len(segment.lstrip()))
        out["end"].append(start + len(segment.rstrip()))
        out["cluster"].append(cluster)
    return pd.DataFrame(out)


def deduplicate(docs: list[Document], *, config: DedupConfig) -> list[Document]:
    """Mark duplicates among the kept documents; returns every input document, in order.

    Only status == "kept" documents take part (rejected ones come back unchanged). Each
    participant gets status kept/duplicate, duplicate_of (keeper id, None for keepers),
    cluster_id ("c-" + the id of the keeper of its same-story cluster: duplicates and, with
    `link_stories`, kept pages that report the same story), similarity to the keeper
    (1.0 for the keeper and exact copies) and duplicate_paragraphs. The text compared is
    clean_text, or raw_text for a document that has not been cleaned.
    """
    positions = [i for i, d in enumerate(docs) if d.status == STATUS_KEPT]
    texts = [docs[i].clean_text or docs[i].raw_text for i in positions]
    result = find_duplicates(texts, published=[docs[i].published for i in positions], config=config)
    paragraphs: dict[int, list[dict]] = {}
    for doc, start, end, cluster in result.paragraphs.itertuples(index=False):
        paragraphs.setdefault(int(doc), []).append(
            {"start": int(start), "end": int(end), "cluster": cluster}
        )
    out = list(docs)
    keeper = result.rows["keeper"].to_numpy()
    similarity = result.rows["similarity"].to_numpy()
    contained = result.rows["containment"].to_numpy()
    cluster_keeper = result.rows["cluster_keeper"].to_numpy()
    for row, pos in enumerate(positions):
        keeper_doc = docs[positions[int(keeper[row])]]
        is_dup = int(keeper[row]) != row
        out[pos] = docs[pos].with_(
            status=STATUS_DUPLICATE if is_dup else STATUS_KEPT,
            duplicate_of=keeper_doc.id if is_dup else None,
            cluster_id=f"c-{docs[positions[int(cluster_keeper[row])]].id}",
            similarity=float(similarity[row]),
            containment=float(contained[row]),
            duplicate_paragraphs=tuple(paragraphs.get(row, ())),
        )
    return out


# --------------------------------------------------------------------------- streaming


class ScanAccumulator:
    """`scan_texts` fed batch by batch: texts are scanned and dropped, compact arrays kept.

    Feeding the texts in any split gives the same `Scan` as one `scan_texts` call over
    all of them (every array is per text or per line, with document numbers shifted by
    the texts already added), so `decide_duplicates` decides exactly as `find_duplicates`.
    """

    def __init__(self, *, config: DedupConfig) -> None:
        self.config = config
        self._parts: list[Scan] = []
        self._published: list[str | None] = []
        self.n = 0

    def add(self, texts: Sequence[str], published: Sequence[str | None]) -> None:
        """Scan one batch of texts (with each text's publication date, ISO 8601 or None)."""
        if len(texts) != len(published):
            raise ValueError(
                f"ScanAccumulator.add: {len(texts)} texts but {len(published)} dates; "
                "pass one date (or None) per text"
            )
        if texts:
            self.add_scan(scan_texts(texts, config=self.config), published)

    def add_scan(self, scan: Scan, published: Sequence[str | None]) -> None:
        """Add the `scan_texts` result of one batch (scanned elsewhere, e.g. in a worker
        process, with this accumulator's config) and each of its texts' dates."""
        if len(scan.length) != len(published):
            raise ValueError(
                f"ScanAccumulator.add_scan: a scan of {len(scan.length)} texts but "
                f"{len(published)} dates; pass one date (or None) per text"
            )
        self._parts.append(scan)  # its document numbers are shifted once, in scan()
        self._published.extend(published)
        self.n += len(scan.length)

    def scan(self) -> Scan:
        """The `Scan` of every text added so far, in the order added."""
        if not self._parts:
            return scan_texts([], config=self.config)
        if len(self._parts) == 1:
            return self._parts[0]
        offsets = np.cumsum([0] + [len(p.length) for p in self._parts[:-1]])

        def shifted(frames: list[pd.DataFrame]) -> pd.DataFrame:
            # document numbers of part i move up by the texts of the parts before it
            out = pd.concat(frames, ignore_index=True)
            shift = np.repeat(offsets, [len(f) for f in frames])
            out["doc"] = out["doc"].to_numpy(dtype=np.int64) + shift
            return out

        return Scan(
            exact_hash=np.concatenate([p.exact_hash for p in self._parts]),
            length=np.concatenate([p.length for p in self._parts]),
            keys=shifted([p.keys for p in self._parts]),
            lines=shifted([p.lines for p in self._parts]),
            anchors=shifted([p.anchors for p in self._parts]),
            facts=shifted([p.facts for p in self._parts]),
        )

    def decide(
        self,
        texts_of: Callable[[np.ndarray], Sequence[str]],
        *,
        band_pairs: pd.DataFrame | None = None,
    ) -> DedupDecision:
        """`decide_duplicates` over everything added; `texts_of(rows)` re-reads texts by
        position (only those in candidate pairs); `band_pairs` as there."""
        scan = self.scan()
        self._parts = [scan]  # hold one copy, not the parts and their concatenation
        return decide_duplicates(
            scan,
            published=self._published,
            texts_of=texts_of,
            config=self.config,
            band_pairs=band_pairs,
        )


def paragraph_ranges(texts: Mapping[int, str], hits: pd.DataFrame) -> pd.DataFrame:
    """Character ranges (doc, start, end, cluster) of the paragraph `hits` of the given
    texts (keyed by document position); every hit's document must be in `texts`."""
    return _paragraph_ranges(texts, hits)  # type: ignore[arg-type]
