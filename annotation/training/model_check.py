"""Before `push --model`: does the trained model do better than the rule pre-annotator?

`contraband train` stores the model and the rules side by side on the same split in
scores.json beside model-best (annotation.training.train.compare_with_rules).
`model_vs_rules_warning` reads that comparison and says, in one message, where the model scores
below the rules, so an engineer does not replace good pre-annotations with worse ones unknowingly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCORES_FILE = "scores.json"
KINDS = ("spans", "relations")


def find_scores(model_path: Path) -> Path | None:
    """scores.json of a trained model: beside model-best (train's out dir) or inside it."""
    for candidate in (Path(model_path).parent / SCORES_FILE, Path(model_path) / SCORES_FILE):
        if candidate.is_file():
            return candidate
    return None


def model_vs_rules_warning(model_path: Path) -> str | None:
    """A warning when the model scores below the rules (overall F1 of spans or relations) on
    the comparison stored by `contraband train`, or when there is no comparison; None when the
    model is at least as good on both."""
    path = find_scores(model_path)
    if path is None:
        return (
            f"{model_path}: no scores.json beside the model, so nothing shows it beats the rule "
            "pre-annotator; train it with `contraband train`, which compares both on the test split"
        )
    try:
        comparison = json.loads(path.read_text(encoding="utf-8")).get("comparison")
    except (json.JSONDecodeError, AttributeError) as exc:
        return (
            f"{path}: unreadable ({exc}); retrain with `contraband train` to compare with the rules"
        )
    if not isinstance(comparison, dict):
        return (
            f"{path}: holds no model-vs-rules comparison (trained by an older version); "
            "retrain with `contraband train` to get one"
        )
    worse = _worse_kinds(comparison)
    if not worse:
        return None
    return (
        f"the model scores below the rule pre-annotator on the {comparison.get('split')} split "
        f"({comparison.get('documents')} Docs): "
        + "; ".join(worse)
        + f" (per label: {path}). Annotators will see worse pre-annotations than the rules "
        "give; push without --model to keep the rules."
    )


def _worse_kinds(comparison: dict[str, Any]) -> list[str]:
    out = []
    for kind in KINDS:
        model = comparison.get("model", {}).get(kind, {})
        rules = comparison.get("rules", {}).get(kind, {})
        if not model or not rules:
            continue
        if float(model.get("f", 0.0)) < float(rules.get("f", 0.0)):
            out.append(f"{kind} F1 {float(model['f']):.3f} < rules {float(rules['f']):.3f}")
    return out
