"""The weasel project file (project.yml at the repository root): export -> train -> evaluate ->
package on a release of the seed pages, and the relation format read back from a DocBin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from annotation.gold import load_gold_dir
from annotation.pseudonym import pseudonymise
from annotation.records import SOURCE_ADJUDICATED, AnnotatedTask
from annotation.release import build_release
from annotation.schema import Schema
from annotation.training.export import doc_relations, export_spacy
from corpus.clean import clean_documents, load_clean_config
from corpus.errors import ReleaseError
from corpus.records import Document, stable_id
from corpus.settings import default_config_path

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"


def _seed_release(releases_dir: Path, schema: Schema) -> Path:
    """A release of the five seed pages, their hand-made gold as the adjudicated annotations."""
    docs = []
    for path in sorted(SEEDS.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        docs.append(
            Document(id=stable_id(str(path), raw), source=str(path), raw_text=raw, site="seeds")
        )
    cleaned = clean_documents(docs, config=load_clean_config(default_config_path("clean.yaml")))
    gold = load_gold_dir(SEEDS / "gold", cleaned, schema=schema)
    annotator = pseudonymise("http://ls.local#1", secret="test")
    tasks = []
    for i, doc in enumerate(cleaned):
        annotation = gold[doc.id].with_(annotator=annotator)
        tasks.append(
            AnnotatedTask(
                doc_id=doc.id,
                task_id=i + 1,
                text=doc.clean_text,
                chunk_end=len(doc.clean_text),
                meta={"cluster_id": doc.id, "url": doc.url or "", "site": "seeds"},
                annotations=(annotation,),
                adjudicated=annotation.with_(source=SOURCE_ADJUDICATED, annotator="adjudicated"),
                adjudication="ground_truth",
            )
        )
    return build_release(tasks, version="0.1.0", releases_dir=releases_dir, schema=schema)


def test_doc_relations_reads_back_the_exported_relations(tmp_path: Path, schema: Schema) -> None:
    release = _seed_release(tmp_path / "releases", schema)
    report = export_spacy(release, out_dir=tmp_path / "spacy", schema=schema)
    nlp = spacy.blank("en")
    read = []
    for name in ("train", "dev", "test"):
        for doc in DocBin().from_disk(tmp_path / "spacy" / f"{name}.spacy").get_docs(nlp.vocab):
            read += doc_relations(doc)
    assert len(read) == report.relations > 0
    for relation in read:
        assert relation.label in schema.relation_names
        assert relation.head.doc is relation.tail.doc
        rule = schema.relation(relation.label)
        assert rule is not None
        spans = {(s.start_char, s.end_char): s.label_ for s in relation.head.doc.spans["sc"]}
        head_label = spans[(relation.head.start_char, relation.head.end_char)]
        tail_label = spans[(relation.tail.start_char, relation.tail.end_char)]
        assert schema.relation_problem(relation.label, head_label, tail_label) is None


def test_doc_relations_refuses_offsets_off_token_boundaries() -> None:
    doc = spacy.blank("en")("Customs seized heroin.")
    doc.user_data.update(id="d1", relations=[(0, 3, 15, 21, "SEIZED_BY")])
    with pytest.raises(ReleaseError, match="Doc 'd1': relation SEIZED_BY .0-3 -> 15-21."):
        doc_relations(doc)


@pytest.mark.slow
def test_weasel_project_trains_evaluates_and_packages_the_seed_release(
    tmp_path: Path, schema: Schema
) -> None:
    _seed_release(tmp_path / "releases", schema)
    shutil.copy(REPO / "project.yml", tmp_path / "project.yml")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "weasel", "run", "all", str(tmp_path), "--vars.max_steps", "20"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    scores = json.loads((tmp_path / "models" / "ner" / "scores.json").read_text())
    assert "ents_per_type" in scores["dev"]
    for name, key in (("ner", "ents_f"), ("spancat", "spans_sc_f")):
        metrics = json.loads((tmp_path / "metrics" / f"{name}.json").read_text())
        assert 0.0 <= metrics[key] <= 1.0, metrics
    package = tmp_path / "packages" / "en_contraband_ner-0.1.0"
    meta = json.loads((package / "meta.json").read_text())
    assert (meta["name"], meta["version"]) == ("contraband_ner", "0.1.0")
    assert set(meta["labels"]["ner"]) <= set(schema.entity_names) and meta["labels"]["ner"]
    assert list((package / "dist").glob("en_contraband_ner-0.1.0.tar.gz"))
