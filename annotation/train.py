"""Train a spaCy pipeline on an export (annotation.spacy_export) and score it per label.

`train_model` runs spaCy's own training loop in-process (spacy.cli.train.train) with
paths.train / paths.dev pointing at the export, then evaluates out_dir/model-best on dev.spacy
(and test.spacy when it holds documents) and writes out_dir/scores.json. model-best is a normal
spaCy pipeline directory (ner and/or spancat with spans_key "sc"): what
`annotation.preannotate.load_preannotator(path)` and `contraband push/preannotate --model` load.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from spacy.cli.train import train as spacy_train
from spacy.tokens import DocBin
from spacy.training import Corpus

from corpus.errors import ConfigError, InputError

MODEL_DIR = "model-best"
SCORES_FILE = "scores.json"
# nlp.evaluate() keys kept in scores.json: overall and per-label P/R/F of ner and spancat.
SCORE_PREFIXES = ("ents_", "spans_")


@dataclass(frozen=True)
class TrainResult:
    """Where the trained pipeline is and how it scored ({"dev": {...}, "test": {...}})."""

    model_path: Path
    scores: dict[str, dict[str, Any]]

    def summary_line(self) -> str:
        parts = []
        for split, s in self.scores.items():
            for name, key in (("NER", "ents_f"), ("spancat", "spans_sc_f")):
                if s.get(key) is not None:
                    parts.append(f"{split} {name} F {s[key]:.3f}")
        return (
            f"trained {self.model_path}: "
            + (", ".join(parts) or "no scores")
            + f"; per-label scores in {self.model_path.parent / SCORES_FILE}"
        )


def evaluate_model(model_path: Path, data_path: Path) -> dict[str, Any]:
    """Overall and per-label precision/recall/F of a pipeline on a .spacy file."""
    nlp = spacy.load(model_path)
    examples = list(Corpus(str(data_path))(nlp))
    scores = nlp.evaluate(examples)
    kept = {k: v for k, v in scores.items() if k.startswith(SCORE_PREFIXES)}
    kept["documents"] = len(examples)
    return kept


def train_model(
    export_dir: Path,
    *,
    config: Path,
    out_dir: Path,
    overrides: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train with `config` on export_dir/train.spacy (dev: dev.spacy), evaluate, write scores.json.

    overrides are spaCy config overrides ("training.max_steps": 50, ...); paths.train and
    paths.dev are set from export_dir unless given. Returns the model-best path and its scores.
    """
    export_dir, config, out_dir = Path(export_dir), Path(config), Path(out_dir)
    if not config.is_file():
        raise ConfigError(
            f"{config}: spaCy config not found; use configs/spacy/ner.cfg or spancat.cfg"
        )
    for name in ("train.spacy", "dev.spacy"):
        if not (export_dir / name).is_file():
            raise InputError(
                f"{export_dir / name}: missing; run `contraband export spacy` on a release first"
            )
    settings: dict[str, Any] = {
        "paths.train": str(export_dir / "train.spacy"),
        "paths.dev": str(export_dir / "dev.spacy"),
        **(overrides or {}),
    }
    spacy_train(config, out_dir, use_gpu=-1, overrides=settings)
    model_path = out_dir / MODEL_DIR
    scores = {"dev": evaluate_model(model_path, export_dir / "dev.spacy")}
    test = export_dir / "test.spacy"
    if test.is_file() and len(DocBin().from_disk(test)):
        scores["test"] = evaluate_model(model_path, test)
    (out_dir / SCORES_FILE).write_text(
        json.dumps({"model": str(model_path), "config": str(config), **scores}, indent=2) + "\n",
        encoding="utf-8",
    )
    return TrainResult(model_path=model_path, scores=scores)
