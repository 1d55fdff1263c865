"""The seizure-events table derived from adjudicated relations."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from annotation.adjudicate import AnnotationDataError, adjudicate
from annotation.events import (
    EVENT_COLUMNS,
    normalise_quantity,
    parse_date,
    seizure_events,
    write_events_csv,
)
from annotation.records import AnnotatedTask, Annotation, Relation, Span

DOCUMENT = (
    "Customs news from the port. "
    "Vietnam Customs seized 8.3 tons of pangolin scales in Hai Phong in March 2019. "
    "The case is part of Operation Mekong Dragon."
)
CHUNK_START = 28  # the task holds the document text from offset 28 on
TASK_TEXT = DOCUMENT[CHUNK_START:]


def doc_span(sid: str, phrase: str, label: str, occurrence: int = 0) -> Span:
    """A span in document offsets, found by its text."""
    start = -1
    for _ in range(occurrence + 1):
        start = DOCUMENT.index(phrase, start + 1)
    return Span(sid, start, start + len(phrase), label, phrase)


def pangolin_task(**kw: object) -> AnnotatedTask:
    spans = (
        doc_span("1", "Vietnam Customs", "AGENCY"),
        doc_span("2", "8.3 tons of pangolin scales", "SEIZURE"),
        doc_span("3", "8.3 tons", "QUANTITY"),
        doc_span("4", "pangolin scales", "WILDLIFE"),
        doc_span("5", "Hai Phong", "LOCATION"),
        doc_span("6", "March 2019", "DATE"),
        doc_span("7", "Operation Mekong Dragon", "OPERATION"),
    )
    relations = tuple(
        Relation("2", tail, label)
        for tail, label in [
            ("1", "SEIZED_BY"),
            ("3", "QUANTITY_OF"),
            ("4", "SEIZED_ITEM"),
            ("5", "SEIZED_AT"),
            ("6", "SEIZED_ON"),
            ("7", "PART_OF"),
        ]
    )
    return AnnotatedTask(
        doc_id="doc-pangolin",
        task_id=11,
        text=TASK_TEXT,
        chunk_start=CHUNK_START,
        chunk_end=len(DOCUMENT),
        meta={"url": "https://example.org/p", "title": "Pangolins", "published": "2019-08-05"},
        annotations=(Annotation("annotator-a", spans, relations, id=1),),
        **kw,
    )


def test_events_row_from_the_pangolin_seizure() -> None:
    frame = seizure_events(adjudicate([pangolin_task()]))
    assert tuple(frame.columns) == EVENT_COLUMNS
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["doc_id"] == "doc-pangolin"
    assert row["seizure_text"] == "8.3 tons of pangolin scales"
    assert DOCUMENT[row["start"] : row["end"]] == "8.3 tons of pangolin scales"
    assert row["sentence"] == (
        "Vietnam Customs seized 8.3 tons of pangolin scales in Hai Phong in March 2019."
    )
    assert row["agency"] == "Vietnam Customs"
    assert (row["item"], row["item_type"]) == ("pangolin scales", "WILDLIFE")
    assert row["quantity_text"] == "8.3 tons"
    assert (row["quantity_value"], row["quantity_unit"]) == (8300.0, "kg")
    assert row["location"] == "Hai Phong"
    assert (row["date_text"], row["date"]) == ("March 2019", "2019-03")
    assert row["operation"] == "Operation Mekong Dragon"
    assert (row["url"], row["title"], row["published"]) == (
        "https://example.org/p",
        "Pangolins",
        "2019-08-05",
    )


def test_events_missing_relations_are_null_and_several_agencies_joined() -> None:
    spans = (
        doc_span("1", "Vietnam Customs", "AGENCY"),
        doc_span("2", "8.3 tons of pangolin scales", "SEIZURE"),
        doc_span("3", "Customs", "AGENCY"),  # "Customs news": a second (odd) agency, earlier
    )
    relations = (Relation("2", "1", "SEIZED_BY"), Relation("2", "3", "SEIZED_BY"))
    base = pangolin_task()
    task = base.with_(annotations=(Annotation("annotator-a", spans, relations),))
    row = seizure_events(adjudicate([task])).iloc[0]
    assert row["agency"] == "Customs; Vietnam Customs"  # text order
    assert row["item"] is None and row["date"] is None and row["quantity_unit"] is None
    assert math.isnan(row["quantity_value"])


def test_events_skip_unannotated_tasks_and_list_a_seizure_in_overlapping_chunks_once() -> None:
    unannotated = pangolin_task().with_(annotations=(), doc_id="doc-empty")
    frame = seizure_events(adjudicate([pangolin_task(), pangolin_task(), unannotated]))
    assert list(frame["doc_id"]) == ["doc-pangolin"]


def test_events_empty_input_gives_typed_empty_table(tmp_path) -> None:
    frame = seizure_events([])
    assert tuple(frame.columns) == EVENT_COLUMNS and len(frame) == 0
    path = write_events_csv(frame, tmp_path / "out" / "events.csv")
    assert path.read_text(encoding="utf-8").strip() == ",".join(EVENT_COLUMNS)


def test_events_csv_round_trip(tmp_path) -> None:
    frame = seizure_events(adjudicate([pangolin_task()]))
    path = write_events_csv(frame, tmp_path / "events.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == list(EVENT_COLUMNS)
    assert back.loc[0, "quantity_value"] == 8300.0 and back.loc[0, "date"] == "2019-03"
    with pytest.raises(ValueError, match="expected"):
        write_events_csv(frame[["doc_id"]], tmp_path / "bad.csv")


def test_events_dangling_tail_in_adjudicated_annotation_is_an_error() -> None:
    [task] = adjudicate([pangolin_task()])
    seizure_id = next(s.id for s in task.adjudicated.spans if s.label == "SEIZURE")
    broken = task.adjudicated.with_(relations=(Relation(seizure_id, "a99", "SEIZED_BY"),))
    with pytest.raises(AnnotationDataError, match="'a99'"):
        seizure_events([task.with_(adjudicated=broken)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8.3 tons", (8300.0, "kg")),
        ("8.3 tonnes", (8300.0, "kg")),
        ("2 metric tons", (2000.0, "kg")),
        ("500kg", (500.0, "kg")),
        ("276 kg", (276.0, "kg")),
        ("1,500 kilograms", (1500.0, "kg")),
        ("300 g", (0.3, "kg")),
        ("250 grams", (0.25, "kg")),
        ("1,500 tablets", (1500.0, "tablets")),
        ("3,000 ecstasy tablets", (3000.0, "tablets")),
        ("1.5 million pills", (1_500_000.0, "pills")),
        ("nearly 3,000 cigars", (3000.0, "cigars")),
        ("12 jars", (12.0, "jars")),
        ("two pieces", (2.0, "pieces")),
        ("5 individuals", (5.0, "individuals")),
        ("nearly 3,000", (3000.0, None)),  # a number without a unit keeps its value
        ("10 boxes", (10.0, None)),  # an unknown unit is not guessed
        ("a large amount", (None, None)),
        ("at the port", (None, None)),  # "at" is not "a t(on)"
    ],
)
def test_normalise_quantity_forms(text: str, expected: tuple[float | None, str | None]) -> None:
    value, unit = normalise_quantity(text)
    assert unit == expected[1]
    assert value == (pytest.approx(expected[0]) if expected[0] is not None else None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("March 2019", "2019-03"),
        ("May 11, 2019", "2019-05-11"),
        ("11 May 2019", "2019-05-11"),
        ("24/05/2019", "2019-05-24"),  # day first, as the seed site writes dates
        ("2019-03-05", "2019-03-05"),
        ("2020", "2020"),
        ("December 28", None),  # no year: not guessed
        ("31/02/2019", None),  # no such day
    ],
)
def test_events_parse_date_forms(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected
