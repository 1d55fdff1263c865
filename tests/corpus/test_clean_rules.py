"""Rules of the cleaner (corpus/clean/rules.py) on small inline pages."""

from __future__ import annotations

from corpus.clean import Cleaner, load_clean_config
from corpus.clean.rules import (
    CLASSIFIED,
    keep_cut_last_line,
    keep_prose_beside_article,
    mark_chrome,
    mark_labelled_link_lists,
    mark_related_blocks,
    read_page,
    title_evidence,
)
from corpus.records import Document

CONFIG = load_clean_config()
SCANNER = Cleaner(CONFIG).scanner

PARAGRAPH = (
    "Customs officers at the port seized 500 kg of ketamine hidden in a shipment of ceramic "
    "tiles on Tuesday, the agency said in a statement."
)


def _page(lines: list[str], url: str | None = None, scores: list[float] | None = None):
    raw = "\n".join(lines) + "\n"
    doc = Document(id="d", source="t.txt", raw_text=raw, url=url)
    numbers = list(range(len(lines)))
    return read_page(doc, SCANNER, scores=None if scores is None else (numbers, scores))


def test_labelled_link_lists_remove_labels_and_their_headlines_only():
    lines = []
    for n in range(4):
        lines += ["City News", f"Police find {n + 2} tonnes of cannabis in a truck at the border"]
    lines += [PARAGRAPH]
    page = _page(lines)
    mark_labelled_link_lists(page)
    assert page.reasons[:8] == ["related_block"] * 8
    assert page.reasons[8] is None


def test_a_repeated_label_followed_by_prose_claims_nothing():
    lines = []
    for _ in range(4):
        lines += ["Advertisement", PARAGRAPH.replace("500", str(len(lines)))]
    page = _page(lines)
    mark_labelled_link_lists(page)
    assert page.reasons == [None] * len(lines)


def test_the_last_line_of_a_page_cut_inside_its_article_is_given_back():
    cut = "The suspects, two men aged 34 and 41, were taken to the provincial police sta"
    page = _page([PARAGRAPH, PARAGRAPH.replace("500", "600"), cut], scores=[0.9, 0.95, 0.1])
    page.reasons[2] = CLASSIFIED
    keep_cut_last_line(page, CONFIG)
    assert page.reasons[2] is None


def test_a_footer_after_the_article_stays_removed():
    page = _page(
        [PARAGRAPH, "Copyright 2024 Example News. All rights reserved."], scores=[0.9, 0.1]
    )
    page.reasons[1] = CLASSIFIED
    keep_cut_last_line(page, CONFIG)
    assert page.reasons[1] == CLASSIFIED


def test_a_lead_paragraph_at_the_top_of_a_page_is_given_back():
    lead = "Jakarta. Officers of the customs office and the police seized 30 kilograms of meth."
    page = _page([lead, PARAGRAPH, PARAGRAPH.replace("500", "600")], scores=[0.1, 0.9, 0.95])
    page.reasons[0] = CLASSIFIED
    keep_prose_beside_article(page, CONFIG)
    assert page.reasons[0] is None


def test_short_lines_links_and_lines_far_from_the_article_stay_removed():
    lines = [
        "Sign up for our newsletter today!",
        "[Police seize ketamine at the port, the agency says.](https://news.example/a)",
        PARAGRAPH,
        "Readers who liked this story also read these three stories about the port police.",
        "Privacy policy and terms of use of this site apply to every page that you read here.",
    ]
    page = _page(lines, scores=[0.1, 0.1, 0.9, 0.4, 0.1])
    for i in (0, 1, 4):
        page.reasons[i] = CLASSIFIED
    keep_prose_beside_article(page, CONFIG)
    assert [page.reasons[i] for i in (0, 1, 4)] == [CLASSIFIED] * 3


def test_title_evidence_prefers_the_url_and_a_markdown_heading():
    lines = ["Home", "Police seize ketamine at the port", PARAGRAPH]
    url = "https://news.example/2024/05/police-seize-ketamine-at-the-port"
    page = _page(lines, url=url)
    head = [0, 1]
    assert title_evidence(page, 1, head) == 3
    assert title_evidence(page, 0, head) in (0, 1)
    heading = _page(["# Police seize ketamine at the port", PARAGRAPH])
    assert title_evidence(heading, 0, [0]) == 3


def test_comment_forms_and_image_file_names_are_chrome_and_prose_about_them_is_not():
    chrome = [
        "LEAVE A REPLY",
        "Please enter your comment!",
        "Please enter your name here",
        "You have entered an incorrect email address!",
        "Your email address will not be published. Required fields are marked *",
        "AdobeStock_926117360_edited.jpg",
        "Connect with us",
        "Follow TODAY on WhatsApp",
        "Source: Maritime Shipping News",
    ]
    prose = [
        "Officers asked travellers to enter your name here and there, the report said.",
        "The photo file IMG_2041.jpg showed the seized tusks.",
        "Follow the money on every route, the investigators said.",
        "Sources said the shipment came from Lagos and was bound for Hanoi by sea.",
    ]
    page = _page(chrome + prose)
    mark_chrome(page)
    assert page.reasons == ["site_chrome"] * len(chrome) + [None] * len(prose)


def test_a_block_heading_above_the_article_takes_only_the_links_right_under_it():
    second = PARAGRAPH.replace("500 kg of ketamine", "8.3 tons of pangolin scales")
    lines = [
        "Top stories",
        "Police seize heroin at the border",
        "Customs find ivory in a container",
        PARAGRAPH,
        "Single Window definitions",
        "National Single Window",
        "Transactions: B2G, G2G",
        second,
    ]
    page = _page(lines, scores=[0.3, 0.3, 0.3, 0.95, 0.4, 0.4, 0.4, 0.95])
    mark_related_blocks(page, CONFIG)
    assert page.reasons == ["related_block"] * 3 + [None] * 5
