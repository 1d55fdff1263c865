"""Inter-annotator agreement over tasks labelled by two or more annotators.

Only counted annotations vote (by a person, not cancelled; predictions never do). When
one annotator has several counted annotations on a task, the latest updated one is used.

Definitions (all computed pairwise, for every pair of annotators on a task, then
micro-averaged over all pairs and tasks: F1 = 2 * matches / (spans of A + spans of B)):

- exact span F1: a match is the same (start, end, label);
- overlap span F1: a match is the same label with at least one character in common;
  matching is one-to-one and greedy, largest overlap first (ties: earlier start);
- relation F1: a relation matches when its head and tail spans match exactly and its
  label is equal; every relation counts, so a relation on a mismatched span is a miss;
- relation F1 given spans: the same, counting only relations whose head and tail
  spans both annotators made exactly (relation disagreement apart from span disagreement);
- Krippendorff's alpha (nominal, the `krippendorff` package) on tokens: tokens are
  ``\\w+`` runs and single punctuation marks of the task text; a token's value is the
  label of the smallest span overlapping it (ties: earlier start, then label), "O" when
  none; each token is a unit, each annotator a coder, missing where the annotator did
  not do the task;
- Cohen's kappa on the same tokens, only when exactly two annotators are involved.

An F1 or coefficient that is undefined (no spans at all, a single value in the whole
token table) is None, never a made-up 0 or 1.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import krippendorff
import numpy as np

from .adjudicate import RelationKey, SpanKey, counted_annotations, latest, relation_keys, span_key
from .records import AnnotatedTask, Annotation
from .schema import Schema

OUTSIDE = "O"
TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class LabelAgreement:
    """Agreement on one entity label."""

    label: str
    spans: int  # spans with this label, all annotators, tasks with >= 2 annotators
    exact_f1: float | None
    overlap_f1: float | None


@dataclass(frozen=True)
class AnnotatorAgreement:
    """One annotator's F1 against each other annotator (micro over shared tasks), averaged."""

    annotator: str
    documents: int  # documents this annotator annotated (any task given)
    shared_documents: int  # of which someone else also annotated
    exact_f1: float | None
    overlap_f1: float | None
    relation_f1: float | None


@dataclass(frozen=True)
class AgreementReport:
    """Inter-annotator agreement; see the module docstring for every definition."""

    documents: int  # documents with at least one task done by >= 2 annotators
    tasks: int  # tasks done by >= 2 annotators
    annotators: tuple[str, ...]  # pseudonyms of annotators on those tasks
    pairs: int  # (task, annotator pair) comparisons
    exact_f1: float | None
    overlap_f1: float | None
    relation_f1: float | None
    relation_f1_given_spans: float | None
    alpha: float | None  # Krippendorff's alpha, nominal, on tokens
    kappa: float | None  # Cohen's kappa on tokens; None unless exactly two annotators
    tokens: int  # token units in the alpha table
    labels: tuple[LabelAgreement, ...]
    per_annotator: tuple[AnnotatorAgreement, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (for the release manifest and card)."""
        return asdict(self)

    def to_markdown(self) -> str:
        """Summary, a table per label and a table per annotator (for the dataset card)."""
        lines = [
            f"Documents compared: {self.documents} ({self.tasks} tasks, {self.pairs} annotator "
            f"pairs, {len(self.annotators)} annotators, {self.tokens} tokens).",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| span F1, exact | {_fmt(self.exact_f1)} |",
            f"| span F1, overlap | {_fmt(self.overlap_f1)} |",
            f"| relation F1 | {_fmt(self.relation_f1)} |",
            f"| relation F1 given matched spans | {_fmt(self.relation_f1_given_spans)} |",
            f"| Krippendorff's alpha (nominal, tokens) | {_fmt(self.alpha)} |",
            f"| Cohen's kappa (tokens, 2 annotators) | {_fmt(self.kappa)} |",
            "",
            "| label | spans | F1 exact | F1 overlap |",
            "| --- | ---: | ---: | ---: |",
        ]
        for la in self.labels:
            lines.append(
                f"| {la.label} | {la.spans} | {_fmt(la.exact_f1)} | {_fmt(la.overlap_f1)} |"
            )
        lines += [
            "",
            "| annotator | documents | shared | F1 exact | F1 overlap | relation F1 |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for pa in self.per_annotator:
            lines.append(
                f"| {pa.annotator} | {pa.documents} | {pa.shared_documents} | {_fmt(pa.exact_f1)} "
                f"| {_fmt(pa.overlap_f1)} | {_fmt(pa.relation_f1)} |"
            )
        return "\n".join(lines) + "\n"


@dataclass
class _Tally:
    """Matches and the spans (or relations) on both sides: F1 = 2 * matched / total."""

    matched: int = 0
    total: int = 0

    def add(self, matched: int, total: int) -> None:
        self.matched += matched
        self.total += total

    @property
    def f1(self) -> float | None:
        return 2 * self.matched / self.total if self.total else None


def compute_agreement(tasks: Sequence[AnnotatedTask], *, schema: Schema) -> AgreementReport:
    """Agreement over tasks done by >= 2 annotators (others count only in per-annotator docs)."""
    by_annotator = [_latest_per_annotator(t) for t in tasks]
    compared = [(t, anns) for t, anns in zip(tasks, by_annotator, strict=True) if len(anns) >= 2]
    annotators = sorted({a for _, anns in compared for a in anns})
    seen_labels = {s.label for _, anns in compared for a in anns.values() for s in a.spans}
    labels = schema.entity_names + sorted(seen_labels - set(schema.entity_names))

    exact = {label: _Tally() for label in labels}
    overlap = {label: _Tally() for label in labels}
    span_count: Counter[str] = Counter()
    relation, relation_given = _Tally(), _Tally()
    # per ordered annotator pair, for the per-annotator averages
    pair_exact: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    pair_overlap: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    pair_relation: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    pairs = 0
    for task, anns in compared:
        for a in anns.values():
            span_count.update(s.label for s in a.spans)
        for name_a, name_b in itertools.combinations(sorted(anns), 2):
            pairs += 1
            ann_a, ann_b = anns[name_a], anns[name_b]
            ex_total, ov_total = _Tally(), _Tally()
            for label in labels:
                spans_a = [span_key(s) for s in ann_a.spans if s.label == label]
                spans_b = [span_key(s) for s in ann_b.spans if s.label == label]
                total = len(spans_a) + len(spans_b)
                ex = len(set(spans_a) & set(spans_b))
                ov = _overlap_matches(spans_a, spans_b)
                exact[label].add(ex, total)
                overlap[label].add(ov, total)
                ex_total.add(ex, total)
                ov_total.add(ov, total)
            rel_a, rel_b = relation_keys(ann_a, task=task), relation_keys(ann_b, task=task)
            rel_matched = len(rel_a & rel_b)
            relation.add(rel_matched, len(rel_a) + len(rel_b))
            both = {span_key(s) for s in ann_a.spans} & {span_key(s) for s in ann_b.spans}
            given_a = _relations_within(rel_a, both)
            given_b = _relations_within(rel_b, both)
            relation_given.add(len(given_a & given_b), len(given_a) + len(given_b))
            for key in ((name_a, name_b), (name_b, name_a)):
                pair_exact[key].add(ex_total.matched, ex_total.total)
                pair_overlap[key].add(ov_total.matched, ov_total.total)
                pair_relation[key].add(rel_matched, len(rel_a) + len(rel_b))

    overall_exact, overall_overlap = _Tally(), _Tally()
    for label in labels:
        overall_exact.add(exact[label].matched, exact[label].total)
        overall_overlap.add(overlap[label].matched, overlap[label].total)
    table, n_tokens = _token_table(compared, annotators=annotators, labels=labels)
    return AgreementReport(
        documents=len({t.doc_id for t, _ in compared}),
        tasks=len(compared),
        annotators=tuple(annotators),
        pairs=pairs,
        exact_f1=overall_exact.f1,
        overlap_f1=overall_overlap.f1,
        relation_f1=relation.f1,
        relation_f1_given_spans=relation_given.f1,
        alpha=_alpha(table),
        kappa=_cohen_kappa(table) if len(annotators) == 2 else None,
        tokens=n_tokens,
        labels=tuple(
            LabelAgreement(label, span_count[label], exact[label].f1, overlap[label].f1)
            for label in labels
        ),
        per_annotator=tuple(
            _annotator_agreement(
                name,
                tasks=tasks,
                by_annotator=by_annotator,
                pair_tallies=(pair_exact, pair_overlap, pair_relation),
            )
            for name in sorted({a for anns in by_annotator for a in anns})
        ),
    )


def tokenize_spans(text: str, *, offset: int = 0) -> list[tuple[int, int]]:
    """Token (start, end) offsets in `text` (``\\w+`` runs, single punctuation), plus `offset`."""
    return [(m.start() + offset, m.end() + offset) for m in TOKEN_PATTERN.finditer(text)]


def token_labels(annotation: Annotation, tokens: Sequence[tuple[int, int]]) -> list[str]:
    """Each token's label: the smallest span overlapping it (ties: earlier start, label), else O."""
    spans = sorted(annotation.spans, key=lambda s: (s.end - s.start, s.start, s.label))
    out = []
    for start, end in tokens:
        hit = next((s for s in spans if s.start < end and start < s.end), None)
        out.append(hit.label if hit else OUTSIDE)
    return out


def _latest_per_annotator(task: AnnotatedTask) -> dict[str, Annotation]:
    grouped: dict[str, list[Annotation]] = defaultdict(list)
    for a in counted_annotations(task):
        grouped[a.annotator].append(a)
    return {name: latest(anns) for name, anns in grouped.items()}


def _overlap_matches(spans_a: Sequence[SpanKey], spans_b: Sequence[SpanKey]) -> int:
    """Greedy one-to-one matches of spans sharing a character, largest overlap first."""
    candidates = []
    for i, (sa, ea, _) in enumerate(spans_a):
        for j, (sb, eb, _) in enumerate(spans_b):
            shared = min(ea, eb) - max(sa, sb)
            if shared > 0:
                candidates.append((-shared, sa, sb, i, j))
    used_a: set[int] = set()
    used_b: set[int] = set()
    for _, _, _, i, j in sorted(candidates):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return len(used_a)


def _relations_within(relations: set[RelationKey], spans: set[SpanKey]) -> set[RelationKey]:
    return {r for r in relations if r[0] in spans and r[1] in spans}


def _token_table(
    compared: Sequence[tuple[AnnotatedTask, dict[str, Annotation]]],
    *,
    annotators: Sequence[str],
    labels: Sequence[str],
) -> tuple[np.ndarray, int]:
    """Coders x units matrix of label codes (0 = O, 1.. = labels), NaN where a coder is missing."""
    code = {OUTSIDE: 0, **{label: i + 1 for i, label in enumerate(labels)}}
    row = {name: i for i, name in enumerate(annotators)}
    columns: list[np.ndarray] = []
    for task, anns in compared:
        tokens = tokenize_spans(task.text, offset=task.chunk_start)
        block = np.full((len(annotators), len(tokens)), np.nan)
        for name, ann in anns.items():
            block[row[name]] = [code[label] for label in token_labels(ann, tokens)]
        columns.append(block)
    if not columns:
        return np.full((len(annotators), 0), np.nan), 0
    table = np.concatenate(columns, axis=1)
    return table, table.shape[1]


def _alpha(table: np.ndarray) -> float | None:
    pairable = table[:, (~np.isnan(table)).sum(axis=0) >= 2]
    values = np.unique(pairable[~np.isnan(pairable)])
    if len(values) < 2:  # one value in the whole table: alpha is 0/0
        return None
    return float(
        krippendorff.alpha(
            reliability_data=pairable, value_domain=values, level_of_measurement="nominal"
        )
    )


def _cohen_kappa(table: np.ndarray) -> float | None:
    both = table[:, ~np.isnan(table).any(axis=0)]
    if both.shape[1] == 0:
        return None
    a, b = both[0], both[1]
    observed = float(np.mean(a == b))
    values = np.unique(both)
    expected = float(sum(np.mean(a == v) * np.mean(b == v) for v in values))
    if expected == 1.0:
        return None
    return (observed - expected) / (1 - expected)


def _annotator_agreement(
    name: str,
    *,
    tasks: Sequence[AnnotatedTask],
    by_annotator: Sequence[dict[str, Annotation]],
    pair_tallies: tuple[dict[tuple[str, str], _Tally], ...],
) -> AnnotatorAgreement:
    docs = {t.doc_id for t, anns in zip(tasks, by_annotator, strict=True) if name in anns}
    shared = {
        t.doc_id
        for t, anns in zip(tasks, by_annotator, strict=True)
        if name in anns and len(anns) >= 2
    }
    exact, overlap, relation = (
        _mean([tally.f1 for (a, _), tally in tallies.items() if a == name])
        for tallies in pair_tallies
    )
    return AnnotatorAgreement(name, len(docs), len(shared), exact, overlap, relation)


def _mean(values: Sequence[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
