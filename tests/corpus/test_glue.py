"""Glued-word repair (corpus.glue) on inline text: required repairs and the name/code guard."""

import pytest

from corpus.clean import load_clean_config
from corpus.glue import find_glued_words, repair_glued_words

GLUE = load_clean_config().glue

REPAIRS = {
    "strengthencooperation": "strengthen cooperation",
    "Thecooperation": "The cooperation",
    "todiscovering": "to discovering",
    "overa year": "over a year",
    "detectedin": "detected in",
    "wasco-founded": "was co-founded",
    "betweenthe": "between the",
    "twocountries": "two countries",
    "hasbrought": "has brought",
    "guardingthe": "guarding the",
    "eachcountry": "each country",
    "anti-drugpolicy": "anti-drug policy",
    "dealt withby": "dealt with by",
    "saidto": "said to",
    "wassuccessfully": "was successfully",
    "withmore": "with more",
    "wasinformation": "was information",
    "handlefour": "handle four",
    "seizureof": "seizure of",
    "toChinese": "to Chinese",
    "May2019": "May 2019",
    "2000,so far": "2000, so far",
    "crimeC04": "crime C04",
}

UNTOUCHED = [
    "Hai Phong",
    "Nguyen Phi Hung",
    "Ton Chi Kiet",
    "Nguyen Hung Anh",
    "RILO AP",
    "UNODC",
    "INTERPOL",
    "M918",
    "C04",
    "OMD5",
    "500kg",
    "276kg",
    "COVID-19",
    "Ba Ria-Vung Tau",
    "Xi'an",
    "e-commerce",
    "together",
    "whatever",
    "customs",
    "Vietnamese",
    "anti-smuggling",
    "transnationally",
    "oversea",
    "Huyen Trang",
    "Youyi Guan",
    "Phoukhaokham Vannavongxay",
    "1,000",
    "US$29",
    "VND1,500",
    "ketamine",
    "pangolin",
    "long-term",
    "well-known",
    "subcommunity",
    "uplighting",
]


@pytest.mark.parametrize("glued, repaired", sorted(REPAIRS.items()))
def test_glue_repairs_glued_word(glued, repaired):
    assert repair_glued_words(glued, config=GLUE) == repaired


@pytest.mark.parametrize("text", UNTOUCHED)
def test_glue_leaves_names_codes_and_real_words_untouched(text):
    assert find_glued_words(text, config=GLUE) == []


def test_glue_edits_are_space_insertions_in_offset_coordinates():
    edits = find_glued_words("xx saidto", offset=100, config=GLUE)
    assert [(e.start, e.end, e.replacement, e.reason) for e in edits] == [
        (107, 107, " ", "glued_word")
    ]


def test_glue_word_frequencies_equal_wordfreqs_own():
    import random

    from wordfreq import get_frequency_dict, zipf_frequency

    from corpus.glue import _zipf

    listed = [w for w in get_frequency_dict("en") if w.isascii() and w.isalpha() and w.islower()]
    rng = random.Random(7)
    made_up = ["".join(rng.choices("etaoinshrdlucmw", k=rng.randint(2, 9))) for _ in range(3000)]
    sample = listed[::40] + made_up + ["Hanoi", "co-founded", "m918", "pangolin's"]
    assert [_zipf(w, "en") for w in sample] == [zipf_frequency(w, "en") for w in sample]
