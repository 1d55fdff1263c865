"""Learning a site's boilerplate (corpus.boilerplate) from inline pages."""

from corpus.boilerplate import learn_site_boilerplate, line_key
from corpus.records import STATUS_REJECTED, Document

NAMES = ["alpha", "bravo", "charlie", "delta", "echo"]


def _page(i: int, site: str, raw: str | None = None) -> Document:
    name = NAMES[i]
    text = (
        raw
        if raw is not None
        else f"Story {name} headline\nFollow us on Mastodon today\nBody text {name}.\n"
    )
    return Document(id=f"{site}-{i}", source=f"{site}/{i}.txt", raw_text=text, site=site)


def test_line_key_folds_case_spacing_and_digits():
    assert line_key("  July 15, 2020   08:12 ") == line_key("july 12, 2021 13:37")


def test_boilerplate_learns_lines_recurring_on_a_sites_pages_only():
    docs = [_page(i, "a.example") for i in range(4)] + [
        _page(i, "b.example", raw=f"Other {i}\n") for i in range(4)
    ]
    learned = learn_site_boilerplate(docs, min_pages=3, min_fraction=0.5)
    assert learned["a.example"] == frozenset({line_key("Follow us on Mastodon today")})
    assert learned["b.example"] == frozenset(
        {line_key("Other 0")}
    )  # digits fold: "Other N" is a template


def test_boilerplate_ignores_copies_rejected_pages_and_long_lines():
    same = "A caption that appears once\nA long paragraph " + "word " * 20 + "\n"
    docs = [_page(i, "c.example", raw=same) for i in range(5)]
    docs.append(Document(id="r", source="r", raw_text="", site="c.example", status=STATUS_REJECTED))
    assert learn_site_boilerplate(docs, min_pages=2, min_fraction=0.1)["c.example"] == frozenset()


def test_boilerplate_stays_bounded_and_misses_no_chrome_on_a_site_bigger_than_its_sketch():
    # 64 map slots per site, 600 pages with 1,040 distinct caption lines between them: the
    # sketch must forget most of them and still find the two lines that are chrome.
    docs = []
    for i in range(600):
        unique = "\n".join(
            f"{NAMES[i % 5]} unique caption {chr(97 + i % 26)} {w} of page" for w in "abcdefgh"
        )
        footer = "Contact us RSS Vietnamese\n" if i % 10 < 3 else ""  # on exactly 30% of pages
        raw = f"Mobile Version\n{footer}{unique}\npage {NAMES[i % 5]} {i} {'x' * (i % 7)}\n"
        docs.append(Document(id=f"s-{i}", source=f"s/{i}.txt", raw_text=raw, site="s.example"))
    small = learn_site_boilerplate(docs, min_pages=3, min_fraction=0.3, sketch_lg_size=6)
    assert {line_key("Mobile Version"), line_key("Contact us RSS Vietnamese")} <= small["s.example"]
    assert len(small["s.example"]) <= 48  # what a 64-slot map can hold, not 1,040 lines
    exact = learn_site_boilerplate(docs, min_pages=3, min_fraction=0.3)
    assert exact["s.example"] <= small["s.example"]  # bounded counts may add, never miss
