"""Releases: loadable with schema features, immutable, leak-free, pseudonymous, diffable."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from annotation.pseudonym import pseudonymise
from annotation.records import SOURCE_ADJUDICATED, AnnotatedTask, Annotation, Relation, Span
from annotation.release import (
    PSEUDONYM,
    SPLITS,
    assign_splits,
    build_release,
    check_leakage,
    diff_releases,
    hub_publish_plan,
    latest_version,
    load_release,
    next_version,
    read_documents,
    read_manifest,
    scan_release_for_identities,
    verify_release,
)
from annotation.schema import load_schema
from corpus.errors import ReleaseError

SCHEMA = load_schema()
SECRET = "test-pseudonym-key"
EMAILS = {"alice@example.org": 4711, "bob@example.org": 4712}
ALICE = pseudonymise("http://ls.local#4711", secret=SECRET)
BOB = pseudonymise("http://ls.local#4712", secret=SECRET)
EXPORT_SHA = "ab" * 32

# doc id -> (cluster id, chunk texts, [(phrase, label)], [(head phrase, tail phrase, relation)])
DOCS: dict[str, tuple[str | None, list[str], list[tuple[str, str]], list[tuple[str, str, str]]]] = {
    "d1": (
        "c1",
        ["Vietnam Customs seized 500 kg of ketamine in Hai Phong on May 11, 2019."],
        [
            ("Vietnam Customs", "AGENCY"),
            ("500 kg of ketamine", "SEIZURE"),
            ("500 kg", "QUANTITY"),
            ("ketamine", "DRUG"),
            ("Hai Phong", "LOCATION"),
            ("May 11, 2019", "DATE"),
        ],
        [
            ("500 kg of ketamine", "Vietnam Customs", "SEIZED_BY"),
            ("500 kg of ketamine", "ketamine", "SEIZED_ITEM"),
            ("500 kg of ketamine", "500 kg", "QUANTITY_OF"),
            ("500 kg of ketamine", "Hai Phong", "SEIZED_AT"),
        ],
    ),
    "d2": (
        "c1",
        ["Police in Quang Binh seized 8.3 tons of pangolin scales."],
        [
            ("Quang Binh", "LOCATION"),
            ("8.3 tons of pangolin scales", "SEIZURE"),
            ("8.3 tons", "QUANTITY"),
            ("pangolin scales", "WILDLIFE"),
        ],
        [("8.3 tons of pangolin scales", "pangolin scales", "SEIZED_ITEM")],
    ),
    "d3": (
        "c3",
        [
            "China Customs and Vietnam Customs joined Operation Mekong Dragon. ",
            "Together they seized 276kg of drugs in March 2019.",
        ],
        [
            ("China Customs", "AGENCY"),
            ("Vietnam Customs", "AGENCY"),
            ("Operation Mekong Dragon", "OPERATION"),
            ("276kg of drugs", "SEIZURE"),
            ("drugs", "DRUG"),
            ("March 2019", "DATE"),
        ],
        [
            ("China Customs", "Vietnam Customs", "COOPERATES_WITH"),
            ("276kg of drugs", "drugs", "SEIZED_ITEM"),
            ("276kg of drugs", "March 2019", "SEIZED_ON"),
        ],
    ),
    "d4": (
        None,
        [
            "UNODC praised RILO AP for the seizure of 3,000 cigars "
            "at Tan Son Nhat International Airport."
        ],
        [
            ("UNODC", "AGENCY"),
            ("RILO AP", "AGENCY"),
            ("3,000 cigars", "QUANTITY"),
            ("Tan Son Nhat International Airport", "LOCATION"),
        ],
        [],
    ),
    "d5": (
        "c5",
        ["Ho Chi Minh City customs found ivory in a container."],
        [("Ho Chi Minh City", "LOCATION"), ("ivory", "WILDLIFE")],
        [],
    ),
    "d6": (
        "c6",
        ["Border guards in Lao Cai seized 12 kg of heroin."],
        [("Lao Cai", "LOCATION"), ("12 kg of heroin", "SEIZURE"), ("heroin", "DRUG")],
        [],
    ),
    # identical text, another cluster: must still share d6's split
    "d7": (
        "c7",
        ["Border guards in Lao Cai seized 12 kg of heroin."],
        [("Lao Cai", "LOCATION")],
        [],
    ),
    # never adjudicated: only in the annotations config
    "d8": ("c8", ["Rhino horn was found at Noi Bai airport."], [("Rhino horn", "WILDLIFE")], []),
}


def _spans(text: str, found: list[tuple[str, str]]) -> tuple[Span, ...]:
    out = []
    for i, (phrase, label) in enumerate(found):
        start = text.index(phrase)
        out.append(Span(id=f"s{i}", start=start, end=start + len(phrase), label=label, text=phrase))
    return tuple(out)


def make_tasks(docs=DOCS, *, bob_drops_last_span: bool = True) -> list[AnnotatedTask]:
    """One task per chunk; Alice labels everything, Bob misses the last span; Alice's wins."""
    tasks = []
    task_id = 100
    for doc_id, (cluster, chunks, found, rels) in docs.items():
        text = "".join(chunks)
        start = 0
        for chunk in chunks:
            end = start + len(chunk)
            spans = tuple(s for s in _spans(text, found) if start <= s.start and s.end <= end)
            ids = {s.text: s.id for s in spans}
            relations = tuple(
                Relation(ids[h], ids[t], label) for h, t, label in rels if h in ids and t in ids
            )
            alice = Annotation(ALICE, spans, relations, id=task_id * 10)
            bob = Annotation(
                BOB,
                spans[:-1] if bob_drops_last_span else spans,
                tuple(r for r in relations if r.tail != spans[-1].id and r.head != spans[-1].id),
                id=task_id * 10 + 1,
            )
            adjudicated = doc_id != "d8"
            tasks.append(
                AnnotatedTask(
                    doc_id=doc_id,
                    task_id=task_id,
                    text=chunk,
                    chunk_start=start,
                    chunk_end=end,
                    meta={
                        "url": f"https://news.example/{doc_id}",
                        "title": f"Title {doc_id}",
                        "published": "2019-05-24",
                        "site": "news.example",
                        "cluster_id": cluster,
                        "content_hash": "h" + doc_id,
                        "schema_version": 1,
                        # planted identities that must never reach a release
                        "annotator_email": "alice@example.org",
                        "completed_by": 4711,
                        "reviewer": "Bob Smith",
                    },
                    annotations=(alice, bob),
                    adjudicated=alice.with_(source=SOURCE_ADJUDICATED, annotator="adjudicated")
                    if adjudicated
                    else None,
                    adjudication="agreement" if adjudicated else "needs_review",
                )
            )
            task_id += 1
            start = end
    return tasks


# shaped like annotation.events.seizure_events(); d8's event belongs to a document needing review
EVENTS = pd.DataFrame(
    {
        "doc_id": ["d1", "d2", "d3", "d8"],
        "agency": ["Vietnam Customs", None, None, None],
        "item": ["ketamine", "pangolin scales", "drugs", "Rhino horn"],
        "quantity_value": [500.0, 8300.0, 276.0, None],
        "quantity_unit": ["kg", "kg", "kg", None],
        "date": ["2019-05-11", None, "2019-03", None],
        "published": ["2019-05-24", "2019-06-02", "2019-04-01", "2019-07-01"],
    }
)
# shaped like dataclasses.asdict(annotation.agreement.AgreementReport)
AGREEMENT = {
    "documents": 7,
    "annotators": [ALICE, BOB],
    "exact_f1": 0.9,
    "alpha": 0.85,
    "labels": [
        {"label": "AGENCY", "spans": 10, "exact_f1": 1.0, "overlap_f1": 1.0},
        {"label": "DATE", "spans": 3, "exact_f1": 0.5, "overlap_f1": None},
    ],
    "per_annotator": [
        {"annotator": ALICE, "documents": 8, "exact_f1": 0.9},
        {"annotator": BOB, "documents": 8, "exact_f1": 0.9},
    ],
}


@pytest.fixture(scope="module")
def releases(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("releases")


@pytest.fixture(scope="module")
def release(releases) -> Path:
    return build_release(
        make_tasks(),
        version="0.1.0",
        releases_dir=releases,
        schema=SCHEMA,
        source_export_sha256=EXPORT_SHA,
        fingerprint="fp-1",
        agreement=AGREEMENT,
        events=EVENTS,
        changelog="First release.",
    )


def _checksums(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _splits_of(release: Path) -> dict[str, str]:
    docs = read_documents(release)
    return dict(zip(docs["id"], docs["split"], strict=True))


def test_release_load_dataset_gives_splits_and_schema_features(release, tmp_path):
    ds = load_release(release, cache_dir=tmp_path / "cache")
    assert list(ds) == list(SPLITS)
    assert all(len(ds[s]) > 0 for s in SPLITS)
    assert sum(len(ds[s]) for s in SPLITS) == 7  # d8 still needs review
    feats = ds["train"].features
    assert feats["spans"].feature["label"].names == SCHEMA.entity_names
    assert feats["relations"].feature["label"].names == SCHEMA.relation_names
    assert {"id", "text", "url", "title", "published", "site", "cluster_id", "adjudication"} <= set(
        feats
    )
    annotations = load_release(release, "annotations", cache_dir=tmp_path / "cache")
    assert sum(len(annotations[s]) for s in SPLITS) == 2 * 8
    events = load_release(release, "events", cache_dir=tmp_path / "cache")
    assert sum(len(events[s]) for s in events) == 3
    assert set(events["train"].features) == set(EVENTS.columns)
    assert len(pd.read_csv(release / "events.csv")) == 3
    assert read_manifest(release)["counts"]["events_without_released_document"] == 1


def test_release_spans_and_relations_round_trip_with_document_offsets(release, tmp_path):
    ds = load_release(release, cache_dir=tmp_path / "cache")
    names = ds["train"].features["spans"].feature["label"].names
    rel_names = ds["train"].features["relations"].feature["label"].names
    rows = {r["id"]: r for s in SPLITS for r in ds[s]}
    for doc_id, (_, chunks, found, rels) in DOCS.items():
        if doc_id == "d8":
            assert doc_id not in rows
            continue
        row = rows[doc_id]
        assert row["text"] == "".join(chunks)
        got = {(s["start"], s["end"], names[s["label"]], s["text"]) for s in row["spans"]}
        want = {(s.start, s.end, s.label, s.text) for s in _spans(row["text"], found)}
        assert got == want
        assert all(row["text"][s["start"] : s["end"]] == s["text"] for s in row["spans"])
        got_rels = {
            (
                row["spans"][r["head"]]["text"],
                row["spans"][r["tail"]]["text"],
                rel_names[r["label"]],
            )
            for r in row["relations"]
        }
        assert got_rels == set(rels)
    # the chunked document: a span of the second chunk keeps its document offsets
    march = next(s for s in rows["d3"]["spans"] if s["text"] == "March 2019")
    assert march["start"] == rows["d3"]["text"].index("March 2019") > len(DOCS["d3"][1][0])


def test_release_existing_version_is_refused_and_left_unchanged(release, releases):
    before = _checksums(release)
    with pytest.raises(ReleaseError, match=str(release)):
        build_release(make_tasks(), version="0.1.0", releases_dir=releases, schema=SCHEMA)
    assert _checksums(release) == before
    assert not [p for p in releases.iterdir() if p.name.startswith(".tmp")]


def test_release_splits_keep_clusters_and_identical_texts_together(release):
    assert check_leakage(release) == []
    split = _splits_of(release)
    assert split["d1"] == split["d2"]  # same cluster c1
    assert split["d6"] == split["d7"]  # identical text, different clusters


def test_release_leakage_check_detects_a_hand_broken_split(release, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(release, broken)
    split = _splits_of(release)
    source = split["d2"]
    other = next(s for s in SPLITS if s != source)
    src_file, dst_file = (broken / "data" / "default" / f"{s}.parquet" for s in (source, other))
    src, dst = pq.read_table(src_file), pq.read_table(dst_file)
    is_d2 = [i == "d2" for i in src.column("id").to_pylist()]
    moved = src.filter(is_d2)
    pq.write_table(src.filter([not x for x in is_d2]), src_file)
    pq.write_table(pa.concat_tables([dst, moved]), dst_file)
    problems = check_leakage(broken)
    assert any("cluster_id 'c1'" in p for p in problems), problems
    assert any("annotations row d2/" in p for p in problems), problems


def test_release_manifest_checksums_match_files(release, tmp_path):
    manifest = read_manifest(release)
    assert manifest["version"] == "0.1.0"
    assert manifest["schema"]["version"] == SCHEMA.version
    assert manifest["source_export_sha256"] == EXPORT_SHA
    assert manifest["parent"] is None
    assert manifest["annotations_fingerprint"] == "fp-1"
    assert manifest["counts"]["documents"] == 7
    assert [e["id"] for e in manifest["counts"]["excluded_documents"]] == ["d8"]
    assert set(manifest["files"]) == set(_checksums(release)) - {"manifest.json"}
    assert verify_release(release) == []
    tampered = tmp_path / "tampered"
    shutil.copytree(release, tampered)
    (tampered / "events.csv").write_text("doc_id\nx\n")
    assert [p for p in verify_release(tampered) if p.startswith("events.csv")]


def test_release_card_front_matter_is_generated_from_schema(release):
    card = (release / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert front["task_categories"] == ["token-classification"]
    assert {c["config_name"] for c in front["configs"]} == {"default", "annotations", "events"}
    default = next(i for i in front["dataset_info"] if i["config_name"] == "default")
    spans = next(f for f in default["features"] if f["name"] == "spans")
    label = next(f for f in spans["list"] if f["name"] == "label")
    assert list(label["dtype"]["class_label"]["names"].values()) == SCHEMA.entity_names
    assert "| DATE | 3 | 0.500 |  |" in card  # agreement table
    for link in (
        "plots/label_counts.png",
        "plots/agreement_per_label.png",
        "plots/seizures_over_time.png",
    ):
        assert f"]({link})" in card and (release / link).is_file()


def test_release_annotations_config_holds_pseudonyms_only(release):
    anns = read_documents(release, "annotations")
    assert set(anns["annotator"]) == {ALICE, BOB}
    assert all(PSEUDONYM.match(a) for a in anns["annotator"])
    forbidden = [*EMAILS, "4711", "4712", "Bob Smith", "alice"]
    assert scan_release_for_identities(release, forbidden) == []


def test_release_identity_scan_finds_a_planted_email(release, tmp_path):
    leaky = tmp_path / "leaky"
    shutil.copytree(release, leaky)
    rows = pq.read_table(leaky / "data" / "annotations" / "train.parquet").to_pylist()
    rows[0]["annotator"] = "alice@example.org"
    pq.write_table(pa.Table.from_pylist(rows), leaky / "data" / "annotations" / "train.parquet")
    assert scan_release_for_identities(leaky, EMAILS) == [
        "data/annotations/train.parquet: contains 'alice@example.org'"
    ]


def test_release_refuses_an_annotator_that_is_not_a_pseudonym(tmp_path):
    tasks = make_tasks()
    tasks[0] = tasks[0].with_(
        annotations=(tasks[0].annotations[0].with_(annotator="alice@example.org"),)
    )
    with pytest.raises(ReleaseError, match="'alice@example.org' is not a pseudonym"):
        build_release(tasks, version="0.1.0", releases_dir=tmp_path, schema=SCHEMA)
    assert list(tmp_path.iterdir()) == []


def test_release_diff_lists_added_document_and_changed_span(release, releases):
    docs = dict(DOCS)
    docs["d9"] = (
        "c9",
        ["Customs in Mong Cai seized 40 kg of methamphetamine."],
        [("Mong Cai", "LOCATION"), ("methamphetamine", "DRUG")],
        [],
    )
    cluster, chunks, found, rels = docs["d1"]
    docs["d1"] = (
        cluster,
        chunks,
        [f if f[1] != "DATE" else ("May 11", "DATE") for f in found],
        rels,
    )
    v2 = build_release(
        make_tasks(docs),
        version=next_version(releases, "minor"),
        releases_dir=releases,
        schema=SCHEMA,
        parent="0.1.0",
        changelog="Add d9; fix a date span.",
    )
    assert v2.name == "v0.2.0" and latest_version(releases) == "0.2.0"
    assert check_leakage(v2) == []
    moved = {k: v for k, v in _splits_of(v2).items() if k in _splits_of(release)}
    assert moved == _splits_of(release)  # the parent's documents keep their split
    diff = diff_releases(release, v2)
    assert diff.added == ("d9",) and diff.removed == () and diff.text_changed == ()
    assert list(diff.changed) == ["d1"]
    text = DOCS["d1"][1][0]
    start = text.index("May 11")
    assert diff.changed["d1"].spans_added == ((start, start + 6, "DATE", "May 11"),)
    assert diff.changed["d1"].spans_removed == ((start, start + 12, "DATE", "May 11, 2019"),)
    assert diff.changed["d1"].relations_added == diff.changed["d1"].relations_removed == ()
    md = diff.to_markdown()
    assert "d9" in md and "+ span DATE" in md and "- span DATE" in md


def test_release_hub_plan_lists_files_and_tag_but_no_secrets(release, tmp_path):
    copy = tmp_path / "v0.1.0"
    shutil.copytree(release, copy)
    (copy / ".env").write_text("LABEL_STUDIO_TOKEN=secret\n")
    (copy / "export_raw.json").write_text("[]")
    plan = hub_publish_plan(copy, repo_id="org/contraband")
    assert (
        plan["tag"] == "v0.1.0"
        and plan["repo_type"] == "dataset"
        and plan["repo_id"] == "org/contraband"
    )
    paths = {f["path"]: f["sha256"] for f in plan["files"]}
    manifest = json.loads((release / "manifest.json").read_text())
    assert paths.keys() == set(manifest["files"]) | {"manifest.json"}
    assert all(paths[name] == sha for name, sha in manifest["files"].items())
    assert set(plan["excluded"]) == {".env", "export_raw.json"}


def test_release_version_helpers(tmp_path):
    assert latest_version(tmp_path) is None and next_version(tmp_path) == "0.1.0"
    (tmp_path / "v0.9.3").mkdir()
    (tmp_path / "v0.10.0").mkdir()
    (tmp_path / "notes").mkdir()
    assert latest_version(tmp_path) == "0.10.0"
    assert [next_version(tmp_path, b) for b in ("patch", "minor", "major")] == [
        "0.10.1",
        "0.11.0",
        "1.0.0",
    ]
    with pytest.raises(ReleaseError, match="not semver"):
        build_release(make_tasks(), version="1.0", releases_dir=tmp_path, schema=SCHEMA)


def test_release_assign_splits_fills_every_split_and_follows_ratios():
    five = [{"id": f"seed{i}", "cluster_id": f"seed{i}", "text": f"text {i}"} for i in range(5)]
    split = assign_splits(five)
    assert sorted(split.values()).count("train") == 3 and set(split.values()) == set(SPLITS)
    assert assign_splits(five) == split  # deterministic
    many = [
        {"id": f"x{i:03d}", "cluster_id": f"c{i // 2}", "text": f"text {i}"} for i in range(200)
    ]
    counts = pd.Series(assign_splits(many, seed=7)).value_counts()
    assert counts["train"] == 160 and counts["validation"] == 20 and counts["test"] == 20


def test_release_card_says_why_there_are_no_agreement_figures_with_one_annotator():
    from annotation.release import agreement_to_markdown

    text = agreement_to_markdown({"documents": 0, "exact_f1": None, "labels": []})
    assert "No document was annotated by two or more annotators" in text
    assert "None" not in text
    assert "| span F1, exact match | 0.500 |" in agreement_to_markdown(
        {"documents": 2, "exact_f1": 0.5}
    )


def test_release_diff_covers_the_annotations_and_events_configs(tmp_path):
    from annotation.events import seizure_events

    tasks = make_tasks()
    v1 = build_release(
        tasks, version="0.1.0", releases_dir=tmp_path, schema=SCHEMA, events=seizure_events(tasks)
    )
    same = build_release(
        tasks, version="0.1.1", releases_dir=tmp_path, schema=SCHEMA, events=seizure_events(tasks)
    )
    assert diff_releases(v1, same).unchanged
    events = load_release(v1, "events", cache_dir=tmp_path / "cache")
    row = next(r for s in events for r in events[s] if r["seizure_text"] == "500 kg of ketamine")
    assert row["mention_count"] == len(row["mentions"]) == 1
    assert row["mentions"][0]["text"] == "500 kg of ketamine"
    assert row["sources"][0]["url"] == "https://news.example/d1"
    assert "rows added / removed / changed: 0 / 0 / 0" in diff_releases(v1, same).to_markdown()

    # the same annotations under a new pseudonym for Bob, and one event's quantity corrected
    carol = pseudonymise("http://ls.local#4713", secret=SECRET)
    renamed = [
        t.with_(
            annotations=tuple(
                a.with_(annotator=carol) if a.annotator == BOB else a for a in t.annotations
            )
        )
        for t in tasks
    ]
    events = seizure_events(renamed)
    fixed = events["seizure_text"] == "500 kg of ketamine"
    events.loc[fixed, "quantity_value"] = 400.0
    v2 = build_release(
        renamed,
        version="0.2.0",
        releases_dir=tmp_path,
        schema=SCHEMA,
        events=events,
        parent="0.1.0",
    )
    diff = diff_releases(v1, v2)
    assert not diff.unchanged
    assert diff.added == diff.removed == () and diff.changed == {}  # documents: no change
    annotations = diff.configs["annotations"]
    bob_rows = {
        f"{d} {BOB}" for d in read_documents(v1, "annotations").query("annotator == @BOB")["id"]
    }
    assert set(annotations.removed) == bob_rows and len(bob_rows) > 0
    assert {k.replace(carol, BOB) for k in annotations.added} == bob_rows
    ketamine_id = events.loc[fixed, "event_id"].iloc[0]
    assert list(diff.configs["events"].changed) == [ketamine_id]
    assert diff.configs["events"].changed[ketamine_id].fields_changed == (
        "quantity_value: 500.0 -> 400.0",
    )
    md = diff.to_markdown()
    assert "## Config `annotations`" in md and f"rows removed: {len(bob_rows)}" in md
    assert f"### {ketamine_id}" in md and "quantity_value: 500.0 -> 400.0" in md


def test_release_diff_of_a_changed_annotator_row_lists_its_spans(release, tmp_path):
    tasks = make_tasks(bob_drops_last_span=False)
    v = build_release(tasks, version="0.9.0", releases_dir=tmp_path, schema=SCHEMA)
    changed = diff_releases(release, v).configs["annotations"].changed
    assert changed and all(k.endswith(BOB) for k in changed)
    assert all(c.spans_added and not c.spans_removed for c in changed.values())
