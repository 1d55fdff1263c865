"""Cleaning (corpus.clean) golden checks on the real seed pages, plus inline pages of other layouts."""
# ruff: noqa: E501
# (real seed sentences and page fixtures stay on one line)

import re
from pathlib import Path

import pytest

from corpus.clean import clean_documents, clean_page, load_clean_config, parse_date_line
from corpus.errors import ConfigError
from corpus.glue import repair_glued_words
from corpus.records import Document, stable_id

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))
CONFIG = load_clean_config()


def _doc(raw: str, source: str = "inline.txt", site: str = "example") -> Document:
    return Document(id=stable_id(source, raw), source=source, raw_text=raw, site=site)


@pytest.fixture(scope="module")
def cleaned() -> dict[str, Document]:
    docs = [_doc(p.read_text(encoding="utf-8"), str(p), "seeds") for p in SEEDS]
    return {Path(d.source).name[:3]: d for d in clean_documents(docs, config=CONFIG)}


CHROME = [
    "Related News",
    "Latest News",
    "More News",
    "Latest Most read",
    "Mobile Version",
    "Read More",
    "Your care",
    "Advertisement Contact us RSS Vietnamese",
    "July 15, 2020 08:12",
    "July 12, 2020 13:37",
    "vietnam china customs strengthens cooperation in anti smuggling",
    "customs sector improves effectiveness of international cooperation on smuggling",
    # headlines doubled by image alt text, and teasers of related blocks
    "Vietnam Customs improves quality of human resources to meet development requirements",
    "Customs of ASEAN countries recognize each other as authorized economic operators",
    "Container of Chinese phone accessories with fraudulent Vietnam origin discovered",
    "Operation Mekong Dragon: Arrested nearly 100 drugs cases",
    "Import and export turnover reaches about US$29 billion",
    "Quang Tri Customs launches business support initiatives",
    "Implementing the SAFE framework in Vietnam",
    "Roadmap set for pilot program of smart border gate initiative",
    "Binh Duong Seaport Customs Branch",
    "VCN - Total import-export turnover",
]


def test_clean_removes_chrome_related_blocks_slug_lines_and_doubled_headlines(cleaned):
    for key, doc in cleaned.items():
        for text in CHROME:
            assert text.lower() not in doc.clean_text.lower(), f"seed {key}: {text!r} remains"


def test_clean_collapses_lines_repeated_inside_a_page(cleaned):
    caption = "The Vietnamese Customs delegation attended the conference at the bridge point of the General Department of Customs."
    assert cleaned["001"].clean_text.count(caption) == 1
    assert cleaned["003"].clean_text.count("The forum.") == 1
    assert cleaned["003"].clean_text.count("Ton Chi Kiet (on the right).") == 1
    for doc in cleaned.values():
        lines = [line for line in doc.clean_text.splitlines() if line.strip()]
        assert len(lines) == len(set(lines)), doc.source


def _article_lines(raw: str) -> list[str]:
    """Every long sentence-final line before the byline: the article's paragraphs."""
    body = re.split(r"^By [A-Z].*$", raw, maxsplit=1, flags=re.M)[0]
    return [
        line
        for line in body.splitlines()
        if len(line.split()) >= 12 and line.rstrip().endswith((".", "”", '"'))
    ]


def test_clean_keeps_every_article_paragraph(cleaned):
    for key, doc in cleaned.items():
        paragraphs = _article_lines(doc.raw_text)
        assert len(paragraphs) >= 8, key
        for paragraph in paragraphs:
            expected = repair_glued_words(paragraph, config=CONFIG.glue, page=doc.raw_text)
            expected = re.sub(r"\s*Photo: [A-Z][\w. ]+$", "", expected)
            assert expected in doc.clean_text, f"seed {key}: paragraph lost: {expected[:80]!r}"


EXPECTED_TEXT = {
    "000": [
        "VCN- The cooperation between the Customs authorities of the two countries has made an important contribution to discovering many cases",
        "in 2000, so far, 13 conferences have been held",
        "In just over a year, the cooperation on anti-smuggling",
        "was co-founded and operated by Vietnam Customs and China Customs. Currently, nearly 100 drug cases were detected in the region",
        "a key project in anti-drug policy and was expanded",
        "between the two countries has brought specific achievements.",
        "in Hai Phong, or the seizure of 500 kg of ketamine in Ho Chi Minh City (in May 2019).",
        "soldiers guarding the economy of each country, contributing",
        "Customs representatives of the two countries took souvenir photos.",
        "Nguyen Phi Hung emphasized",
        "Xi'an, China",
    ],
    "001": [
        "Nguyen Hung Anh emphasized that in the context of the Covid-19 pandemic",
        "that have been dealt with by member Customs authorities",
        "Ton Chi Kiet highly appreciated",
        "The conference takes place online.",
    ],
    "002": [
        "have been discovered and dealt with by customs forces recently",
        "(General Department of Customs) said to perform the task",
        "for the Vietnamese Customs was successfully coordinating with Chinese Customs, Asia-Pacific Intelligence Liaison Office (RILO AP)",
        "dealt with more than 100 drug-related cases. Notably, there was information shared",
        "to successfully handle four large-scale cases.",
        "The next case was the seizure of 8.3 tons of pangolin scales in Hai Phong port in March 2019 and 5.3 tons of scales in Ba Ria-Vung Tau in May.",
        "to seize 276kg of drugs.",
        "with the number M918 (the project also relates to Chinese criminals",
        "investigated drug-related crime C04 (Ministry of Public Security)",
        "International Crime (INTERPOL)",
        "(UNODC)",
        "8.3 tons of pangolin scales seized in Hai Phong in March had an important contribution from international partners.",
        "Create initiative",
        "Tackling cases",
    ],
    "003": [
        "discuss Operation Mekong Dragon 5 (OMD).",
        "continue to support the OMD5.",
        "Ton Chi Kiet (on the right).",
    ],
}


def test_clean_repairs_glued_words_and_keeps_names_and_codes(cleaned):
    for key, snippets in EXPECTED_TEXT.items():
        for snippet in snippets:
            assert snippet in cleaned[key].clean_text, f"seed {key}: missing {snippet!r}"
    glued = [
        "strengthencooperation",
        "Thecooperation",
        "todiscovering",
        "overa ",
        "detectedin",
        "wasco-",
        "betweenthe",
        "twocountries",
        "hasbrought",
        "guardingthe",
        "eachcountry",
        "drugpolicy",
        "withby",
        "saidto",
        "wassuccessfully",
        "withmore",
        "wasinformation",
        "handlefour",
        "seizureof",
        "May2019",
        "2000,so",
        "crimeC04",
    ]
    for doc in cleaned.values():
        for word in glued:
            assert word not in doc.clean_text, f"{doc.source}: {word!r} still glued"


def test_clean_moves_title_date_byline_and_photo_credits_to_metadata(cleaned):
    d0 = cleaned["000"]
    assert d0.title == "Vietnam-China Customs strengthen cooperation in anti-smuggling"
    assert d0.published == "2019-05-24T10:10:00"
    assert d0.authors == ("Thai Binh", "Ngoc Loan")
    assert d0.metadata["scraped_at"] == "2020-07-15T08:12:00"
    assert cleaned["002"].published == "2019-08-05T19:23:00"
    assert cleaned["001"].title == "Vietnam Customs and China Customs cooperate in anti-smuggling"
    assert cleaned["001"].authors == ("Thai Binh", "Huu Tuc")
    assert cleaned["002"].authors == ("Thai Binh", "Bui Diep", "T. Binh")
    assert cleaned["003"].authors == ("Thai Binh", "Thu Huong", "Huyen Trang")
    assert cleaned["003"].metadata["photo_credits"] == ["Thu Huong"]
    for key, doc in cleaned.items():
        for text in [
            "10:10 | 24/05/2019",
            "19:23 | 05/08/2019",
            "By Thai Binh",
            "By THai Binh",
            "Photo:",
        ]:
            assert text not in doc.clean_text, f"seed {key}: {text!r} left in the body"
        if doc.title:
            assert not doc.clean_text.startswith(doc.title)
    reasons = {e.reason for e in d0.edits}
    assert {
        "title",
        "dateline",
        "byline",
        "scrape_timestamp",
        "site_chrome",
        "slug_link",
        "glued_word",
    } <= reasons


def test_clean_leaves_a_chrome_free_page_whole(cleaned):
    d4 = cleaned["004"]
    assert d4.clean_text == d4.raw_text.strip()
    assert d4.title is None and d4.edits == ()


def test_clean_records_removed_text_with_reason_and_raw_range(cleaned):
    row = cleaned["001"].to_row()
    related = [r for r in row["removals"] if r["reason"] == "related_block"]
    assert related and related[0]["text"].startswith("Related News")
    for r in row["removals"]:
        assert cleaned["001"].raw_text[r["raw_start"] : r["raw_end"]] == r["text"]


OTHER_SITE = """Home | World | Business | Sport | Tech
Search Subscribe Log in

Port police seize two tonnes of cocaine in banana shipment
Tuesday, 3 March 2020 14:05 GMT
By Jane Smith and Omar Haddad

Police at the port of Antwerp seized two tonnes of cocaine hidden in a shipment of bananas from Ecuador on Monday, officials said.

port police seize two tonnes of cocaine in banana shipment Dock workers arrested after raid
The drugs, worth an estimated 100 million euros, were found during a routine scan of refrigerated containers at the terminal.

Customs officers inspect a container at the terminal. Photo: Reuters

Two dock workers were arrested and will appear before an investigating judge in the coming days, prosecutors said.

Most popular
Five arrested in Rotterdam heroin bust
Interpol warns of rise in synthetic opioids
Wildlife traffickers jailed in Kenya
© 2020 Harbour Times. All rights reserved.
"""


def test_clean_handles_a_different_site_layout_with_menu_and_most_popular_block():
    doc = clean_page(_doc(OTHER_SITE, "harbour/a.txt", "harbourtimes.example"), config=CONFIG)
    assert doc.title == "Port police seize two tonnes of cocaine in banana shipment"
    assert doc.published == "2020-03-03T14:05:00"
    assert doc.authors == ("Jane Smith", "Omar Haddad", "Reuters")
    assert doc.clean_text == (
        "Police at the port of Antwerp seized two tonnes of cocaine hidden in a shipment of bananas from Ecuador on Monday, officials said.\n\n"
        "The drugs, worth an estimated 100 million euros, were found during a routine scan of refrigerated containers at the terminal.\n\n"
        "Customs officers inspect a container at the terminal.\n\n"
        "Two dock workers were arrested and will appear before an investigating judge in the coming days, prosecutors said."
    )


def test_clean_removes_mid_article_related_block_but_keeps_following_paragraphs():
    raw = (
        "Seizure at the border\n\n"
        "Border guards found 40 kg of heroin in the fuel tank of a lorry crossing from the north on Friday night.\n\n"
        "See also\nTwo lorries stopped with methamphetamine\nCanine unit expands to five crossings\n\n"
        "The driver told investigators that he had been paid to carry the vehicle across the border, guards said.\n"
        "The investigation continues with help from neighbouring countries and regional partners, officials said.\n"
    )
    doc = clean_page(_doc(raw), config=CONFIG)
    assert "See also" not in doc.clean_text and "Canine unit" not in doc.clean_text
    assert "The driver told investigators" in doc.clean_text
    assert "The investigation continues" in doc.clean_text


def test_clean_learns_boilerplate_recurring_across_a_sites_pages():
    tagline = "Sign up for our morning briefing on crime"
    pages = [
        _doc(
            f"Headline number {i} about seizures\n\n{tagline}\n\n"
            f"Police said on day {i} that they seized {i} kg of drugs at the harbour after a long investigation.\n",
            f"s/{i}.txt",
            "crimewire.example",
        )
        for i in range(4)
    ]
    docs = clean_documents(pages, config=CONFIG)
    for doc in docs:
        assert tagline not in doc.clean_text
        assert "site_boilerplate" in {e.reason for e in doc.edits}
        assert "seized" in doc.clean_text


def test_clean_normalises_unicode_and_whitespace_as_recorded_edits():
    raw = "Title of a short test page here\r\n\r\nCaf\u0065\u0301 owners\u00a0said the\u200b police  came at\tnoon, officials told the local newspaper on Monday.  \r\n"
    doc = clean_page(_doc(raw), config=CONFIG)
    assert (
        doc.clean_text
        == "Caf\u00e9 owners said the police came at noon, officials told the local newspaper on Monday."
    )
    reasons = {e.reason for e in doc.edits}
    assert {"unicode", "whitespace"} <= reasons
    # nothing lost: every raw character is either copied or inside a recorded edit
    covered = sum(e.end - e.start for e in doc.edits)
    copied = sum(s.raw_end - s.raw_start for s in doc.offset_map.segments if s.copy)
    assert covered + copied == len(raw)


@pytest.mark.parametrize(
    "line, iso",
    [
        ("10:10 | 24/05/2019", "2019-05-24T10:10:00"),
        ("July 15, 2020 08:12", "2020-07-15T08:12:00"),
        ("2021-03-04", "2021-03-04T00:00:00"),
        ("Posted on 5 Jan 2022, 9:30 pm", "2022-01-05T21:30:00"),
        ("Vietnam Customs on July 15, 2020", None),
        ("12:30", None),
    ],
)
def test_parse_date_line(line, iso):
    assert parse_date_line(line) == iso


def test_load_clean_config_reports_bad_file(tmp_path):
    bad = tmp_path / "clean.yaml"
    bad.write_text(
        "blocks:\n  header_patterns: ['(']\nbyline: {pattern: x}\nphoto_credit: {pattern: y}\n"
    )
    with pytest.raises(ConfigError, match="header_patterns"):
        load_clean_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_clean_config(tmp_path / "missing.yaml")


def test_load_clean_config_names_an_out_of_range_sketch_size(tmp_path):
    bad = tmp_path / "clean.yaml"
    bad.write_text(
        "byline: {pattern: x}\nphoto_credit: {pattern: y}\nboilerplate: {sketch_lg_size: 40}\n"
    )
    with pytest.raises(ConfigError, match=r"clean.yaml(.|\n)*boilerplate.sketch_lg_size(.|\n)*26"):
        load_clean_config(bad)


def test_load_clean_config_names_a_misspelt_key_and_its_nearest_name(tmp_path):
    bad = tmp_path / "clean.yaml"
    bad.write_text("byline: {pattern: x}\nphoto_credit: {pattern: y}\nboilerplate: {min_pges: 4}\n")
    with pytest.raises(ConfigError) as caught:
        load_clean_config(bad)
    message = str(caught.value)
    assert str(bad) in message and "boilerplate.min_pges" in message and "min_pages" in message


def test_load_clean_config_refuses_a_string_for_a_yes_no_setting(tmp_path):
    bad = tmp_path / "clean.yaml"
    bad.write_text("byline: {pattern: x}\nphoto_credit: {pattern: y}\ndates: {day_first: 'no'}\n")
    with pytest.raises(ConfigError, match="dates.day_first"):
        load_clean_config(bad)


def test_load_clean_config_checks_the_glue_section_against_its_fields(tmp_path):
    bad = tmp_path / "clean.yaml"
    bad.write_text("byline: {pattern: x}\nphoto_credit: {pattern: y}\nglue: {min_gian: 2.0}\n")
    with pytest.raises(ConfigError, match="glue.min_gian(.|\n)*min_gain"):
        load_clean_config(bad)


def test_clean_gives_the_same_page_after_its_caches_are_cleared():
    from corpus.clean import clear_caches

    seed = SEEDS[1]
    raw = seed.read_text("utf-8")
    doc = Document(id="s", source=str(seed), raw_text=raw)
    warm = clean_page(doc, config=CONFIG)
    clear_caches()
    assert clean_page(doc, config=CONFIG) == warm


AD_BREAKS_PAGE = (
    "* Home\n* News\n  + Local News\n  + Crime\n  + Sports\n  + Business\n* Community\n  + Jobs\n  + Weather\n* Archives\n"
    "More\nSearch\nTrending Now\n\n"
    "Harbour strike enters its third day\n\nMinister opens new ferry terminal\n\nSchools close early for the holidays\n\n"
    "* Breaking News\n* Regional\n\n"
    "Customs Seize Cocaine Hidden In Banana Crates\n\n"
    "By\nJane Smith\n-\nApril 28, 2022\nFacebook\nTwitter\nWhatsApp\n"
    "- Advertisement -\n\n"
    "Customs officers at the main port seized 120 kilograms of cocaine hidden in crates of bananas from Ecuador on Wednesday, the agency said in a statement.\n\n"
    "The drugs were found when a scanner showed dense blocks inside three refrigerated containers unloaded overnight.\n\n"
    "- Advertisement -\n\n"
    "Two men who came to collect the containers were arrested and will appear before a magistrate on Friday, officials said.\n\n"
    "- Advertisement -\n\n"
    "The agency said the seizure was the largest at the port this year and thanked its partners abroad for the tip-off.\n"
)


@pytest.mark.parametrize("marker", ["- Advertisement -", "(Image credit: Harbour Times)"])
def test_clean_keeps_a_lead_paragraph_after_a_repeated_marker_line(marker):
    # a marker line recurs between paragraphs: it is neither a headline (one word, or a photo
    # credit) nor the headline of a related block whose teaser would be the paragraph after it
    page = AD_BREAKS_PAGE.replace("- Advertisement -", marker)
    doc = clean_page(_doc(page, "port/a.txt", "islandnews.example"), config=CONFIG)
    assert doc.title != marker
    assert "Customs officers at the main port seized 120 kilograms" in doc.clean_text
    assert "Two men who came to collect the containers" in doc.clean_text
    assert "Harbour strike" not in doc.clean_text
