"""spaCy export: DocBins keep ents, overlapping spans and relations; misalignments are reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from annotation.pseudonym import pseudonymise
from annotation.records import SOURCE_ADJUDICATED, AnnotatedTask, Annotation, Relation, Span
from annotation.release import build_release
from annotation.schema import PROJECT_ROOT, load_schema
from annotation.training.export import SPANS_KEY, export_spacy, segment_doc

SCHEMA = load_schema()
ANNOTATOR = pseudonymise("http://ls.local#1", secret="k")

# doc id -> (text, [(phrase, label)], [(head, tail, relation)]); "Hai Phon" is cut mid-word
DOCS = {
    "a1": (
        "Vietnam Customs seized 500 kg of ketamine in Hai Phong.",
        [
            ("Vietnam Customs", "AGENCY"),
            ("500 kg of ketamine", "SEIZURE"),
            ("500 kg", "QUANTITY"),
            ("ketamine", "DRUG"),
            ("Hai Phon", "LOCATION"),
        ],
        [
            ("500 kg of ketamine", "Vietnam Customs", "SEIZED_BY"),
            ("500 kg of ketamine", "ketamine", "SEIZED_ITEM"),
            ("500 kg of ketamine", "500 kg", "QUANTITY_OF"),
        ],
    ),
    "a2": (
        "Police in Quang Binh seized 8.3 tons of pangolin scales on May 11, 2019.",
        [
            ("Quang Binh", "LOCATION"),
            ("8.3 tons of pangolin scales", "SEIZURE"),
            ("8.3 tons", "QUANTITY"),
            ("pangolin scales", "WILDLIFE"),
            ("May 11, 2019", "DATE"),
        ],
        [
            ("8.3 tons of pangolin scales", "pangolin scales", "SEIZED_ITEM"),
            ("8.3 tons of pangolin scales", "May 11, 2019", "SEIZED_ON"),
        ],
    ),
    "a3": (
        "China Customs and UNODC joined Operation Mekong Dragon.",
        [
            ("China Customs", "AGENCY"),
            ("UNODC", "AGENCY"),
            ("Operation Mekong Dragon", "OPERATION"),
        ],
        [
            ("China Customs", "UNODC", "COOPERATES_WITH"),
            ("China Customs", "Operation Mekong Dragon", "PARTICIPATES_IN"),
        ],
    ),
    "a4": (
        "Border guards in Lao Cai seized 12 kg of heroin.",
        [
            ("Lao Cai", "LOCATION"),
            ("12 kg of heroin", "SEIZURE"),
            ("12 kg", "QUANTITY"),
            ("heroin", "DRUG"),
        ],
        [("12 kg of heroin", "heroin", "SEIZED_ITEM")],
    ),
    "a5": (
        "Ho Chi Minh City customs found ivory in March 2019.",
        [("Ho Chi Minh City", "LOCATION"), ("ivory", "WILDLIFE"), ("March 2019", "DATE")],
        [],
    ),
}


def make_task(doc_id: str, text: str, found, rels, task_id: int) -> AnnotatedTask:
    spans = []
    for i, (phrase, label) in enumerate(found):
        start = text.index(phrase)
        spans.append(Span(f"s{i}", start, start + len(phrase), label, phrase))
    ids = {s.text: s.id for s in spans}
    ann = Annotation(
        ANNOTATOR, tuple(spans), tuple(Relation(ids[h], ids[t], r) for h, t, r in rels)
    )
    return AnnotatedTask(
        doc_id=doc_id,
        task_id=task_id,
        text=text,
        chunk_end=len(text),
        meta={"cluster_id": doc_id},
        annotations=(ann,),
        adjudicated=ann.with_(source=SOURCE_ADJUDICATED),
        adjudication="single",
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    tasks = [make_task(d, *v, task_id=i) for i, (d, v) in enumerate(DOCS.items())]
    release = build_release(tasks, version="0.1.0", releases_dir=root / "releases", schema=SCHEMA)
    report = export_spacy(release, out_dir=root / "spacy", schema=SCHEMA, segment="document")
    return report


def _docs(out_dir: Path) -> dict:
    nlp = spacy.blank("en")
    docs = {}
    for stem in ("train", "dev", "test"):
        for doc in DocBin().from_disk(out_dir / f"{stem}.spacy").get_docs(nlp.vocab):
            docs[doc.user_data["id"]] = doc
    return docs


def test_spacy_export_docbin_keeps_ents_overlapping_spans_and_relations(exported):
    docs = _docs(exported.out_dir)
    assert set(docs) == set(DOCS)
    assert exported.docs["train"] >= 1 and exported.docs["dev"] >= 1 and exported.docs["test"] >= 1
    for doc_id, (text, found, rels) in DOCS.items():
        doc = docs[doc_id]
        spans = {(s.text, s.label_) for s in doc.spans[SPANS_KEY]}
        want = {(p if p != "Hai Phon" else "Hai Phong", label) for p, label in found}
        assert spans == want  # overlaps included
        ents = [(e.text, e.label_) for e in doc.ents]
        assert set(ents) <= want
        starts = sorted((e.start, e.end) for e in doc.ents)
        assert all(a[1] <= b[0] for a, b in zip(starts, starts[1:], strict=False))  # no overlap
        got_rels = {
            (text[hs:he], text[ts:te], label)
            for hs, he, ts, te, label in doc.user_data["relations"]
        }
        assert got_rels == set(rels)
    a1 = [(e.text, e.label_) for e in docs["a1"].ents]
    assert ("500 kg of ketamine", "SEIZURE") in a1 and ("ketamine", "DRUG") not in a1
    assert exported.overlapping_not_in_ents == sum(
        1 for d in docs.values() for _ in d.spans[SPANS_KEY]
    ) - sum(len(d.ents) for d in docs.values())


def test_spacy_export_reports_the_misaligned_span(exported):
    alignment = json.loads((exported.out_dir / "alignment.json").read_text())
    assert exported.expanded == 1 and exported.unalignable == 0
    [item] = alignment["items"]
    assert item["doc_id"] == "a1" and item["span"]["text"] == "Hai Phon"
    assert (
        item["action"] == "expanded to token boundaries" and item["aligned"]["text"] == "Hai Phong"
    )
    assert "1 spans expanded" in exported.summary_line()


AGENCIES = ["Vietnam Customs", "China Customs", "Border guards", "Police", "UNODC"]
ITEMS = [
    ("ketamine", "DRUG"),
    ("heroin", "DRUG"),
    ("ivory", "WILDLIFE"),
    ("pangolin scales", "WILDLIFE"),
]
PLACES = ["Hai Phong", "Lao Cai", "Quang Binh", "Ho Chi Minh City", "Mong Cai", "Da Nang"]


def template_docs(n: int) -> dict:
    """n varied one-sentence seizure reports with nested spans and relations."""
    docs = {}
    for i in range(n):
        agency, (item, item_label), place = AGENCIES[i % 5], ITEMS[i % 4], PLACES[i % 6]
        qty = f"{i + 2} kg"
        seizure = f"{qty} of {item}"
        text = f"{agency} seized {seizure} in {place} on day {i}."
        docs[f"t{i:03d}"] = (
            text,
            [
                (agency, "AGENCY"),
                (seizure, "SEIZURE"),
                (qty, "QUANTITY"),
                (item, item_label),
                (place, "LOCATION"),
            ],
            [
                (seizure, agency, "SEIZED_BY"),
                (seizure, item, "SEIZED_ITEM"),
                (seizure, place, "SEIZED_AT"),
            ],
        )
    return docs


@pytest.fixture(scope="module")
def exported_large(tmp_path_factory):
    """spaCy's debug data calls fewer than 100 training documents an error, whatever the labels."""
    root = tmp_path_factory.mktemp("export_large")
    tasks = [make_task(d, *v, task_id=i) for i, (d, v) in enumerate(template_docs(130).items())]
    release = build_release(tasks, version="0.1.0", releases_dir=root / "releases", schema=SCHEMA)
    return export_spacy(release, out_dir=root / "spacy", schema=SCHEMA)


@pytest.mark.parametrize("config", ["ner.cfg", "spancat.cfg"])
def test_spacy_export_debug_data_reports_no_errors(exported_large, config):
    out = exported_large.out_dir
    assert exported_large.docs["train"] >= 100
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "debug",
            "data",
            str(PROJECT_ROOT / "configs" / "spacy" / config),
            "--paths.train",
            str(out / "train.spacy"),
            "--paths.dev",
            str(out / "dev.spacy"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✘" not in proc.stdout, proc.stdout


def test_spacy_export_uses_test_split_as_dev_when_validation_is_empty(tmp_path):
    tasks = [make_task(d, *v, task_id=i) for i, (d, v) in enumerate(DOCS.items())]
    release = build_release(
        tasks,
        version="0.1.0",
        releases_dir=tmp_path / "releases",
        schema=SCHEMA,
        split_ratios=(0.6, 0.0, 0.4),
    )
    report = export_spacy(release, out_dir=tmp_path / "spacy", schema=SCHEMA)
    assert report.dev_source == "test" and report.docs["dev"] == report.docs["test"] > 0
    assert "validation split is empty" in " ".join(report.notes)
    assert json.loads((tmp_path / "spacy" / "alignment.json").read_text())["dev_source"] == "test"


def test_spacy_export_sentence_segments_keep_every_span_and_cross_sentence_relation(tmp_path):
    nlp = spacy.blank("en")
    sentencizer = nlp.add_pipe("sentencizer")
    text = "Nothing here. Customs seized 5 kg of heroin. It was in Hanoi. The end."
    doc = nlp.make_doc(text)
    seizure = doc.char_span(text.index("5 kg"), text.index(". It"), label="SEIZURE")
    place = doc.char_span(text.index("Hanoi"), text.index("Hanoi") + 5, label="LOCATION")
    doc.spans["sc"] = [seizure, place]
    doc.ents = [seizure, place]
    doc.user_data["id"] = "d1"
    doc.user_data["relations"] = [
        (seizure.start_char, seizure.end_char, place.start_char, place.end_char, "SEIZED_AT")
    ]
    segments = segment_doc(doc, sentencizer=sentencizer)
    texts = [s.text.strip() for s in segments]
    # the relation joins sentences 2 and 3, so they stay together; the others stand alone
    assert texts == ["Nothing here.", "Customs seized 5 kg of heroin. It was in Hanoi.", "The end."]
    joined = segments[1]
    spans = [(s.text, s.label_) for s in joined.spans["sc"]]
    assert spans == [("5 kg of heroin", "SEIZURE"), ("Hanoi", "LOCATION")]
    ((hs, he, ts, te, label),) = joined.user_data["relations"]
    relation = (joined.text[hs:he], joined.text[ts:te], label)
    assert relation == ("5 kg of heroin", "Hanoi", "SEIZED_AT")
    assert text[joined.user_data["offset"] :].startswith("Customs seized")
    assert sum(len(s.spans["sc"]) for s in segments) == 2
