"""Hand-made gold annotations (seeds/gold/*.yaml) resolved against a document's clean text.

The clean text is produced by the cleaner, so gold files do not store offsets: each
span is anchored by its `text` and a short `context` quote from the same sentence
that occurs exactly once in the clean text (`occurrence: N` picks the N-th `text`
inside the context when it appears more than once there):

    spans:
      - {id: s1, label: SEIZURE, text: "8.3 tons of pangolin scales",
         context: "seizure of 8.3 tons of pangolin scales (in March 2019) in Hai Phong"}
    relations:
      - {head: s1, tail: s2, label: QUANTITY_OF}

Matching is exact except that any run of whitespace matches any run of whitespace
and straight and curly quotes match each other, so a change of quote style or line
wrapping by the cleaner does not break the gold. `resolve_gold` is pure;
`load_gold_dir` reads the files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from annotation.records import SOURCE_ANNOTATION, Annotation, Relation, Span
from annotation.schema import Schema
from corpus.config import read_yaml_mapping
from corpus.errors import SchemaError
from corpus.records import Document

GOLD_ANNOTATOR = "gold"
SPAN_KEYS = {"id", "label", "text", "context", "occurrence"}
RELATION_KEYS = {"head", "tail", "label"}
_QUOTE_CLASSES = {
    **{c: '["\u201c\u201d\u201e\u00ab\u00bb]' for c in '"\u201c\u201d\u201e\u00ab\u00bb'},
    **{c: "['\u2018\u2019\u201a]" for c in "'\u2018\u2019\u201a"},
}


def _loose_pattern(quote: str) -> str:
    """Regex for `quote` where whitespace runs and quote styles are interchangeable."""
    parts: list[str] = []
    for chunk in re.split(r"(\s+)", quote):
        if not chunk:
            continue
        if chunk.isspace():
            parts.append(r"\s+")
        else:
            parts.append("".join(_QUOTE_CLASSES.get(c, re.escape(c)) for c in chunk))
    return "".join(parts)


def locate_span(
    text: str, *, span_text: str, context: str, occurrence: int = 1
) -> tuple[int, int] | str:
    """[start, end) of `span_text` inside the one occurrence of `context` in `text`, or why not."""
    pos = -1
    for _ in range(occurrence):
        pos = context.find(span_text, pos + 1)
        if pos < 0:
            return (
                f"text {span_text!r} does not occur {occurrence} time(s) in its context {context!r}"
            )
    if occurrence == 1 and context.find(span_text, pos + 1) >= 0:
        return (
            f"text {span_text!r} occurs more than once in its context {context!r}; "
            "add `occurrence: N` (1-based) or choose a context where it occurs once"
        )
    prefix, suffix = context[:pos], context[pos + len(span_text) :]
    pattern = re.compile(
        _loose_pattern(prefix) + "(" + _loose_pattern(span_text) + ")" + _loose_pattern(suffix)
    )
    matches = list(pattern.finditer(text))
    if len(matches) != 1:
        what = "is not found" if not matches else f"occurs {len(matches)} times"
        return (
            f"context {context!r} {what} in the document text (it must occur exactly once); "
            "quote the CLEAN text and lengthen the context until it is unique"
        )
    return matches[0].span(1)


def resolve_gold(spec: dict[str, Any], text: str, *, schema: Schema, source: str) -> Annotation:
    """Turn a gold spec into an Annotation with document offsets; all problems raised together."""
    problems: list[str] = []
    if not isinstance(spec, dict):
        raise SchemaError(
            f"{source}: expected a mapping with 'spans' and 'relations', got {type(spec).__name__}"
        )
    unknown = set(spec) - {"spans", "relations"}
    if unknown:
        problems.append(f"unknown top-level key(s) {sorted(unknown)} (allowed: spans, relations)")
    spans: list[Span] = []
    ids: set[str] = set()
    for i, raw in enumerate(spec.get("spans") or []):
        where = f"span {raw.get('id', f'#{i + 1}') if isinstance(raw, dict) else f'#{i + 1}'}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a mapping, got {raw!r}")
            continue
        missing = {"id", "label", "text", "context"} - set(raw)
        if missing:
            problems.append(f"{where}: missing {sorted(missing)}")
            continue
        extra = set(raw) - SPAN_KEYS
        if extra:
            problems.append(
                f"{where}: unknown key(s) {sorted(extra)} (allowed: {sorted(SPAN_KEYS)})"
            )
        span_id, label = str(raw["id"]), str(raw["label"])
        if span_id in ids:
            problems.append(f"{where}: id {span_id!r} is used twice; give every span its own id")
        ids.add(span_id)
        label_problem = schema.label_problem(label)
        if label_problem:
            problems.append(f"{where}: {label_problem}")
        occurrence = raw.get("occurrence", 1)
        if not isinstance(occurrence, int) or occurrence < 1:
            problems.append(f"{where}: occurrence must be a positive integer, got {occurrence!r}")
            continue
        located = locate_span(
            text, span_text=str(raw["text"]), context=str(raw["context"]), occurrence=occurrence
        )
        if isinstance(located, str):
            problems.append(f"{where}: {located}")
            continue
        start, end = located
        spans.append(Span(id=span_id, start=start, end=end, label=label, text=text[start:end]))
    by_id = {s.id: s for s in spans}
    relations: list[Relation] = []
    for i, raw in enumerate(spec.get("relations") or []):
        where = f"relation #{i + 1}"
        if not isinstance(raw, dict) or set(raw) != RELATION_KEYS:
            problems.append(f"{where}: expected exactly {sorted(RELATION_KEYS)}, got {raw!r}")
            continue
        head, tail, label = str(raw["head"]), str(raw["tail"]), str(raw["label"])
        where = f"relation #{i + 1} ({head} -{label}-> {tail})"
        missing_ids = [x for x in (head, tail) if x not in ids]
        if missing_ids:
            problems.append(f"{where}: span id(s) {missing_ids} are not defined in spans")
            continue
        if head not in by_id or tail not in by_id:
            continue  # the span itself failed to resolve; already reported
        problem = schema.relation_problem(label, by_id[head].label, by_id[tail].label)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        relations.append(Relation(head=head, tail=tail, label=label))
    if problems:
        raise SchemaError(
            f"{source}: {len(problems)} problem(s) in the gold annotations:\n  - "
            + "\n  - ".join(problems)
            + "\nFix the gold file (quotes must come from the clean text) and run again."
        )
    return Annotation(
        annotator=GOLD_ANNOTATOR,
        spans=tuple(sorted(spans, key=lambda s: (s.start, -s.end))),
        relations=tuple(relations),
        source=SOURCE_ANNOTATION,
        ground_truth=True,
    )


def read_gold_file(path: Path) -> dict[str, Any]:
    """Parse one gold YAML file."""
    return read_yaml_mapping(path, what="gold annotation file", error=SchemaError)


def source_stem(source: str) -> str:
    """File stem of a document source ("seeds/000_x.txt" -> "000_x"; JSONL ":LINE" dropped)."""
    name = re.sub(r":\d+$", "", source)
    return Path(name).stem


def load_gold_dir(
    gold_dir: Path, docs: Sequence[Document], *, schema: Schema
) -> dict[str, Annotation]:
    """Resolve each gold file on the document whose source has the same stem; doc_id -> Annotation.

    Raises one SchemaError listing every file that does not resolve or has no document.
    """
    by_stem: dict[str, Document] = {}
    for doc in docs:
        by_stem.setdefault(source_stem(doc.source), doc)
    out: dict[str, Annotation] = {}
    problems: list[str] = []
    for path in sorted(Path(gold_dir).glob("*.yaml")):
        doc = by_stem.get(path.stem)
        if doc is None:
            problems.append(
                f"{path}: no document whose source file is named {path.stem}.* "
                f"(got {len(docs)} documents); curate that page too or remove the gold file"
            )
            continue
        try:
            out[doc.id] = resolve_gold(
                read_gold_file(path), doc.clean_text, schema=schema, source=str(path)
            )
        except SchemaError as exc:
            problems.append(str(exc))
    if problems:
        raise SchemaError("\n".join(problems))
    return out


def score_against_gold(predicted: Annotation, gold: Annotation) -> dict[str, dict[str, int]]:
    """Exact-match counts per span label and per relation label: {label: {"tp", "fp", "fn"}}.

    Relations count as matched when their label and the (start, end, label) of both
    ends agree. Span labels and relation labels share the dict (they never collide).
    """
    counts: dict[str, dict[str, int]] = {}

    def tally(pred: set[tuple], true: set[tuple]) -> None:
        for key in pred | true:
            c = counts.setdefault(key[0], {"tp": 0, "fp": 0, "fn": 0})
            c["tp" if key in pred and key in true else "fp" if key in pred else "fn"] += 1

    def span_keys(a: Annotation) -> set[tuple]:
        return {(s.label, s.start, s.end) for s in a.spans}

    def relation_keys(a: Annotation) -> set[tuple]:
        ends = {s.id: (s.label, s.start, s.end) for s in a.spans}
        return {
            (r.label, ends[r.head], ends[r.tail])
            for r in a.relations
            if r.head in ends and r.tail in ends
        }

    tally(span_keys(predicted), span_keys(gold))
    tally(relation_keys(predicted), relation_keys(gold))
    return counts
