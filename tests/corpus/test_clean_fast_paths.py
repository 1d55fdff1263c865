"""The line classifier's fast paths give bit for bit the numbers of their plain definitions.

- `ArrayLanguageIdentifier.classify` (py3langid's automaton run array-at-a-time) against
  py3langid's own `classify`;
- `LineFeaturizer` (memo of per-line rows with ASCII shortcuts; page-wide columns of many
  pages at once) against `line_features` page by page;
- `context_features_of_pages` against `context_features` page by page;
- `_tree_scores_shallow` (every inner node compared at once) against the level walk
  `_tree_scores`, and both against the plain walk of each tree;
- the cleaner with every fast path against the cleaner with the plain definitions, on the
  seeds, synthetic pages and real pages of the shared evaluation set (skipped when absent).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from corpus.clean import classify, language
from corpus.clean.classify import (
    _complete,
    _tree_scores,
    _tree_scores_plain,
    _tree_scores_shallow,
    default_line_model,
    page_inputs,
)
from corpus.clean.fastlangid import ArrayLanguageIdentifier
from corpus.clean.features import (
    LineFeaturizer,
    Segments,
    context_features,
    context_features_of_pages,
    line_features,
)
from corpus.clean.language import _identifier, language_sample, stopwords
from corpus.records import Document, stable_id

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
# ../shared/eval beside the checkout (CI), or where CONTRABAND_EVAL_DIR points (a worktree)
EVAL = Path(os.environ.get("CONTRABAND_EVAL_DIR") or ROOT.parent / "shared" / "eval")
DEV = EVAL / "trafilatura-dev.jsonl.gz"

# what lines of scraped pages are made of: markdown links and images, list and heading
# markers, separators, quotes and sentence ends, digits, case, copyright and handles, and
# letters outside ASCII (including ones that fold oddly: dotless i, long s, Kelvin sign)
LINE_ALPHABET = list("aAbBcCzZ09 .,;:!?'\"-|/>·•»*#_()[]©@…。”’\t") + [
    "[Home](/)",
    "![logo](x.png)",
    "http://x.example/a",
    "www.example.org",
    "(c) 2021",
    "Copyright",
    "COPYRIGHT",
    "copyrıght",
    "ſ",
    "K",
    "é",
    "ß",
    "Straße",
    "İ",
    "٣",
    "中文",
    "  ",
    "the",
    "der",
    "and",
    "Der",
    "und",
    "1.",
    "- ",
    "### ",
]


def _lines(texts: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(texts), max_size=30).map("".join)


def _real_pages(limit: int) -> list[str]:
    if not DEV.exists():
        return []
    with gzip.open(DEV, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for _, line in zip(range(limit), f, strict=False)]


def _synthetic_pages(n: int) -> list[str]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from synthetic import generate_corpus

    return [p.raw for p in generate_corpus(n, seed=11).pages]


def _pages() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in SEEDS] + _synthetic_pages(40)


# ---------------------------------------------------------------- language


def test_array_identifier_equals_py3langid_on_page_samples_and_odd_text():
    plain = _identifier()
    fast = ArrayLanguageIdentifier(plain)
    samples = ["", "a", "ABC DEF GHI", "Zoll findet Kokain im Hafen", "\ud800 lone surrogate"]
    for text in _pages() + _real_pages(200):
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        samples += [language_sample(lines, limit=limit) for limit in (20, 120, 500)]
    rng = random.Random(5)
    alphabet = "abcXYZ éßİı€中文日本語🙂\n\t  .,ÄÖ"
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90))) for _ in range(500)
    ]
    for sample in samples:
        assert fast.classify(sample) == plain.classify(sample), repr(sample[:60])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_array_identifier_equals_py3langid_on_any_text(text):
    plain = _identifier()
    assert language._array_identifier().classify(text) == plain.classify(text)


def test_array_identifier_state_is_the_walked_state_at_every_byte():
    plain = _identifier()
    fast = language._array_identifier()
    data = "Der Zoll hat am Dienstag 3 t Kokain sichergestellt. ÄÖÜ 中文 ".encode() * 3
    state, walked = 0, []
    rows = np.frombuffer(plain.tk_row, dtype=np.uint16).astype(np.int64) << 8
    for byte in data:
        state = plain.tk_nextmove[rows[state] + byte]
        walked.append(state)
    assert fast.states(data).tolist() == walked


def test_classify_many_equals_classify_of_each_text():
    fast = language._array_identifier()
    samples = ["", "a", "ABC DEF GHI", "Zoll findet Kokain im Hafen", "\ud800 lone surrogate"]
    for text in _pages() + _real_pages(120):
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        samples += [language_sample(lines, limit=limit) for limit in (3, 20, 500)]
    rng = random.Random(6)
    samples += [
        "".join(rng.choice("ab éß中\n.") for _ in range(rng.randint(0, 9))) for _ in range(50)
    ]
    rng.shuffle(samples)
    assert fast.classify_many(samples) == [fast.classify(sample) for sample in samples]
    assert fast.classify_many([]) == []


def test_detect_languages_of_pages_equals_each_page_alone():
    pages = [text.split("\n") for text in _pages() + _real_pages(60)] + [[], [""], ["kurz"]]
    assert language.detect_languages(pages) == [language.detect_language(p) for p in pages]


def _plain_depth(next_state: np.ndarray, row_base: np.ndarray) -> int:
    """Breadth first over states, one move at a time: the plain definition."""
    depth_of = {0: 0}
    frontier = [0]
    while frontier:
        reached = []
        for state in frontier:
            for byte in range(256):
                target = int(next_state[row_base[state] + byte])
                if target not in depth_of:
                    depth_of[target] = depth_of[state] + 1
                    reached.append(target)
        frontier = reached
    return max(depth_of.values())


@pytest.mark.parametrize("seed", range(6))
def test_automaton_depth_equals_the_plain_breadth_first_walk(seed):
    from corpus.clean.fastlangid import _automaton_depth

    rng = np.random.default_rng(seed)
    n_states, n_rows = int(rng.integers(2, 60)), int(rng.integers(1, 12))
    # shared rows whose moves lead mostly back to shallow states, as in a real automaton
    targets = rng.integers(0, n_states, size=(n_rows, 256)) * (rng.random((n_rows, 256)) < 0.05)
    next_state = targets.astype(np.uint32).ravel()
    row_base = rng.integers(0, n_rows, size=n_states).astype(np.int32) << 8
    assert _automaton_depth(next_state, row_base) == _plain_depth(next_state, row_base)


# ---------------------------------------------------------------- features


def _inputs(text: str) -> tuple[list[str], list[bool], list[bool]]:
    kept, _, before, after = classify._non_blank(text.split("\n"))
    return kept, before, after


def _assert_features_equal(text: str, words: frozenset[str], featurizer: LineFeaturizer) -> None:
    kept, before, after = _inputs(text)
    expected = line_features(kept, before, after, words)
    got = featurizer.features(kept, before, after, words)
    assert got.shape == expected.shape
    bad = np.argwhere(got != expected)
    assert not len(bad), [(kept[r], c, expected[r, c], got[r, c]) for r, c in bad[:5]]


def test_featurizer_equals_line_features_on_seeds_synthetic_and_real_pages():
    featurizer = LineFeaturizer()
    for text in _pages() + _real_pages(120):
        words = stopwords(page_inputs(text).language.code)
        _assert_features_equal(text, words, featurizer)
        _assert_features_equal(text, words, featurizer)  # memoised rows the second time
        _assert_features_equal(text, frozenset(), featurizer)


@settings(max_examples=300, deadline=None)
@given(st.lists(_lines(LINE_ALPHABET), min_size=0, max_size=12), st.booleans())
def test_featurizer_equals_line_features_on_any_lines(lines, english):
    words = stopwords("en") if english else frozenset()
    _assert_features_equal("\n".join(lines), words, LineFeaturizer())


# ASCII text with every byte class `_ascii_count_columns` tells apart: joiners between, before and
# after letters and digits, sentence marks before each kind of whitespace and at the end
ASCII_ALPHABET = list("aZ09 .,;!?'-_\t\x0b\x0c\x1c\x1f|/") + ["a.b", "x-y", "1.5", "it's", "U.S."]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(ASCII_ALPHABET), max_size=20).map("".join), max_size=8))
def test_ascii_counts_equal_the_regex_counts_of_each_text(texts):
    from corpus.clean.features import _ascii_count_columns, _counts

    assert _ascii_count_columns(texts).tolist() == [list(map(float, _counts(t))) for t in texts]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(LINE_ALPHABET), max_size=12).map("".join), max_size=8))
@example([". | .", "- ©", "", "   ", "[x](y)", "![a](b)", "ALL CAPS", "a.b, c! d? e"])
def test_line_rows_of_many_lines_equal_each_line_alone(lines):
    from corpus.clean.features import _ROW, _line_row, _packed_line_rows

    for words in (frozenset(), stopwords("en")):
        expected = [(_ROW.pack(*row), key) for row, key in (_line_row(li, words) for li in lines)]
        assert _packed_line_rows(lines, words) == expected


def test_stopword_counts_with_words_seen_before_equal_stripping_each_word():
    from corpus.clean.features import _PUNCT, _stopword_counts

    rng = random.Random(3)
    pieces = ["the", "The", "of", "and", "der", "x", "(the", "the,", "“of”", "a.", "...", "-", "'"]
    for words in (stopwords("en"), stopwords("de"), frozenset()):
        known: dict[str, int] = {}  # one memo per stopword list, as the featurizer keeps them
        for _ in range(50):
            lines = [
                [rng.choice(pieces) for _ in range(rng.randint(0, 9))]
                for _ in range(rng.randint(0, 5))
            ]
            expected = [sum(w.strip(_PUNCT) in words for w in line) for line in lines]
            assert _stopword_counts(lines, words, known) == expected


def test_featurizer_memo_is_bounded_and_clears():
    featurizer = LineFeaturizer(max_lines=50)
    lines = [f"Menu item {i}" for i in range(120)]
    got = featurizer.features(lines, [False] * 120, [False] * 120, frozenset())
    assert featurizer.size <= 50
    np.testing.assert_array_equal(
        got, line_features(lines, [False] * 120, [False] * 120, frozenset())
    )
    featurizer.clear()
    assert featurizer.size == 0 and not featurizer.memo and not featurizer.words


def test_pages_features_of_a_batch_equal_each_page_alone():
    texts = _pages() + _real_pages(60) + ["", "\n\n", "one line only"]
    random.Random(2).shuffle(texts)
    pages = []
    for text in texts:
        kept, before, after = _inputs(text)
        pages.append((kept, before, after, stopwords(page_inputs(text).language.code)))
    got = LineFeaturizer().pages_features(pages)
    for page, x in zip(pages, got, strict=True):
        np.testing.assert_array_equal(x, line_features(*page))


@pytest.mark.parametrize("seed", range(4))
def test_segment_sums_and_windows_equal_page_by_page(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 60, size=30)
    sizes[rng.integers(0, 30)] = 700  # one long page among short ones
    values = rng.random((int(sizes.sum()), 3)) * 10.0 ** rng.integers(-3, 4, size=3)
    segments = Segments(sizes)
    running = segments.cumsum(values)
    backwards = segments.reverse_cumsum(values[:, 0].copy())
    p = values[:, 1].copy()
    context = context_features_of_pages(p, sizes)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        np.testing.assert_array_equal(running[a:b], np.cumsum(values[a:b], axis=0))
        np.testing.assert_array_equal(backwards[a:b], np.cumsum(values[a:b, 0][::-1])[::-1])
        np.testing.assert_array_equal(context[a:b], context_features(p[a:b]))


# ---------------------------------------------------------------- trees


def _rows_for(stage_width: int) -> np.ndarray:
    x = np.vstack([page_inputs(text).features for text in _pages()[:8]])
    if stage_width > x.shape[1]:
        extra = np.random.default_rng(1).random((len(x), stage_width - x.shape[1]))
        x = np.hstack([x, extra])
    rng = np.random.default_rng(4)
    noise = rng.normal(size=(300, x.shape[1])) * 3
    odd = noise[:20].copy()
    odd[::3, rng.integers(0, x.shape[1], size=7)] = np.nan
    odd[1::3, 0] = np.inf
    odd[2::3, 0] = -np.inf
    return np.vstack([x, noise, odd])


def _at_thresholds(params: dict, x: np.ndarray) -> np.ndarray:
    """Rows whose values sit exactly on the trees' thresholds (the comparison's edge)."""
    out = x[: len(params["trees"])].copy()
    for row, tree in zip(out, params["trees"], strict=False):
        inner = tree["left"] >= 0
        row[tree["feature"][inner]] = tree["threshold"][inner]
    return out


def test_shallow_trees_equal_the_level_walk_bit_for_bit_and_the_plain_walk():
    model = default_line_model()
    for stage, width in ((model.stage1, 45), (model.stage2, 50)):
        if stage is None or stage.kind != "trees":
            continue
        if _complete(stage.params) is None:
            pytest.skip("the shipped trees are deeper than the shallow fast path takes")
        x = _rows_for(width)
        x = np.vstack([x, _at_thresholds(stage.params, x[np.isfinite(x).all(axis=1)])])
        fast = _tree_scores_shallow(stage.params, x)
        np.testing.assert_array_equal(fast, _tree_scores(stage.params, x))
        np.testing.assert_allclose(fast, _tree_scores_plain(stage.params, x), rtol=0, atol=1e-9)


def test_binned_trees_equal_the_shallow_trees_bit_for_bit():
    """Every stage of the model and of its cut-page model, scored from the rows' bins in the
    model's shared table, on rows at the thresholds, just beside them, and NaN or infinite."""
    model = default_line_model()
    table = model.bins
    stages = [s for s in _stages(model) if s.kind == "trees" and _complete(s.params)]
    if not stages:
        pytest.skip("the shipped model has no shallow trees")
    for stage in stages:
        assert table.knows(stage)
        width = 1 + max(int(t["feature"].max()) for t in stage.params["trees"])
        x = _rows_for(max(width, 45))
        edges = _at_thresholds(stage.params, x[np.isfinite(x).all(axis=1)])
        x = np.vstack([x, edges, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
        x[-3:, :] = [[np.nan], [np.inf], [-np.inf]]
        x[-4, :] = -0.0
        bins = np.hstack([table.bins(x[:, :45]), table.bins(x[:, 45:], first=45)])
        np.testing.assert_array_equal(
            table.scores(stage, bins), _tree_scores_shallow(stage.params, x)
        )


def _stages(model):
    stages = [model.stage1, model.stage2]
    return [s for s in stages if s is not None] + ([] if model.cut is None else _stages(model.cut))


# ---------------------------------------------------------------- the whole cleaner


def test_batch_probabilities_equal_each_page_alone_bit_for_bit_with_cut_pages():
    model = default_line_model()
    texts = _pages() + _real_pages(80)
    # pages cut inside their article, as scrapers cut them: these go to the cut-page model
    texts += [text[: len(text) // 2] for text in texts]
    pages = [page_inputs(text).features for text in texts] + [np.zeros((0, 45))]
    batch = classify.content_probabilities(model, pages)
    taken = 0
    for x, p in zip(pages, batch, strict=True):
        np.testing.assert_array_equal(p, model.probabilities(x))
        taken += (
            model.cut is not None
            and len(x) > 0
            and model.ends_inside_article(model.cut.probabilities(x))
        )
    assert model.cut is None or 0 < taken < len(pages)


def _plain_pages_inputs(pages_lines, *, featurizer):
    return [page_inputs("\n".join(lines), lines=lines) for lines in pages_lines]


def _plain_context(p, sizes):
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    parts = [context_features(p[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return np.vstack(parts)


def _clean(texts: list[str]) -> list[Document]:
    from corpus.clean import clean_documents, load_clean_config

    docs = [
        Document(id=stable_id(f"page{i}", t), source=f"page{i}", raw_text=t, site=f"s{i % 3}")
        for i, t in enumerate(texts)
    ]
    return clean_documents(docs, config=load_clean_config(), workers=1)


def test_cleaner_with_fast_paths_equals_the_cleaner_with_plain_definitions(monkeypatch):
    texts = _pages() + _real_pages(80)
    fast = _clean(texts)
    model = default_line_model()
    for stage in (model.stage1, model.stage2):
        if stage is not None and stage.kind == "trees":
            monkeypatch.setitem(stage.params, "complete", None)  # the level walk
    monkeypatch.setattr("corpus.clean.page.pages_inputs", _plain_pages_inputs)
    monkeypatch.setattr(language, "_array_identifier", _identifier)
    monkeypatch.setattr(classify, "context_features_of_pages", _plain_context)
    plain = _clean(texts)
    for a, b in zip(fast, plain, strict=True):
        assert a.clean_text == b.clean_text, a.source
        assert a.edits == b.edits, a.source
        assert (a.title, a.published, a.authors, a.metadata) == (
            b.title,
            b.published,
            b.authors,
            b.metadata,
        )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*LINE_ALPHABET, "# ", "###", "12. ", "٣) ", "– ", "•"]), max_size=10)
)
def test_view_line_finds_the_markers_the_patterns_find(parts):
    from corpus.clean.features import _BULLET, _HEADING, view_line

    line = "".join(parts)
    view = view_line(line)
    text = line.strip()
    if "](" not in text and "http" not in text and "www." not in text:
        assert view.bullet == bool(_BULLET.match(text))
        rest = _BULLET.sub("", text, count=1) if view.bullet else text
        assert view.heading == bool(_HEADING.match(rest))


def test_identifier_from_the_model_file_arrays_equals_the_one_from_py3langid():
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    from corpus.clean.fastlangid import read_model_arrays

    from_file = ArrayLanguageIdentifier.from_model_arrays(read_model_arrays(MODEL_DIR / MODEL_FILE))
    from_py3langid = ArrayLanguageIdentifier(_identifier())
    for name in ("next_state", "row_base", "output", "nb_ptc", "nb_pc"):
        a, b = getattr(from_file, name), getattr(from_py3langid, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert from_file.classes == from_py3langid.classes
    assert (from_file.depth, from_file.alias_pairs) == (
        from_py3langid.depth,
        from_py3langid.alias_pairs,
    )


def test_a_model_file_cut_short_is_refused(tmp_path):
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    from corpus.clean.fastlangid import read_model_arrays

    cut = tmp_path / "model.npz.xz"
    cut.write_bytes((MODEL_DIR / MODEL_FILE).read_bytes()[:100_000])
    with pytest.raises(EOFError, match="ends inside its LZMA stream"):
        read_model_arrays(cut)
