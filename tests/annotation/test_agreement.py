"""Agreement figures on a hand-checked two-annotator disagreement."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from annotation.agreement import compute_agreement, token_labels, tokenize_spans
from annotation.records import SOURCE_PREDICTION, AnnotatedTask, Annotation, Relation, Span
from annotation.schema import load_schema

TEXT = "Vietnam Customs agents seized 500 kg of ketamine in Ho Chi Minh City."
#       0         1         2         3         4         5
#       0123456789012345678901234567890123456789012345678901234567890


def span(sid: str, start: int, end: int, label: str) -> Span:
    return Span(sid, start, end, label, TEXT[start:end])


# A: AGENCY 0-15, SEIZURE 30-48, QUANTITY 30-36, SEIZED_BY + QUANTITY_OF
ANN_A = Annotation(
    annotator="annotator-a",
    spans=(span("1", 0, 15, "AGENCY"), span("2", 30, 48, "SEIZURE"), span("3", 30, 36, "QUANTITY")),
    relations=(Relation("2", "1", "SEIZED_BY"), Relation("2", "3", "QUANTITY_OF")),
    id=1,
)
# B: same AGENCY and SEIZURE, QUANTITY 30-35 (off by one), DRUG 40-48,
# SEIZED_BY + QUANTITY_OF (to the off-by-one quantity) + SEIZED_ITEM
ANN_B = Annotation(
    annotator="annotator-b",
    spans=(
        span("x", 0, 15, "AGENCY"),
        span("y", 30, 48, "SEIZURE"),
        span("z", 30, 35, "QUANTITY"),
        span("w", 40, 48, "DRUG"),
    ),
    relations=(
        Relation("y", "x", "SEIZED_BY"),
        Relation("y", "z", "QUANTITY_OF"),
        Relation("y", "w", "SEIZED_ITEM"),
    ),
    id=2,
)


def task(*annotations: Annotation, doc_id: str = "doc1", **kw: object) -> AnnotatedTask:
    return AnnotatedTask(
        doc_id=doc_id, task_id=1, text=TEXT, chunk_end=len(TEXT), annotations=annotations, **kw
    )


@pytest.fixture(scope="module")
def schema():
    return load_schema()


def test_agreement_two_annotators_span_and_relation_f1(schema) -> None:
    assert TEXT[0:15] == "Vietnam Customs" and TEXT[30:48] == "500 kg of ketamine"
    report = compute_agreement([task(ANN_A, ANN_B)], schema=schema)
    labels = {la.label: la for la in report.labels}
    assert (report.documents, report.tasks, report.pairs) == (1, 1, 1)
    assert report.annotators == ("annotator-a", "annotator-b")
    # exact: AGENCY 2*1/(1+1)=1, SEIZURE 1, QUANTITY 2*0/(1+1)=0, DRUG 2*0/(0+1)=0
    assert labels["AGENCY"].exact_f1 == 1.0
    assert labels["SEIZURE"].exact_f1 == 1.0
    assert labels["QUANTITY"].exact_f1 == 0.0
    assert labels["DRUG"].exact_f1 == 0.0
    # overlap: QUANTITY 30-36 and 30-35 share 5 characters -> matched; DRUG still unmatched
    assert labels["QUANTITY"].overlap_f1 == 1.0
    assert labels["DRUG"].overlap_f1 == 0.0
    # labels nobody used have no F1, not a made-up 0 or 1
    assert labels["LOCATION"].exact_f1 is None and labels["LOCATION"].spans == 0
    assert labels["QUANTITY"].spans == 2 and labels["DRUG"].spans == 1
    # overall exact: 2 matches, 3 + 4 spans -> 2*2/7; overlap: 3 matches -> 2*3/7
    assert report.exact_f1 == pytest.approx(4 / 7)
    assert report.overlap_f1 == pytest.approx(6 / 7)
    # relations: only SEIZED_BY matches (QUANTITY_OF points at different quantities) -> 2*1/(2+3)
    assert report.relation_f1 == pytest.approx(0.4)
    # given spans both made exactly (AGENCY, SEIZURE): A {SEIZED_BY}, B {SEIZED_BY} -> 1.0
    assert report.relation_f1_given_spans == 1.0


def test_agreement_alpha_and_kappa_on_tokens(schema) -> None:
    report = compute_agreement([task(ANN_A, ANN_B)], schema=schema)
    # 14 tokens: Vietnam Customs agents seized 500 kg of ketamine in Ho Chi Minh City .
    # A: AG AG O O Q Q S S O O O O O O      B: AG AG O O Q Q S D O O O O O O
    # ("kg" 34-36 overlaps B's QUANTITY 30-35; the smallest overlapping span wins)
    assert report.tokens == 14
    # Nominal alpha by hand: coincidences o_AG,AG=4, o_O,O=16, o_Q,Q=4, o_S,S=2, o_S,D=o_D,S=1;
    # n_c: AG 4, O 16, Q 4, S 3, D 1; n = 28.
    # D_o = 2/28; D_e = (28^2 - (16+256+16+9+1)) / (28*27) = 486/756; alpha = 1 - D_o/D_e = 8/9
    assert report.alpha == pytest.approx(8 / 9)
    assert report.alpha == pytest.approx(_nominal_alpha(report_table()))
    # Kappa: p_o = 13/14; p_e = (2*2 + 8*8 + 2*2 + 2*1 + 0*1)/14^2 = 74/196; kappa = 108/122
    assert report.kappa == pytest.approx(108 / 122)


def report_table() -> list[list[str]]:
    tokens = tokenize_spans(TEXT)
    return [token_labels(ANN_A, tokens), token_labels(ANN_B, tokens)]


def _nominal_alpha(rows: list[list[str]]) -> float:
    """Krippendorff's nominal alpha straight from the coincidence-matrix formula (no package)."""
    coincidences: Counter[tuple[str, str]] = Counter()
    for unit in zip(*rows, strict=True):
        m = len(unit)
        for i, c in enumerate(unit):
            for j, k in enumerate(unit):
                if i != j:
                    coincidences[(c, k)] += 1 / (m - 1)
    n_c: Counter[str] = Counter()
    for (c, _), v in coincidences.items():
        n_c[c] += v
    n = sum(n_c.values())
    observed = sum(v for (c, k), v in coincidences.items() if c != k) / n
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k) / (n * (n - 1))
    return 1 - observed / expected


def test_agreement_counts_only_human_uncancelled_annotations(schema) -> None:
    cancelled = ANN_B.with_(annotator="annotator-c", cancelled=True, id=3)
    prediction = ANN_B.with_(annotator="model-v1", source=SOURCE_PREDICTION, id=None)
    report = compute_agreement(
        [task(ANN_A, cancelled), task(ANN_A, predictions=(prediction,), doc_id="doc2")],
        schema=schema,
    )
    # neither task has two counted annotators: nothing is compared
    assert (report.documents, report.tasks, report.pairs, report.tokens) == (0, 0, 0, 0)
    assert report.exact_f1 is None and report.alpha is None and report.kappa is None
    assert [(p.annotator, p.documents, p.shared_documents) for p in report.per_annotator] == [
        ("annotator-a", 2, 0)
    ]


def test_agreement_per_annotator_and_latest_annotation_per_annotator(schema) -> None:
    # annotator-b resubmitted: the later annotation (identical to A) replaces the earlier one
    b_later = ANN_A.with_(annotator="annotator-b", id=9, updated_at="2024-02-01T00:00:00Z")
    b_early = ANN_B.with_(updated_at="2024-01-01T00:00:00Z")
    third = ANN_B.with_(annotator="annotator-c", id=4)
    report = compute_agreement([task(ANN_A, b_early, b_later, third)], schema=schema)
    assert report.pairs == 3
    per = {p.annotator: p for p in report.per_annotator}
    # a-b agree fully (F1 1); a-c and b-c are the hand-checked pair above (4/7 exact)
    assert per["annotator-a"].exact_f1 == pytest.approx((1 + 4 / 7) / 2)
    assert per["annotator-c"].exact_f1 == pytest.approx(4 / 7)
    assert per["annotator-c"].relation_f1 == pytest.approx(0.4)
    assert report.kappa is None  # three annotators


def test_agreement_report_serialises(schema) -> None:
    report = compute_agreement([task(ANN_A, ANN_B)], schema=schema)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["labels"][0]["label"] == "AGENCY"
    markdown = report.to_markdown()
    assert "| QUANTITY | 2 | 0.000 | 1.000 |" in markdown
    assert "| annotator-a | 1 | 1 | 0.571 | 0.857 | 0.400 |" in markdown
