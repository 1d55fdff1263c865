"""Validation of pulled annotations: every problem reported with its task, valid parts kept."""

from __future__ import annotations

from annotation.labelstudio.push import check_predictions
from annotation.records import AnnotatedTask, Annotation, Relation, Span
from annotation.schema import load_schema
from annotation.tasks import TaskPayload
from annotation.validate import validate_tasks

SCHEMA = load_schema()
DOC = "Intro.\n\nVietnam Customs seized 500 kg of ketamine in Hai Phong."
CHUNK_START = 8  # the task is the second paragraph
TEXT = DOC[CHUNK_START:]


def span(span_id: str, phrase: str, label: str, *, shift: int = 0) -> Span:
    start = DOC.index(phrase) + shift
    return Span(span_id, start, start + len(phrase), label, phrase)


def make_task(*annotations: Annotation, version: int = SCHEMA.version) -> AnnotatedTask:
    return AnnotatedTask(
        doc_id="doc1",
        task_id=812,
        text=TEXT,
        chunk_start=CHUNK_START,
        chunk_end=len(DOC),
        meta={"schema_version": version},
        annotations=annotations,
    )


GOOD_SPANS = (
    span("a", "Vietnam Customs", "AGENCY"),
    span("s", "500 kg of ketamine", "SEIZURE"),
    span("d", "ketamine", "DRUG"),
)
GOOD_RELATIONS = (Relation("s", "a", "SEIZED_BY"), Relation("s", "d", "SEIZED_ITEM"))


def test_validate_keeps_a_correct_annotation_unchanged():
    good = Annotation("annotator-1", GOOD_SPANS, GOOD_RELATIONS, id=1)
    tasks, problems = validate_tasks([make_task(good)], schema=SCHEMA)
    assert problems == []
    assert tasks[0].annotations == (good,)


def test_validate_reports_each_broken_part_with_task_id_and_keeps_valid_ones():
    broken = Annotation(
        "annotator-2",
        GOOD_SPANS
        + (
            span("w", "Hai Phong", "LOCATION", shift=1),  # wrong offsets: text differs
            Span("o", 5, 9, "LOCATION", "Intr"),  # outside this task (in the first paragraph)
            span("x", "Hai Phong", "DRUGS"),  # unknown label
        ),
        GOOD_RELATIONS
        + (
            Relation("s", "missing", "SEIZED_AT"),  # relation to a missing span
            Relation("a", "d", "SEIZED_BY"),  # AGENCY -> DRUG is not allowed
            Relation("s", "w", "SEIZED_AT"),  # to a span removed above
        ),
        id=3,
    )
    other = Annotation("annotator-1", GOOD_SPANS, GOOD_RELATIONS, id=4)
    tasks, problems = validate_tasks([make_task(broken, other)], schema=SCHEMA)
    codes = [p.code for p in problems]
    assert codes == [
        "span_text_mismatch",
        "span_out_of_range",
        "unknown_label",
        "relation_missing_span",
        "relation_labels_not_allowed",
        "relation_missing_span",
    ]
    assert all(p.task_id == 812 and p.annotation_id == 3 for p in problems)
    assert [p.result_index for p in problems] == [3, 4, 5, 8, 9, 10]
    assert problems[2].message.startswith(
        "Task 812, annotation 3, result 5: span 'x': label 'DRUGS' is not in schema v1"
    )
    assert "configs/schema.yaml" in problems[2].message
    assert all(p.removed for p in problems)
    cleaned_broken, cleaned_other = tasks[0].annotations
    assert cleaned_broken.spans == GOOD_SPANS and cleaned_broken.relations == GOOD_RELATIONS
    assert cleaned_other == other


def test_validate_reports_schema_version_mismatch_but_keeps_annotations():
    good = Annotation("annotator-1", GOOD_SPANS, GOOD_RELATIONS, id=1)
    tasks, problems = validate_tasks([make_task(good, version=0)], schema=SCHEMA)
    assert [p.code for p in problems] == ["schema_version_mismatch"]
    assert "Task 812" in problems[0].message and "v1" in problems[0].message
    assert tasks[0].annotations == (good,)


def test_check_predictions_finds_unknown_labels_before_push():
    task = TaskPayload("doc1:8", {"content_hash": "x"}, "doc1", CHUNK_START, len(DOC), TEXT)
    bad = Annotation("rules-v1", (span("x", "Hai Phong", "PLACE"),), source="prediction")
    problems = check_predictions([task], {"doc1:8": bad}, schema=SCHEMA)
    assert [p.code for p in problems] == ["unknown_label"]
    assert "doc1:8" in problems[0].message
