"""Train a spaCy pipeline on an export (annotation.training.export), score it per label against
the rule pre-annotator, and store both.

`train_model` runs spaCy's own training loop in-process (spacy.cli.train.train) with
paths.train / paths.dev pointing at the export; when the export holds relations it then fits
the relation model (annotation.training.relation_model, settings in configs/spacy/relations.cfg) on
the training Docs and adds it, after a sentencizer, to out_dir/model-best. `train_relations` fits
the relation model alone onto a copy of an already trained pipeline (`--config relations`).

Both evaluate model-best on dev.spacy (and test.spacy when it holds documents) and write
out_dir/scores.json:

- "dev" / "test": spaCy's scores (ents_*, spans_sc_*, rel_*), each per-label entry with
  its "support" (gold count);
- "comparison": the model and the rule pre-annotator (annotation.preannotate) run on the
  same split's texts (test, else dev), spans and relations scored by exact match against
  every gold span (nested ones included) and relation, per label with support
  (`compare_with_rules`). `annotation.training.model_check` reads it before `push --model`.

model-best is a normal spaCy pipeline directory: what `annotation.preannotate.load_preannotator`
and `contraband push/preannotate --model` load.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import spacy
from spacy.cli.train import train as spacy_train
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Corpus

from corpus.errors import ConfigError, InputError
from corpus.settings import default_config_path

from ..preannotate import RELATIONS_ATTR, doc_spans, load_preannotator
from ..schema import Schema, load_schema
from .relation_model import (
    RELATION_MODEL,
    RelationModel,
    RelationSettings,
    add_sentences,
    prf,
    read_relation_settings,
    schema_relation_rules,
    score_relations,
)

MODEL_DIR = "model-best"
SCORES_FILE = "scores.json"
RELATIONS_CONFIG = "spacy/relations.cfg"  # under configs/ (or CONTRABAND_CONFIG_DIR)
# nlp.evaluate() keys kept in scores.json: overall and per-label P/R/F of ner, spancat, relations
SCORE_PREFIXES = ("ents_", "spans_", "rel_")
SPANS_KEY = "sc"


@dataclass(frozen=True)
class TrainResult:
    """Where the trained pipeline is and how it scored ({"dev": {...}, "test": {...}}), and the
    model-vs-rules comparison (see the module docstring)."""

    model_path: Path
    scores: dict[str, dict[str, Any]]
    comparison: dict[str, Any] | None = None

    def summary_line(self) -> str:
        parts = []
        for split, s in self.scores.items():
            for name, key in (("NER", "ents_f"), ("spancat", "spans_sc_f"), ("relations", "rel_f")):
                if s.get(key) is not None:
                    parts.append(f"{split} {name} F {s[key]:.3f}")
        verdict = ""
        if self.comparison:
            c = self.comparison
            verdict = (
                f"; on {c['split']}: model spans F {c['model']['spans']['f']:.3f} vs rules "
                f"{c['rules']['spans']['f']:.3f}, relations F {c['model']['relations']['f']:.3f}"
                f" vs rules {c['rules']['relations']['f']:.3f}"
            )
        return (
            f"trained {self.model_path}: "
            + (", ".join(parts) or "no scores")
            + verdict
            + f"; per-label scores in {self.model_path.parent / SCORES_FILE}"
        )


# -- scores --------------------------------------------------------------------------------


def _gold_support(docs: Iterable[Doc]) -> dict[str, Counter[str]]:
    support: dict[str, Counter[str]] = {"ents": Counter(), "spans": Counter(), "rel": Counter()}
    for doc in docs:
        support["ents"].update(e.label_ for e in doc.ents)
        if SPANS_KEY in doc.spans:
            support["spans"].update(s.label_ for s in doc.spans[SPANS_KEY])
        support["rel"].update(str(r[4]) for r in doc.user_data.get("relations") or [])
    return support


def add_support(scores: dict[str, Any], gold: Sequence[Doc]) -> dict[str, Any]:
    """Give every per-label entry of spaCy's scores its support (gold count); labels with gold
    items but no entry (never predicted nor scored) are added with zeros."""
    support = _gold_support(gold)
    for key, kind in (("ents_per_type", "ents"), (f"spans_{SPANS_KEY}_per_type", "spans")):
        if key not in scores or scores[key] is None:
            continue
        table = dict(scores[key])
        for label in support[kind]:
            table.setdefault(label, {"p": 0.0, "r": 0.0, "f": 0.0})
        scores[key] = {
            label: {**row, "support": support[kind].get(label, 0)}
            for label, row in sorted(table.items())
        }
    return scores


def evaluate_model(model_path: Path, data_path: Path) -> dict[str, Any]:
    """Overall and per-label precision/recall/F (with support) of a pipeline on a .spacy file."""
    nlp = load_pipeline(model_path)
    examples = list(Corpus(str(data_path))(nlp))
    scores = nlp.evaluate(examples)
    kept = {k: v for k, v in scores.items() if k.startswith(SCORE_PREFIXES)}
    kept = add_support(kept, [e.reference for e in examples])
    kept["documents"] = len(examples)
    return kept


def load_pipeline(model_path: Path) -> Language:
    """spacy.load with the relation model's factory registered."""
    return spacy.load(model_path)


def _span_keys(doc: Doc) -> set[tuple[int, int, str]]:
    return {(s.start_char, s.end_char, s.label_) for s in doc_spans(doc)}


def _predicted_relations(doc: Doc) -> list[tuple[int, int, int, int, str]]:
    spans = doc_spans(doc)
    return [
        (spans[h].start_char, spans[h].end_char, spans[t].start_char, spans[t].end_char, label)
        for h, t, label in doc._.get(RELATIONS_ATTR) or []
    ]


def score_system(nlp: Language, gold: Sequence[Doc]) -> dict[str, Any]:
    """Spans and relations of `nlp` on the gold Docs' texts, exact match, per label with support.

    Gold spans are every span of doc.spans["sc"] (nested ones too), so a NER model that cannot
    nest is scored on what annotators label, not only on what it can represent.
    """
    predicted = list(nlp.pipe([d.text for d in gold]))
    counts: dict[str, Counter[str]] = {}
    for pred, ref in zip(predicted, gold, strict=True):
        ps, gs = _span_keys(pred), _span_keys(ref)
        for key in ps | gs:
            c = counts.setdefault(key[2], Counter())
            c["tp" if key in ps and key in gs else "fp" if key in ps else "fn"] += 1
    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    relations = score_relations(
        (_predicted_relations(p), list(g.user_data.get("relations") or []))
        for p, g in zip(predicted, gold, strict=True)
    )
    return {
        "spans": {
            **prf(total["tp"], total["fp"], total["fn"]),
            "per_label": {
                label: prf(c["tp"], c["fp"], c["fn"]) for label, c in sorted(counts.items())
            },
        },
        "relations": {
            "p": relations["rel_p"],
            "r": relations["rel_r"],
            "f": relations["rel_f"],
            "support": relations["rel_support"],
            "per_label": relations["rel_per_type"],
        },
    }


def compare_with_rules(
    model_path: Path,
    data_path: Path,
    *,
    schema: Schema,
    split: str,
    config_dir: Path | None = None,
) -> dict[str, Any]:
    """The trained model (as `push --model` loads it) and the rule pre-annotator on one split."""
    vocab = spacy.blank("en").vocab
    gold = list(DocBin().from_disk(data_path).get_docs(vocab))
    model = load_preannotator(model_path, schema=schema, config_dir=config_dir)
    rules = load_preannotator(None, schema=schema, config_dir=config_dir)
    return {
        "split": split,
        "documents": len(gold),
        "model_version": model.model_version,
        "rules_version": rules.model_version,
        "model": score_system(model.nlp, gold),
        "rules": score_system(rules.nlp, gold),
    }


def comparison_table(comparison: Mapping[str, Any]) -> str:
    """Model and rules side by side, one line per label (spans, then relations), with support."""
    lines = [
        f"model vs rules on {comparison['split']} ({comparison['documents']} Docs): "
        f"{comparison['model_version']} vs {comparison['rules_version']}",
        f"{'label':<16}{'support':>8}  {'model P':>7} {'R':>5} {'F':>5}  {'rules P':>7} {'R':>5} {'F':>5}",
    ]
    for kind in ("spans", "relations"):
        model, rules = comparison["model"][kind], comparison["rules"][kind]
        labels = sorted(set(model["per_label"]) | set(rules["per_label"]))
        empty = prf(0, 0, 0)
        rows = [
            (label, model["per_label"].get(label, empty), rules["per_label"].get(label, empty))
            for label in labels
        ]
        rows.append((f"all {kind}", model, rules))
        for label, m, r in rows:
            support = max(m["support"], r["support"])
            lines.append(
                f"{label:<16}{support:>8}  {m['p']:>7.3f} {m['r']:>5.3f} {m['f']:>5.3f}  "
                f"{r['p']:>7.3f} {r['r']:>5.3f} {r['f']:>5.3f}"
            )
    return "\n".join(lines)


# -- training ------------------------------------------------------------------------------


def _read_docs(path: Path) -> list[Doc]:
    return list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))


def _has_relations(path: Path) -> bool:
    return any(doc.user_data.get("relations") for doc in _read_docs(path))


def add_relation_model(
    model_path: Path, train_docs: Sequence[Doc], *, schema: Schema, settings: RelationSettings
) -> dict[str, int]:
    """Fit the relation model on `train_docs` and add it (after a sentencizer) to the pipeline
    at model_path, rewritten in place. Returns the training pairs per class."""
    nlp = load_pipeline(model_path)
    if not any(n in nlp.pipe_names for n in ("sentencizer", "senter", "parser")):
        nlp.add_pipe("sentencizer")
    if RELATION_MODEL in nlp.pipe_names:
        nlp.remove_pipe(RELATION_MODEL)
    component = nlp.add_pipe(
        RELATION_MODEL,
        config={"relations": schema_relation_rules(schema), "settings": asdict(settings)},
    )
    if not isinstance(component, RelationModel):  # the factory makes one: this is a bug
        raise TypeError(f"{RELATION_MODEL} made a {type(component).__name__}")
    counts = component.fit(add_sentences(train_docs))
    nlp.to_disk(model_path)
    return counts


def default_relations_config() -> Path:
    """configs/spacy/relations.cfg (or its CONTRABAND_CONFIG_DIR override)."""
    return default_config_path(RELATIONS_CONFIG)


def _check_export(export_dir: Path) -> None:
    for name in ("train.spacy", "dev.spacy"):
        if not (export_dir / name).is_file():
            raise InputError(
                f"{export_dir / name}: missing; run `contraband export spacy` on a release first"
            )


def _score_and_write(
    export_dir: Path,
    model_path: Path,
    out_dir: Path,
    *,
    config: Path,
    schema: Schema,
    training: Mapping[str, Any],
) -> TrainResult:
    scores = {"dev": evaluate_model(model_path, export_dir / "dev.spacy")}
    test = export_dir / "test.spacy"
    has_test = test.is_file() and len(DocBin().from_disk(test)) > 0
    if has_test:
        scores["test"] = evaluate_model(model_path, test)
    split, data = ("test", test) if has_test else ("dev", export_dir / "dev.spacy")
    comparison = compare_with_rules(model_path, data, schema=schema, split=split)
    (out_dir / SCORES_FILE).write_text(
        json.dumps(
            {
                "model": str(model_path),
                "config": str(config),
                "training": dict(training),
                **scores,
                "comparison": comparison,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return TrainResult(model_path=model_path, scores=scores, comparison=comparison)


def train_model(
    export_dir: Path,
    *,
    config: Path,
    out_dir: Path,
    overrides: Mapping[str, Any] | None = None,
    relations: bool = True,
    relations_config: Path | None = None,
    schema: Schema | None = None,
) -> TrainResult:
    """Train with `config` on export_dir/train.spacy (dev: dev.spacy), add the relation model
    (unless relations=False or the export has no relation; settings from relations_config,
    default configs/spacy/relations.cfg), evaluate, compare with the rules, write scores.json.

    overrides are spaCy config overrides ("training.max_steps": 50, ...); paths.train and
    paths.dev are set from export_dir unless given.
    """
    export_dir, config, out_dir = Path(export_dir), Path(config), Path(out_dir)
    schema = schema or load_schema()
    if not config.is_file():
        raise ConfigError(
            f"{config}: spaCy config not found; use configs/spacy/ner.cfg or spancat.cfg"
        )
    _check_export(export_dir)
    if relations and relations_config is None:
        relations_config = default_relations_config()
    settings = read_relation_settings(relations_config) if relations_config and relations else None
    spacy_settings: dict[str, Any] = {
        "paths.train": str(export_dir / "train.spacy"),
        "paths.dev": str(export_dir / "dev.spacy"),
        **(overrides or {}),
    }
    spacy_train(config, out_dir, use_gpu=-1, overrides=spacy_settings)
    model_path = out_dir / MODEL_DIR
    training: dict[str, Any] = {"relation_pairs": None}
    if settings is not None and _has_relations(export_dir / "train.spacy"):
        training["relation_pairs"] = add_relation_model(
            model_path, _read_docs(export_dir / "train.spacy"), schema=schema, settings=settings
        )
        training["relations_config"] = str(relations_config)
    return _score_and_write(
        export_dir, model_path, out_dir, config=config, schema=schema, training=training
    )


def is_relation_config(path: Path) -> bool:
    """True for a relation model config (a [relations] section and no spaCy [nlp] section)."""
    sections = {
        line.strip()
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.startswith("[")
    }
    return "[relations]" in sections and "[nlp]" not in sections


def train_relations(
    export_dir: Path,
    *,
    base: Path,
    out_dir: Path,
    config: Path | None = None,
    schema: Schema | None = None,
) -> TrainResult:
    """Fit the relation model alone on export_dir/train.spacy and add it to a copy of the
    trained pipeline `base` (its ner/spancat find the spans) in out_dir/model-best."""
    export_dir, base, out_dir = Path(export_dir), Path(base), Path(out_dir)
    config = Path(config) if config else default_relations_config()
    schema = schema or load_schema()
    _check_export(export_dir)
    if not (base / "config.cfg").is_file():
        raise InputError(
            f"{base}: not a trained spaCy pipeline (no config.cfg); --config relations adds the "
            "relation model to one: pass --base models/ner/model-best (train it first)"
        )
    settings = read_relation_settings(config)
    if not _has_relations(export_dir / "train.spacy"):
        raise InputError(
            f"{export_dir / 'train.spacy'}: holds no relation; annotate relations and export a "
            "new release first"
        )
    model_path = out_dir / MODEL_DIR
    if model_path.exists():
        shutil.rmtree(model_path)
    shutil.copytree(base, model_path)
    counts = add_relation_model(
        model_path, _read_docs(export_dir / "train.spacy"), schema=schema, settings=settings
    )
    training = {"base": str(base), "relation_pairs": counts, "relations_config": str(config)}
    return _score_and_write(
        export_dir, model_path, out_dir, config=config, schema=schema, training=training
    )
