"""The dataset card (README.md of a release): Hub metadata, configs and features generated from
the schema, counts, agreement, plots and changelog (pure)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData

from ..schema import Schema
from .layout import CONFIG_ANNOTATIONS, CONFIG_DEFAULT, CONFIG_EVENTS, LICENSE, SPLITS
from .rows import annotation_features, features

ANNOTATIONS_CREATORS = ["expert-generated"]
LANGUAGE_CREATORS = ["found"]
SOURCE_DATASETS = ["original"]
TASK_CATEGORIES = ["token-classification"]
TASK_IDS = ["named-entity-recognition"]
CARD_TAGS = ["relation-extraction", "trafficking", "seizures", "label-studio"]
LICENSE_NAME = "news-excerpts-research-use"
LICENSE_FILE = "LICENSE.md"
LICENSE_TEXT = """\
# Licence

The texts in this dataset are excerpts of published news pages and press releases; their
copyright stays with the publishers. They are shared for research on trafficking and
enforcement only. The annotations (spans, relations, events, agreement figures) may be used
for any purpose with attribution to the contraband-corpus project.
"""
# The Hub's size buckets, upper bound (exclusive) -> name.
SIZE_CATEGORIES: tuple[tuple[float, str], ...] = (
    (1e3, "n<1K"),
    (1e4, "1K<n<10K"),
    (1e5, "10K<n<100K"),
    (1e6, "100K<n<1M"),
    (1e7, "1M<n<10M"),
    (1e8, "10M<n<100M"),
    (1e9, "100M<n<1B"),
    (1e10, "1B<n<10B"),
    (1e11, "10B<n<100B"),
    (1e12, "100B<n<1T"),
    (float("inf"), "n>1T"),
)
_MARKDOWN_SPECIALS = re.compile(r"([\\`*\[\]|])")

# What each agreement figure is, for the card (unknown keys are shown as code).
AGREEMENT_MEASURES = {
    "documents": "documents labelled by two or more annotators",
    "tasks": "tasks labelled by two or more annotators",
    "pairs": "annotator pairs compared (per task)",
    "tokens": "tokens in the alpha table",
    "exact_f1": "span F1, exact match",
    "overlap_f1": "span F1, overlapping match",
    "relation_f1": "relation F1",
    "relation_f1_given_spans": "relation F1 given matched spans",
    "alpha": "Krippendorff's alpha (nominal, tokens)",
    "kappa": "Cohen's kappa (tokens, two annotators)",
}
AGREEMENT_TABLES = {
    "labels": "Per entity label (spans counted over every annotator of the compared tasks):",
    "per_annotator": "Per annotator, against each other annotator on the tasks they share:",
}


def size_category(n: int) -> str:
    """The Hub's `size_categories` value for a dataset of `n` examples (any n)."""
    return next(name for bound, name in SIZE_CATEGORIES if n < bound)


def markdown_text(value: Any) -> str:
    """A user-controlled string as inert Markdown: HTML escaped, Markdown syntax backslashed,
    on one line (for headings and table cells)."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def markdown_code_block(text: str, *, language: str = "text") -> str:
    """`text` verbatim in a fenced code block whose fence no backtick run inside can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return "" if v is None else markdown_text(v)

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def agreement_to_markdown(agreement: Mapping[str, Any]) -> str:
    """Agreement figures (AgreementReport.to_dict()) as tables, each with a sentence saying what
    it holds; fields this code does not know are shown under their name, never as raw JSON."""
    if not agreement.get("documents"):
        return (
            "No document was annotated by two or more annotators in this release, so there are "
            "no agreement figures; assign overlapping annotators in Label Studio to measure them."
        )
    measures, blocks = [], []
    for key, value in agreement.items():
        if isinstance(value, bool | int | float | str) or value is None:
            measures.append((AGREEMENT_MEASURES.get(key, key), value))
        elif _is_list_of_scalars(value):
            blocks.append(
                f"{_agreement_sentence(key)} "
                + ", ".join(f"`{markdown_text(v)}`" for v in value)
                + "."
            )
        elif isinstance(value, Mapping) and all(isinstance(v, Mapping) for v in value.values()):
            cols = list(dict.fromkeys(c for v in value.values() for c in v))
            rows = ([k, *(v.get(c) for c in cols)] for k, v in value.items())
            blocks.append(f"{_agreement_sentence(key)}\n\n{_table([key, *cols], rows)}")
        elif isinstance(value, Sequence) and all(isinstance(v, Mapping) for v in value):
            if value:
                cols = list(dict.fromkeys(c for v in value for c in v))
                rows = ([v.get(c) for c in cols] for v in value)
                blocks.append(f"{_agreement_sentence(key)}\n\n{_table(cols, rows)}")
        elif isinstance(value, Mapping):
            blocks.append(
                f"{_agreement_sentence(key)}\n\n{_table(['key', 'value'], value.items())}"
            )
        else:
            blocks.append(f"{_agreement_sentence(key)} `{markdown_text(value)}`")
    intro = (
        f"Agreement between annotators on the {agreement['documents']} documents that two or "
        "more of them labelled (F1 of one annotator's spans against another's, averaged over "
        "pairs; see the project's docs/adjudication.md):"
    )
    return "\n\n".join([intro, _table(["measure", "value"], measures), *blocks])


def _is_list_of_scalars(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(v, bool | int | float | str) for v in value
    )


def _agreement_sentence(key: str) -> str:
    if key == "annotators":
        return "Annotators compared:"
    return AGREEMENT_TABLES.get(key, f"`{markdown_text(key)}`:")


def _data_files(config: str, splits: Sequence[str]) -> list[dict[str, str]]:
    return [{"split": s, "path": f"data/{config}/{s}.parquet"} for s in splits]


def card_metadata(
    *,
    manifest: Mapping[str, Any],
    schema: Schema,
    split_bytes: Mapping[str, int] | None = None,
    event_splits: Sequence[str] = (),
    event_features: datasets.Features | None = None,
) -> DatasetCardData:
    """The card's YAML metadata, built with huggingface_hub's DatasetCardData; `dataset_info`
    (features and split sizes of every config) written by datasets' own DatasetInfosDict."""
    counts = manifest["counts"]
    configs: list[dict[str, Any]] = [
        {
            "config_name": CONFIG_DEFAULT,
            "default": True,
            "data_files": _data_files(CONFIG_DEFAULT, SPLITS),
        },
        {"config_name": CONFIG_ANNOTATIONS, "data_files": _data_files(CONFIG_ANNOTATIONS, SPLITS)},
    ]
    if event_splits:
        configs.append(
            {"config_name": CONFIG_EVENTS, "data_files": _data_files(CONFIG_EVENTS, event_splits)}
        )
    card = DatasetCardData(
        language=["en"],
        license=LICENSE,
        license_name=LICENSE_NAME,
        license_link=LICENSE_FILE,
        annotations_creators=ANNOTATIONS_CREATORS,
        language_creators=LANGUAGE_CREATORS,
        multilinguality=["monolingual"],
        size_categories=[size_category(int(counts["documents"]))],
        source_datasets=SOURCE_DATASETS,
        task_categories=TASK_CATEGORIES,
        task_ids=TASK_IDS,
        pretty_name=f"{schema.name} corpus v{manifest['version']}",
        tags=CARD_TAGS,
        configs=configs,
    )
    _dataset_infos(
        counts=counts,
        schema=schema,
        split_bytes=split_bytes or {},
        event_splits=event_splits,
        event_features=event_features,
    ).to_dataset_card_data(card)
    return card


def _dataset_infos(
    *,
    counts: Mapping[str, Any],
    schema: Schema,
    split_bytes: Mapping[str, int],
    event_splits: Sequence[str],
    event_features: datasets.Features | None,
) -> DatasetInfosDict:
    """Features and split sizes of every config, as datasets describes them."""

    def splits(config: str, names: Sequence[str], examples: Any) -> datasets.SplitDict:
        return datasets.SplitDict(
            {
                name: datasets.SplitInfo(
                    name=name,
                    num_bytes=int(split_bytes.get(f"{config}/{name}", 0)),
                    num_examples=int(examples(name)),
                )
                for name in names
            }
        )

    per_split = counts["splits"]
    infos = {
        CONFIG_DEFAULT: datasets.DatasetInfo(
            features=features(schema),
            splits=splits(CONFIG_DEFAULT, SPLITS, lambda s: per_split[s]["documents"]),
        ),
        CONFIG_ANNOTATIONS: datasets.DatasetInfo(
            features=annotation_features(schema),
            splits=splits(CONFIG_ANNOTATIONS, SPLITS, lambda s: per_split[s]["annotator_rows"]),
        ),
    }
    if event_splits and event_features is not None:
        infos[CONFIG_EVENTS] = datasets.DatasetInfo(
            features=event_features,
            splits=splits(CONFIG_EVENTS, event_splits, lambda s: counts["events"].get(s, 0)),
        )
    return DatasetInfosDict(infos)


def _card_intro(manifest: Mapping[str, Any], schema: Schema) -> list[str]:
    version = manifest["version"]
    return [
        f"# {markdown_text(schema.name)} corpus, v{version}",
        "",
        "News reports of seizures of drugs and wildlife by customs and police, annotated with "
        f"entities and relations of the `{markdown_text(schema.name)}` schema v{schema.version}.",
        "",
        "```python",
        "import datasets",
        f'ds = datasets.load_dataset("releases/v{version}")            # adjudicated documents',
        f'raw = datasets.load_dataset("releases/v{version}", "annotations")  # every annotator',
        "```",
        "",
    ]


def _card_how_made(manifest: Mapping[str, Any], annotators: int | None) -> list[str]:
    if annotators is None:
        who = "labelled in Label Studio"
    elif annotators == 1:
        who = "labelled in Label Studio by one annotator"
    else:
        who = f"labelled in Label Studio by {annotators} annotators"
    parent = manifest.get("parent")
    return [
        "## How it was made",
        "",
        "Pages were scraped, cleaned (offsets kept back to the raw page), deduplicated "
        f"(near-duplicates share a `cluster_id`), pre-annotated and {who}. Where annotators "
        "disagreed one version was chosen per document (`adjudication`: `ground_truth` = a "
        "reviewer's mark, `single`, `agreement` or `majority`); documents still needing review "
        "are left out and listed in `manifest.json`. Annotators appear only as keyed-hash "
        "pseudonyms; no email, name or Label Studio user id is in this release.",
        "",
        f"Splits are deterministic (seed {manifest['seed']}, ratios {manifest['split_ratios']}) "
        "and grouped: documents sharing a duplicate cluster or an identical text are always "
        "in the same split."
        + (f" Documents released in v{parent} keep their split." if parent else ""),
        "",
        "Texts are excerpts of news pages; copyright stays with the publishers (licence `other`, "
        f"see [{LICENSE_FILE}]({LICENSE_FILE}): research use). Span offsets are character offsets "
        "into `text`; relation `head`/`tail` are indices into the row's `spans`.",
        "",
    ]


def _card_labels(schema: Schema) -> list[str]:
    return [
        "## Labels",
        "",
        _table(["label", "description"], ((e.name, e.description) for e in schema.entities)),
        "",
        _table(
            ["relation", "from", "to", "description"],
            ((r.name, "/".join(r.head), "/".join(r.tail), r.description) for r in schema.relations),
        ),
        "",
    ]


def _card_counts(counts: Mapping[str, Any], schema: Schema) -> list[str]:
    splits = counts["splits"]
    return [
        "## Counts",
        "",
        _table(
            ["split", "documents", "spans", "relations", "annotator rows", "events"],
            (
                (
                    s,
                    splits[s]["documents"],
                    splits[s]["spans"],
                    splits[s]["relations"],
                    splits[s]["annotator_rows"],
                    counts["events"].get(s, 0),
                )
                for s in SPLITS
            ),
        ),
        "",
        _table(
            ["label", *SPLITS],
            (
                (name, *(splits[s]["span_labels"][name] for s in SPLITS))
                for name in schema.entity_names
            ),
        ),
        "",
        _table(
            ["relation", *SPLITS],
            (
                (name, *(splits[s]["relation_labels"][name] for s in SPLITS))
                for name in schema.relation_names
            ),
        ),
        "",
        "## Adjudication",
        "",
        _table(["method", "documents"], counts["adjudication"].items()),
        "",
        f"Excluded documents (no adjudicated version): {len(counts['excluded_documents'])}.",
        "",
    ]


def _card_agreement(agreement: Mapping[str, Any] | None) -> list[str]:
    text = (
        agreement_to_markdown(agreement)
        if agreement
        else "No agreement figures were supplied for this release."
    )
    return ["## Agreement", "", text, ""]


def _card_plots(plots: Sequence[str]) -> list[str]:
    if not plots:
        return []
    return ["## Plots", ""] + [
        f"![{markdown_text(Path(p).stem.replace('_', ' '))}]({p})\n" for p in plots
    ]


def _card_changelog(manifest: Mapping[str, Any], changelog: str) -> list[str]:
    parent = manifest.get("parent")
    return [
        "## Changelog",
        "",
        markdown_code_block(changelog.strip()) if changelog.strip() else "(none given)",
        "",
        f"Parent version: {('v' + parent) if parent else 'none'}. "
        f"Source export sha256: `{manifest.get('source_export_sha256') or 'not recorded'}`. "
        f"Created {manifest['created_at']}.",
        "",
    ]


def render_card(
    *,
    manifest: Mapping[str, Any],
    schema: Schema,
    split_bytes: Mapping[str, int] | None = None,
    agreement: Mapping | None,
    plots: Sequence[str],
    event_splits: Sequence[str],
    changelog: str,
    event_features: datasets.Features | None = None,
    annotators: int | None = None,
) -> str:
    """The README.md dataset card: metadata (`card_metadata`) then prose, section by section.

    Every string a user controls (schema name, label descriptions, agreement keys) is escaped;
    the changelog is shown verbatim as code. `annotators`: how many distinct annotators the
    release holds (the prose says "one annotator" or "N annotators").
    """
    metadata = card_metadata(
        manifest=manifest,
        schema=schema,
        split_bytes=split_bytes,
        event_splits=event_splits,
        event_features=event_features,
    )
    body = [
        *_card_intro(manifest, schema),
        *_card_how_made(manifest, annotators),
        *_card_labels(schema),
        *_card_counts(manifest["counts"], schema),
        *_card_agreement(agreement),
        *_card_plots(plots),
        *_card_changelog(manifest, changelog),
    ]
    return "\n".join(["---", metadata.to_yaml(), "---", "", *body])


# --------------------------------------------------------------------------- reading & checks
