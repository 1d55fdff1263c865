"""The cleaner's fast paths give the same answers as the plain rules they stand in for.

Speed-ups in corpus.clean / corpus.glue / corpus.boilerplate (caches, ASCII fast paths,
pre-checks before a regex or difflib, a process pool) must never change an output.
Each test compares a fast path with the straightforward definition, or the pool with
the in-process run.
"""

import difflib
import random
import re
import sys
import unicodedata
from pathlib import Path

import pytest

from corpus.boilerplate import line_key, normalised_key
from corpus.clean import clean_documents, load_clean_config
from corpus.clean.lines import _SENTENCE_END, _ends_sentence, _split_lines
from corpus.clean.text import _lcs_length, _similarity_at_least
from corpus.glue import _TOKEN, find_glued_words
from corpus.records import Document, stable_id

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
CONFIG = load_clean_config()


def _reference_line_key(line: str) -> str:
    text = unicodedata.normalize("NFKC", line).casefold()
    text = re.sub(r"\d", "0", text)
    return re.sub(r"\s+", " ", text).strip()


def test_clean_line_key_fast_path_matches_the_definition():
    rng = random.Random(1)
    alphabet = "aB 1\t\u00a0\u2003ẞßİı٣\u0301e\x1c\u3000ﬁ²Ⅻ"
    lines = ["Advertisement Contact us RSS", "July 15, 2020 08:12", "  Mixed\tCASE  9 "]
    lines += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    for line in lines:
        assert line_key(line) == _reference_line_key(line), repr(line)
        assert line_key(line) == _reference_line_key(line), repr(line)  # cached answer too
        if line.isascii():  # the cleaner's shortcut from the normalised line
            assert normalised_key(" ".join(line.split())) == line_key(line), repr(line)


def test_clean_split_lines_matches_the_line_regex():
    pattern = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
    rng = random.Random(12)
    raws = ["", "a", "a\n", "\n\nb", "a\r\nb\rc\n\nd", "x\n\n", "\r", "a\nb"]
    for alphabet in ("ab \n", "ab\r\n"):  # the split without a regex, and with one
        raws += [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20))) for _ in range(2000)
        ]
    for raw in raws:
        expected = [
            (
                m.start(),
                m.start() + len(m.group().rstrip("\r\n")),
                m.end(),
                m.group().rstrip("\r\n"),
            )
            for m in pattern.finditer(raw)
        ]
        assert list(zip(*_split_lines(raw), strict=True)) == expected, repr(raw)


def test_clean_title_key_and_slug_prefix_fast_paths_match_their_definitions():
    from corpus.clean.text import _alnum_key, _lower_prefix

    rng = random.Random(13)
    alphabet = "aZ09 _-.é\u00df\u0130K\u212a\t"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert _alnum_key(text) == "".join(ch for ch in text.casefold() if ch.isalnum())
        expected = []
        for word in text.split():
            if not re.fullmatch(r"[a-z0-9]+", word):
                break
            expected.append(word)
        assert _lower_prefix(text) == expected, repr(text)


def test_clean_sentence_end_check_matches_the_regex():
    rng = random.Random(2)
    for _ in range(5000):
        text = "".join(rng.choice("a .!?…\"'”’)]x") for _ in range(rng.randint(0, 8))).strip()
        assert _ends_sentence(text) == bool(_SENTENCE_END.search(text)), repr(text)


def test_clean_slug_similarity_prefilter_agrees_with_difflib():
    rng = random.Random(3)
    for _ in range(3000):
        a = "".join(rng.choice("abcde") for _ in range(rng.randint(0, 15)))
        if rng.random() < 0.5:
            b = a[: rng.randint(0, len(a))] + "".join(rng.choice("abcde") for _ in range(3))
        else:
            b = "".join(rng.choice("abcde") for _ in range(rng.randint(0, 15)))
        ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
        for threshold in (0.5, 0.85):
            assert _similarity_at_least(a, b, threshold) == (ratio >= threshold), (a, b)
    assert _lcs_length("abcbdab", "bdcaba") == 4


def _reference_glue_positions(text: str, repairer=None) -> set[int]:
    """Token-by-token walk (the plain definition) for the token rule, `text` the page."""
    from corpus.glue import _LOWER_THEN_UPPER, _in_prose, _Page, shared_repairer

    repairer = repairer or shared_repairer(CONFIG.glue)
    page = _Page(text)
    positions = set()
    for match in _TOKEN.finditer(text):
        token = match.group()
        camel = _LOWER_THEN_UPPER.match(token)
        if camel and not page.has_elsewhere(camel.group(2)):
            continue
        if page.repeats(token) or not _in_prose(text, match.start(), match.end()):
            continue
        positions.update(match.start() + cut for cut in repairer.token_cuts(token, "en"))
    return positions


def _reference_all_glue_positions(text: str, repairer=None) -> set[int]:
    """Every rule of find_glued_words, each applied directly to the whole text."""
    from corpus.glue import (
        _CODE_GLUE,
        _COMMA_GLUE,
        _WORD_THEN_YEAR,
        _alnum_run,
        _in_prose,
        _Page,
        _plain_run,
        shared_repairer,
    )

    repairer = repairer or shared_repairer(CONFIG.glue)
    page = _Page(text)
    positions = _reference_glue_positions(text, repairer)
    for rule in (_CODE_GLUE, _WORD_THEN_YEAR):
        for m in rule.finditer(text):
            if (
                repairer._known(m.group(1), "en")
                and not page.repeats(m.group())
                and _in_prose(text, m.start(), m.end())
            ):
                positions.add(m.start(2))
    for m in _COMMA_GLUE.finditer(text):
        if repairer._known(_alnum_run(text, m.end(), m.end()), "en") and _plain_run(
            text, m.start(), m.end()
        ):
            positions.add(m.end())
    return positions


def test_glue_token_cache_finds_every_occurrence_and_only_whole_tokens():
    rng = random.Random(5)
    words = (
        "strengthen cooperation todiscovering overa detectedin wasco-founded Hai Phong RILO "
        "UNODC M918 C04 the anti-drugpolicy it's don’t Việt ² _ 3 - ' May2019 crimeC04 "
        "2000,so toChinese Chinese drug-policy seizureof www.x/y"
    ).split()
    for _ in range(2000):
        text = "".join(
            rng.choice(words) + rng.choice([" ", "", "-", "'", ", ", "--"])
            for _ in range(rng.randint(1, 10))
        )
        found = {e.start for e in find_glued_words(text, config=CONFIG.glue)}
        assert found == _reference_all_glue_positions(text), repr(text)
    # "todiscovering" inside a longer token must not be split
    assert find_glued_words("xtodiscovering", config=CONFIG.glue) == []
    assert [e.start for e in find_glued_words("a todiscovering b", config=CONFIG.glue)] == [4]


@pytest.mark.skipif(sys.platform == "win32", reason="a pool start-up test; slow on spawn")
def test_clean_documents_with_workers_matches_in_process_in_input_order():
    docs = [
        Document(
            id=stable_id(str(p), p.read_text(encoding="utf-8")),
            source=str(p),
            raw_text=p.read_text(encoding="utf-8"),
            site="seeds",
        )
        for p in SEEDS
    ]
    docs = docs * 4  # several pages per worker chunk, repeated pages included
    alone = clean_documents(docs, config=CONFIG, workers=1)
    pooled = clean_documents(docs, config=CONFIG, workers=2)
    assert [d.source for d in pooled] == [d.source for d in docs]
    for a, b in zip(alone, pooled, strict=True):
        assert (a.clean_text, a.edits, a.title, a.published, a.authors, a.metadata) == (
            b.clean_text,
            b.edits,
            b.title,
            b.published,
            b.authors,
            b.metadata,
        )
        assert a.offset_map == b.offset_map


def test_clean_documents_rejects_a_bad_worker_count():
    with pytest.raises(ValueError, match="workers=0"):
        clean_documents([], config=CONFIG, workers=0)


def test_glue_words_missing_from_the_word_list_have_zipf_zero():
    # glue skips the full wordfreq lookup for lower-case ASCII halves not in its list
    import string

    from wordfreq import get_frequency_dict, zipf_frequency

    listed = get_frequency_dict("en")
    rng = random.Random(7)
    for _ in range(2000):
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
        if word not in listed:
            assert zipf_frequency(word, "en") == 0, word


def test_glue_part_table_equals_part_ok_on_every_listed_word():
    # split_token looks ASCII halves up in one precomputed table
    from wordfreq import get_frequency_dict

    from corpus.glue import GlueRepairer

    repairer = GlueRepairer(CONFIG.glue)
    table = repairer._part_table("en")
    words = [w for w in get_frequency_dict("en") if w.isascii() and w.isalpha()]
    words += ["a", "i", "x", "zzqx", "co", "cooperation"]
    for word in words:
        word = word.lower()
        assert table.get(word) == repairer.part_ok(word, "en"), word


def test_chrome_and_block_matchers_equal_matching_each_pattern():
    # `.*X` patterns are searched for as `X`, the rest matched as one alternation
    from corpus.clean.lines import _any_matcher

    # searched patterns are skipped on ASCII lines without their required literal
    patterns = CONFIG.chrome_patterns + CONFIG.block_headers
    patterns += (re.compile(r".*\bcookie\b", re.I), re.compile(r".*?x$"))
    case_sensitive = (re.compile(r".*\bCookie (policy|notice)"), re.compile(r".*Notice"))
    words = (
        "all rights reserved Related News read more © copyright Mobile Version share this "
        "tags: cookie Cookie COOKIE policy notice Notice x Most read you may also like a the . : | "
        "ÀLL RIGHTS ſ s K"
    ).split()
    rng = random.Random(8)
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 7))) for _ in range(5000)]
    lines += ["Copyright 2020 VCN. All rights reserved", "x", "most readx", "ALL RIGHTS ReSeRvEd"]
    for group in (CONFIG.chrome_patterns, patterns, case_sensitive, patterns + case_sensitive):
        matcher = _any_matcher(group)
        for line in lines:
            assert matcher(line) == any(p.match(line) for p in group), line


def test_clean_required_literal_comes_from_the_top_level_of_the_pattern():
    from corpus.clean.lines import _required_literal

    assert _required_literal(re.compile(r"\ball rights reserved\b", re.I)) == "all rights reserved"
    assert _required_literal(re.compile(r"ab\.c(x)?yy")) == "ab.c"
    assert _required_literal(re.compile(r"foo|bar")) is None  # no literal in every match
    assert _required_literal(re.compile(r"(?i:abc)")) is None


def test_glue_in_ranges_equals_one_call_per_range():
    from corpus.glue import find_glued_words_in_ranges

    rng = random.Random(9)
    words = "todiscovering overa anti-drugpolicy May2019 crimeC04 2000,so Hai Phong the".split()
    for _ in range(300):
        text = "".join(
            rng.choice(words) + rng.choice([" ", "", "-", "'", ", ", "\n", "--"])
            for _ in range(rng.randint(1, 30))
        )
        cuts = sorted(rng.sample(range(len(text) + 1), k=min(len(text) + 1, 6)))
        ranges = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False)]
        expected = [
            find_glued_words(text[a:b], offset=a, config=CONFIG.glue, page=text) for a, b in ranges
        ]
        assert find_glued_words_in_ranges(text, ranges, config=CONFIG.glue) == expected, text


def test_glue_shares_wordfreqs_cached_word_list_instead_of_copying_it():
    # a second 320k-word dict or list costs ~20-30 MB in every process; checked in a fresh
    # interpreter, as other tests fill wordfreq's caches their own way (the other
    # languages' small lists are one entry each)
    import subprocess

    code = """
from wordfreq import get_frequency_dict, get_frequency_list, word_frequency
from corpus.clean import load_clean_config, warm_up
from corpus.glue import _listed_words
config = load_clean_config()
warm_up(config)
word_frequency("cooperation", "en")  # wordfreq's own lookup path
assert _listed_words("en") is get_frequency_dict("en", "best")
small = len(config.glue.other_languages)
assert get_frequency_list.cache_info().currsize == 1 + small, get_frequency_list.cache_info()
assert get_frequency_dict.cache_info().currsize == 1 + small, get_frequency_dict.cache_info()
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def _glue_texts(rng: random.Random) -> list[str]:
    words = (
        "strengthen cooperation todiscovering overa detectedin wasco-founded Hai Phong RILO "
        "UNODC M918 C04 the anti-drugpolicy it's don’t Việt ² _ 3 - ' May2019 crimeC04 "
        "2000,so toChinese Chinese drug-policy -x x- a-b xx'yy todiscovering-policy"
    ).split()
    return [
        "".join(
            rng.choice(words) + rng.choice([" ", "", "-", "'", ", ", "--", "\n"])
            for _ in range(rng.randint(0, 12))
        )
        for _ in range(1500)
    ]


@pytest.mark.parametrize("cache_size", [300_000, 40])
def test_glue_repairer_equals_the_plain_rules(cache_size):
    # the repairer's fast paths (token set by bytes.translate, token cache, table of
    # halves) against the plain token walk; a tiny cache makes it evict as it goes
    from corpus.glue import GlueRepairer, candidate_tokens

    sys.path.insert(0, str(ROOT / "scripts"))
    from synthetic import generate_corpus

    repairer = GlueRepairer(CONFIG.glue, cache_size=cache_size)
    plain = GlueRepairer(CONFIG.glue)
    rng = random.Random(14)
    texts = _glue_texts(rng)
    texts += [page.raw for page in generate_corpus(150, seed=2).pages]
    texts += [path.read_text(encoding="utf-8") for path in SEEDS]
    rng.shuffle(texts)
    for text in texts:
        assert set(_TOKEN.findall(text)) <= candidate_tokens(text), repr(text[:80])
        assert set(repairer.positions(text, "en")) == _reference_all_glue_positions(text, plain), (
            repr(text[:80])
        )


def test_clean_pages_equals_clean_page_one_by_one():
    # clean_pages asks glue once for a whole batch; clean_page once per page
    from corpus.clean import clean_page, clean_pages, learn_boilerplate

    sys.path.insert(0, str(ROOT / "scripts"))
    from synthetic import generate_corpus

    docs = [
        Document(id=stable_id(p.source, p.raw), source=p.source, raw_text=p.raw, site="synth")
        for p in generate_corpus(200, seed=4).pages
    ]
    for path in SEEDS:
        raw = path.read_text(encoding="utf-8")
        docs.append(Document(id=stable_id(str(path), raw), source=str(path), raw_text=raw))
    docs += [
        d.with_(id=d.id + "u", raw_text=d.raw_text.replace("e", "é", 3).replace("\n", "\r\n", 4))
        for d in docs[:40]
    ]
    learned = learn_boilerplate(docs, config=CONFIG)
    batched = clean_pages(docs, config=CONFIG, learned=learned)
    one_by_one = [
        clean_page(d, config=CONFIG, boilerplate=learned.get(d.site or "", frozenset()))
        for d in docs
    ]
    assert batched == one_by_one


def test_doubled_line_check_equals_comparing_the_halves_of_the_words():
    from corpus.clean.rules import _doubled

    rng = random.Random(21)
    pieces = ["a", "b", "ab", "ba", "a b", "Xy", "é", "1"]
    for _ in range(5000):
        half = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))
        other = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))
        for norm in (f"{half} {half}".strip(), f"{half} {other}".strip(), half):
            words = norm.split()
            n = len(words)
            if n % 2 == 0 and n:
                assert _doubled(norm) == (words[: n // 2] == words[n // 2 :]), norm
