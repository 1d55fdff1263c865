"""Pipelines and the pre-annotator: the rule pipeline, a trained one, `Preannotator` turning texts
into prediction `Annotation`s, and `preannotate_documents` (JSONL for inspection)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from annotation.model_version import model_version_of
from annotation.preannotate import seizures  # noqa: F401  (registers contraband_seizures)
from annotation.preannotate.relations import doc_spans
from annotation.preannotate.rules import (
    RELATIONS_ATTR,
    SPANS_KEY,
    default_rule_config_dir,
    read_rule_config,
)
from annotation.records import SOURCE_PREDICTION, Annotation, Relation, Span
from annotation.schema import Schema
from corpus.errors import ConfigError
from corpus.records import STATUS_KEPT, Document

# -- pipelines ------------------------------------------------------------------


def build_rule_pipeline(*, schema: Schema, config_dir: Path | None = None) -> Language:
    """spacy.blank("en") + sentencizer + SpanRuler (gazetteers) + seizures + relation rules."""
    config_dir = Path(config_dir) if config_dir else default_rule_config_dir()
    nlp = spacy.blank("en")
    config = read_rule_config(config_dir, schema=schema, nlp=nlp)
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe(
        "span_ruler", config={"spans_key": SPANS_KEY, "overwrite": True, "validate": True}
    )
    ruler.add_patterns(config.patterns)
    nlp.add_pipe(
        "contraband_seizures",
        config={
            "seizure": config.seizure,
            "nesting": config.nesting,
            "structure": config.structure,
        },
    )
    nlp.add_pipe("contraband_relations", config={"rules": config.relations})
    nlp.meta["contraband_version"] = f"rules-{config.fingerprint[:8]}"
    nlp.meta["contraband_rule_score"] = config.rule_score
    return nlp


def load_trained_pipeline(
    path: Path, *, schema: Schema, config_dir: Path | None = None
) -> Language:
    """A trained spaCy pipeline (ner and/or spancat on "sc") + the rule relation component,
    unless the pipeline has its own learned one (annotation.training.relation_model)."""
    if (
        not path.is_dir()
        or not (path / "config.cfg").is_file()
        or not (path / "meta.json").is_file()
    ):
        raise ConfigError(
            f"{path}: not a spaCy pipeline directory (it needs config.cfg and meta.json, as "
            "written by `contraband train` / nlp.to_disk). Pass the model-best or model-last "
            "directory, or omit --model "
            "to use the rule pre-annotator."
        )
    from annotation.training import relation_model  # registers the learned relation component

    nlp = spacy.load(path)
    problems = []
    for name in ("ner", "spancat"):
        if name in nlp.pipe_names:
            for label in nlp.get_pipe(name).labels:
                problem = schema.label_problem(label)
                if problem:
                    problems.append(f"component {name}: {problem}")
    if problems:
        raise ConfigError(
            f"{path}: the model predicts labels outside the schema: "
            + "; ".join(problems)
            + ". Retrain it from a release of the current schema."
        )
    if not any(n in nlp.pipe_names for n in ("sentencizer", "parser", "senter")):
        nlp.add_pipe("sentencizer", first=True)
    if relation_model.RELATION_MODEL not in nlp.pipe_names:  # else relations are learned
        config = read_rule_config(
            Path(config_dir) if config_dir else default_rule_config_dir(), schema=schema, nlp=nlp
        )
        nlp.add_pipe("contraband_relations", config={"rules": config.relations})
    nlp.meta["contraband_version"] = model_version_of(path)  # name + content hash
    return nlp


class Preannotator:
    """Turns texts into prediction `Annotation`s with a fixed `model_version`."""

    def __init__(
        self, nlp: Language, *, model_version: str, default_score: float = 0.5, batch_size: int = 32
    ) -> None:
        self.nlp = nlp
        self.model_version = model_version
        self.default_score = default_score
        self.batch_size = batch_size

    def predict(
        self, texts: Sequence[str], *, offsets: Sequence[int] | None = None
    ) -> list[Annotation]:
        """One Annotation per text; span offsets are local + offsets[i] (document offsets)."""
        if offsets is not None and len(offsets) != len(texts):
            raise ValueError(
                f"predict: got {len(texts)} texts but {len(offsets)} offsets; "
                "pass one offset per text"
            )
        out = []
        for i, doc in enumerate(self.nlp.pipe(texts, batch_size=self.batch_size)):
            out.append(
                doc_to_annotation(
                    doc,
                    annotator=self.model_version,
                    offset=offsets[i] if offsets else 0,
                    default_score=self.default_score,
                )
            )
        return out


def doc_to_annotation(
    doc: Doc, *, annotator: str, offset: int = 0, default_score: float = 0.5
) -> Annotation:
    """Convert a processed Doc (spans + Doc._.contraband_relations) to a prediction Annotation."""
    spans = doc_spans(doc)
    ann_spans = tuple(
        Span(
            id=f"p{i}",
            start=s.start_char + offset,
            end=s.end_char + offset,
            label=s.label_,
            text=s.text,
        )
        for i, s in enumerate(spans)
    )
    relations = tuple(
        Relation(head=f"p{h}", tail=f"p{t}", label=label)
        for h, t, label in doc._.get(RELATIONS_ATTR) or []
    )
    scores = []
    if SPANS_KEY in doc.spans and doc.spans[SPANS_KEY].attrs.get("scores") is not None:
        scores = [float(x) for x in doc.spans[SPANS_KEY].attrs["scores"]]
    score = sum(scores) / len(scores) if scores else default_score
    return Annotation(
        annotator=annotator,
        spans=ann_spans,
        relations=relations,
        source=SOURCE_PREDICTION,
        score=score,
    )


def load_preannotator(
    model: str | Path | None = None, *, schema: Schema, config_dir: Path | None = None
) -> Preannotator:
    """None: the rule pipeline from configs/; a path: a trained spaCy pipeline + rule relations."""
    if model is None:
        nlp = build_rule_pipeline(schema=schema, config_dir=config_dir)
        return Preannotator(
            nlp,
            model_version=nlp.meta["contraband_version"],
            default_score=nlp.meta["contraband_rule_score"],
        )
    nlp = load_trained_pipeline(Path(model), schema=schema, config_dir=config_dir)
    return Preannotator(nlp, model_version=nlp.meta["contraband_version"], default_score=1.0)


def annotation_to_line(doc: Document, annotation: Annotation) -> dict[str, Any]:
    """The inspection JSONL record of one document (relations by span index)."""
    index = {s.id: i for i, s in enumerate(annotation.spans)}
    return {
        "id": doc.id,
        "text": doc.clean_text,
        "model_version": annotation.annotator,
        "spans": [
            {"start": s.start, "end": s.end, "label": s.label, "text": s.text}
            for s in annotation.spans
        ],
        "relations": [
            {"head": index[r.head], "tail": index[r.tail], "label": r.label}
            for r in annotation.relations
        ],
    }


def preannotate_documents(
    docs: Sequence[Document], *, out: Path, model: str | Path | None = None, schema: Schema
) -> int:
    """Pre-annotate the kept documents, one JSONL line per document in `out`; returns the count."""
    kept = [d for d in docs if d.status == STATUS_KEPT]
    preannotator = load_preannotator(model, schema=schema)
    annotations = preannotator.predict([d.clean_text for d in kept])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for doc, ann in zip(kept, annotations, strict=False):
            fh.write(json.dumps(annotation_to_line(doc, ann), ensure_ascii=False) + "\n")
    return len(kept)
