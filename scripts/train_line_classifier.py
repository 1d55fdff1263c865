#!/usr/bin/env python3
"""Train the cleaner's line classifier (corpus/clean/line_model.json) from real pages.

Training data: the whole-page text dumps of ../shared/eval/trafilatura-dev.jsonl.gz and their
HTML (trafilatura-dev-html.jsonl.gz). Line labels are derived automatically, never by hand: a dump
line is content when its visible text lies inside trafilatura's extraction of the same page's
HTML (long lines anywhere in it, short lines only next to the previous match), boilerplate
otherwise. The dev set's own keep/drop chunks are not used for training; they only score.

Two models are trained: one on whole pages, and one also on each training page cut as scrapers
cut pages (at 2,000 characters and at a random character inside its article; `--cut-weight`,
0.3 of a page each), where the article runs to the page's end and a whole page has its footer.
A page goes to the second when it scores the page's last line as content (`--cut-gate`): the
page then ends inside its article (corpus/clean/classify.py, LineModel.cut).

A fixed part of the pages is held out by site (md5 of the host, 1 in 4) and never trained or
tuned on; the script prints line accuracy and the dev-set chunk metric on both parts.

Settings (tree size, training options, the cleaner's threshold) are chosen with `--cv 4`: the
training sites are split into folds by site, each fold's model cleans the pages of the sites it
did not see through the whole cleaner, and the out-of-fold chunk metric is printed; the
held-out part plays no part in it.

Usage: .venv/bin/python scripts/train_line_classifier.py [--eval-dir ../shared/eval] [--write]
The shipped model: --chunk-labels --threshold 0.3 --cut-weight 0.3 --cut-gate 0.3 --write
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import json
import pickle
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.clean.classify import LineModel, Stage, page_inputs  # noqa: E402
from corpus.clean.features import view_line  # noqa: E402

HELD_OUT_BUCKETS = 4  # 1 site in 4 is held out


def site_of(url: str) -> str:
    """A page's site: its host without "www.", or for a dev-set id without a host
    ("hard::host-page.html") the part before the first "-"."""
    host = urlparse(url).netloc.lower().removeprefix("www.")
    return host or url.split("::", 1)[-1].split("-", 1)[0]


def held_out(url: str) -> bool:
    """The fixed held-out part: by site, so no page of a held-out site is trained on."""
    return int(hashlib.md5(site_of(url).encode()).hexdigest(), 16) % HELD_OUT_BUCKETS == 0


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def read(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def extractions(eval_dir: Path, cache: Path) -> dict[str, str]:
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    import trafilatura

    out = {}
    for rec in read(eval_dir / "trafilatura-dev-html.jsonl.gz"):
        out[rec["eval_id"]] = (
            trafilatura.extract(rec["html"], include_comments=False, include_tables=True) or ""
        )
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(out))
    return out


def line_labels(lines: list[str], extracted: str) -> np.ndarray:
    """1 for lines inside the extraction, 0 otherwise (short lines only near the last match)."""
    ext = norm(extracted)
    labels = np.zeros(len(lines))
    cursor = 0
    for i, line in enumerate(lines):
        text = norm(view_line(line).visible)
        if len(text) < 2:
            continue
        if len(text.split()) >= 6:
            at = ext.find(text)
            if at >= 0:
                labels[i] = 1
                cursor = at + len(text)
        else:
            at = ext.find(text, max(0, cursor - 20))
            if 0 <= at - cursor < 200:
                labels[i] = 1
                cursor = at + len(text)
    return labels


SCRAPER_CUT = 2000  # characters: scrapers that keep a page's start cut it about here


def cut_points(text: str, line_numbers: list[int], labels: np.ndarray, seed: str) -> list[int]:
    """Where to cut a training page as scrapers cut pages, at a character count (mid-line,
    mid-word): at SCRAPER_CUT, and at a random character between the first quarter of the
    page's content and its last content line. Seeded by the page, so training is repeatable."""
    points = [SCRAPER_CUT] if len(text) > SCRAPER_CUT else []
    content = np.flatnonzero(labels)
    if len(content) >= 4:
        starts = np.cumsum([0] + [len(line) + 1 for line in text.split("\n")])
        lo = int(starts[line_numbers[content[len(content) // 4]]])
        hi = int(starts[line_numbers[content[-1]]])
        if hi > lo:
            rng = np.random.default_rng(int(hashlib.md5(seed.encode()).hexdigest()[:8], 16))
            points.append(int(rng.integers(lo, hi)))
    return points


def chunk_labels(lines: list[str], rec: dict, labels: np.ndarray) -> np.ndarray:
    """The extractor's labels, overruled where a line lies in a known keep or drop chunk."""
    keep = [norm(w) for w in rec["with"]]
    drop = [norm(w) for w in rec["without"]]
    out = labels.copy()
    for i, line in enumerate(lines):
        text = norm(view_line(line).visible)
        if len(text) < 15:
            continue
        if any(text in w or w in text for w in keep):
            out[i] = 1
        elif any(text in w or w in text for w in drop):
            out[i] = 0
    return out


@dataclasses.dataclass(frozen=True)
class TreeSettings:
    """The gradient-boosted trees' size: chosen by cross-validation on the training sites."""

    trees: int = 200
    depth: int = 3
    min_leaf: int = 1
    learning_rate: float = 0.1


def fit_trees(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, settings: TreeSettings, seed: int = 0
) -> dict:
    from sklearn.ensemble import GradientBoostingClassifier

    gb = GradientBoostingClassifier(
        n_estimators=settings.trees,
        max_depth=settings.depth,
        min_samples_leaf=settings.min_leaf,
        learning_rate=settings.learning_rate,
        subsample=0.5,
        random_state=seed,
    )
    gb.fit(x, y, sample_weight=weight)
    return trees_to_json(gb)


def trees_to_json(gb) -> dict:
    """A fitted GradientBoostingClassifier as plain arrays (its public `tree_` attributes)."""
    prior = float(gb.init_.class_prior_[1])
    trees = []
    for estimator in gb.estimators_[:, 0]:
        t = estimator.tree_
        trees.append(
            {
                "feature": t.feature.tolist(),
                "threshold": [round(v, 6) for v in t.threshold.tolist()],
                "left": t.children_left.tolist(),
                "right": t.children_right.tolist(),
                "value": [round(float(v), 6) for v in t.value[:, 0, 0]],
            }
        )
    return {
        "kind": "trees",
        "init": float(np.log(prior / (1 - prior))),
        "learning_rate": gb.learning_rate,
        "trees": trees,
    }


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float) -> np.ndarray:
    xb = np.hstack([x, np.ones((len(x), 1))])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = xb @ w
        p = 1 / (1 + np.exp(-z))
        eps = 1e-9
        ll = -(weight * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))).sum()
        grad = xb.T @ (weight * (p - y))
        reg = l2 * (w[:-1] ** 2).sum()
        grad[:-1] += 2 * l2 * w[:-1]
        return ll + reg, grad

    w0 = np.zeros(xb.shape[1])
    return minimize(loss, w0, jac=True, method="L-BFGS-B").x


def chunk_counts(rec: dict, output: str) -> tuple[int, int, int, int]:
    out = norm(output)
    tp = sum(norm(w) in out for w in rec["with"])
    fp = sum(norm(w) in out for w in rec["without"])
    return tp, fp, len(rec["with"]) - tp, len(rec["without"]) - fp


def prf(c: list[int]) -> str:
    tp, fp, fn, _ = c
    p = tp / max(1, tp + fp)
    r = tp / max(1, tp + fn)
    return f"P {p:.3f} R {r:.3f} F1 {2 * p * r / max(1e-9, p + r):.3f}"


def stack(whole: list, cut: list | tuple = (), cut_weight: float = 0.0, context=None):  # noqa: ANN001, ANN201
    """Features, labels and weights of whole pages and of cut copies (each weighing
    `cut_weight` of a page); every page weighs the same, whatever its number of lines."""
    xs, ys, ws = [], [], []
    for part, page_weight in ((whole, 1.0), (cut, cut_weight)):
        for _, inputs, labels in part:
            x = inputs.features
            if context is not None:
                x = np.hstack([x, context(inputs.features)])
            xs.append(x)
            ys.append(labels)
            ws.append(np.full(len(labels), page_weight / max(1, np.sqrt(len(labels)))))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)


def cv_fold(url: str, folds: int) -> int:
    """The cross-validation fold of a training page: by site, so a fold's model never saw
    the site it is scored on (a hash other than `held_out`'s, so folds mix its buckets)."""
    return int(hashlib.md5(b"cv:" + site_of(url).encode()).hexdigest(), 16) % folds


def cross_validate(
    train: list,
    fit_model,  # noqa: ANN001
    folds: int,
    thresholds: list[float],
    cut: list | tuple = (),
    cut_weight: float = 0.0,
    cut_gate: float = 0.3,
) -> None:
    """Out-of-fold chunk metric on the training pages, folded by site (the held-out part is
    never used): the figure that chooses the model's settings. Each fold's model cleans the
    pages of the sites it was not trained on through the whole cleaner (its rules after the
    classifier, at each `min_content_probability` in `thresholds`)."""
    from corpus.clean import Cleaner, load_clean_config
    from corpus.records import Document

    fold_of = {rec["eval_id"]: cv_fold(rec["url"], folds) for rec, _, _ in train}
    config = load_clean_config()
    counts = {t: [0, 0, 0, 0] for t in thresholds}
    for k in range(folds):
        fit = [p for p in train if fold_of[p[0]["eval_id"]] != k]
        model = fit_model(fit)
        if cut:
            fit_cut = [p for p in cut if fold_of[p[0]["eval_id"]] != k]
            model = dataclasses.replace(
                model, cut=fit_model(fit, fit_cut, cut_weight), cut_gate=cut_gate
            )
        scored = [rec for rec, _, _ in train if fold_of[rec["eval_id"]] == k]
        docs = [
            Document(id=rec["eval_id"], source=rec["eval_id"], raw_text=rec["text"], url=rec["url"])
            for rec in scored
        ]
        for t in thresholds:
            cleaner = Cleaner(dataclasses.replace(config, min_content_probability=t), model=model)
            cleaned = cleaner.clean_pages(docs, learned={})
            for rec, doc in zip(scored, cleaned, strict=True):
                counts[t] = [
                    a + b for a, b in zip(counts[t], chunk_counts(rec, doc.clean_text), strict=True)
                ]
    for t in thresholds:
        print(f"cv {folds} folds, whole cleaner at threshold {t:.2f}: chunks {prf(counts[t])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    ap.add_argument("--cache", type=Path, default=ROOT / "build" / "line-classifier-cache.pkl")
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--kind", choices=["trees", "logistic"], default="trees")
    ap.add_argument("--threshold", type=float, default=0.3, help="written into the model")
    ap.add_argument(
        "--cut-weight",
        type=float,
        default=0.3,
        help="also train on each training page cut as scrapers cut pages (see "
        "cut_points), each cut copy weighing this much of a page (0: none)",
    )
    ap.add_argument(
        "--cut-gate",
        type=float,
        default=0.3,
        help="a page whose last line the cut-page model scores at least this is "
        "scored by that model",
    )
    ap.add_argument(
        "--chunk-labels",
        action="store_true",
        help="also learn from the training pages' keep/drop chunks",
    )
    ap.add_argument("--report-thresholds", type=float, nargs="+", default=[0.2, 0.25, 0.3, 0.35])
    ap.add_argument("--trees", type=int, default=200, help="trees per stage")
    ap.add_argument("--depth", type=int, default=3, help="depth of each tree")
    ap.add_argument("--min-leaf", type=int, default=1, help="fewest lines in a tree's leaf")
    ap.add_argument("--learning-rate", type=float, default=0.1)
    ap.add_argument(
        "--cv",
        type=int,
        default=0,
        help="only cross-validate on the training sites in this many folds (by site) and "
        "print the out-of-fold figures: how the settings are chosen",
    )
    ap.add_argument("--write", action="store_true", help="write corpus/clean/line_model.json")
    args = ap.parse_args()

    recs = read(args.eval_dir / "trafilatura-dev.jsonl.gz")
    ext = extractions(args.eval_dir, args.cache)
    pages = []
    extra = []  # cut copies of training pages: trained on, never scored
    for rec in recs:
        inputs = page_inputs(rec["text"])
        labels = line_labels(inputs.lines, ext.get(rec["eval_id"], ""))
        if args.chunk_labels and not held_out(rec["url"]):
            labels = chunk_labels(inputs.lines, rec, labels)
        pages.append((rec, inputs, labels))
        if args.cut_weight > 0 and not held_out(rec["url"]):
            # the page cut inside its article: its last lines are not always its footer
            for at in cut_points(rec["text"], inputs.line_numbers, labels, rec["eval_id"]):
                cut = page_inputs(rec["text"][:at])
                cut_labels = line_labels(cut.lines, ext.get(rec["eval_id"], ""))
                if args.chunk_labels:
                    cut_labels = chunk_labels(cut.lines, rec, cut_labels)
                extra.append((rec, cut, cut_labels))
    train = [p for p in pages if not held_out(p[0]["url"])]
    test = [p for p in pages if held_out(p[0]["url"])]
    print(
        f"pages: {len(train)} train, {len(test)} held out; "
        f"lines: {sum(len(p[2]) for p in train)} train"
    )
    settings = TreeSettings(args.trees, args.depth, args.min_leaf, args.learning_rate)

    def fit_stage(x, y, w, seed):
        if args.kind == "trees":
            return Stage.from_json(fit_trees(x, y, w, settings, seed=seed))
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
        return Stage(
            "logistic",
            {"mean": mean, "std": std, "coef": fit_logistic((x - mean) / std, y, w, args.l2)},
        )

    def fit_model(whole, cut=(), cut_weight=0.0):
        stage1 = fit_stage(*stack(whole, cut, cut_weight), seed=0)
        context = LineModel(stage1, None, 0.5).context_of
        stage2 = fit_stage(*stack(whole, cut, cut_weight, context), seed=1)
        return LineModel(stage1, stage2, args.threshold)

    if args.cv:
        cross_validate(
            train, fit_model, args.cv, args.report_thresholds, extra, args.cut_weight, args.cut_gate
        )
        return
    # the model of whole pages, and the one of pages cut inside their article that it hands
    # a page to when that one scores the page's last line as content (LineModel.cut)
    model = fit_model(train)
    if extra:
        model = dataclasses.replace(
            model, cut=fit_model(train, extra, args.cut_weight), cut_gate=args.cut_gate
        )
    if args.write:  # written before the evaluation, which takes a while
        path = ROOT / "corpus" / "clean" / "line_model.json"
        path.write_text(json.dumps(model.to_json()) + "\n", encoding="utf-8")
        print("wrote", path)

    for threshold in args.report_thresholds:
        for name, part in (("train", train), ("held-out", test)):
            c = [0, 0, 0, 0]
            acc = []
            for rec, inputs, labels in part:
                p = model.probabilities(inputs.features)
                keep = p >= threshold
                acc.append(((keep == (labels > 0)).mean()) if len(labels) else 1.0)
                text = "\n".join(line for line, k in zip(inputs.lines, keep, strict=True) if k)
                c = [a + b for a, b in zip(c, chunk_counts(rec, text), strict=True)]
            print(
                f"threshold {threshold:.2f} {name:<9} line acc {np.mean(acc):.3f}  chunks {prf(c)}"
            )


if __name__ == "__main__":
    main()
