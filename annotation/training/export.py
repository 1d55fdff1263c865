"""Release -> spaCy DocBins for training: train.spacy, dev.spacy, test.spacy, alignment.json.

Each released document becomes one Doc (tokenised by `spacy.blank("en")`), then, by default,
one Doc per sentence (segment="sentence"): spaCy trains NER/spancat better on short docs and
`spacy debug data` wants at least 100 training examples. Consecutive sentences are merged
whenever a span or a relation would cross between them, so no span or relation is lost.
Each Doc has:
- every span, overlaps included, in `doc.spans["sc"]` (what spancat learns);
- the non-overlapping subset chosen by `spacy.util.filter_spans` (longest first) in `doc.ents`
  (what ner learns);
- relations in `doc.user_data["relations"]` as (head_start_char, head_end_char, tail_start_char,
  tail_end_char, label) tuples, so they survive `DocBin(store_user_data=True)`; `doc_relations`
  reads them back as spaCy Spans; the document id is in `doc.user_data["id"]`. The learned
  relation component (annotation.training.relation_model) writes its predictions in the same format,
  so gold and predicted Docs compare directly.
A span that does not fall on token boundaries is snapped outwards (alignment_mode="expand");
one that covers no token at all cannot be represented and is left out. Both cases are listed in
alignment.json with the document id, the span and what was done: nothing is dropped silently.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spacy
from spacy.tokens import Doc, DocBin, Span
from spacy.util import filter_spans

from corpus.errors import ReleaseError

from ..release import CONFIG_DEFAULT, read_documents, read_manifest
from ..schema import Schema

SPANS_KEY = "sc"
OUTPUTS = (
    ("train", "train"),
    ("validation", "dev"),
    ("test", "test"),
)  # release split -> file stem


@dataclass
class ExportReport:
    """What `export_spacy` wrote and every span it had to change or leave out."""

    out_dir: Path
    # file stem (train/dev/test) -> Docs written (sentence segments by default)
    docs: dict[str, int] = field(default_factory=dict)
    spans: int = 0
    ents: int = 0
    overlapping_not_in_ents: int = 0
    relations: int = 0
    expanded: int = 0
    unalignable: int = 0
    dev_source: str = "validation"
    notes: list[str] = field(default_factory=list)

    def summary_line(self) -> str:
        docs = ", ".join(f"{k} {v}" for k, v in self.docs.items())
        return (
            f"spaCy export: Docs {docs} (dev from {self.dev_source}); {self.spans} spans -> "
            f"{self.ents} ents + {self.overlapping_not_in_ents} overlapping only in "
            f"spans[{SPANS_KEY!r}]; "
            f"{self.relations} relations; {self.expanded} spans expanded to token boundaries, "
            f"{self.unalignable} unalignable (see alignment.json) -> {self.out_dir}"
        )


def row_to_doc(
    nlp: Any,
    row: dict[str, Any],
    *,
    split: str,
    report: ExportReport,
    alignment: list[dict[str, Any]],
) -> Doc:
    """One released document (labels as names) -> a Doc with spans, ents and relations."""
    doc = nlp.make_doc(row["text"])
    aligned: list[Any] = []  # spaCy span, or None when the released span could not be placed
    for span in row["spans"]:
        start, end, label = int(span["start"]), int(span["end"]), span["label"]
        placed = doc.char_span(start, end, label=label)
        if placed is None:
            placed = doc.char_span(start, end, label=label, alignment_mode="expand")
            where = {
                "doc_id": row["id"],
                "split": split,
                "span": {"start": start, "end": end, "label": label, "text": span["text"]},
            }
            if placed is None or not placed.text.strip():
                report.unalignable += 1
                alignment.append({**where, "action": "left out: covers no token"})
                placed = None
            else:
                report.expanded += 1
                alignment.append(
                    {
                        **where,
                        "action": "expanded to token boundaries",
                        "aligned": {
                            "start": placed.start_char,
                            "end": placed.end_char,
                            "text": placed.text,
                        },
                    }
                )
        aligned.append(placed)
    kept = [s for s in aligned if s is not None]
    # two released spans may snap onto the same tokens; keep one copy
    unique = list({(s.start, s.end, s.label_): s for s in kept}.values())
    doc.spans[SPANS_KEY] = unique
    doc.ents = filter_spans(unique)
    report.spans += len(unique)
    report.ents += len(doc.ents)
    report.overlapping_not_in_ents += len(unique) - len(doc.ents)
    relations = []
    for rel in row["relations"]:
        head, tail = aligned[int(rel["head"])], aligned[int(rel["tail"])]
        if head is None or tail is None:
            alignment.append(
                {
                    "doc_id": row["id"],
                    "split": split,
                    "relation": rel["label"],
                    "action": "left out: its head or tail span covers no token",
                }
            )
            continue
        relations.append(
            (head.start_char, head.end_char, tail.start_char, tail.end_char, rel["label"])
        )
    report.relations += len(relations)
    doc.user_data["id"] = row["id"]
    doc.user_data["relations"] = relations
    return doc


@dataclass(frozen=True)
class DocRelation:
    """One relation of an exported Doc, with its two spans as spaCy Spans."""

    head: Span
    tail: Span
    label: str


def doc_relations(doc: Doc) -> list[DocRelation]:
    """The relations stored in `doc.user_data["relations"]`, read back as spaCy Spans.

    The stored format (what `row_to_doc` writes, kept by `DocBin(store_user_data=True)`) is a
    list of `(head_start_char, head_end_char, tail_start_char, tail_end_char, label)` tuples in
    the Doc's own character offsets; each pair of offsets falls on token boundaries. A tuple
    that does not is refused (ReleaseError naming the Doc id): the DocBin was not written here.
    """
    out = []
    for head_start, head_end, tail_start, tail_end, label in doc.user_data.get("relations", []):
        head = doc.char_span(head_start, head_end)
        tail = doc.char_span(tail_start, tail_end)
        if head is None or tail is None:
            raise ReleaseError(
                f"Doc {doc.user_data.get('id')!r}: relation {label} "
                f"({head_start}-{head_end} -> {tail_start}-{tail_end}) does not fall on token "
                "boundaries; export the release again with `contraband export spacy`"
            )
        out.append(DocRelation(head, tail, str(label)))
    return out


def segment_doc(doc: Doc, *, sentencizer: Any) -> list[Doc]:
    """Split a Doc into sentence Docs, never cutting a span or separating a relation's two spans.

    Spans, ents and relations are carried over with offsets relative to their segment; the
    segment's id is "<doc id>#<n>" and its character offset in the document is in
    user_data["offset"].
    """
    starts = sorted({sent.start for sent in sentencizer(nlp_copy_for(doc)).sents} | {0})
    # a boundary may not fall strictly inside a span, nor between a relation's head and tail
    blocked: list[tuple[int, int]] = [(s.start, s.end) for s in doc.spans[SPANS_KEY]]
    by_char = {(s.start_char, s.end_char): s for s in doc.spans[SPANS_KEY]}
    for hs, he, ts, te, _ in doc.user_data.get("relations", []):
        head, tail = by_char.get((hs, he)), by_char.get((ts, te))
        if head is not None and tail is not None:
            blocked.append((min(head.start, tail.start), max(head.end, tail.end)))
    boundaries = [b for b in starts if not any(lo < b < hi for lo, hi in blocked)] + [len(doc)]
    segments: list[Doc] = []
    for n, (lo, hi) in enumerate(zip(boundaries, boundaries[1:], strict=False)):
        if lo >= hi:
            continue
        piece = doc[lo:hi]
        if not piece.text.strip():
            continue
        seg = piece.as_doc()
        offset = piece.start_char
        inside = [s for s in doc.spans[SPANS_KEY] if lo <= s.start and s.end <= hi]
        seg.spans[SPANS_KEY] = [Span(seg, s.start - lo, s.end - lo, label=s.label_) for s in inside]
        seg.ents = [
            seg.char_span(e.start_char - offset, e.end_char - offset, label=e.label_)
            for e in doc.ents
            if lo <= e.start and e.end <= hi
        ]
        seg.user_data["id"] = f"{doc.user_data.get('id')}#{n}"
        seg.user_data["offset"] = offset
        seg.user_data["relations"] = [
            (hs - offset, he - offset, ts - offset, te - offset, label)
            for hs, he, ts, te, label in doc.user_data.get("relations", [])
            if piece.start_char <= min(hs, ts) and max(he, te) <= piece.end_char
        ]
        segments.append(seg)
    return segments


def nlp_copy_for(doc: Doc) -> Doc:
    """A bare copy of the tokens (the sentencizer sets sentence starts on it, not on `doc`)."""
    return Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])


def export_spacy(
    release_dir: Path,
    *,
    out_dir: Path,
    schema: Schema,
    config: str = CONFIG_DEFAULT,
    segment: str = "sentence",
) -> ExportReport:
    """Write out_dir/{train,dev,test}.spacy and alignment.json from a release's splits.

    dev.spacy holds the validation split, or the test split when validation is empty (the
    report's notes and dev_source say so). The release's label set must equal the schema's.
    segment="sentence" (default) writes one Doc per sentence group, "document" one per document.
    """
    if segment not in ("sentence", "document"):
        raise ReleaseError(f"segment must be 'sentence' or 'document', not {segment!r}")
    manifest = read_manifest(release_dir)
    released = manifest["schema"]
    if (
        released["entity_labels"] != schema.entity_names
        or released["relation_labels"] != schema.relation_names
    ):
        raise ReleaseError(
            f"{release_dir}: released with schema {released['name']} v{released['version']} "
            f"(labels {released['entity_labels']}), which differs from schema v{schema.version} "
            f"({schema.entity_names}); export with the release's schema or build a new release"
        )
    docs = read_documents(release_dir, config)
    if not len(docs):
        raise ReleaseError(f"{release_dir}: config {config!r} has no documents to export")
    by_split = {s: docs[docs["split"] == s] for s in ("train", "validation", "test")}
    if not len(by_split["train"]):
        raise ReleaseError(
            f"{release_dir}: the train split is empty; rebuild the release with more documents"
        )
    nlp = spacy.blank("en")
    sentencizer = nlp.add_pipe("sentencizer")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ExportReport(out_dir=out_dir)
    alignment: list[dict[str, Any]] = []
    if not len(by_split["validation"]):
        if not len(by_split["test"]):
            raise ReleaseError(
                f"{release_dir}: validation and test splits are both empty; spaCy needs "
                "dev data; rebuild the release with min_docs_per_split >= 1"
            )
        report.dev_source = "test"
        report.notes.append("validation split is empty: dev.spacy holds the test split")
    bins: dict[str, DocBin] = {}
    for split, frame in by_split.items():
        bins[split] = DocBin(store_user_data=True)
        for row in frame.to_dict("records"):
            doc = row_to_doc(nlp, row, split=split, report=report, alignment=alignment)
            pieces = segment_doc(doc, sentencizer=sentencizer) if segment == "sentence" else [doc]
            for piece in pieces:
                bins[split].add(piece)
    for split, stem in OUTPUTS:
        source = report.dev_source if stem == "dev" else split
        bins[source].to_disk(out_dir / f"{stem}.spacy")
        report.docs[stem] = len(bins[source])
    payload = {
        "release": manifest["version"],
        "config": config,
        "dev_source": report.dev_source,
        "segment": segment,
        "counts": {k: v for k, v in Counter(a["action"] for a in alignment).items()},
        "notes": report.notes,
        "items": alignment,
    }
    (out_dir / "alignment.json").write_text(
        json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return report
