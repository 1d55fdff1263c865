"""The line classifier, its features and the page language, on small inline pages."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from corpus.clean import clean_page, load_clean_config
from corpus.clean.classify import (
    LineModel,
    content_probabilities,
    default_line_model,
    page_inputs,
)
from corpus.clean.features import FEATURE_NAMES, view_line
from corpus.clean.language import detect_language, stopwords, top_words
from corpus.records import Document

CONFIG = load_clean_config()

GERMAN_ARTICLE = [
    "Der Zoll hat am Dienstag im Hamburger Hafen mehr als drei Tonnen Kokain sichergestellt, "
    "die in einem Container mit Bananen aus Ecuador versteckt waren.",
    "Nach Angaben der Ermittler handelt es sich um einen der größten Funde des Jahres, der "
    "Straßenverkaufswert liegt bei mehreren hundert Millionen Euro.",
    "Zwei Männer wurden festgenommen, die Ermittlungen dauern an und weitere Festnahmen "
    "werden nicht ausgeschlossen, sagte ein Sprecher der Staatsanwaltschaft.",
]
GERMAN_MENU = [
    "Startseite",
    "Politik",
    "Wirtschaft",
    "Sport",
    "Kultur",
    "Impressum",
    "Datenschutz",
    "Kontakt",
]


def german_page() -> str:
    return "\n".join([*GERMAN_MENU, "", *(p + "\n" for p in GERMAN_ARTICLE), *GERMAN_MENU[:4]])


def test_view_line_reads_markdown_links_images_and_markers():
    view = view_line('  * [Politik](/politik/ "Alle Artikel")')
    assert view.visible == "Politik"
    assert view.link_chars == len("Politik")
    assert view.bullet
    image = view_line("[![Drucken](http://x.example/p.gif)](http://x.example/print/)")
    assert image.visible == "" and image.images == 1
    heading = view_line("### Zoll findet Kokain")
    assert heading.heading and heading.visible == "Zoll findet Kokain"


def test_detect_language_and_stopwords_of_a_german_page():
    guess = detect_language(GERMAN_ARTICLE)
    assert guess.code == "de" and guess.probability > 0.9
    assert {"der", "und", "die"} <= stopwords("de")
    assert detect_language(["Home", "News"]).code is None  # too little text to tell


def test_stopwords_only_from_a_wordfreq_list_of_the_same_language(capsys):
    import wordfreq

    # jusText has no Shona or Nigerian Pidgin; wordfreq would answer with its nearest list
    # (English) and say so on stderr: no stoplist is right there
    for code in ("sn", "pcm"):
        assert stopwords(code) == frozenset()
    assert "nearest match" not in capsys.readouterr().err
    # a variety of a wordfreq language gets that language's list: Norwegian, Wu Chinese
    assert stopwords("no") == frozenset(wordfreq.top_n_list("nb", 200))
    assert stopwords("wuu") == frozenset(wordfreq.top_n_list("zh", 200))
    assert stopwords("fil") and stopwords("sh")  # wordfreq's own lists, no jusText one
    assert stopwords("xx") == frozenset() and stopwords(None) == frozenset()


def test_features_have_one_row_per_non_blank_line():
    page = page_inputs(german_page())
    assert len(page.lines) == len(GERMAN_MENU) + len(GERMAN_ARTICLE) + 4
    assert page.features.shape == (len(page.lines), len(FEATURE_NAMES))
    assert page.language.code == "de"


def test_classifier_scores_german_prose_above_its_menu():
    page = page_inputs(german_page())
    [p] = content_probabilities(default_line_model(), [page.features])
    threshold = default_line_model().threshold
    first = len(GERMAN_MENU)
    assert all(p[first : first + 3] >= threshold)
    assert all(p[:first] < threshold)


def test_batch_probabilities_equal_page_by_page():
    model = default_line_model()
    pages = [
        page_inputs(german_page()).features,
        page_inputs("Home\nNews\n").features,
        np.zeros((0, len(FEATURE_NAMES))),
    ]
    batch = content_probabilities(model, pages)
    for x, p in zip(pages, batch, strict=True):
        np.testing.assert_allclose(p, model.probabilities(x))


def test_model_round_trips_through_json():
    model = default_line_model()
    again = LineModel.from_json(model.to_json())
    x = page_inputs(german_page()).features
    np.testing.assert_allclose(again.probabilities(x), model.probabilities(x), atol=1e-6)


def test_model_with_other_features_is_refused():
    data = default_line_model().to_json()
    data["features"] = data["features"][:-1]
    with pytest.raises(ValueError, match="retrain it"):
        LineModel.from_json(data)


def test_clean_page_removes_a_german_menu_keeps_the_article_and_records_the_language():
    raw = german_page()
    doc = clean_page(Document(id="d", source="t.txt", raw_text=raw), config=CONFIG)
    for paragraph in GERMAN_ARTICLE:
        assert paragraph in doc.clean_text
    assert "Impressum" not in doc.clean_text
    assert doc.metadata["language"] == "de"
    reasons = {e.reason for e in doc.edits}
    assert "boilerplate_line" in reasons
    assert "glued_word" not in reasons  # glue repair is for English pages only


def test_a_heading_like_word_above_prose_never_cuts_the_prose():
    article = [
        "Customs officers at the port seized 500 kg of ketamine hidden in a shipment of "
        "ceramic tiles on Tuesday, the agency said in a statement.",
        "The drugs were found during an inspection of two containers that had arrived from "
        "abroad, and three people were arrested at the scene by the police.",
        "Investigators believe the shipment was part of a larger network that has used the "
        "port several times this year, according to the statement.",
    ]
    raw = "\n".join(["Home", "More", "Trending", "", *(p + "\n" for p in article)])
    doc = clean_page(Document(id="d", source="t.txt", raw_text=raw), config=CONFIG)
    for paragraph in article:
        assert paragraph in doc.clean_text


def _mean_around_plain(values: np.ndarray, k: int) -> np.ndarray:
    n = len(values)
    out = np.zeros(n)
    for i in range(n):
        around = [j for j in range(max(0, i - k), min(n, i + k + 1)) if j != i]
        out[i] = values[around].mean() if around else 0.0
    return out


@pytest.mark.parametrize("n", [0, 1, 2, 7, 40])
@pytest.mark.parametrize("k", [1, 3, 10])
def test_window_means_equal_their_plain_definition(n, k):
    from corpus.clean.features import _mean_around

    rng = np.random.default_rng(n * 100 + k)
    column = rng.random(n)
    np.testing.assert_allclose(_mean_around(column, k), _mean_around_plain(column, k))
    matrix = rng.random((n, 3))
    for c in range(3):
        np.testing.assert_allclose(
            _mean_around(matrix, k)[:, c], _mean_around_plain(matrix[:, c], k)
        )


def test_trees_walked_together_equal_each_tree_walked_alone():
    from corpus.clean.classify import _tree_scores, _tree_scores_plain

    model = default_line_model()
    x = np.vstack([page_inputs(german_page()).features, page_inputs("Home\nNews\n").features])
    x = np.vstack([x, np.random.default_rng(3).normal(size=(50, x.shape[1])) * 3])
    for stage in (model.stage1, model.stage2):
        if stage is not None and stage.kind == "trees":
            width = len(FEATURE_NAMES) if stage is model.stage1 else x.shape[1] + 5
            rows = x if stage is model.stage1 else np.hstack([x, np.zeros((len(x), 5))])
            assert rows.shape[1] == width
            np.testing.assert_allclose(
                _tree_scores(stage.params, rows), _tree_scores_plain(stage.params, rows)
            )


def test_a_page_cut_inside_its_article_is_scored_by_the_cut_page_model():
    model = default_line_model()
    assert model.cut is not None
    whole_only = dataclasses.replace(model, cut=None)
    # a scraper kept the page's first characters: it ends in the middle of a sentence
    cut = page_inputs("\n".join(GERMAN_MENU + GERMAN_ARTICLE)[:-60]).features
    whole = page_inputs(german_page()).features
    assert model.cut.probabilities(cut)[-1] >= model.cut_gate
    np.testing.assert_allclose(model.probabilities(cut), model.cut.probabilities(cut))
    for x in (cut, whole):
        gated = model.cut.probabilities(x)[-1] >= model.cut_gate
        chosen = model.cut if gated else whole_only
        np.testing.assert_allclose(model.probabilities(x), chosen.probabilities(x))


def test_top_words_equal_wordfreq_top_n_list_without_keeping_the_whole_list():
    import wordfreq

    wordfreq.get_frequency_list.cache_clear()
    for code in ("zh", "fil", "en", "vi"):
        assert top_words(code, 200) == wordfreq.top_n_list.__wrapped__(code, 200)
    assert top_words("fil", 10**7) == wordfreq.top_n_list.__wrapped__("fil", 10**7)  # all
    wordfreq.get_frequency_list.cache_clear()
    top_words("zh", 200)
    assert wordfreq.get_frequency_list.cache_info().currsize == 0  # no whole list kept
