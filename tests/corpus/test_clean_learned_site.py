"""Learned boilerplate must not override structure: on a site with many pages, the dateline
(digits differ, shape recurs) is still read as the date, and a recurring "Related News"
heading still removes the block behind it."""

from corpus.clean import clean_documents, load_clean_config
from corpus.records import Document, stable_id

WORDS = "harbour police customs seized cargo inspection border smuggling drugs officers".split()


def _title(n: int) -> str:
    return f"{WORDS[n % 10].title()} {WORDS[(n + 3) % 10]} report after {WORDS[(n + 5) % 10]} raid"


def _page(n: int) -> tuple[str, list[str]]:
    body = [
        f"Officers at port {n} inspected {n + 3} containers and found hidden compartments in the cargo hold today.",
        f"The agency said the case number {n} was handed to prosecutors after a long investigation by the unit.",
    ]
    related = []
    for k in range(3):
        headline = f"{WORDS[(n + k) % 10].title()} {WORDS[(n + 2 * k) % 10]} story number {n * 10 + k} announced"
        related += [
            headline,
            "",
            headline,
            f"HN - Teaser for story {n * 10 + k} about {WORDS[k]} and more.",
            "",
        ]
    raw = "\n".join(
        [
            f"March {n + 1}, 2021 0{n % 9}:15",
            "",
            "Home | World | Business | Contact",
            "",
            _title(n),
            "",
            f"1{n % 9}:3{n % 6} | {10 + n}/04/2020",
            "",
            *[p + "\n" for p in body],
            "By Reporter Name",
            "",
            "Related News",
            "",
            *related,
            "Mobile Version",
        ]
    )
    return raw, body


def test_clean_learned_boilerplate_keeps_datelines_and_cuts_related_blocks():
    pages = [_page(n) for n in range(12)]
    docs = [
        Document(
            id=stable_id(f"p{n}", raw), source=f"site/p{n}.txt", raw_text=raw, site="harbour-news"
        )
        for n, (raw, _) in enumerate(pages)
    ]
    cleaned = clean_documents(docs, config=load_clean_config())
    for n, (doc, (_, body)) in enumerate(zip(cleaned, pages, strict=True)):
        assert doc.published == f"2020-04-{10 + n:02d}T1{n % 9}:3{n % 6}:00", doc.published
        assert doc.title == _title(n)
        for paragraph in body:
            assert paragraph in doc.clean_text
        for gone in ("Related News", "Teaser", "story number", "Mobile Version", "Home | World"):
            assert gone not in doc.clean_text, (n, gone, doc.clean_text)
        reasons = {e.reason for e in doc.edits}
        assert "related_block" in reasons and "dateline" in reasons
