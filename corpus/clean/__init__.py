"""Clean one page: drop its chrome, move metadata out, repair the text; for any site,
any language and any common converter (plain text, inscriptis layout text, html2text markdown).

Every decision is an `Edit` in raw coordinates with a short reason code; `apply_edits`
turns them into the clean text and its offset map, so nothing is lost and any clean span
maps back to the raw page. Every removal rests on evidence found on the lines it removes.
The rules, in the order they claim lines:

1. site chrome: menu lines and whole-line patterns (configs/clean.yaml); then the line
   classifier (`classify`, `features`, `language`; a second model scores pages that end inside
   their article, as scrapers cut them): lines whose content probability is low
   (menus, widgets, footers, consent banners in any language) become `boilerplate_line`,
   except the last line of a page cut inside its article and a sentence right beside strong
   article text (a lead paragraph or caption at a page's top: position is no evidence);
2. page head (before the first article paragraph): date-only lines before the title are
   scrape timestamps, the first after it is the dateline (-> `published`); the headline is
   the title (-> `title`), on evidence (first kept line, markdown heading, the URL's words,
   or repeated in the head);
3. bylines anywhere (-> `authors`), then lines learned as the site's boilerplate;
4. related / latest / popular blocks: a heading followed by link lines, teasers and repeated
   headlines; below the article the block runs to the end of the page, elsewhere each line
   goes on its own evidence (a run of prose under a heading-like word stays);
5. lines prefixed with the page's own slug, headlines doubled by alt text ("X X"), then
   lines repeated inside the page (the first occurrence stays);
6. inside kept lines: photo credits (-> `authors`), whitespace and Unicode normalisation
   (NFC, odd spaces, zero-width characters, "\\r\\n"), glued words (`corpus.glue`) on pages
   whose language has it enabled.

Modules: `config` (settings), `lines` (line facts), `dates`, `text`, `features`,
`language` (+ `fastlangid`) and `classify` (the line classifier), `page` (the rules, `Cleaner`),
`normalise` (in-line edits), `batches` (many pages, worker processes).
"""

from .batches import (
    PARALLEL_MIN_PAGES,
    boilerplate_counter,
    clean_documents,
    clear_caches,
    learn_boilerplate,
    warm_up,
)
from .config import CleanConfig, load_clean_config
from .dates import parse_date_line
from .page import Cleaner, clean_page, clean_pages

__all__ = [
    "PARALLEL_MIN_PAGES",
    "CleanConfig",
    "Cleaner",
    "boilerplate_counter",
    "clean_documents",
    "clean_page",
    "clean_pages",
    "clear_caches",
    "learn_boilerplate",
    "load_clean_config",
    "parse_date_line",
    "warm_up",
]
