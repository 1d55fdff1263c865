"""Gold annotations of the seeds (seeds/gold/*.yaml) and their resolver (annotation/gold.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.gold import load_gold_dir, read_gold_file, resolve_gold
from annotation.records import Annotation
from annotation.schema import Schema, load_schema
from corpus.errors import SchemaError
from corpus.records import Document, stable_id

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
GOLD_DIR = SEEDS / "gold"
GOLD_FILES = sorted(GOLD_DIR.glob("*.yaml"))

# The glued words the cleaner repairs (issue 2); the gold quotes them repaired.
REPAIRS = {
    "strengthencooperation": "strengthen cooperation",
    "todiscovering": "to discovering",
    "overa year": "over a year",
    "detectedin": "detected in",
    "wasco-founded": "was co-founded",
    "anti-drugpolicy": "anti-drug policy",
    "May2019": "May 2019",
    "seizureof": "seizure of",
    "crimeC04": "crime C04",
    "saidto": "said to",
    "dealt withby": "dealt with by",
    "withmore": "with more",
    "toChinese": "to Chinese",
    "Philippinesrelated": "Philippines related",
}


def repair_raw_seed(raw: str) -> str:
    """A stand-in for the cleaner: the listed glue repairs + doubled consecutive lines collapsed."""
    for glued, repaired in REPAIRS.items():
        raw = raw.replace(glued, repaired)
    lines: list[str] = []
    for line in raw.split("\n"):
        if lines and line.strip() and line == lines[-1]:
            continue
        lines.append(line)
    return "\n".join(lines)


def seed_text(gold_file: Path) -> str:
    return repair_raw_seed((SEEDS / f"{gold_file.stem}.txt").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def gold(schema: Schema) -> dict[str, Annotation]:
    return {
        f.stem: resolve_gold(read_gold_file(f), seed_text(f), schema=schema, source=str(f))
        for f in GOLD_FILES
    }


def test_gold_exists_for_every_seed_page() -> None:
    assert [f.stem for f in GOLD_FILES] == [p.stem for p in sorted(SEEDS.glob("*.txt"))]


@pytest.mark.parametrize("gold_file", GOLD_FILES, ids=lambda p: p.stem)
def test_gold_resolves_on_repaired_raw_seed(gold_file: Path, schema: Schema) -> None:
    text = seed_text(gold_file)
    annotation = resolve_gold(read_gold_file(gold_file), text, schema=schema, source=str(gold_file))
    assert annotation.spans and annotation.ground_truth and annotation.annotator == "gold"
    for span in annotation.spans:
        assert text[span.start : span.end] == span.text


def test_gold_resolves_on_cleaned_seeds(schema: Schema) -> None:
    clean = pytest.importorskip("corpus.clean")
    docs = []
    for path in sorted(SEEDS.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        docs.append(
            Document(id=stable_id(str(path), raw), source=str(path), raw_text=raw, site="seeds")
        )
    cleaned = clean.clean_documents(docs, config=clean.load_clean_config())
    resolved = load_gold_dir(GOLD_DIR, cleaned, schema=schema)
    assert set(resolved) == {d.id for d in cleaned}
    for doc in cleaned:
        for span in resolved[doc.id].spans:
            assert doc.clean_text[span.start : span.end] == span.text
            # and back to the exact raw characters through the offset map
            if doc.offset_map is not None:
                raw_start, raw_end = doc.offset_map.to_raw(span.start, span.end)
                assert span.text.replace(" ", "") in doc.raw_text[raw_start:raw_end].replace(
                    " ", ""
                )


def _seizures(annotation: Annotation, text: str) -> list[tuple[str, set[str]]]:
    """(seizure text, {relation labels leaving it}) for every SEIZURE span."""
    out = []
    for span in annotation.spans:
        if span.label == "SEIZURE":
            out.append((span.text, {r.label for r in annotation.relations if r.head == span.id}))
    return out


def test_gold_has_the_key_seizures_with_item_and_quantity(gold: dict[str, Annotation]) -> None:
    by_page = {stem[:3]: _seizures(a, "") for stem, a in gold.items()}
    wanted = [
        ("000", "500 kg of ketamine"),
        ("002", "500 kg of ketamine"),
        ("000", "8.3 tons of pangolin scales"),
        ("002", "8.3 tons of pangolin scales"),
        ("002", "276kg of drugs"),
    ]
    for page, text in wanted:
        relations = [rels for t, rels in by_page[page] if t == text]
        assert relations, f"page {page}: no SEIZURE {text!r}"
        assert all({"SEIZED_ITEM", "QUANTITY_OF"} <= rels for rels in relations), (
            page,
            text,
            relations,
        )


def test_gold_nests_quantity_and_item_inside_seizures(gold: dict[str, Annotation]) -> None:
    for stem, annotation in gold.items():
        for r in annotation.relations:
            if r.label in ("QUANTITY_OF", "SEIZED_ITEM"):
                head, tail = annotation.span(r.head), annotation.span(r.tail)
                assert head and tail
                if r.label == "SEIZED_ITEM":
                    assert head.start <= tail.start and tail.end <= head.end, (stem, head, tail)


def test_gold_relations_satisfy_schema(gold: dict[str, Annotation], schema: Schema) -> None:
    for stem, annotation in gold.items():
        for r in annotation.relations:
            head, tail = annotation.span(r.head), annotation.span(r.tail)
            assert head and tail, (stem, r)
            assert schema.relation_problem(r.label, head.label, tail.label) is None, (stem, r)


def test_resolve_gold_reports_every_problem_at_once(schema: Schema) -> None:
    text = "Vietnam Customs seized 500 kg of ketamine. Vietnam Customs met UNODC."
    spec = {
        "spans": [
            {
                "id": "s1",
                "label": "SEIZURE",
                "text": "500 kg of ketamine",
                "context": "seized 500 kg of ketamine",
            },
            {"id": "s2", "label": "AGENCYY", "text": "UNODC", "context": "met UNODC"},
            {
                "id": "s3",
                "label": "AGENCY",
                "text": "Vietnam Customs",
                "context": "Vietnam Customs",
            },
            {"id": "s4", "label": "DRUG", "text": "heroin", "context": "seized 500 kg of ketamine"},
            {"id": "s5", "label": "AGENCY", "text": "UNODC", "context": "met UNODC"},
        ],
        "relations": [
            {"head": "s1", "tail": "s9", "label": "SEIZED_BY"},
            {"head": "s5", "tail": "s1", "label": "SEIZED_BY"},
        ],
    }
    with pytest.raises(SchemaError) as err:
        resolve_gold(spec, text, schema=schema, source="inline.yaml")
    message = str(err.value)
    assert "inline.yaml: 5 problem(s)" in message
    assert "span s2: label 'AGENCYY' is not in schema" in message
    assert "span s3: context 'Vietnam Customs' occurs 2 times" in message
    assert "span s4: text 'heroin' does not occur" in message
    assert "['s9'] are not defined" in message
    assert "relation SEIZED_BY goes from SEIZURE to AGENCY, not from AGENCY to SEIZURE" in message


def test_resolve_gold_tolerates_quote_style_and_line_wrapping(schema: Schema) -> None:
    text = "They joined the \u201cMekong Dragon\u201d campaign\nin 2019."
    spec = {
        "spans": [
            {
                "id": "s1",
                "label": "OPERATION",
                "text": "Mekong Dragon",
                "context": 'joined the "Mekong Dragon" campaign in 2019',
            }
        ]
    }
    annotation = resolve_gold(spec, text, schema=schema, source="inline")
    assert [(s.start, s.end, s.text) for s in annotation.spans] == [(17, 30, "Mekong Dragon")]


def test_resolve_gold_picks_the_nth_occurrence_inside_the_context(schema: Schema) -> None:
    text = "First, Vietnam Customs met Vietnam Customs."
    spec = {
        "spans": [
            {
                "id": "s1",
                "label": "AGENCY",
                "text": "Vietnam Customs",
                "occurrence": 2,
                "context": "Vietnam Customs met Vietnam Customs",
            }
        ]
    }
    (span,) = resolve_gold(spec, text, schema=schema, source="inline").spans
    assert (span.start, span.end) == (27, 42)


def test_load_gold_dir_matches_documents_by_source_stem(tmp_path: Path, schema: Schema) -> None:
    (tmp_path / "page_a.yaml").write_text(
        'spans:\n  - {id: s1, label: AGENCY, text: "UNODC", context: "met UNODC"}\nrelations: []\n',
        encoding="utf-8",
    )
    doc = Document(id="d1", source="in/page_a.txt", raw_text="x", clean_text="They met UNODC.")
    other = Document(id="d2", source="in/page_b.txt", raw_text="y", clean_text="Nothing.")
    resolved = load_gold_dir(tmp_path, [other, doc], schema=schema)
    assert list(resolved) == ["d1"] and resolved["d1"].spans[0].start == 9
    with pytest.raises(
        SchemaError, match="page_a.yaml: no document whose source file is named page_a"
    ):
        load_gold_dir(tmp_path, [other], schema=schema)
