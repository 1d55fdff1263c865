"""The seizure-events table derived from adjudicated relations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from annotation.adjudicate import AnnotationDataError, adjudicate
from annotation.events import (
    EVENT_COLUMNS,
    MENTION_COLUMNS,
    fold_text,
    normalise_quantity,
    parse_date,
    read_generic_items,
    seizure_events,
    seizure_mentions,
    write_events_csv,
)
from annotation.gold import load_gold_dir
from annotation.records import AnnotatedTask, Annotation, Relation, Span
from annotation.release.plots import seizures_over_time
from annotation.schema import load_schema
from annotation.tasks import documents_to_tasks
from corpus.curate import curate
from corpus.errors import ConfigError
from corpus.records import read_corpus

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
    assert tuple(seizure_mentions(adjudicate([pangolin_task()])).columns) == MENTION_COLUMNS
    frame = seizure_events(adjudicate([pangolin_task()]))
    assert tuple(frame.columns) == EVENT_COLUMNS
    assert frame.iloc[0]["mentions"] == [
        {
            "doc_id": "doc-pangolin",
            "start": DOCUMENT.index("8.3 tons"),
            "end": DOCUMENT.index(" in Hai"),
            "text": "8.3 tons of pangolin scales",
            "sentence": (
                "Vietnam Customs seized 8.3 tons of pangolin scales in Hai Phong in March 2019."
            ),
        }
    ]
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


# -- one row per seizure ------------------------------------------------------------------


def seizure_task(
    doc_id: str, sentences: list[str], *, cluster: str | None = None, task_id: int = 1
) -> AnnotatedTask:
    """A task whose sentences each report a seizure: "<agency> seized <quantity> of <item>
    [in <place>] [in <date>]." Spans are found by the bracketed words: [Q:..], [I:..],
    [P:..], [D:..] mark quantity, item (DRUG; WILDLIFE if it says "scales"), place and date.
    """
    text = ""
    spans: list[Span] = []
    relations: list[Relation] = []
    for n, sentence in enumerate(sentences):
        parts: dict[str, tuple[int, int, str]] = {}
        for token in ("Q", "I", "P", "D"):
            marker = f"[{token}:"
            if marker in sentence:
                at = sentence.index(marker)
                close = sentence.index("]", at)
                phrase = sentence[at + len(marker) : close]
                sentence = sentence[:at] + phrase + sentence[close + 1 :]
                parts[token] = (len(text) + at, len(text) + at + len(phrase), phrase)
        labels = {"Q": "QUANTITY", "P": "LOCATION", "D": "DATE"}
        q_start, _, _ = parts["Q"]
        i_start, i_end, item = parts["I"]
        seizure_id = f"s{n}"
        spans.append(Span(seizure_id, q_start, i_end, "SEIZURE", (text + sentence)[q_start:i_end]))
        for token, (start, end, phrase) in parts.items():
            label = labels.get(token) or ("WILDLIFE" if "scale" in item else "DRUG")
            spans.append(Span(f"{token}{n}", start, end, label, phrase))
            relation = {"Q": "QUANTITY_OF", "I": "SEIZED_ITEM", "P": "SEIZED_AT", "D": "SEIZED_ON"}
            relations.append(Relation(seizure_id, f"{token}{n}", relation[token]))
        text += sentence + " "
    ann = Annotation("annotator-a", tuple(spans), tuple(relations))
    return AnnotatedTask(
        doc_id=doc_id,
        task_id=task_id,
        text=text,
        chunk_end=len(text),
        meta={"cluster_id": cluster or doc_id, "url": f"https://example.org/{doc_id}"},
        annotations=(ann,),
    )


def test_events_mentions_of_one_seizure_in_a_document_become_one_event() -> None:
    task = seizure_task(
        "doc-a",
        [
            "Customs seized [Q:8.3 tons] of [I:pangolin scales] in [P:Hai Phong].",
            "The [Q:8.3 tonnes] of [I:pangolin scales] were found in [D:March 2019].",
            "Police seized [Q:500 kg] of [I:drugs] in [P:Ho Chi Minh City] in [D:May 2019].",
            "The [Q:500kg] of [I:ketamine] came in on [D:May 11, 2019].",
        ],
    )
    frame = seizure_events(adjudicate([task]))
    assert tuple(frame.columns) == EVENT_COLUMNS
    assert len(frame) == 2
    pangolin, ketamine = frame.iloc[0], frame.iloc[1]
    assert (pangolin["mention_count"], pangolin["source_count"]) == (2, 1)
    assert pangolin["location"] == "Hai Phong" and pangolin["date"] == "2019-03"
    assert [m["text"] for m in pangolin["mentions"]] == [
        "8.3 tons of pangolin scales",
        "8.3 tonnes of pangolin scales",
    ]
    # a generic item ("drugs") joins the specific one; the more precise date wins
    assert ketamine["mention_count"] == 2
    assert ketamine["item"] == "drugs; ketamine" and ketamine["date"] == "2019-05-11"
    assert ketamine["quantity_value"] == 500.0 and ketamine["quantity_unit"] == "kg"
    assert frame["event_id"].is_unique and frame["event_id"].str.match(r"event-[0-9a-f]{12}$").all()


@pytest.mark.parametrize(
    "second",
    [
        "Customs seized [Q:9 tons] of [I:pangolin scales] in [P:Hai Phong].",  # other quantity
        "Customs seized [Q:8.3 tons] of [I:ivory] in [P:Hai Phong].",  # other item
        "Customs seized [Q:8.3 tons] of [I:pangolin scales] in [P:Da Nang].",  # other place
        "Customs seized [Q:8.3 tons] of [I:pangolin scales] in [D:May 2018].",  # other date
    ],
)
def test_events_keep_apart_seizures_that_differ(second: str) -> None:
    first = "Customs seized [Q:8.3 tons] of [I:pangolin scales] in [P:Hai Phong] in [D:March 2019]."
    frame = seizure_events(adjudicate([seizure_task("doc-a", [first, second])]))
    assert len(frame) == 2 and list(frame["mention_count"]) == [1, 1]


def test_events_link_reports_of_one_seizure_across_documents_and_keep_every_source() -> None:
    full = "Customs seized [Q:500 kg] of [I:ketamine] in [P:Ho Chi Minh City] in [D:May 2019]."
    tasks = [
        seizure_task("doc-a", [full], task_id=1),
        # another story (another cluster) with the same item, quantity, date and place
        seizure_task("doc-b", [full.replace("May 2019", "May 11, 2019")], task_id=2),
        # a syndicated copy of doc-a: same cluster, so a partial mention is enough
        seizure_task(
            "doc-c", ["Officers found [Q:500kg] of [I:drugs]."], cluster="doc-a", task_id=3
        ),
        # another story that says no place: not linked, it may be another seizure
        seizure_task(
            "doc-d", ["Police seized [Q:500 kg] of [I:ketamine] in [D:May 2019]."], task_id=4
        ),
    ]
    frame = seizure_events(adjudicate(tasks))
    assert len(frame) == 2
    linked = frame[frame["source_count"] > 1].iloc[0]
    assert [s["doc_id"] for s in linked["sources"]] == ["doc-a", "doc-b", "doc-c"]
    assert linked["mention_count"] == 3 and linked["date"] == "2019-05-11"
    assert [s["url"] for s in linked["sources"]][0] == "https://example.org/doc-a"
    alone = frame[frame["source_count"] == 1].iloc[0]
    assert alone["doc_id"] == "doc-d"


def test_events_csv_writes_sources_and_mentions_as_json(tmp_path) -> None:
    task = seizure_task("doc-a", ["Customs seized [Q:500 kg] of [I:ketamine] in [P:Hue]."])
    path = write_events_csv(seizure_events(adjudicate([task])), tmp_path / "events.csv")
    back = pd.read_csv(path)
    assert json.loads(back.loc[0, "mentions"])[0]["text"] == "500 kg of ketamine"
    assert json.loads(back.loc[0, "sources"]) == [
        {"doc_id": "doc-a", "url": "https://example.org/doc-a", "title": None, "published": None}
    ]


def test_events_generic_items_come_from_the_gazetteer_file(tmp_path) -> None:
    assert ("DRUG", "drug") in read_generic_items()
    bad = tmp_path / "items.jsonl"
    bad.write_text('# generic words\n{"label": "DRUG", "pattern": "drugs"}\nnot json\n')
    with pytest.raises(ConfigError, match=r"items.jsonl:3"):
        read_generic_items(bad)
    assert fold_text("Pangolin Scales") == "pangolin scale"


SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="module")
def seed_tasks(tmp_path_factory) -> list[AnnotatedTask]:
    """The five seed pages, curated, with their gold annotations adjudicated (no server)."""
    schema = load_schema()
    out = tmp_path_factory.mktemp("seed-events") / "corpus"
    curate([SEEDS], out_dir=out, progress=False)
    docs = [d for d in read_corpus(str(out)) if d.status == "kept"]
    gold = load_gold_dir(SEEDS / "gold", docs, schema=schema)
    tasks = []
    for i, task in enumerate(documents_to_tasks(docs, schema=schema)):
        ann = gold[task.doc_id]
        spans = tuple(
            s for s in ann.spans if task.chunk_start <= s.start and s.end <= task.chunk_end
        )
        ids = {s.id for s in spans}
        relations = tuple(r for r in ann.relations if r.head in ids and r.tail in ids)
        tasks.append(
            AnnotatedTask(
                doc_id=task.doc_id,
                task_id=i + 1,
                text=task.text,
                chunk_start=task.chunk_start,
                chunk_end=task.chunk_end,
                meta=dict(task.data),
                annotations=(ann.with_(annotator="annotator-a", spans=spans, relations=relations),),
            )
        )
    return adjudicate(tasks)


def test_events_seed_release_has_one_row_per_distinct_seizure(seed_tasks) -> None:
    mentions = seizure_mentions(seed_tasks)
    frame = seizure_events(seed_tasks)
    pangolin = frame[
        frame["item"].str.contains("pangolin", na=False) & (frame["quantity_value"] == 8300)
    ]
    ketamine = frame[
        frame["item"].str.contains("ketamine", na=False) & (frame["quantity_value"] == 500)
    ]
    assert (mentions["quantity_value"] == 8300).sum() == 3  # three mentions ...
    assert len(pangolin) == 1 and pangolin.iloc[0]["mention_count"] == 3  # ... one seizure
    assert pangolin.iloc[0]["source_count"] == 2 and pangolin.iloc[0]["date"] == "2019-03"
    assert (mentions["quantity_value"] == 500).sum() == 4
    assert len(ketamine) == 1 and ketamine.iloc[0]["mention_count"] == 4
    assert ketamine.iloc[0]["location"] == "Ho Chi Minh City"
    assert frame["mention_count"].sum() == len(mentions)
    # kilograms summed over events count each seizure once
    kg = frame.loc[frame["quantity_unit"] == "kg", "quantity_value"]
    assert kg.sum() < mentions.loc[mentions["quantity_unit"] == "kg", "quantity_value"].sum()
    assert len(set(kg)) == len(kg)


def test_events_seizures_over_time_plot_points_are_events(seed_tasks) -> None:
    frame = seizure_events(seed_tasks)
    points = seizures_over_time(frame)
    assert len(points) == frame[["quantity_value"]].dropna().shape[0]
    assert (points["value"] == 8300.0).sum() == 1
    assert (points["value"] == 500.0).sum() == 1
