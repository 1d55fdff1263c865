"""The dataset card as the Hugging Face Hub reads it: metadata parsed by huggingface_hub and
datasets, every config listed, size category right for any size, user strings inert."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCard

from annotation.records import SOURCE_ADJUDICATED, AnnotatedTask, Annotation, Span
from annotation.release import (
    LICENSE_FILE,
    build_release,
    features,
    markdown_code_block,
    markdown_text,
    size_category,
)
from annotation.schema import schema_from_dict

ALICE = "annotator-0123456789"
BOB = "annotator-abcdefabcd"
CONFIGS = {"default", "annotations", "events"}


def _synthetic_tasks(n: int, *, annotators: tuple[str, ...] = (ALICE,)) -> list[AnnotatedTask]:
    """`n` one-chunk documents, each with one LOCATION span labelled by every annotator."""
    tasks = []
    for i in range(n):
        text = f"Customs officers in Port {i} seized 5 kg of heroin."
        start = text.index("Port")
        span = Span("s0", start, start + len(f"Port {i}"), "LOCATION", f"Port {i}")
        annotations = tuple(Annotation(a, (span,), id=i * 10 + k) for k, a in enumerate(annotators))
        tasks.append(
            AnnotatedTask(
                doc_id=f"doc{i:05d}",
                task_id=i + 1,
                text=text,
                chunk_start=0,
                chunk_end=len(text),
                meta={"cluster_id": f"c{i}", "content_hash": f"h{i}", "schema_version": 1},
                annotations=annotations,
                adjudicated=annotations[0].with_(
                    source=SOURCE_ADJUDICATED, annotator="adjudicated"
                ),
                adjudication="single" if len(annotators) == 1 else "agreement",
            )
        )
    return tasks


def _events(tasks: list[AnnotatedTask]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": [t.doc_id for t in tasks],
            "item": ["heroin"] * len(tasks),
            "quantity_value": [5.0] * len(tasks),
        }
    )


def _card(release: Path) -> DatasetCard:
    return DatasetCard.load(release / "README.md")


@pytest.mark.parametrize(
    ("n", "bucket"),
    [
        (0, "n<1K"),
        (999, "n<1K"),
        (1000, "1K<n<10K"),
        (12_000, "10K<n<100K"),
        (250_000, "100K<n<1M"),
        (3_000_000, "1M<n<10M"),
        (2 * 10**12, "n>1T"),
    ],
)
def test_size_category_follows_the_hub_buckets(n: int, bucket: str) -> None:
    assert size_category(n) == bucket


def test_card_of_12000_documents_parses_with_every_config(tmp_path: Path, schema) -> None:
    tasks = _synthetic_tasks(12_000)
    release = build_release(
        tasks, version="1.0.0", releases_dir=tmp_path, schema=schema, events=_events(tasks)
    )
    card = _card(release)
    data = card.data
    assert data.size_categories == ["10K<n<100K"]
    assert data.license == "other"
    assert data.license_name == "news-excerpts-research-use"
    assert data.license_link == LICENSE_FILE and (release / LICENSE_FILE).is_file()
    assert data.task_categories == ["token-classification"]
    assert data.task_ids == ["named-entity-recognition"]
    assert data.annotations_creators == ["expert-generated"]
    assert data.source_datasets == ["original"]
    assert data.language == ["en"]
    assert {c["config_name"] for c in data.configs} == CONFIGS
    for config in data.configs:
        for item in config["data_files"]:
            assert (release / item["path"]).is_file(), item
    infos = DatasetInfosDict.from_dataset_card_data(data)
    assert set(infos) == CONFIGS
    assert infos["default"].features == features(schema)
    assert sum(s.num_examples for s in infos["default"].splits.values()) == 12_000
    assert sum(s.num_examples for s in infos["events"].splits.values()) == 12_000
    assert set(infos["events"].features) == {"doc_id", "item", "quantity_value"}
    assert "labelled in Label Studio by one annotator" in card.text
    assert "several annotators" not in card.text


def test_card_counts_the_annotators_it_holds(tmp_path: Path, schema) -> None:
    release = build_release(
        _synthetic_tasks(3, annotators=(ALICE, BOB)),
        version="0.1.0",
        releases_dir=tmp_path,
        schema=schema,
        min_docs_per_split=0,
    )
    assert "labelled in Label Studio by 2 annotators" in _card(release).text


MARKUP = '<script>alert(1)</script><img src=x onerror="y"> [click](javascript:z) | `code`'


def test_card_of_a_schema_and_changelog_full_of_markup_has_no_raw_tag(tmp_path: Path) -> None:
    schema = schema_from_dict(
        {
            "name": "markup",
            "version": 1,
            "entities": [{"name": "LOCATION", "description": MARKUP, "examples": [MARKUP]}],
            "relations": [
                {"name": "NEAR", "head": ["LOCATION"], "tail": ["LOCATION"], "description": MARKUP}
            ],
        },
        source="markup.yaml",
    )
    changelog = "Fixed </code> and ``` fences\n" + MARKUP
    release = build_release(
        _synthetic_tasks(3),
        version="0.1.0",
        releases_dir=tmp_path,
        schema=schema,
        changelog=changelog,
        agreement={"documents": 2, MARKUP: 0.5, "labels": [{"label": MARKUP, "spans": 1}]},
        min_docs_per_split=0,
    )
    text = _card(release).text
    outside_code = re.sub(r"(`{3,})text\n.*?\n\1", "", text, flags=re.S)
    assert "<script" not in outside_code and "<img" not in outside_code
    assert not re.search(r"(?<!\\)\]\(javascript:", outside_code)  # no live link
    assert r"\[click\](javascript:z)" in outside_code
    assert "&lt;script&gt;" in outside_code  # shown, as text
    assert changelog in text  # verbatim inside its code block


def test_markdown_helpers_make_strings_inert() -> None:
    assert markdown_text("a|b <i>x</i> [l](u)\nnext") == r"a\|b &lt;i&gt;x&lt;/i&gt; \[l\](u) next"
    block = markdown_code_block("one ``` two")
    assert block.startswith("````text\n") and block.endswith("\n````")
