"""spaCy component `contraband_relations`: relations between spans by the rules of
configs/preannotate.yaml (inside, same sentence, lists, chains)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan

from annotation.preannotate.rules import RELATIONS_ATTR, SPANS_KEY


@Language.factory(
    "contraband_relations",
    default_config={"rules": {"inside": [], "same_sentence": []}, "spans_key": SPANS_KEY},
)
def make_relation_finder(
    nlp: Language, name: str, rules: dict[str, list[dict[str, Any]]], spans_key: str
) -> RelationFinder:
    return RelationFinder(rules=rules, spans_key=spans_key)


class RelationFinder:
    """Writes Doc._.contraband_relations: (head index, tail index, label) over `doc_spans(doc)`."""

    def __init__(self, *, rules: dict[str, list[dict[str, Any]]], spans_key: str) -> None:
        self.rules = rules
        self.spans_key = spans_key

    def __call__(self, doc: Doc) -> Doc:
        spans = doc_spans(doc, spans_key=self.spans_key)
        doc._.set(RELATIONS_ATTR, find_relations(doc, spans, rules=self.rules))
        return doc


def doc_spans(doc: Doc, *, spans_key: str = SPANS_KEY) -> list[SpacySpan]:
    """The predicted spans of a doc: doc.spans[spans_key] if set, else doc.ents; sorted."""
    spans = list(doc.spans[spans_key]) if spans_key in doc.spans else list(doc.ents)
    return sorted(spans, key=lambda s: (s.start, -s.end, s.label_))


def find_relations(
    doc: Doc, spans: Sequence[SpacySpan], *, rules: dict[str, list[dict[str, Any]]]
) -> list[tuple[int, int, str]]:
    """Apply the relation rules (see configs/preannotate.yaml) to indexed spans."""
    out: list[tuple[int, int, str]] = []
    for rule in rules.get("inside", []):
        for h, head in enumerate(spans):
            if head.label_ != rule["head"]:
                continue
            for t, tail in enumerate(spans):
                if (
                    t != h
                    and tail.label_ in rule["tail"]
                    and head.start <= tail.start
                    and tail.end <= head.end
                ):
                    out.append((h, t, rule["relation"]))
    sent_of = [s.sent.start if doc.has_annotation("SENT_START") else 0 for s in spans]
    for rule in rules.get("same_sentence", []):
        heads = [h for h, s in enumerate(spans) if s.label_ == rule["head"]]
        found: list[tuple[int, int, str]] = []
        skipped = _skipped_tails(doc, spans, rule)
        for t, tail in enumerate(spans):
            if tail.label_ not in rule["tail"] or t in skipped:
                continue
            candidates = [
                h
                for h in heads
                if h != t
                and sent_of[h] == sent_of[t]
                and not _contains(spans[h], tail)
                and not _contains(tail, spans[h])
                and (rule["order"] != "text" or spans[h].end <= tail.start)
                and (rule["order"] != "text" or spans[h].text.lower() != tail.text.lower())
            ]
            if not candidates:
                continue
            if rule["directed"]:
                candidates = [h for h in candidates if _acts_on(doc, spans[h], tail, rule)]
                if not candidates:
                    continue
            elif rule["triggers"]:
                sentence = (
                    f" {tail.sent.text.lower()} "
                    if doc.has_annotation("SENT_START")
                    else f" {doc.text.lower()} "
                )
                if not any(_has_phrase(sentence, trig) for trig in rule["triggers"]):
                    continue
            if rule["attach"] == "nearest":
                before = [h for h in candidates if spans[h].end <= tail.start]
                after = [h for h in candidates if spans[h].start >= tail.end]
                if before:
                    candidates = [max(before, key=lambda h: spans[h].end)]
                elif after:
                    candidates = [min(after, key=lambda h: spans[h].start)]
                else:
                    continue
            found.extend((h, t, rule["relation"]) for h in candidates)
        if rule["spread"]:
            found += _spread_over_lists(doc, spans, found, rule)
        if rule["inherit"]:
            found += _inherited(doc, spans, heads, found, rule)
        out += found
    for rule in rules.get("after", []):
        out += _relations_after(doc, spans, rule)
    return sorted(set(out))


def _relations_after(
    doc: Doc, spans: Sequence[SpacySpan], rule: dict[str, Any]
) -> list[tuple[int, int, str]]:
    """A tail that starts within `window` tokens after the head, only `between` words between
    ("6 bags of shark fins weighing 75kg", "... heroin (12 packets)")."""
    out = []
    between = set(rule["between"])
    heads = [s for s in spans if s.label_ == rule["head"]]
    for h, head in enumerate(spans):
        if head.label_ != rule["head"]:
            continue
        for t, tail in enumerate(spans):
            gap = doc[head.end : tail.start]
            if (
                tail.label_ in rule["tail"]
                and head.end <= tail.start <= head.end + rule["window"]
                and all(tok.lower_ in between for tok in gap)
                and _sentence_has_trigger(doc, head, rule["triggers"])
                and tail.text.lower() != head.text.lower()
                and not any(o is not head and o is not tail and _contains(o, tail) for o in heads)
            ):
                out.append((h, t, rule["relation"]))
    if rule["chain"]:
        out = _close_chains(out, rule["relation"])
    return out


def _close_chains(pairs: list[tuple[int, int, str]], relation: str) -> list[tuple[int, int, str]]:
    """A list "A, B and C": every earlier member with every later one (A-B, A-C, B-C)."""
    nxt = {h: t for h, t, _ in pairs}
    out = set(pairs)
    for start in nxt:
        seen = nxt[start]
        while seen in nxt and len(out) < 10_000:
            seen = nxt[seen]
            out.add((start, seen, relation))
    return sorted(out)


def _acts_on(doc: Doc, seizure: SpacySpan, agency: SpacySpan, rule: dict[str, Any]) -> bool:
    """The agency acts on the seizure: "AGENCY ... seized ... SEIZURE" (a trigger between them)
    or "SEIZURE ... seized by [the] AGENCY" ("by" just before the agency)."""
    if agency.end <= seizure.start:
        between = f" {doc[agency.end : seizure.start].text.lower()} "
        return any(_has_phrase(between, trigger) for trigger in rule["triggers"])
    before_agency = {t.lower_ for t in doc[max(seizure.end, agency.start - 3) : agency.start]}
    return "by" in before_agency


def _sentence_has_trigger(doc: Doc, span: SpacySpan, triggers: Sequence[str]) -> bool:
    """True without triggers; else whether the span's sentence has one of them (whole words)."""
    if not triggers:
        return True
    text = span.sent.text if doc.has_annotation("SENT_START") else doc.text
    return any(_has_phrase(f" {text.lower()} ", trigger) for trigger in triggers)


LIST_GAP = {",", "and", "&", "the", "as", "well", "its"}


def _skipped_tails(doc: Doc, spans: Sequence[SpacySpan], rule: dict[str, Any]) -> set[int]:
    """Tails right after a `not_after` word, and those that continue such a tail after a comma
    ("from Lima, Peru": both are the origin)."""
    skipped: set[int] = set()
    end_of_skipped: set[int] = set()
    for t, tail in enumerate(spans):
        if tail.label_ not in rule["tail"]:
            continue
        continues = (
            tail.start >= 2
            and doc[tail.start - 1].text == ","
            and (tail.start - 1 in end_of_skipped)
        )
        if _follows_any(doc, tail, rule["not_after"]) or continues:
            skipped.add(t)
            end_of_skipped.add(tail.end)
    return skipped


def _spread_over_lists(
    doc: Doc,
    spans: Sequence[SpacySpan],
    found: Sequence[tuple[int, int, str]],
    rule: dict[str, Any],
) -> list[tuple[int, int, str]]:
    """A head linked to one member of a list of tails ("by X, Y and Z") is linked to all."""
    tails = [t for t, s in enumerate(spans) if s.label_ in rule["tail"]]
    group_of: dict[int, int] = {}
    for prev, t in zip(tails, tails[1:], strict=False):
        gap = doc[spans[prev].end : spans[t].start]
        if spans[prev].end <= spans[t].start and all(tok.lower_ in LIST_GAP for tok in gap):
            group_of[t] = group_of.get(prev, prev)
    members: dict[int, list[int]] = {}
    for t in tails:
        members.setdefault(group_of.get(t, t), []).append(t)
    out = []
    for h, t, relation in found:
        for other in members.get(group_of.get(t, t), []):
            if other != t:
                out.append((h, other, relation))
    return out


def _follows_any(doc: Doc, span: SpacySpan, words: Sequence[str]) -> bool:
    """Whether one of the two tokens before the span is in `words` ("from Peru", "to Spain")."""
    return bool(words) and any(t.lower_ in words for t in doc[max(0, span.start - 2) : span.start])


def _inherited(
    doc: Doc,
    spans: Sequence[SpacySpan],
    heads: Sequence[int],
    found: Sequence[tuple[int, int, str]],
    rule: dict[str, Any],
) -> list[tuple[int, int, str]]:
    """For a head without tails, the tails of the closest earlier head of the same rule, or else
    those of the closest earlier sentence that has any, within `inherit` sentences: the agency,
    place and date given once for the seizures of one event."""
    sentences = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
    sent_index = {sent.start: i for i, sent in enumerate(sentences)}

    def sentence_of(span: SpacySpan) -> int:
        return sent_index.get(span.sent.start, 0) if len(sentences) > 1 else 0

    tails_of: dict[int, list[int]] = {}
    for h, t, _ in found:
        tails_of.setdefault(h, []).append(t)
    out: list[tuple[int, int, str]] = []
    for h in heads:
        if h in tails_of:
            continue
        here = sentence_of(spans[h])
        earlier = [
            g
            for g in heads
            if g in tails_of
            and spans[g].end <= spans[h].start
            and here - sentence_of(spans[g]) <= rule["inherit"]
        ]
        if earlier:
            inherited = tails_of[max(earlier, key=lambda g: spans[g].start)]
            if rule["inherit_max"] and len(inherited) > rule["inherit_max"]:
                inherited = []  # "in Asia, Africa and Oceania": no one place to pass on
        elif rule["inherit_sentences"]:
            inherited = _tails_in_earlier_sentences(doc, spans, here, sentence_of, rule)
        else:
            inherited = []
        out.extend((h, t, rule["relation"]) for t in inherited)
    return out


def _tails_in_earlier_sentences(
    doc: Doc, spans: Sequence[SpacySpan], here: int, sentence_of: Any, rule: dict[str, Any]
) -> list[int]:
    """Tails of the rule in the closest of the `inherit` sentences before sentence `here`."""
    for back in range(1, rule["inherit"] + 1):
        tails = [
            t
            for t, s in enumerate(spans)
            if s.label_ in rule["tail"]
            and sentence_of(s) == here - back
            and not _follows_any(doc, s, rule["not_after"])
        ]
        if tails:
            return tails
    return []


def _contains(outer: SpacySpan, inner: SpacySpan) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _has_phrase(padded_sentence: str, phrase: str) -> bool:
    """Whole-word phrase search in a lower-cased sentence padded with spaces."""
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", padded_sentence) is not None
