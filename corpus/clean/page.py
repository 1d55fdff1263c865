"""Clean one page: the rules that claim its lines, then the edits, the clean text and its
offset map. See the package docstring for the order of the rules."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from ..boilerplate import clear_key_cache
from ..glue import GlueRepairer, GlueRequest, forget_word_frequencies, insert_spaces
from ..offsets import EDIT_ORDER, Edit, apply_edits
from ..records import STATUS_REJECTED, Document
from .classify import (
    LineModel,
    PageInputs,
    content_probabilities,
    default_line_model,
    pages_inputs,
)
from .config import CleanConfig
from .features import LineFeaturizer
from .language import load_in_background as load_language_in_background
from .language import warm_up as load_language_model
from .lines import LineScanner, _split_lines
from .normalise import _disjoint, _normalise_line
from .rules import (
    PageLines,
    credit_finder,
    keep_cut_last_line,
    keep_prose_beside_article,
    mark_blank_lines,
    mark_bylines,
    mark_chrome,
    mark_classified,
    mark_credit_lines,
    mark_doubled_and_repeated,
    mark_head,
    mark_labelled_link_lists,
    mark_learned_boilerplate,
    mark_related_blocks,
    mark_slug_lines,
    read_page,
)
from .text import _parse_names

# `Edit(*fields)` without the Python-level __new__ of a named tuple (tens of edits a page)
_new_edit = functools.partial(tuple.__new__, Edit)


class Cleaner:
    """Cleans pages with one config. Owns what the config derives (the line scanner and its
    bounded cache of line facts) and the line model; made once and handed to workers."""

    def __init__(self, config: CleanConfig, *, model: LineModel | None = None):
        self.config = config
        self.scanner = LineScanner(config)
        self.featurizer = LineFeaturizer()
        self.glue = GlueRepairer(config.glue)
        self.model = model if model is not None else default_line_model()

    def warm_up(self) -> None:
        """Load the word data, the glue tables and the language model now (before worker
        processes fork: they inherit them instead of each building them). The language
        model loads in a thread meanwhile (see `language.load_in_background`)."""
        loading = load_language_in_background()
        self.glue.warm_up()
        loading.join()
        load_language_model()  # at once; raises what the thread could not load

    def forget_memos(self) -> None:
        """Empty the memos of lines and words seen (line facts, line features, line keys,
        glue token decisions, word frequencies): they refill on use, and only change speed.
        Workers call this between partitions so that what they hold does not depend on
        how many pages came before. The loaded data (word lists, glue tables, models)
        stays."""
        self.scanner.facts.clear()
        self.featurizer.clear()
        self.glue.forget_tokens()
        clear_key_cache()  # process-wide, like the word frequencies below
        forget_word_frequencies()

    def clean_page(self, doc: Document, *, boilerplate: frozenset[str] = frozenset()) -> Document:
        """See `clean_page`."""
        return _clean_batch(self, [doc], [boilerplate])[0]

    def clean_pages(
        self, docs: Sequence[Document], *, learned: Mapping[str, frozenset[str]]
    ) -> list[Document]:
        """See `clean_pages`."""
        return _clean_batch(self, docs, [learned.get(d.site or "", frozenset()) for d in docs])


def clean_page(
    doc: Document,
    *,
    config: CleanConfig,
    boilerplate: frozenset[str] = frozenset(),
) -> Document:
    """The cleaned copy of `doc`: clean text, every edit with its reason, the offset map,
    and title / published / authors moved out of the body. Rejected documents come back
    unchanged. Pure: no I/O, same input -> same output."""
    return Cleaner(config).clean_page(doc, boilerplate=boilerplate)


def clean_pages(
    docs: Sequence[Document],
    *,
    config: CleanConfig,
    learned: Mapping[str, frozenset[str]],
    cleaner: Cleaner | None = None,
) -> list[Document]:
    """`clean_page` of every page (with its site's `learned` boilerplate), in order. The
    same result, faster: the pages' lines are scored and their glued words looked up in
    one batch. Pass a `cleaner` made once to keep its caches across calls."""
    if cleaner is None or cleaner.config != config:
        cleaner = Cleaner(config)
    return cleaner.clean_pages(docs, learned=learned)


def _extracted_from_html(doc: Document) -> bool:
    return "html_length" in doc.metadata


def _clean_batch(
    cleaner: Cleaner, docs: Sequence[Document], boilerplates: Sequence[frozenset[str]]
) -> list[Document]:
    """Score every page's lines with the line classifier in one batch, run each page's
    `_clean_steps` up to its glue request, answer all the requests in one
    `GlueRepairer.find_in_pages` call, then let each page finish. Each page is split into
    lines once, for the classifier and the rules."""
    config = cleaner.config
    out: list[Document] = []
    paused: list[tuple[int, Generator[GlueRequest, list[list[Edit]], Document]]] = []
    requests: list[GlueRequest] = []
    splits = [None if doc.status == STATUS_REJECTED else _split_lines(doc.raw_text) for doc in docs]
    scored = iter(
        pages_inputs([s[3] for s in splits if s is not None], featurizer=cleaner.featurizer)
    )
    inputs = [None if split is None else next(scored) for split in splits]
    # pages extracted from HTML were already separated from their chrome by the extractor
    classified = [
        page is not None and config.classifier_enabled and not _extracted_from_html(doc)
        for doc, page in zip(docs, inputs, strict=True)
    ]
    probabilities = iter(
        content_probabilities(
            cleaner.model,
            [page.features for page, c in zip(inputs, classified, strict=True) if c and page],
        )
        if any(classified)
        else []
    )
    for doc, boilerplate, split, page, c in zip(
        docs, boilerplates, splits, inputs, classified, strict=True
    ):
        scores = next(probabilities) if c else None
        steps = _clean_steps(doc, cleaner, boilerplate, page, scores, split)
        try:
            requests.append(next(steps))
        except StopIteration as done:  # nothing to repair (a rejected page)
            out.append(done.value)
            continue
        paused.append((len(out), steps))
        out.append(doc)  # replaced below
    glued = cleaner.glue.find_in_pages(requests) if requests else []
    for (row, steps), page_glued in zip(paused, glued, strict=True):
        try:
            steps.send(page_glued)
        except StopIteration as done:
            out[row] = done.value
        else:
            raise RuntimeError("_clean_steps asked for glued words twice")
    return out


def _clean_steps(
    doc: Document,
    cleaner: Cleaner,
    boilerplate: frozenset[str],
    page_inputs: PageInputs | None = None,
    scores: Any = None,
    split: tuple[list[int], list[int], list[int], list[str]] | None = None,
) -> Generator[GlueRequest, list[list[Edit]], Document]:
    """The cleaning of one page, paused once: it yields the raw ranges whose glued words
    it needs (the kept lines and the title), is sent back their glue edits (one list per
    range) and returns the cleaned document. A batch of pages thus asks glue once."""
    if doc.status == STATUS_REJECTED:
        return doc
    config = cleaner.config
    page = read_page(
        doc,
        cleaner.scanner,
        scores=None
        if page_inputs is None or scores is None
        else (page_inputs.line_numbers, scores),
        split=split,
    )
    language = page_inputs.language.code if page_inputs is not None else None
    if language:
        page.metadata["language"] = language
    threshold = config.min_content_probability
    # an HTML extractor has already used the page's markup to leave its chrome out: the
    # text-only chrome rules would only cost article text there
    page_chrome = not _extracted_from_html(doc)
    if page_chrome:
        mark_chrome(page)
    mark_classified(page, cleaner.model.threshold if threshold is None else threshold)
    keep_cut_last_line(page, config)
    keep_prose_beside_article(page, config)
    mark_head(page, config, boilerplate)
    mark_bylines(page, config)
    mark_learned_boilerplate(page, boilerplate)
    if page_chrome:
        mark_related_blocks(page, config)
        mark_labelled_link_lists(page)
        mark_slug_lines(page, config)
    mark_doubled_and_repeated(page, config)
    mark_credit_lines(page, cleaner.scanner, config)
    last_content = mark_blank_lines(page)

    edits = removal_edits(page)
    kept = [i for i, reason in enumerate(page.reasons) if reason is None]
    content, line_edits = kept_content(page, kept, cleaner.scanner, config)
    # glued words of every kept line and of the title, in one pass
    span = page.title_span
    glue_ranges = content if span is None else [*content, span]
    # the repairer leaves pages alone unless their language is one of glue.languages
    glued = yield GlueRequest(page.raw, glue_ranges, language)
    if span is not None:
        page.title = " ".join(insert_spaces(page.raw, glued[-1], *span).split())
    edits += kept_line_edits(page, kept, content, line_edits, glued, last_content)
    edits.sort(key=EDIT_ORDER)  # sorted once: apply_edits finds them in order
    clean_text, offset_map = apply_edits(page.raw, edits)
    return _finished(page, clean_text, edits, offset_map)


def removal_edits(page: PageLines) -> list[Edit]:
    """One edit per run of adjacent lines removed for one reason."""
    edits: list[Edit] = []
    i = 0
    for reason, run in itertools.groupby(page.reasons):
        length = len(list(run))
        if reason is not None:
            edits.append(_new_edit((page.starts[i], page.ends[i + length - 1], "", reason)))
        i += length
    return edits


def kept_content(
    page: PageLines, kept: list[int], scanner: LineScanner, config: CleanConfig
) -> tuple[list[tuple[int, int]], list[list[Edit]]]:
    """Raw [start, end) of each kept line's content, and each line's edits so far: a
    caption's trailing photo credit goes (its names to `authors`), the rest is content."""
    find_credit = credit_finder(page, scanner)
    content: list[tuple[int, int]] = []
    line_edits: list[list[Edit]] = []
    for i in kept:
        start = page.starts[i]
        text = page.texts[i]
        content_end = page.content_ends[i]
        line_edits.append([])
        if text:
            m = page.credit_matches[i] if i in page.credit_matches else find_credit(text.rstrip())
            if m and m.start() > 0:
                cut = start + m.start()
                while cut > start and page.raw[cut - 1].isspace():
                    cut -= 1
                line_edits[-1].append(Edit(cut, start + len(text.rstrip()), "", "photo_credit"))
                page.credits.extend(_parse_names(m.group("names"), config))
                content_end = cut
        content.append((start, content_end))
    return content, line_edits


def kept_line_edits(
    page: PageLines,
    kept: list[int],
    content: list[tuple[int, int]],
    line_edits: list[list[Edit]],
    glued: list[list[Edit]],
    last_content: int,
) -> list[Edit]:
    """Inside each kept line: normalisation, glued words, its line break."""
    raw = page.raw
    edits: list[Edit] = []
    for k, i in enumerate(kept):
        start, content_end = content[k]
        line_content_end = page.content_ends[i]
        found = line_edits[k]
        if start < line_content_end:
            found.extend(_normalise_line(raw, start, content_end, line_content_end))
            found.extend(glued[k])
        end = page.ends[i]
        terminator_length = end - line_content_end
        if i == last_content and terminator_length:
            found.append(_new_edit((line_content_end, end, "", "whitespace")))
        elif terminator_length and (terminator_length > 1 or raw[line_content_end] != "\n"):
            found.append(_new_edit((line_content_end, end, "\n", "whitespace")))
        # a line's edits stay inside the line, so overlaps are resolved line by line
        edits.extend(_disjoint(found) if len(found) > 1 else found)
    return edits


def _finished(page: PageLines, clean_text: str, edits: list[Edit], offset_map: Any) -> Document:
    authors = page.authors
    for name in page.credits:
        if name not in authors:
            authors.append(name)
    metadata = page.metadata
    if page.credits:
        metadata["photo_credits"] = sorted(set(page.credits), key=page.credits.index)
    return page.doc.with_(
        clean_text=clean_text,
        edits=tuple(edits),
        offset_map=offset_map,
        title=page.title,
        published=page.published,
        authors=tuple(dict.fromkeys(authors)),
        metadata=metadata,
    )
