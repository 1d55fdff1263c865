"""The line classifier: how likely each line of a page is article content.

Two stages (gradient-boosted trees, or logistic regressions) over `corpus.clean.features`: the
first reads each line and its neighbourhood, the second adds the first's probabilities around the
line (content comes in runs, so a short line between two paragraphs is content and a long line
inside a menu is not). The weights are trained by `scripts/train_line_classifier.py` on real
pages whose labels come from an HTML extractor's output, with a fixed part of the sites held out,
and ship in `line_model.json`.

Fast paths beside their plain definitions (tests/corpus/test_clean_fast_paths.py): the trees of
the shipped model (depth 3) are scored by `_tree_scores_shallow`, bit for bit the level walk
`_tree_scores`, itself the plain walk `_tree_scores_plain` of each tree; a batch's rows are
binned once against every threshold of the model's stages (`ThresholdBins`) and each stage
compares small integers, bit for bit `_tree_scores_shallow`; a chunk's pages get their
features in one `pages_inputs` call (`LineFeaturizer`) and their context in one
`context_features_of_pages` call.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

from .features import (
    CONTEXT_NAMES,
    FEATURE_NAMES,
    LineFeaturizer,
    context_features,
    context_features_of_pages,
    line_features,
)
from .language import LanguageGuess, detect_language, detect_languages, stopwords

MODEL_RESOURCE = "line_model.json"


@dataclass(frozen=True)
class Stage:
    """One stage: gradient-boosted trees (plain arrays) or a standardised logistic regression."""

    kind: str  # "trees" or "logistic"
    params: dict[str, Any]

    def score(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of content for each row of `x`."""
        if self.kind == "logistic":
            p = self.params
            return ((x - p["mean"]) / p["std"]) @ p["coef"][:-1] + p["coef"][-1]
        if _complete(self.params) is not None:
            return _tree_scores_shallow(self.params, x)
        return _tree_scores(self.params, x)

    def to_json(self) -> dict[str, Any]:
        if self.kind == "logistic":
            return {
                "kind": "logistic",
                **{k: [round(float(v), 6) for v in a] for k, a in self.params.items()},
            }
        trees = [
            {
                k: [round(float(v), 6) if k in ("threshold", "value") else int(v) for v in t[k]]
                for k in ("feature", "threshold", "left", "right", "value")
            }
            for t in self.params["trees"]
        ]
        return {
            "kind": "trees",
            "init": self.params["init"],
            "learning_rate": self.params["learning_rate"],
            "trees": trees,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stage:
        if data["kind"] == "logistic":
            return cls(
                "logistic", {k: np.asarray(data[k], dtype=float) for k in ("mean", "std", "coef")}
            )
        trees = [
            {
                k: np.asarray(t[k], dtype=float if k in ("threshold", "value") else np.int64)
                for k in ("feature", "threshold", "left", "right", "value")
            }
            for t in data["trees"]
        ]
        return cls(
            "trees",
            {
                "init": float(data["init"]),
                "learning_rate": float(data["learning_rate"]),
                "trees": trees,
            },
        )


def _tree_scores_plain(params: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Sum of the trees' leaf values, each tree walked for all rows (the plain definition)."""
    rows = np.arange(len(x))
    total = np.full(len(x), params["init"])
    rate = params["learning_rate"]
    for tree in params["trees"]:
        feature, threshold = tree["feature"], tree["threshold"]
        left, right = tree["left"], tree["right"]
        node = np.zeros(len(x), dtype=np.int64)
        while True:
            inner = left[node] >= 0
            if not inner.any():
                break
            f = np.where(inner, feature[node], 0)
            go_left = x[rows, f] <= threshold[node]
            node = np.where(inner, np.where(go_left, left[node], right[node]), node)
        total += rate * tree["value"][node]
    return total


def _packed(params: dict[str, Any]) -> dict[str, Any]:
    """The trees as one table of nodes: a leaf points at itself on both sides and compares
    feature 0 with +inf, so every row can take the same number of steps in every tree."""
    if "packed" in params:
        return params["packed"]
    trees = params["trees"]
    offsets = np.cumsum([0] + [len(t["left"]) for t in trees[:-1]])
    feature, threshold, left, right, value = [], [], [], [], []
    depth = 0
    for offset, t in zip(offsets, trees, strict=True):
        n = len(t["left"])
        leaf = t["left"] < 0
        here = np.arange(n) + offset
        feature.append(np.where(leaf, 0, t["feature"]))
        threshold.append(np.where(leaf, np.inf, t["threshold"]))
        left.append(np.where(leaf, here, t["left"] + offset))
        right.append(np.where(leaf, here, t["right"] + offset))
        value.append(t["value"])
        depth = max(depth, _depth(t))
    packed = {
        "roots": offsets.astype(np.int64),
        "feature": np.concatenate(feature).astype(np.int64),
        "threshold": np.concatenate(threshold),
        "left": np.concatenate(left).astype(np.int64),
        "right": np.concatenate(right).astype(np.int64),
        "value": np.concatenate(value) * params["learning_rate"],
        "depth": depth,
    }
    params["packed"] = packed
    return packed


def _depth(tree: dict[str, Any]) -> int:
    depth = {0: 0}
    for node in range(len(tree["left"])):
        for child in (tree["left"][node], tree["right"][node]):
            if child >= 0:
                depth[int(child)] = depth[node] + 1
    return max(depth.values())


def _tree_scores(params: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """`_tree_scores_plain`, all trees at once: one step down every tree per level."""
    packed = _packed(params)
    n, width = x.shape
    flat = x.ravel()
    base = (np.arange(n, dtype=np.int64) * width)[:, None]
    node = np.broadcast_to(packed["roots"], (n, len(packed["roots"]))).copy()
    feature, threshold = packed["feature"], packed["threshold"]
    left, right = packed["left"], packed["right"]
    for _ in range(packed["depth"]):
        go_left = flat[base + feature[node]] <= threshold[node]
        node = np.where(go_left, left[node], right[node])
    return params["init"] + packed["value"][node].sum(axis=1)


SHALLOW_DEPTH = 3  # trees this deep have 7 inner nodes: their 7 answers fit in one byte
_SHALLOW_BLOCK_ROWS = 256  # rows scored at a time: the comparisons of a block stay in cache


def _complete(params: dict[str, Any]) -> dict[str, Any] | None:
    """The trees as complete binary trees of depth SHALLOW_DEPTH in heap order (node k has
    children 2k+1 and 2k+2), or None when a tree is deeper. A leaf above the last level
    becomes a subtree that compares feature 0 with +inf and has its value in every leaf, so
    every path through it ends on that value. Per tree, 8 comparisons (the 7 inner nodes and
    one unused) and, for each of the 256 answer codes, the value (times the learning rate)
    of the leaf it reaches."""
    if "complete" in params:
        return params["complete"]
    trees = params["trees"]
    leaf_of_answers = _leaf_of_answers()
    if leaf_of_answers is None or any(_depth(t) > SHALLOW_DEPTH for t in trees):
        params["complete"] = None
        return None
    inner = 2**SHALLOW_DEPTH - 1
    feature = np.zeros((len(trees), inner + 1), dtype=np.int64)
    threshold = np.full((len(trees), inner + 1), np.inf)
    value = np.zeros((len(trees), inner + 1))
    for t, tree in enumerate(trees):
        # (node in the tree, its place in the heap); a leaf keeps its node on the way down
        level = [(0, 0)]
        for _ in range(SHALLOW_DEPTH):
            below = []
            for node, place in level:
                if tree["left"][node] >= 0:
                    feature[t, place] = tree["feature"][node]
                    threshold[t, place] = tree["threshold"][node]
                    below += [
                        (tree["left"][node], 2 * place + 1),
                        (tree["right"][node], 2 * place + 2),
                    ]
                else:
                    below += [(node, 2 * place + 1), (node, 2 * place + 2)]
            level = below
        for node, place in level:
            value[t, place - inner] = tree["value"][node]
    value *= params["learning_rate"]
    complete = {
        "feature": feature.ravel(),
        "threshold": threshold.ravel(),
        # per tree, the value of the leaf each of the 256 answer codes reaches: tree t's
        # code c is entry 256 t + c (one gather instead of two)
        "value_of_code": value[:, leaf_of_answers].ravel(),
        "code_base": np.arange(len(trees), dtype=np.uint64) * np.uint64(256),
    }
    params["complete"] = complete
    return complete


# The 8 answers of one tree (one byte each, 0 or 1) read as a little-endian uint64 and
# multiplied by this, have bit k of the top byte = answer 7 - k: one code per answer set.
_GATHER_BITS = np.uint64(0x0102040810204080)


def _answer_codes(answers: np.ndarray) -> np.ndarray:
    """Per row and tree, the 8 comparison answers (bool, C-contiguous, 8 per tree) as one
    byte."""
    return (answers.view(np.uint64) * _GATHER_BITS) >> np.uint64(56)


def _leaf_of_answers() -> np.ndarray | None:
    """The leaf (0-7) reached from each of the 256 answer codes: down from the root, left
    when the node's comparison is true. None if two answer sets share a code (a machine
    that does not store integers little-endian): the level walk is used there."""
    answers = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(bool)
    codes = _answer_codes(answers).ravel().tolist()
    if len(set(codes)) != len(codes):
        return None
    leaf = np.zeros(256, dtype=np.int64)
    for code, row in zip(codes, answers, strict=True):
        node = 0
        for _ in range(SHALLOW_DEPTH):
            node = 2 * node + (1 if row[node] else 2)
        leaf[code] = node - (2**SHALLOW_DEPTH - 1)
    return leaf


def _tree_scores_shallow(params: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """`_tree_scores` of trees at most SHALLOW_DEPTH deep, bit for bit: every inner node of
    every tree is compared at once, each tree's answers are read as one byte and a table
    gives the value of the leaf they reach; the values are summed in the same order."""
    complete = _complete(params)
    assert complete is not None, "_tree_scores_shallow of trees deeper than SHALLOW_DEPTH"
    return _leaf_sums(x, complete["threshold"], complete, params["init"])


def _leaf_sums(
    x: np.ndarray, limits: np.ndarray, complete: dict[str, Any], init: float
) -> np.ndarray:
    """`init` plus the values of the leaves each row of `x` reaches, block by block: every
    inner node answers `x[:, feature] <= limit` at once, and each tree's answers, read as one
    code, give its leaf's value (`_complete`)."""
    feature, value_of_code, code_base = (
        complete["feature"],
        complete["value_of_code"],
        complete["code_base"],
    )
    out = np.empty(len(x))
    for start in range(0, len(x), _SHALLOW_BLOCK_ROWS):
        rows = x[start : start + _SHALLOW_BLOCK_ROWS]
        codes = _answer_codes(np.take(rows, feature, axis=1) <= limits)
        codes += code_base
        out[start : start + len(rows)] = init + value_of_code.take(codes).sum(axis=1)
    return out


class ThresholdBins:
    """Every threshold that the shallow trees of some stages compare each input column with,
    sorted, once per column: a value's bin (how many of its column's thresholds lie below
    it) answers each comparison `value <= threshold` as `bin <= the threshold's place`.

    The stages of a model and of its cut-page model share one table, so a batch's rows are
    binned once and every stage compares small integers gathered from the bins instead of
    floats gathered from the rows (`scores`: bit for bit `_tree_scores_shallow`)."""

    def __init__(self, stages: Sequence[Stage]):
        shallow = [(s, _complete(s.params)) for s in stages if s.kind == "trees"]
        self.stages = [s for s, complete in shallow if complete is not None]
        completes = [complete for _, complete in shallow if complete is not None]
        width = 1 + max((int(c["feature"].max()) for c in completes), default=-1)
        self.columns = [
            np.unique(np.concatenate([c["threshold"][c["feature"] == f] for c in completes]))
            for f in range(width)
        ]
        longest = max(map(len, self.columns), default=0)
        # a bin is at most the column's number of thresholds
        self.dtype = np.uint16 if longest < np.iinfo(np.uint16).max else np.uint32
        self.places = [self._places(c["feature"], c["threshold"]) for c in completes]

    def _places(self, feature: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        """Each node's threshold's place in its column's sorted thresholds."""
        places = np.zeros(len(feature), dtype=self.dtype)
        for f, column in enumerate(self.columns):
            nodes = feature == f
            places[nodes] = np.searchsorted(column, threshold[nodes])
        return places

    def knows(self, stage: Stage) -> bool:
        """Whether `scores` can score `stage`: one of the table's stages, still scored as
        shallow trees."""
        return _complete(stage.params) is not None and any(stage is s for s in self.stages)

    def bins(self, x: np.ndarray, *, first: int = 0) -> np.ndarray:
        """The bin of each value of `x`, whose columns are the table's columns from `first`
        on. A NaN lies above every threshold (NaN <= t is false), as searchsorted puts it."""
        out = np.zeros(x.shape, dtype=self.dtype)
        for c in range(x.shape[1]):
            if first + c < len(self.columns) and len(self.columns[first + c]):
                out[:, c] = np.searchsorted(self.columns[first + c], x[:, c], side="left")
        return out

    def scores(self, stage: Stage, bins: np.ndarray) -> np.ndarray:
        """`_tree_scores_shallow(stage.params, x)` from the bins of x, bit for bit: the same
        answers, read as the same codes, summed in the same order."""
        k = next(k for k, known in enumerate(self.stages) if stage is known)
        complete = _complete(stage.params)
        assert complete is not None, "ThresholdBins.scores of a stage it does not know"
        return _leaf_sums(bins, self.places[k], complete, stage.params["init"])


def _model_stages(model: LineModel) -> list[Stage]:
    stages = [model.stage1] + ([] if model.stage2 is None else [model.stage2])
    return stages + ([] if model.cut is None else _model_stages(model.cut))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


@dataclass(frozen=True)
class LineModel:
    """The two stages and the probability below which a line is not content.

    `cut`: a second model, trained on pages cut as scrapers cut them (at a character count,
    inside the article), used for a page whose last line it scores at least `cut_gate`: the
    page then ends inside its article, where a whole page has its footer. On other pages
    (whole pages, and pages cut inside their chrome) this model's own stages score."""

    stage1: Stage
    stage2: Stage | None
    threshold: float
    cut: LineModel | None = None
    cut_gate: float = 0.3

    @functools.cached_property
    def bins(self) -> ThresholdBins:
        """The thresholds of every stage's trees, this model's and its cut-page model's."""
        return ThresholdBins(_model_stages(self))

    def context_of(self, x: np.ndarray) -> np.ndarray:
        return context_features(_sigmoid(self.stage1.score(x)))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(content) of each row of one page's line features (one row per non-blank line,
        in page order)."""
        if len(x) == 0:
            return np.zeros(0)
        if self.cut is not None:
            p_cut = self.cut.probabilities(x)
            if self.ends_inside_article(p_cut):
                return p_cut
        return self._own_probabilities(x)

    def ends_inside_article(self, cut_probabilities: np.ndarray) -> bool:
        """Whether the page whose lines `cut` scored so goes to `cut`: its last line reads
        as content."""
        return len(cut_probabilities) > 0 and cut_probabilities[-1] >= self.cut_gate

    def _own_probabilities(self, x: np.ndarray) -> np.ndarray:
        if self.stage2 is None:
            return _sigmoid(self.stage1.score(x))
        return _sigmoid(self.stage2.score(np.hstack([x, self.context_of(x)])))

    def to_json(self) -> dict[str, Any]:
        data = {
            "about": "contraband-corpus line classifier; made by scripts/train_line_classifier.py",
            "features": list(FEATURE_NAMES),
            "context": list(CONTEXT_NAMES),
            "threshold": self.threshold,
            "stage1": self.stage1.to_json(),
            "stage2": None if self.stage2 is None else self.stage2.to_json(),
        }
        if self.cut is not None:
            data["cut_gate"] = self.cut_gate
            data["cut"] = self.cut.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LineModel:
        if tuple(data["features"]) != FEATURE_NAMES or tuple(data["context"]) != CONTEXT_NAMES:
            raise ValueError(
                "line_model.json was trained on other features than corpus/clean/features.py "
                "computes; retrain it with scripts/train_line_classifier.py --write"
            )
        stage2 = None if data.get("stage2") is None else Stage.from_json(data["stage2"])
        cut = None if data.get("cut") is None else cls.from_json(data["cut"])
        return cls(
            Stage.from_json(data["stage1"]),
            stage2,
            float(data["threshold"]),
            cut,
            float(data.get("cut_gate", 0.3)),
        )


@functools.cache
def default_line_model() -> LineModel:
    """The model shipped with the package (read once per process)."""
    text = resources.files(__package__).joinpath(MODEL_RESOURCE).read_text(encoding="utf-8")
    return LineModel.from_json(json.loads(text))


class PageInputs(NamedTuple):
    """A page's non-blank lines, their raw line numbers, its language and their features."""

    lines: list[str]
    line_numbers: list[int]
    language: LanguageGuess
    features: np.ndarray


def page_inputs(
    raw: str, *, lines: Sequence[str] | None = None, featurizer: LineFeaturizer | None = None
) -> PageInputs:
    """Non-blank lines of a page with the classifier's features (`lines`: the page split
    already). A `featurizer` computes the same features faster and keeps its memo of lines
    across pages."""
    kept, numbers, blank_before, blank_after = _non_blank(
        list(lines) if lines is not None else raw.split("\n")
    )
    language = detect_language(kept)
    words = stopwords(language.code)
    if featurizer is None:
        x = line_features(kept, blank_before, blank_after, words)
    else:
        x = featurizer.features(kept, blank_before, blank_after, words)
    return PageInputs(kept, numbers, language, x)


def pages_inputs(
    pages_lines: Sequence[Sequence[str]], *, featurizer: LineFeaturizer
) -> list[PageInputs]:
    """`page_inputs(raw, lines=lines, featurizer=featurizer)` of each page's lines, the
    page-wide feature columns computed for all the pages at once."""
    pages = [_non_blank(lines) for lines in pages_lines]
    languages = detect_languages([kept for kept, *_ in pages])
    features = featurizer.pages_features(
        [
            (kept, blank_before, blank_after, stopwords(language.code))
            for (kept, _, blank_before, blank_after), language in zip(pages, languages, strict=True)
        ]
    )
    return [
        PageInputs(kept, numbers, language, x)
        for (kept, numbers, *_), language, x in zip(pages, languages, features, strict=True)
    ]


def _non_blank(
    all_lines: Sequence[str],
) -> tuple[list[str], list[int], list[bool], list[bool]]:
    """The non-blank lines, their line numbers, and whether a blank line (or the page's
    edge) comes right before and after each."""
    # one blank flag per line, and the page's edges count as blank
    blank = [True, *(not line.strip() for line in all_lines), True]
    numbers = [i for i in range(len(all_lines)) if not blank[i + 1]]
    kept = [all_lines[i] for i in numbers]
    blank_before = [blank[i] for i in numbers]
    blank_after = [blank[i + 2] for i in numbers]
    return kept, numbers, blank_before, blank_after


def content_probabilities(model: LineModel, pages: Sequence[np.ndarray]) -> list[np.ndarray]:
    """`model.probabilities` of several pages' feature rows, evaluated in one batch (the trees
    are walked once for all the pages' lines instead of once per page, on the rows' bins of
    `model.bins`)."""
    sizes = np.array([len(x) for x in pages], dtype=np.int64)
    if not sizes.sum():
        return [np.zeros(0) for _ in pages]
    rows = _Rows(np.vstack([x for x in pages if len(x)]), model.bins)
    if model.cut is None:
        return _own_content_probabilities(model, rows, sizes)
    taken = _cut_page_probabilities(model, rows, sizes)
    # the model's own stages score only the pages that do not go to the cut-page model
    whole = np.array([p is None for p in taken])
    own = iter(
        _own_content_probabilities(model, rows.subset(np.repeat(whole, sizes)), sizes[whole])
    )
    return [next(own) if p is None else p for p in taken]


class _Rows:
    """Feature rows of a batch of pages and, once asked for, their bins in `bins`."""

    def __init__(self, x: np.ndarray, bins: ThresholdBins, binned: np.ndarray | None = None):
        self.x = x
        self.table = bins
        self._binned = binned

    @property
    def binned(self) -> np.ndarray:
        if self._binned is None:
            self._binned = self.table.bins(self.x)
        return self._binned

    def subset(self, rows: np.ndarray) -> _Rows:
        """These rows only (an index array or a boolean mask)."""
        return _Rows(self.x[rows], self.table, None if self._binned is None else self._binned[rows])

    def with_context(self, context: np.ndarray) -> _Rows:
        """The rows with the second stage's context columns after their own."""
        binned = None
        if self._binned is not None:
            binned = np.hstack([self._binned, self.table.bins(context, first=self.x.shape[1])])
        return _Rows(np.hstack([self.x, context]), self.table, binned)

    def scores(self, stage: Stage) -> np.ndarray:
        """`stage.score(self.x)`, on the bins when `self.table` knows the stage's trees."""
        if self.table.knows(stage):
            return self.table.scores(stage, self.binned)
        return stage.score(self.x)


def _cut_page_probabilities(
    model: LineModel, rows: _Rows, sizes: np.ndarray
) -> list[np.ndarray | None]:
    """For each page, `model.cut`'s probabilities when the page goes to it
    (`model.ends_inside_article`), else None.

    The gate reads the last line only: the cut model's second stage scores each page's last
    line first, then every line of the pages that go to it (its first stage scores every
    line: the second stage's context is summed over the whole page). The same numbers as
    `content_probabilities(model.cut, pages)`: each row is scored on its own.
    """
    cut = model.cut
    assert cut is not None
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    if cut.cut is not None or cut.stage2 is None:
        pages = [rows.x[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return [
            p if model.ends_inside_article(p) else None for p in content_probabilities(cut, pages)
        ]
    out: list[np.ndarray | None] = [None] * len(sizes)
    p1 = _sigmoid(rows.scores(cut.stage1))
    inputs = rows.with_context(context_features_of_pages(p1, sizes))
    used = np.flatnonzero(sizes)
    p_last = _sigmoid(inputs.subset(bounds[used + 1] - 1).scores(cut.stage2))
    taken = [k for i, k in enumerate(used.tolist()) if model.ends_inside_article(p_last[i : i + 1])]
    if not taken:
        return out
    picked = np.concatenate([np.arange(bounds[k], bounds[k + 1]) for k in taken])
    p2 = _sigmoid(inputs.subset(picked).scores(cut.stage2))
    start = 0
    for k in taken:
        out[k] = p2[start : start + sizes[k]]
        start += sizes[k]
    return out


def _own_content_probabilities(
    model: LineModel, rows: _Rows, sizes: np.ndarray
) -> list[np.ndarray]:
    if not sizes.sum():
        return [np.zeros(0) for _ in sizes]
    bounds = np.cumsum([0, *sizes.tolist()])
    p1 = _sigmoid(rows.scores(model.stage1))
    if model.stage2 is None:
        return [p1[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    context = context_features_of_pages(p1, sizes)
    p2 = _sigmoid(rows.with_context(context).scores(model.stage2))
    return [p2[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
