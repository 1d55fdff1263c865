"""Ingest (corpus.ingest): text, HTML and JSONL pages, and every kind of bad input as a rejected row."""
# ruff: noqa: E501
# (real seed sentences and page fixtures stay on one line)

import json
from pathlib import Path

from corpus.ingest import iter_pages
from corpus.records import STATUS_KEPT, STATUS_REJECTED, canonical_url, document_id

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

ARTICLE_HTML = """<html><head><title>Customs seize 500 kg of ketamine</title>
<meta name="author" content="Jane Doe"><meta property="article:published_time" content="2019-05-24">
</head><body><nav>Home | World | Sport</nav><article><h1>Customs seize 500 kg of ketamine</h1>
<p>{p1}</p><p>{p2}</p></article><footer>All rights reserved</footer></body></html>""".format(
    p1="Customs officers in Ho Chi Minh City seized 500 kg of ketamine hidden in a container of tiles. "
    * 4,
    p2="The case was handled with help from international partners including UNODC and RILO AP. "
    * 3,
)


def test_ingest_reads_seed_directory_in_sorted_order_with_stable_ids():
    docs = list(iter_pages([SEEDS]))
    assert [Path(d.source).name for d in docs] == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert all(d.status == STATUS_KEPT and d.site == "seeds" for d in docs)
    first = docs[0]
    assert first.raw_text == (SEEDS / Path(first.source).name).read_text(encoding="utf-8")
    assert first.id == document_id(f"seeds/{Path(first.source).name}")
    assert [d.id for d in iter_pages([SEEDS])] == [d.id for d in docs]


def test_document_identity_comes_from_the_source_not_the_content(tmp_path, monkeypatch):
    dump = tmp_path / "dump"
    dump.mkdir()
    page = dump / "a.txt"
    page.write_text("Customs seized 5 kg of heroin at the port.", encoding="utf-8")
    (before,) = iter_pages([dump])
    page.write_text("Customs seized 6 kg of heroin at the port (corrected).", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    (relative,) = iter_pages([Path("dump")])
    (explicit,) = iter_pages([page])
    assert before.id == relative.id == explicit.id  # same page, edited, from anywhere
    lines = [
        json.dumps({"url": "https://www.news.example/a/?utm_source=feed#top", "text": "One."}),
        json.dumps({"url": "http://news.example/a", "text": "One, corrected."}),
        json.dumps({"url": "https://news.example/b", "text": "Two."}),
    ]
    (dump / "pages.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    first, again, other = iter_pages([dump / "pages.jsonl"])
    assert first.id == document_id("x", url="https://news.example/a") != other.id
    assert again.status == STATUS_KEPT and again.id not in (first.id, other.id)
    assert again.metadata["same_url_as"].endswith("pages.jsonl:1")
    assert canonical_url("HTTPS://WWW.News.Example:443/a/b/?b=2&a=1&fbclid=x") == (
        "news.example/a/b?a=1&b=2"
    )


def test_ingest_extracts_html_main_text_and_metadata(tmp_path):
    page = tmp_path / "news" / "a.html"
    page.parent.mkdir()
    page.write_text(ARTICLE_HTML, encoding="utf-8")
    (doc,) = iter_pages([page])
    assert doc.status == STATUS_KEPT
    assert "seized 500 kg of ketamine" in doc.raw_text and "<p>" not in doc.raw_text
    assert "Home | World" not in doc.raw_text
    assert doc.title == "Customs seize 500 kg of ketamine"
    assert doc.published == "2019-05-24" and doc.authors == ("Jane Doe",)
    assert doc.metadata["html_length"] == len(ARTICLE_HTML) and doc.site == "news"


def test_ingest_decodes_legacy_encodings(tmp_path):
    page = tmp_path / "old.txt"
    text = (
        "Смотрите: таможня изъяла 500 кг кетамина в порту Хайфона, сообщили в управлении таможни. "
        * 3
    )
    page.write_bytes(text.encode("cp1251"))
    (doc,) = iter_pages([page])
    assert doc.status == STATUS_KEPT and doc.raw_text == text


def test_ingest_jsonl_keeps_good_lines_and_rejects_bad_ones_by_line(tmp_path):
    path = tmp_path / "pages.jsonl"
    lines = [
        json.dumps(
            {"url": "https://www.example.com/a", "text": "Police seized drugs.", "lang": "en"}
        ),
        "{not json",
        json.dumps({"url": "https://example.com/b"}),
        json.dumps({"url": "https://news.example.org/c", "html": ARTICLE_HTML}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs = list(iter_pages([path]))
    assert [d.source for d in docs] == [f"{path}:{i}" for i in (1, 2, 3, 4)]
    good, bad_json, missing, html = docs
    assert (
        good.status == STATUS_KEPT
        and good.site == "example.com"
        and good.metadata == {"lang": "en"}
    )
    assert good.url == "https://www.example.com/a"
    assert bad_json.reject_reason == "malformed_json" and f"{path}:2" in bad_json.metadata["error"]
    assert missing.reject_reason == "missing_text" and f"{path}:3" in missing.metadata["error"]
    assert (
        html.status == STATUS_KEPT
        and html.site == "news.example.org"
        and "ketamine" in html.raw_text
    )


def test_ingest_turns_bad_files_into_rejected_rows_naming_the_file(tmp_path):
    cases = {
        "empty.txt": (b"", "empty_file"),
        "binary.txt": (b"\x7fELF\x00\x01\x02" * 50, "binary_file"),
        "garbled.txt": (bytes(range(128, 256)) * 10, "undecodable"),
        "huge.txt": (b"word " * 400, "too_large"),
        "scripts.html": (
            b"<html><head><script>var a = 1;</script></head><body><script>go()</script></body></html>",
            "script_only",
        ),
        "notes.pdf": (b"%PDF-1.4", "unsupported_type"),
    }
    paths = []
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    paths.append(tmp_path / "missing.txt")
    docs = {Path(d.source).name: d for d in iter_pages(paths, max_bytes=1500)}
    expected = {name: reason for name, (_, reason) in cases.items()} | {"missing.txt": "unreadable"}
    for name, reason in expected.items():
        doc = docs[name]
        assert doc.status == STATUS_REJECTED and doc.reject_reason == reason, (
            name,
            doc.reject_reason,
        )
        assert name in doc.metadata["error"]


def test_ingest_directory_walk_skips_non_page_files(tmp_path):
    (tmp_path / "a.txt").write_text("A page about seizures.", encoding="utf-8")
    (tmp_path / "gold.yaml").write_text("x: 1", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("hidden", encoding="utf-8")
    assert [Path(d.source).name for d in iter_pages([tmp_path])] == ["a.txt"]
