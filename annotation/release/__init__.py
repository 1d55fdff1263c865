"""Release room: versioned, immutable Hugging Face dataset releases built from adjudicated tasks.

A release is a directory `releases/vX.Y.Z/` that `datasets.load_dataset(path)` loads:

    data/default/{train,validation,test}.parquet      one row per document (adjudicated spans)
    data/annotations/{train,validation,test}.parquet  one row per (document, annotator pseudonym)
    data/events/{train,validation,test}.parquet       one row per seizure, in its document's split
    events.csv, agreement.json, plots/*.png
    README.md        dataset card: YAML configs + features (generated from the schema), counts,
                     agreement, adjudication, plots, changelog
    manifest.json    version, schema, source export sha256, counts, parent, sha256 of every file

Splits are grouped: documents sharing a duplicate cluster id or an identical text always land
in the same split, so no near-duplicate of a test document sits in train (`check_leakage`
proves it on the written files). When a parent release is named, documents it already released
keep their split, so a document never moves from test to train between versions.

Read the modules in the order a release is made:

    layout    names of the directory (splits, configs, manifest, card) and what is never published
    rows      `features` and `documents_from_tasks`: one row per document / per annotator (pure)
    splits    `group_documents`, `assign_splits` (pure)
    versions  `list_versions`, `latest_version`, `next_version`
    card      `render_card` and the Hub metadata of the dataset card (pure)
    plots     the PNG figures of the card
    build     `build_release`: the named steps that write the directory (I/O edge)
    inspect   read it back and check it: `read_manifest`, `read_documents`, `load_release`,
              `verify_release`, `check_leakage`, `scan_release_for_identities`
    diff      `diff_releases`: what changed between two versions
    hub       `hub_publish_plan`, `push_to_hub`

Every public name is re-exported here, so `from annotation.release import X` works for all.
"""

from __future__ import annotations

from .build import ReleasedEvents, build_release, remove_interrupted_builds
from .card import (
    AGREEMENT_MEASURES,
    AGREEMENT_TABLES,
    ANNOTATIONS_CREATORS,
    CARD_TAGS,
    LANGUAGE_CREATORS,
    LICENSE_FILE,
    LICENSE_NAME,
    LICENSE_TEXT,
    SIZE_CATEGORIES,
    SOURCE_DATASETS,
    TASK_CATEGORIES,
    TASK_IDS,
    agreement_to_markdown,
    card_metadata,
    markdown_code_block,
    markdown_text,
    render_card,
    size_category,
)
from .diff import (
    ConfigDiff,
    DocumentChange,
    ReleaseDiff,
    diff_annotations,
    diff_events,
    diff_releases,
)
from .hub import hub_publish_plan, push_to_hub
from .inspect import (
    check_leakage,
    checked_release_dir,
    load_release,
    read_documents,
    read_manifest,
    scan_release_for_identities,
    verify_release,
)
from .layout import (
    CARD,
    CONFIG_ANNOTATIONS,
    CONFIG_DEFAULT,
    CONFIG_EVENTS,
    DOCUMENT_META,
    EVENT_DOC_COLUMNS,
    HUB_EXCLUDE,
    LICENSE,
    MANIFEST,
    PSEUDONYM,
    SEMVER,
    SPLITS,
    file_sha256,
    hub_excluded,
)
from .rows import (
    DocumentRows,
    annotation_features,
    documents_from_tasks,
    features,
    same_source_problems,
)
from .splits import assign_splits, group_documents, text_key
from .versions import latest_version, list_versions, next_version, normalise_version

__all__ = [
    "remove_interrupted_builds",
    "same_source_problems",
    "ReleasedEvents",
    "SIZE_CATEGORIES",
    "checked_release_dir",
    "file_sha256",
    "hub_excluded",
    "normalise_version",
    "text_key",
    "AGREEMENT_MEASURES",
    "AGREEMENT_TABLES",
    "ANNOTATIONS_CREATORS",
    "CARD",
    "CARD_TAGS",
    "CONFIG_ANNOTATIONS",
    "CONFIG_DEFAULT",
    "CONFIG_EVENTS",
    "ConfigDiff",
    "DOCUMENT_META",
    "DocumentChange",
    "DocumentRows",
    "EVENT_DOC_COLUMNS",
    "HUB_EXCLUDE",
    "LANGUAGE_CREATORS",
    "LICENSE",
    "LICENSE_FILE",
    "LICENSE_NAME",
    "LICENSE_TEXT",
    "MANIFEST",
    "PSEUDONYM",
    "ReleaseDiff",
    "SEMVER",
    "SOURCE_DATASETS",
    "SPLITS",
    "TASK_CATEGORIES",
    "TASK_IDS",
    "agreement_to_markdown",
    "annotation_features",
    "assign_splits",
    "build_release",
    "card_metadata",
    "check_leakage",
    "diff_annotations",
    "diff_events",
    "diff_releases",
    "documents_from_tasks",
    "features",
    "group_documents",
    "hub_publish_plan",
    "latest_version",
    "list_versions",
    "load_release",
    "markdown_code_block",
    "markdown_text",
    "next_version",
    "push_to_hub",
    "read_documents",
    "read_manifest",
    "render_card",
    "scan_release_for_identities",
    "size_category",
    "verify_release",
]
