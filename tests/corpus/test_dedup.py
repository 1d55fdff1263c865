"""Tests of corpus.dedup on small inline documents."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corpus.dedup import (
    DedupConfig,
    containment,
    content_shingle_sets,
    deduplicate,
    detection_probability,
    find_duplicates,
    jaccard,
    load_dedup_config,
    minhash_signatures,
    normalise_for_dedup,
    shingle_sets,
)
from corpus.errors import ConfigError
from corpus.records import STATUS_REJECTED, Document

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_dedup_config()


def letters(number: int) -> str:
    """`number` spelt with letters (no digits: a number would make the word a numeric fact)."""
    return "".join("abcdefghij"[int(d)] for d in str(number))


def words(seed: int, n: int) -> list[str]:
    """n distinct pseudo-words, so every 5-gram shingle is unique."""
    rng = random.Random(seed)
    return [f"w{letters(seed)}x{letters(i)}{rng.choice('abcdefgh')}" for i in range(n)]


def doc(doc_id: str, text: str, published: str | None = None) -> Document:
    return Document(
        id=doc_id, source=f"{doc_id}.txt", raw_text=text, clean_text=text, published=published
    )


def sentence(tokens: list[str]) -> str:
    """The tokens as one line of prose (words, then a full stop)."""
    return " ".join(tokens) + "."


def edited(tokens: list[str], positions: list[int]) -> str:
    out = list(tokens)
    for p in positions:
        out[p] = out[p][::-1]  # same length: the keeper's "longest" rule stays neutral
    return sentence(out)


def by_id(docs: list[Document]) -> dict[str, Document]:
    return {d.id: d for d in docs}


def test_dedup_normalise_drops_case_punctuation_and_whitespace() -> None:
    assert normalise_for_dedup("Hello,\n  WORLD!  ﬁne") == "hello world fine"


def test_dedup_exact_duplicates_after_whitespace_and_case_normalisation() -> None:
    text = sentence(words(1, 60))
    out = by_id(
        deduplicate([doc("a", text), doc("b", text.upper().replace(" ", "\n"))], config=CONFIG)
    )
    assert out["a"].status == "kept" and out["b"].status == "duplicate"
    assert out["b"].duplicate_of == "a"
    assert out["b"].similarity == 1.0
    assert out["a"].cluster_id == out["b"].cluster_id == "c-a"


def test_dedup_near_duplicate_merged_with_measured_similarity_and_earlier_published_keeper() -> (
    None
):
    tokens = words(2, 200)
    original, variant = sentence(tokens), edited(tokens, [50, 150])
    expected = jaccard(*shingle_sets([original, variant], shingle_size=5))
    assert 0.85 < expected < 0.95
    # The variant comes first in input order but was published earlier: it is the keeper.
    out = by_id(
        deduplicate(
            [doc("late", original, "2020-05-02"), doc("early", variant, "2020-05-01")],
            config=CONFIG,
        )
    )
    assert out["early"].status == "kept"
    assert out["late"].status == "duplicate"
    assert out["late"].duplicate_of == "early"
    assert out["late"].similarity == pytest.approx(expected)
    assert out["late"].cluster_id == out["early"].cluster_id == "c-early"


def test_dedup_keeper_is_longer_on_equal_dates_then_first_seen() -> None:
    tokens = words(3, 200)
    short, long = sentence(tokens), sentence(tokens) + " extra words at the end"
    out = by_id(
        deduplicate(
            [doc("short", short, "2020-01-01"), doc("long", long, "2020-01-01")], config=CONFIG
        )
    )
    assert out["short"].duplicate_of == "long"
    same = edited(tokens, [10])
    out = by_id(deduplicate([doc("first", short), doc("second", same)], config=CONFIG))
    assert out["second"].duplicate_of == "first" and out["first"].status == "kept"


def test_dedup_pair_at_low_jaccard_is_not_merged() -> None:
    a = words(4, 200)
    b = a[:90] + words(5, 110)
    assert 0.2 < jaccard(*shingle_sets([sentence(a), sentence(b)], shingle_size=5)) < 0.4
    out = deduplicate([doc("a", sentence(a)), doc("b", sentence(b))], config=CONFIG)
    assert [d.status for d in out] == ["kept", "kept"]
    assert out[0].cluster_id == "c-a" and out[1].cluster_id == "c-b"
    assert out[1].duplicate_of is None


def test_dedup_cluster_of_three_shares_one_cluster_id() -> None:
    tokens = words(6, 200)
    docs = [
        doc("x", sentence(tokens)),
        doc("y", edited(tokens, [20])),
        doc("z", edited(tokens, [180])),
    ]
    out = deduplicate(docs, config=CONFIG)
    assert {d.cluster_id for d in out} == {"c-x"}
    assert [d.status for d in out] == ["kept", "duplicate", "duplicate"]
    assert all(d.duplicate_of == "x" for d in out[1:])


def test_dedup_leaves_rejected_documents_untouched() -> None:
    text = sentence(words(7, 50))
    rejected = Document(
        id="r",
        source="r.txt",
        raw_text=text,
        clean_text=text,
        status=STATUS_REJECTED,
        reject_reason="binary_file",
    )
    out = deduplicate([doc("k", text), rejected], config=CONFIG)
    assert out[1] is rejected
    assert out[0].status == "kept" and out[0].cluster_id == "c-k"


def test_dedup_records_repeated_paragraph_on_both_documents() -> None:
    shared = sentence(words(8, 30))
    a = f"{' '.join(words(9, 40))}\n\n  {shared}\n\nshort line"
    b = f"{shared}\n{' '.join(words(10, 40))}"
    out = deduplicate([doc("a", a), doc("b", b)], config=CONFIG)
    assert [d.status for d in out] == ["kept", "kept"]
    (pa,), (pb,) = out[0].duplicate_paragraphs, out[1].duplicate_paragraphs
    assert pa["cluster"] == pb["cluster"]
    assert a[pa["start"] : pa["end"]] == shared == b[pb["start"] : pb["end"]]


def test_dedup_detection_probability_of_configured_bands_and_rows() -> None:
    assert detection_probability(0.8, bands=CONFIG.bands, rows=CONFIG.rows) >= 0.99
    assert detection_probability(0.5, bands=CONFIG.bands, rows=CONFIG.rows) < 0.2
    assert detection_probability(0.3, bands=CONFIG.bands, rows=CONFIG.rows) < 0.01


def test_dedup_signatures_are_stable_across_calls_and_processes() -> None:
    texts = [
        sentence(words(11, 80)),
        "Vietnam Customs seized 500 kg of ketamine in Ho Chi Minh City.",
    ]
    first = minhash_signatures(texts, config=CONFIG)
    assert first.shape == (2, CONFIG.num_perm) and first.dtype == np.uint32
    assert np.array_equal(first, minhash_signatures(texts, config=CONFIG))
    assert np.array_equal(first, minhash_signatures(texts, config=replace(CONFIG, workers=1)))
    code = (
        "import sys, json; from corpus.dedup import load_dedup_config, minhash_signatures;"
        "texts = json.loads(sys.stdin.read());"
        "print(json.dumps(minhash_signatures(texts, config=load_dedup_config()).tolist()))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(texts),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    )
    assert np.array_equal(first, np.array(json.loads(other.stdout), dtype=np.uint32))


def test_dedup_signature_agreement_estimates_jaccard() -> None:
    tokens = words(12, 300)
    texts = [sentence(tokens), edited(tokens, [40, 140, 240])]
    truth = jaccard(*shingle_sets(texts, shingle_size=5))
    sig = minhash_signatures(texts, config=CONFIG)
    assert abs(float((sig[0] == sig[1]).mean()) - truth) < 0.1


def test_dedup_config_rejects_unknown_keys_and_bad_bands(tmp_path: Path) -> None:
    bad = tmp_path / "dedup.yaml"
    bad.write_text("shingles: 5\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match="shingles: unknown key 'shingles'; did you mean 'shingle_size'"
    ):
        load_dedup_config(bad)
    with pytest.raises(ConfigError, match="exceeds num_perm"):
        DedupConfig(num_perm=100, bands=20, rows=6)


def test_dedup_signature_agreement_is_unbiased_over_many_pairs() -> None:
    # the 32-bit permutation family: over many pairs, agreement tracks Jaccard with the
    # spread of independent permutations (binomial: sd ~ sqrt(J(1-J)/num_perm) ~ 0.04)
    rng = np.random.default_rng(11)
    errors = []
    for _ in range(150):
        tokens = words(int(rng.integers(0, 10_000)), 300)
        n_edits = int(rng.integers(1, 30))
        positions = sorted(rng.choice(300, size=n_edits, replace=False).tolist())
        texts = [sentence(tokens), edited(tokens, positions)]
        truth = jaccard(*shingle_sets(texts, shingle_size=5))
        sig = minhash_signatures(texts, config=CONFIG)
        errors.append(float((sig[0] == sig[1]).mean()) - truth)
    errors = np.array(errors)
    assert abs(errors.mean()) < 0.01
    assert 0.02 < errors.std() < 0.06


# --------------------------------------------------------------------------- safe merges


def menu(seed: int, items: int) -> str:
    """A site's navigation: `items` short lines of two or three words."""
    tokens = words(seed, 3 * items)
    return "\n".join(" ".join(tokens[3 * i : 3 * i + 2 + i % 2]) for i in range(items))


def prose(tokens: list[str], per_line: int = 20) -> str:
    """Tokens as paragraphs of `per_line` words, one per line."""
    return "\n".join(sentence(tokens[i : i + per_line]) for i in range(0, len(tokens), per_line))


def test_dedup_pages_sharing_only_menus_are_not_merged_though_their_jaccard_is_high() -> None:
    nav = menu(20, 120)
    a, b = f"{nav}\n{prose(words(21, 30))}", f"{nav}\n{prose(words(22, 30))}"
    assert jaccard(*shingle_sets([a, b], shingle_size=5)) > 0.8  # MinHash alone would merge
    out = deduplicate([doc("a", a), doc("b", b)], config=CONFIG)
    assert [d.status for d in out] == ["kept", "kept"]
    assert out[0].cluster_id != out[1].cluster_id


def test_dedup_short_page_is_merged_only_on_exact_identity() -> None:
    tokens = words(23, 40)  # 36 shingles: under min_content_shingles
    assert len(content_shingle_sets([sentence(tokens)], config=CONFIG)[0]) < (
        CONFIG.min_content_shingles
    )
    near = deduplicate([doc("a", sentence(tokens)), doc("b", edited(tokens, [39]))], config=CONFIG)
    assert [d.status for d in near] == ["kept", "kept"]
    same = deduplicate([doc("a", sentence(tokens)), doc("b", sentence(tokens))], config=CONFIG)
    assert [d.status for d in same] == ["kept", "duplicate"]
    assert same[1].similarity == same[1].containment == 1.0


def test_dedup_truncated_copy_inside_other_menus_is_found_with_its_containment() -> None:
    article = words(24, 400)
    full = f"{menu(25, 30)}\n{prose(article)}\n{menu(26, 20)}"
    cut = f"{menu(27, 40)}\n{prose(article[:140])}"  # the first 35%, another site's menus
    sets = content_shingle_sets([full, cut], config=CONFIG)
    expected_jaccard = jaccard(*sets)
    assert expected_jaccard < 0.4  # far below the Jaccard threshold: only containment finds it
    out = by_id(deduplicate([doc("cut", cut), doc("full", full)], config=CONFIG))
    assert out["full"].status == "kept" and out["cut"].status == "duplicate"
    assert out["cut"].duplicate_of == "full" and out["cut"].cluster_id == "c-full"
    assert out["cut"].containment == pytest.approx(containment(*sets)) == 1.0
    assert out["cut"].similarity == pytest.approx(expected_jaccard)


def test_dedup_half_overlap_is_not_a_partial_copy() -> None:
    shared = words(28, 120)
    a = prose(shared + words(29, 120))
    b = prose(shared + words(30, 120))
    assert 0.4 < containment(*content_shingle_sets([a, b], config=CONFIG)) < 0.6
    out = deduplicate([doc("a", a), doc("b", b)], config=CONFIG)
    assert [d.status for d in out] == ["kept", "kept"]


def test_dedup_containment_is_the_share_of_the_smaller_set() -> None:
    assert (
        containment(np.array([1, 2, 3, 4], np.uint64), np.array([2, 3, 4, 5, 6, 7], np.uint64))
        == 0.75
    )
    assert containment(np.array([], np.uint64), np.array([1], np.uint64)) == 0.0


def test_dedup_content_shingles_leave_out_short_lines() -> None:
    headline = " ".join(words(32, 10))  # long enough, but no sentence end
    text = f"alpha beta gamma\n{sentence(words(31, 12))}\n{headline}"
    (content,) = content_shingle_sets([text], config=CONFIG)
    (everything,) = shingle_sets([text], shingle_size=5)
    assert len(content) == 12 - 5 + 1 and len(everything) == 25 - 5 + 1


# --------------------------------------------------------------------------- same story


def report(seed: int, facts: list[str], shared: list[str]) -> str:
    """A rewritten report: its own wording, each of the story's numeric facts inside a
    sentence of its own words, then a few sentences shared with the other report."""
    own = words(seed, 300)
    lines = [prose(own[:100])]
    for i, fact in enumerate(facts):
        lines.append(
            sentence([*own[100 + 10 * i : 105 + 10 * i], fact, *own[105 + 10 * i : 110 + 10 * i]])
        )
    return "\n".join(lines) + "\n" + prose(shared + own[200:])


FACTS = ["131 packages", "41 kilograms", "p278 million", "january 8", "seized 2026"]
OTHER_FACTS = ["95 packages", "12 kilograms", "p90 million", "march 3", "seized 2024"]


def test_dedup_reports_of_one_story_share_cluster_id_and_stay_kept() -> None:
    shared = words(32, 30)
    a, b = report(33, FACTS, shared), report(34, FACTS, shared)
    out = deduplicate([doc("a", a), doc("b", b)], config=CONFIG)
    assert [d.status for d in out] == ["kept", "kept"]
    assert out[0].cluster_id == out[1].cluster_id
    assert out[0].duplicate_of is None and out[1].duplicate_of is None
    unlinked = deduplicate([doc("a", a), doc("b", b)], config=replace(CONFIG, link_stories=False))
    assert unlinked[0].cluster_id != unlinked[1].cluster_id


def test_dedup_same_numbers_without_shared_wording_is_not_one_story() -> None:
    a, b = report(35, FACTS, []), report(36, FACTS, [])
    out = deduplicate([doc("a", a), doc("b", b)], config=CONFIG)
    assert out[0].cluster_id != out[1].cluster_id
    # the numbers alone would link them: only the missing shared wording keeps them apart
    numbers_only = replace(CONFIG, story_min_containment=0.0)
    out = deduplicate([doc("a", a), doc("b", b)], config=numbers_only)
    assert out[0].cluster_id == out[1].cluster_id


def test_dedup_shared_wording_without_shared_numbers_is_not_one_story() -> None:
    shared = words(37, 30)
    a = report(38, FACTS, shared)
    b = report(39, OTHER_FACTS, shared)
    out = deduplicate([doc("a", a), doc("b", b)], config=CONFIG)
    assert out[0].cluster_id != out[1].cluster_id


def test_dedup_config_rejects_bad_containment_and_story_settings() -> None:
    with pytest.raises(ConfigError, match="containment_threshold"):
        DedupConfig(containment_threshold=0.0)
    with pytest.raises(ConfigError, match="min_content_shingles"):
        DedupConfig(min_content_shingles=0)
    with pytest.raises(ConfigError, match="story_min_fact_share"):
        DedupConfig(story_min_fact_share=1.5)


# --------------------------------------------------------------------------- real pages
# ../shared/eval beside the checkout (CONTRABAND_EVAL_DIR elsewhere); never copied here.
EVAL = Path(os.environ.get("CONTRABAND_EVAL_DIR") or ROOT.parent / "shared" / "eval")


def eval_rows(name: str) -> list[dict]:
    """Rows of an evaluation file, or skip the test when the data is not beside the checkout."""
    path = EVAL / name
    if not path.exists():
        pytest.skip(f"evaluation data {path} is absent (set CONTRABAND_EVAL_DIR)")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def domain_lines() -> dict[str, list[dict]]:
    """Labelled lines of each domain page, by page id."""
    return {row["id"]: row["lines"] for row in eval_rows("domain/lines.jsonl")}


def labelled(lines: list[dict], label: str) -> list[str]:
    return [line["text"] for line in lines if line["label"] == label]


def test_dedup_real_pages_sharing_only_real_menus_are_not_merged() -> None:
    lines = domain_lines()
    pages = eval_rows("domain/pages.jsonl")
    # the navigation of the pages with the most boilerplate lines (menus, section labels,
    # related-story headlines), as one site's
    by_boilerplate = sorted(lines, key=lambda pid: -len(labelled(lines[pid], "BOILERPLATE")))
    nav = "\n".join(
        line for pid in by_boilerplate[:5] for line in labelled(lines[pid], "BOILERPLATE")
    )
    singles = [p["id"] for p in pages if not p.get("dup_group") and p["on_topic"]][:2]
    articles = []
    for pid in singles:  # the start of the article: its first lines, about 30 words
        content, taken = [], 0
        for text in labelled(lines[pid], "CONTENT"):
            content.append(text)
            taken += len(text.split())
            if taken >= 30:
                break
        articles.append("\n".join(content))
    a, b = f"{nav}\n{articles[0]}", f"{nav}\n{articles[1]}"
    # mostly the same text: on all its shingles the pair is over the Jaccard threshold
    assert jaccard(*shingle_sets([a, b], shingle_size=5)) >= CONFIG.threshold
    out = deduplicate([doc("a", a), doc("b", b)], config=CONFIG)
    assert [d.status for d in out] == ["kept", "kept"]
    assert out[0].cluster_id != out[1].cluster_id


def test_dedup_real_truncated_copy_in_another_sites_menus_is_found_with_containment() -> None:
    lines = domain_lines()
    pages = {p["id"]: p for p in eval_rows("domain/pages.jsonl")}
    longest = max(pages, key=lambda pid: len("".join(labelled(lines[pid], "CONTENT"))))
    other_menus = max(
        (pid for pid in pages if pid != longest),
        key=lambda pid: len(labelled(lines[pid], "BOILERPLATE")),
    )
    content = labelled(lines[longest], "CONTENT")
    cut = "\n".join(
        labelled(lines[other_menus], "BOILERPLATE")[:12]
        + content[: max(2, len(content) * 6 // 10)]
        + labelled(lines[other_menus], "BOILERPLATE")[12:]
    )
    full = pages[longest]["text"]  # the page as scraped, its own menus and all
    out = by_id(deduplicate([doc("cut", cut), doc("full", full)], config=CONFIG))
    assert out["cut"].status == "duplicate" and out["cut"].duplicate_of == "full"
    assert out["cut"].containment is not None and out["cut"].containment >= 0.8
    assert out["cut"].similarity is not None and out["cut"].similarity < 0.8


def test_dedup_real_whole_page_dumps_merge_only_copies_of_one_page() -> None:
    records = eval_rows("trafilatura-dev.jsonl.gz")  # 640 pages, menus, footers and all

    def host(url: str) -> str:
        address = url.split("::", 1)[-1].split("://", 1)[-1]
        return address.split("/", 1)[0].removeprefix("www.").split("-", 1)[0].split(".")[0]

    result = find_duplicates([r["text"] for r in records], config=CONFIG)
    rows = result.rows
    merged = [
        (records[i], records[int(k)]) for i, k in enumerate(rows["keeper"].tolist()) if k != i
    ]
    assert all(host(a["url"]) == host(b["url"]) for a, b in merged), [
        (a["url"], b["url"]) for a, b in merged
    ]
    assert len(merged) <= 2


def test_dedup_real_domain_same_story_pairs_in_one_cluster_and_no_distinct_pages() -> None:
    lines = domain_lines()
    pages = eval_rows("domain/pages.jsonl")
    ids = [p["id"] for p in pages]
    want = {
        (a["id"], b["id"])
        for a, b in itertools.combinations(pages, 2)
        if a.get("dup_group") and a["dup_group"] == b.get("dup_group")
    }
    ideal = ["\n".join(labelled(lines[pid], "CONTENT")) for pid in ids]
    for texts in ([p["text"] for p in pages], ideal):  # as scraped; perfectly cleaned
        cluster = find_duplicates(texts, config=CONFIG).rows["cluster_keeper"].tolist()
        together = {
            (ids[i], ids[j])
            for i, j in itertools.combinations(range(len(ids)), 2)
            if cluster[i] == cluster[j]
        }
        assert len(together & want) >= 9, sorted(want - together)
        assert not together - want


def test_curate_records_containment_beside_similarity_in_rows_and_report(tmp_path: Path) -> None:
    from corpus.curate import curate

    seed = (ROOT / "seeds" / "000_3f055ddc5c6ac13f.txt").read_text(encoding="utf-8")
    seed_lines = seed.split("\n")
    cut = "\n".join(
        ["Home", "World", "Business", "Sports", *seed_lines[: len(seed_lines) * 6 // 10]]
    )
    other = (ROOT / "seeds" / "001_0945b793cdb5bb81.txt").read_text(encoding="utf-8")
    source = tmp_path / "pages.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for name, text in (("full", seed), ("cut", cut), ("other", other)):
            handle.write(json.dumps({"text": text, "name": name}) + "\n")
    summary = curate([source], out_dir=tmp_path / "out", progress=False)
    frame = pd.read_parquet(summary.corpus_path)
    frame["name"] = [json.loads(m)["name"] for m in frame["metadata"]]
    rows = frame.set_index("name")
    assert rows.loc["cut", "status"] == "duplicate"
    assert rows.loc["cut", "duplicate_of"] == rows.loc["full", "id"]
    assert rows.loc["cut", "containment"] >= 0.8 > rows.loc["cut", "similarity"]
    assert rows.loc["other", "status"] == "kept" and rows.loc["other", "containment"] == 1.0
    assert rows.loc["other", "cluster_id"] != rows.loc["full", "cluster_id"]
    html = summary.report_path.read_text(encoding="utf-8")
    assert "<th>containment</th>" in html
    assert f"{rows.loc['cut', 'containment']:.3f}" in html


def test_bucket_pairs_over_all_copies_are_candidate_pairs_among_first_copies():
    """The band-key shuffle pairs whole buckets (`bucket_pairs`) with exact copies in them:
    it must find the pairs `candidate_pairs` finds among the first copy of each text."""
    from corpus.dedup import (
        band_buckets,
        bucket_pairs,
        candidate_pairs,
        exact_duplicate_groups,
        load_dedup_config,
        scan_texts,
    )

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from synthetic import generate_corpus

    texts = [p.body for p in generate_corpus(150, seed=5).pages]
    texts += texts[:10] + texts[:3]  # exact copies, some twice
    config = load_dedup_config()
    scan = scan_texts(texts, config=config)
    rep = exact_duplicate_groups(pd.DataFrame({"exact_hash": scan.exact_hash}))
    is_rep = rep == np.arange(len(texts))
    doc = scan.keys["doc"].to_numpy()
    frame = pd.DataFrame(
        {"doc": doc, "bucket": band_buckets(scan.keys), "exact": scan.exact_hash[doc]}
    )
    shuffled = frame.sample(frac=1.0, random_state=1)  # any row order, as after a shuffle
    got = bucket_pairs(shuffled)
    want = candidate_pairs(scan.keys[is_rep[doc]])
    assert len(want) > 10
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
