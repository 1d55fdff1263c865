"""Adjudication: one released annotation per task, chosen by a documented policy.

The policy (docs/adjudication.md), applied in this order to the task's *counted*
annotations (made by a person, source "annotation", not cancelled; predictions
never vote):

1. ``ground_truth``: an annotation a reviewer marked as ground truth wins
   (if several, the most recently updated one).
2. ``single``: there is exactly one annotation.
3. ``agreement``: all annotations have the same spans (start, end, label) and the
   same relations (head span, tail span, label).
4. ``majority``: three or more annotations: keep the spans a strict majority made
   exactly, and the relations a strict majority made between kept spans.
5. ``needs_review``: anything else (two annotators who disagree): keep what all
   agree on and flag the task, so a reviewer resolves it in Label Studio by marking
   a ground truth, and the release card counts what is still open.

A task without a counted annotation gets ``adjudicated=None`` and
``adjudication="unannotated"``. The adjudicated annotation has fresh, stable span ids
("a0", "a1", ... in (start, end, label) order) and its relations point at them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TypeVar

from corpus.errors import ContrabandError

from .records import (
    SOURCE_ADJUDICATED,
    SOURCE_ANNOTATION,
    AnnotatedTask,
    Annotation,
    Relation,
    Span,
)

GROUND_TRUTH = "ground_truth"
SINGLE = "single"
AGREEMENT = "agreement"
MAJORITY = "majority"
NEEDS_REVIEW = "needs_review"
UNANNOTATED = "unannotated"
# only in adjudication_counts: tasks that never went through adjudicate()
NOT_ADJUDICATED = "not_adjudicated"
ADJUDICATIONS = (GROUND_TRUTH, SINGLE, AGREEMENT, MAJORITY, NEEDS_REVIEW, UNANNOTATED)
ADJUDICATOR = "adjudicated"

SpanKey = tuple[int, int, str]  # (start, end, label): what "the same span" means everywhere
RelationKey = tuple[SpanKey, SpanKey, str]  # (head span, tail span, label)
K = TypeVar("K")


class AnnotationDataError(ContrabandError, ValueError):
    """An annotation is internally inconsistent (e.g. a relation points at a missing span)."""


def counted_annotations(task: AnnotatedTask) -> tuple[Annotation, ...]:
    """The annotations that count as votes: by a person (source "annotation") and not cancelled."""
    return tuple(a for a in task.annotations if a.source == SOURCE_ANNOTATION and not a.cancelled)


def span_key(span: Span) -> SpanKey:
    return (span.start, span.end, span.label)


def span_keys(annotation: Annotation) -> set[SpanKey]:
    return {span_key(s) for s in annotation.spans}


def relation_keys(annotation: Annotation, *, task: AnnotatedTask) -> set[RelationKey]:
    """Relations as (head span key, tail span key, label); a dangling span id is an error."""
    keys: set[RelationKey] = set()
    for i, rel in enumerate(annotation.relations):
        head, tail = annotation.span(rel.head), annotation.span(rel.tail)
        if head is None or tail is None:
            missing = rel.head if head is None else rel.tail
            raise AnnotationDataError(
                f"Task {task.task_id} (doc {task.doc_id}), annotation {annotation.id} by "
                f"{annotation.annotator}, relation {i} ({rel.label}): span id {missing!r} is not "
                f"among the annotation's spans; every relation must join two spans of the same "
                f"annotation. Run the pull-side validation and fix the task in Label Studio."
            )
        keys.add((span_key(head), span_key(tail), rel.label))
    return keys


def latest(annotations: Iterable[Annotation]) -> Annotation:
    """The most recently updated annotation (ties: higher id, then later in the sequence)."""

    def rank(item: tuple[int, Annotation]) -> tuple[str, int, int]:
        position, a = item
        return (a.updated_at or a.created_at or "", a.id if a.id is not None else -1, position)

    return max(enumerate(annotations), key=rank)[1]


def build_adjudicated(
    spans: Iterable[Span], relations: Iterable[RelationKey], *, ground_truth: bool = False
) -> Annotation:
    """An adjudicated Annotation from spans and relation keys, with fresh ids a0, a1, ..."""
    by_key: dict[SpanKey, Span] = {}
    for s in spans:
        by_key.setdefault(span_key(s), s)  # the first text seen for a key; identical spans share it
    ordered = sorted(by_key)
    new_id = {key: f"a{i}" for i, key in enumerate(ordered)}
    new_spans = tuple(
        Span(id=new_id[key], start=key[0], end=key[1], label=key[2], text=by_key[key].text)
        for key in ordered
    )
    new_relations = tuple(
        Relation(head=new_id[head], tail=new_id[tail], label=label)
        for head, tail, label in sorted(set(relations), key=lambda r: (r[0], r[1], r[2]))
    )
    return Annotation(
        annotator=ADJUDICATOR,
        spans=new_spans,
        relations=new_relations,
        source=SOURCE_ADJUDICATED,
        ground_truth=ground_truth,
    )


def adjudicate_task(task: AnnotatedTask) -> AnnotatedTask:
    """The task with `adjudicated` and `adjudication` set by the policy in the module docstring."""
    votes = counted_annotations(task)
    if not votes:
        return task.with_(adjudicated=None, adjudication=UNANNOTATED)
    truths = [a for a in votes if a.ground_truth]
    if truths:
        return _with_whole(task, latest(truths), GROUND_TRUTH, ground_truth=True)
    if len(votes) == 1:
        return _with_whole(task, votes[0], SINGLE)
    span_sets = [span_keys(a) for a in votes]
    relation_sets = [relation_keys(a, task=task) for a in votes]
    same_spans = all(s == span_sets[0] for s in span_sets)
    if same_spans and all(r == relation_sets[0] for r in relation_sets):
        return _with_whole(task, votes[0], AGREEMENT)
    if len(votes) >= 3:
        kept, kept_relations = _strict_majority(span_sets), _strict_majority(relation_sets)
        policy = MAJORITY
    else:
        kept, kept_relations = set.intersection(*span_sets), set.intersection(*relation_sets)
        policy = NEEDS_REVIEW
    # a relation survives only if both its ends did
    kept_relations = {r for r in kept_relations if r[0] in kept and r[1] in kept}
    all_spans = [s for a in votes for s in a.spans]
    adjudicated = build_adjudicated((s for s in all_spans if span_key(s) in kept), kept_relations)
    return task.with_(adjudicated=adjudicated, adjudication=policy)


def adjudicate(tasks: Sequence[AnnotatedTask]) -> list[AnnotatedTask]:
    """Every task with `adjudicated` and `adjudication` set (policy: the module docstring)."""
    return [adjudicate_task(t) for t in tasks]


def adjudication_counts(tasks: Sequence[AnnotatedTask]) -> dict[str, int]:
    """Tasks per adjudication outcome, every outcome listed (zeros included), in policy order.

    Tasks that never went through `adjudicate` are counted under "not_adjudicated"
    (present only when there are any), so nothing disappears from the totals.
    """
    counts = Counter(t.adjudication or NOT_ADJUDICATED for t in tasks)
    unknown = sorted(set(counts) - set(ADJUDICATIONS) - {NOT_ADJUDICATED})
    if unknown:
        raise AnnotationDataError(
            f"adjudication outcome(s) {unknown} are not known (known: {', '.join(ADJUDICATIONS)}); "
            f"re-run adjudicate() on these tasks."
        )
    result = {name: counts.get(name, 0) for name in ADJUDICATIONS}
    if counts.get(NOT_ADJUDICATED):
        result[NOT_ADJUDICATED] = counts[NOT_ADJUDICATED]
    return result


def _with_whole(
    task: AnnotatedTask, chosen: Annotation, policy: str, *, ground_truth: bool = False
) -> AnnotatedTask:
    adjudicated = build_adjudicated(
        chosen.spans, relation_keys(chosen, task=task), ground_truth=ground_truth
    )
    return task.with_(adjudicated=adjudicated, adjudication=policy)


def _strict_majority(sets: Sequence[set[K]]) -> set[K]:
    counts = Counter(k for s in sets for k in s)
    return {k for k, n in counts.items() if 2 * n > len(sets)}
