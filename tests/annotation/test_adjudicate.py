"""The adjudication policy: ground truth, single, agreement, majority, needs_review."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from annotation.adjudicate import AnnotationDataError, adjudicate, adjudication_counts
from annotation.records import (
    SOURCE_ADJUDICATED,
    SOURCE_PREDICTION,
    AnnotatedTask,
    Annotation,
    Relation,
    Span,
)

TEXT = "Vietnam Customs agents seized 500 kg of ketamine in Ho Chi Minh City."


def span(sid: str, start: int, end: int, label: str) -> Span:
    return Span(sid, start, end, label, TEXT[start:end])


AGENCY = (0, 15, "AGENCY")
SEIZURE = (30, 48, "SEIZURE")
DRUG = (40, 48, "DRUG")
CITY = (52, 68, "LOCATION")


def ann(
    who: str,
    spans: Sequence[tuple[int, int, str]],
    relations: Sequence[tuple[int, int, str]] = (),
    **kw: Any,
) -> Annotation:
    """An annotation with span ids s<i>; relations given as (head index, tail index, label)."""
    return Annotation(
        annotator=who,
        spans=tuple(span(f"{who}-{i}", *s) for i, s in enumerate(spans)),
        relations=tuple(Relation(f"{who}-{h}", f"{who}-{t}", label) for h, t, label in relations),
        **kw,
    )


def task(*annotations: Annotation, **kw: Any) -> AnnotatedTask:
    return AnnotatedTask("doc1", 7, TEXT, chunk_end=len(TEXT), annotations=annotations, **kw)


def keys(a: Annotation) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.label) for s in a.spans]


def relations(a: Annotation) -> list[tuple[tuple[int, int, str], tuple[int, int, str], str]]:
    by_id = {s.id: (s.start, s.end, s.label) for s in a.spans}
    return [(by_id[r.head], by_id[r.tail], r.label) for r in a.relations]


def test_adjudicate_ground_truth_wins_latest_if_several() -> None:
    a = ann("a", [AGENCY, SEIZURE], [(1, 0, "SEIZED_BY")])
    b = ann("b", [SEIZURE], ground_truth=True, updated_at="2024-01-01T10:00:00Z", id=2)
    c = ann(
        "c",
        [SEIZURE, DRUG],
        [(0, 1, "SEIZED_ITEM")],
        ground_truth=True,
        updated_at="2024-03-01T10:00:00Z",
        id=3,
    )
    [out] = adjudicate([task(a, b, c)])
    assert out.adjudication == "ground_truth"
    assert keys(out.adjudicated) == [SEIZURE, DRUG]
    assert relations(out.adjudicated) == [(SEIZURE, DRUG, "SEIZED_ITEM")]
    assert out.adjudicated.source == SOURCE_ADJUDICATED
    assert out.adjudicated.annotator == "adjudicated"


def test_adjudicate_single_annotation_gets_fresh_ids_and_repointed_relations() -> None:
    a = ann("a", [SEIZURE, AGENCY], [(0, 1, "SEIZED_BY")])
    [out] = adjudicate([task(a)])
    assert out.adjudication == "single"
    # ids a0, a1 in (start, end, label) order; the relation follows its spans
    assert [(s.id, s.start, s.label, s.text) for s in out.adjudicated.spans] == [
        ("a0", 0, "AGENCY", "Vietnam Customs"),
        ("a1", 30, "SEIZURE", "500 kg of ketamine"),
    ]
    assert out.adjudicated.relations == (Relation("a1", "a0", "SEIZED_BY"),)


def test_adjudicate_agreement_when_all_identical() -> None:
    a = ann("a", [AGENCY, SEIZURE], [(1, 0, "SEIZED_BY")])
    b = ann("b", [SEIZURE, AGENCY], [(0, 1, "SEIZED_BY")])  # same content, other order and ids
    [out] = adjudicate([task(a, b)])
    assert out.adjudication == "agreement"
    assert keys(out.adjudicated) == [AGENCY, SEIZURE]
    assert relations(out.adjudicated) == [(SEIZURE, AGENCY, "SEIZED_BY")]


def test_adjudicate_majority_of_three_keeps_strict_majority_spans_and_relations() -> None:
    a = ann("a", [AGENCY, SEIZURE, DRUG], [(1, 0, "SEIZED_BY"), (1, 2, "SEIZED_ITEM")])
    b = ann("b", [AGENCY, SEIZURE], [(1, 0, "SEIZED_BY")])
    c = ann("c", [AGENCY, SEIZURE, DRUG, CITY], [(1, 3, "SEIZED_AT"), (1, 2, "SEIZED_ITEM")])
    [out] = adjudicate([task(a, b, c)])
    assert out.adjudication == "majority"
    # AGENCY 3/3, SEIZURE 3/3, DRUG 2/3 kept; LOCATION 1/3 dropped
    assert keys(out.adjudicated) == [AGENCY, SEIZURE, DRUG]
    # SEIZED_BY 2/3 and SEIZED_ITEM 2/3 kept; SEIZED_AT 1/3 (and its LOCATION) dropped
    assert relations(out.adjudicated) == [
        (SEIZURE, AGENCY, "SEIZED_BY"),
        (SEIZURE, DRUG, "SEIZED_ITEM"),
    ]


def test_adjudicate_two_disagreeing_annotators_need_review_keeping_the_common_part() -> None:
    links = [(1, 0, "SEIZED_BY"), (1, 2, "QUANTITY_OF")]
    a = ann("a", [AGENCY, SEIZURE, (30, 36, "QUANTITY")], links)  # "500 kg"
    b = ann("b", [AGENCY, SEIZURE, (30, 35, "QUANTITY")], links)  # "500 k": off by one
    [out] = adjudicate([task(a, b)])
    assert out.adjudication == "needs_review"
    assert keys(out.adjudicated) == [AGENCY, SEIZURE]
    assert relations(out.adjudicated) == [(SEIZURE, AGENCY, "SEIZED_BY")]


def test_adjudicate_ignores_cancelled_annotations_and_predictions() -> None:
    a = ann("a", [AGENCY])
    skipped = ann("b", [SEIZURE], cancelled=True)
    model = ann("model", [SEIZURE, DRUG], source=SOURCE_PREDICTION)
    # a prediction among annotations (source says so) and one in predictions: neither votes
    out_single, out_none = adjudicate(
        [
            task(a, skipped, model, predictions=(model,)),
            task(skipped, predictions=(model,)),
        ]
    )
    assert out_single.adjudication == "single" and keys(out_single.adjudicated) == [AGENCY]
    assert out_none.adjudication == "unannotated" and out_none.adjudicated is None


def test_adjudication_counts_lists_every_outcome() -> None:
    done = adjudicate(
        [
            task(ann("a", [AGENCY])),
            task(ann("a", [AGENCY]), ann("b", [SEIZURE])),
            task(),
        ]
    )
    counts = adjudication_counts([*done, task()])
    assert counts == {
        "ground_truth": 0,
        "single": 1,
        "agreement": 0,
        "majority": 0,
        "needs_review": 1,
        "unannotated": 1,
        "not_adjudicated": 1,
    }


def test_adjudicate_dangling_relation_is_an_error_naming_the_task() -> None:
    broken = ann("a", [AGENCY, SEIZURE]).with_(relations=(Relation("a-1", "nope", "SEIZED_BY"),))
    with pytest.raises(AnnotationDataError, match=r"Task 7 .*'nope'"):
        adjudicate([task(broken, ann("b", [AGENCY]))])
