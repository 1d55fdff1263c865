"""Read input pages into `Document`s: directories, `.txt` dumps, `.html` pages, `.jsonl` files.

This is the push side's input edge (the only corpus module that opens page files).
Bad input never raises: it becomes a Document with status "rejected", a machine-readable
`reject_reason` and `metadata["error"]`, a message naming the file (and line).

Decoding is per page (a file, or one JSONL line): a byte-order mark decides (UTF-8/16/32);
else UTF-8, where a few invalid bytes in otherwise valid UTF-8 become U+FFFD replacement
characters, counted in `metadata["decoding"]` (never the whole page decoded as another
encoding); else charset-normalizer's detection. Text that decodes but reads as mojibake
("â€“" for "–") is flagged by ftfy's badness check in `metadata["decoding"]["mojibake"]`.

Identity: a page's id comes from its source (`records.document_id`: the JSONL `url`, else the
file path relative to the source directory given, with that directory's name, and the JSONL
line), never from its content; a second page with a URL already seen in the run keeps the id
of its own source and names the first one in `metadata["same_url_as"]`.

HTML pages: the main content is extracted with trafilatura; `raw_text` is the *extracted
text*, so the offset map of an HTML document maps clean text back to that extracted
text, not to the HTML markup. The HTML itself is not stored, only its length
(`metadata["html_length"]`) and what trafilatura found (title, date, author, sitename).
"""

from __future__ import annotations

import codecs
import html as html_lib
import itertools
import json
import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from charset_normalizer import from_bytes

from .records import STATUS_REJECTED, Document, document_id

TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSONL_SUFFIXES = frozenset({".jsonl"})
PAGE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES

_BINARY_CONTROL_FRACTION = 0.1  # share of control bytes above which a file is binary
# Control bytes other than tab, newline, form feed and carriage return (counted in C by
# deleting them: a Python loop over a page's bytes cost as much as reading the file).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_MAX_CHAOS = 0.2  # charset-normalizer "mess" above which a decoding is rejected
# Byte-order marks, longest first (the UTF-32-LE mark starts with the UTF-16-LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# At most this share of a UTF-8 page's bytes may be invalid and replaced (beyond it the page is
# handed to the detector as another encoding).
_MAX_INVALID_UTF8_FRACTION = 0.01
# HTML whose visible text (outside script/style/noscript/template) has fewer letters is rejected.
MIN_HTML_VISIBLE_LETTERS = 40
_INVISIBLE_HTML = re.compile(
    r"<(script|style|noscript|template|svg|head)\b[^>]*>.*?</\1\s*>|<!--.*?-->",
    re.I | re.S,
)
_TAG = re.compile(r"<[^>]*>")


def iter_pages(sources: Iterable[str | Path], *, max_bytes: int = 5_000_000) -> Iterator[Document]:
    """One Document per input page, in a stable order.

    Directories are walked recursively in sorted order and only files with a page
    suffix (.txt, .html, .htm, .jsonl; hidden files skipped) are read; a file named
    explicitly with another suffix is rejected as unsupported_type. `max_bytes` limits a
    file (and, for JSONL, one line).
    """
    first_source: dict[str, str] = {}
    for path, identity in iter_source_files(sources):
        pages = iter_file_pages(path, identity=identity, max_bytes=max_bytes)
        yield from _once_per_source(pages, first_source)


def iter_source_files(sources: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """(file, identity) of every page file of `sources`, in the order `iter_pages` reads
    them; the identity names the file for `document_id` (see `iter_file_pages`).

    A partitioned curate splits this list and reads each part with `iter_file_pages`;
    the pages are then those of `iter_pages` except for its renaming of a second page of
    an already-read URL (`same_url_as`), which needs every earlier page and is applied
    by the caller.
    """
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in PAGE_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            name = path.resolve().name  # once per directory: a resolve is a stat per part
            for file in files:
                yield file, f"{name}/{file.relative_to(path).as_posix()}"
        else:
            yield path, f"{path.resolve().parent.name}/{path.name}"


def iter_file_pages(path: Path, *, identity: str, max_bytes: int = 5_000_000) -> Iterator[Document]:
    """The page(s) of one file (one, or one per JSONL line), bad ones as rejected rows;
    `identity` as `iter_source_files` gives it."""
    return _iter_file(path, max_bytes=max_bytes, identity=identity)


def _once_per_source(docs: Iterable[Document], first_source: dict[str, str]) -> Iterator[Document]:
    """The documents, each id given once: a second page with the URL of an earlier one (two
    scrapes of one article in the sources) takes the id of its own source instead, and
    `metadata["same_url_as"]` names the first. Deduplication then usually marks one of them a
    duplicate; a release refuses two surviving versions of one URL (`same_source_problems`).
    """
    for doc in docs:
        if doc.status == STATUS_REJECTED:
            yield doc
            continue
        first = first_source.setdefault(doc.id, doc.source)
        if first == doc.source:
            yield doc
            continue
        yield doc.with_(id=document_id(doc.source), metadata={**doc.metadata, "same_url_as": first})


def _reject(
    source: str,
    reason: str,
    message: str,
    *,
    site: str | None = None,
    extra: dict[str, Any] | None = None,
    **meta: Any,
) -> Document:
    return Document(
        id=document_id(source),
        source=source,
        raw_text="",
        site=site,
        status=STATUS_REJECTED,
        reject_reason=reason,
        metadata={**(extra or {}), **meta, "error": message},
    )


def site_of(url: str | None, path: Path) -> str:
    """The site key: the URL host (without "www."), else the page file's directory name."""
    if url:
        host = urlparse(url).hostname
        if host:
            return host.removeprefix("www.")
    return path.resolve().parent.name


def _iter_file(path: Path, *, max_bytes: int, identity: str) -> Iterator[Document]:
    """The page(s) of one file; `identity` is the path that names it for `document_id`:
    relative to the directory given as a source (with that directory's name), so that the
    same dump curated from another working directory or checkout keeps its ids."""
    source = str(path)
    site = path.resolve().parent.name
    suffix = path.suffix.lower()
    if suffix not in PAGE_SUFFIXES:
        yield _reject(
            source,
            "unsupported_type",
            f"{source}: file type {suffix or '(none)'!r} is not a page format; "
            "use .txt, .html/.htm or .jsonl (one JSON object per line)",
            site=site,
        )
        return
    if suffix in JSONL_SUFFIXES:
        yield from _iter_jsonl(path, max_bytes=max_bytes, identity=identity)
        return
    try:
        size = path.stat().st_size
        if size > max_bytes:
            yield _reject(
                source,
                "too_large",
                f"{source}: {size:,} bytes is over the {max_bytes:,}-byte limit per page; "
                "split the file or raise max_bytes",
                site=site,
                size=size,
            )
            return
        data = path.read_bytes()
    except OSError as exc:
        yield _reject(
            source,
            "unreadable",
            f"{source}: cannot read the file ({exc}); check it exists and is readable",
            site=site,
        )
        return
    text, problem, decoding = _decode(data, source)
    if problem is not None:
        reason, message = problem
        yield _reject(source, reason, message, site=site)
        return
    if suffix in HTML_SUFFIXES:
        doc = _html_document(source, text, url=None, site=site, identity=identity)
    else:
        doc = Document(id=document_id(identity), source=source, raw_text=text, site=site)
    yield _with_decoding(doc, decoding)


def _with_decoding(doc: Document, decoding: dict[str, Any]) -> Document:
    """The document with how its bytes were decoded in metadata["decoding"] (when notable)."""
    if doc.status == STATUS_REJECTED or not decoding:
        return doc
    return doc.with_(metadata={**doc.metadata, "decoding": decoding})


_REPLACED = threading.local()  # invalid bytes met by the current thread's decode


def _count_replaced(error: UnicodeError) -> tuple[str, int]:
    """Decode error handler: one U+FFFD per invalid byte sequence, its bytes counted."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    _REPLACED.count += error.end - error.start
    return "\ufffd", error.end


codecs.register_error("contraband-count-replace", _count_replaced)


def _decode_replacing(data: bytes, encoding: str) -> tuple[str, int]:
    """`data` decoded with invalid sequences replaced by U+FFFD; (text, invalid bytes)."""
    _REPLACED.count = 0
    text = data.decode(encoding, errors="contraband-count-replace")
    return text, _REPLACED.count


# Where mojibake can start: a UTF-8 lead byte read as cp1252/Latin-1 (Â-ô) or Mac Roman
# (¬ ‚ √), then another non-ASCII character (a continuation byte read the same way).
_MOJIBAKE_CANDIDATE = re.compile("[\u00c2-\u00f4\u00ac\u201a\u221a][^\x00-\x7f]")


def _mojibake_flag(text: str) -> bool:
    """True when ftfy judges decodable text to hold mojibake ("â€“" for "–").

    ftfy's check costs about 1 ms on a 3 KB page, so it only reads the stretches around the
    places where mojibake could start (none in ASCII text and in most other pages)."""
    if text.isascii():
        return False
    windows = [
        text[max(0, m.start() - 20) : m.end() + 20]
        for m in itertools.islice(_MOJIBAKE_CANDIDATE.finditer(text), 50)
    ]
    if not windows:
        return False
    from ftfy.badness import is_bad

    return any(is_bad(window) for window in windows)


def _decode(data: bytes, where: str) -> tuple[str, tuple[str, str] | None, dict[str, Any]]:
    """(text, problem, decoding): the decoded page, or (reason, message) when the bytes are not
    a usable text page; `decoding` notes anything notable (encoding, replaced bytes, mojibake).
    """
    if not data.strip():
        return "", ("empty_file", f"{where}: the page is empty; remove it or re-scrape it"), {}
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text, invalid = _decode_replacing(data[len(bom) :], encoding)
            if not text.strip():
                problem = ("empty_file", f"{where}: the page is empty; remove it or re-scrape it")
                return "", problem, {}
            return text, None, _decoding_note(text, encoding, invalid, bom=True)
    head = data[:8192]
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if b"\x00" in head or controls / len(head) > _BINARY_CONTROL_FRACTION:
        return (
            "",
            (
                "binary_file",
                f"{where}: looks binary (NUL or control bytes, and no UTF-16/32 byte-order mark), "
                "not a text page; remove it from the sources",
            ),
            {},
        )
    try:
        text = data.decode("utf-8")
        return text, None, _decoding_note(text, "utf-8", 0)
    except UnicodeDecodeError:
        pass
    text, invalid = _decode_replacing(data, "utf-8")
    # Characters that did decode as multi-byte UTF-8: evidence that the page is UTF-8.
    valid_multibyte = sum(1 for c in text if c > "\x7f" and c != "\ufffd")
    if valid_multibyte >= invalid and invalid <= _MAX_INVALID_UTF8_FRACTION * len(data) + 1:
        # UTF-8 with a few broken bytes: replace those, never re-read the page as cp1252.
        return text, None, _decoding_note(text, "utf-8", invalid)
    best = from_bytes(data).best()
    if best is None or best.chaos > _MAX_CHAOS:
        if invalid <= _MAX_INVALID_UTF8_FRACTION * len(data) + 1:
            return text, None, _decoding_note(text, "utf-8", invalid)
        return (
            "",
            (
                "undecodable",
                f"{where}: bytes are neither UTF-8 nor a recognisable encoding"
                f"{'' if best is None else f' (best guess {best.encoding},'}"
                f"{'' if best is None else f' {best.chaos:.0%} garbled)'}; "
                "re-save the page as UTF-8",
            ),
            {},
        )
    text = str(best)
    return text, None, _decoding_note(text, best.encoding, 0, detected=True)


def _decoding_note(
    text: str, encoding: str, invalid: int, *, bom: bool = False, detected: bool = False
) -> dict[str, Any]:
    """What is worth recording about a page's decoding ({} for plain valid UTF-8)."""
    note: dict[str, Any] = {}
    if encoding != "utf-8" or bom or detected:
        note["encoding"] = encoding
    if bom:
        note["byte_order_mark"] = True
    if detected:
        note["detected"] = "charset-normalizer"
    if invalid:
        note["encoding"] = encoding
        note["replaced_bytes"] = invalid
    if _mojibake_flag(text):
        note["mojibake"] = True
    return note


def _html_document(
    source: str,
    html: str,
    *,
    url: str | None,
    site: str,
    extra: dict[str, Any] | None = None,
    identity: str | None = None,
) -> Document:
    """The main text of an HTML page (trafilatura), or a rejected row when it has none."""
    import trafilatura

    meta: dict[str, Any] = dict(extra or {})
    meta["html_length"] = len(html)
    # The URL the input gave (never one found in the page), else where the page came from.
    doc_id = document_id(identity or source, url=url)
    markup_only = _markup_only_reason(html)
    if markup_only is not None:
        reason, what = markup_only
        return _reject(
            source,
            reason,
            f"{source}: {what} ({len(html):,} characters of HTML, fewer than "
            f"{MIN_HTML_VISIBLE_LETTERS} letters of visible text); "
            "check the page or save its article text instead",
            site=site,
            extra=extra,
            html_length=len(html),
        )
    result = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True, as_dict=True
    )
    text = (result or {}).get("text") or ""
    if not text.strip():
        return _reject(
            source,
            "no_content",
            f"{source}: no main text found in the HTML ({len(html):,} characters, "
            "e.g. only scripts or menus); "
            "check the page or save its article text instead",
            site=site,
            extra=extra,
            html_length=len(html),
        )
    found = {
        k: result.get(k)
        for k in ("title", "author", "date", "sitename", "hostname", "url")
        if result.get(k)
    }
    meta["html_metadata"] = found
    url = url or found.get("url")
    authors = tuple(a.strip() for a in (found.get("author") or "").split(";") if a.strip())
    return Document(
        id=doc_id,
        source=source,
        raw_text=text,
        url=url,
        site=site_of(url, Path(source.rsplit(":", 1)[0])) if url else site,
        title=found.get("title"),
        published=found.get("date"),
        authors=authors,
        metadata=meta,
    )


def _markup_only_reason(html: str) -> tuple[str, str] | None:
    """(reason, what) when an HTML page has next to no visible text, else None.

    trafilatura falls back to whatever text it finds (a <noscript> notice, script source), so
    a page of scripts or menus would become a junk task; this looks at the text a browser
    shows outside script, style, noscript, template and svg elements.
    """
    visible = html_lib.unescape(_TAG.sub(" ", _INVISIBLE_HTML.sub(" ", html)))
    letters = sum(1 for c in visible if c.isalpha())
    if letters >= MIN_HTML_VISIBLE_LETTERS:
        return None
    scripts = len(re.findall(r"<script\b", html, re.I))
    if scripts:
        return "script_only", f"only scripts and markup ({scripts} <script> element(s))"
    return "markup_only", "only markup, no visible text"


def _iter_jsonl(path: Path, *, max_bytes: int, identity: str) -> Iterator[Document]:
    site = path.resolve().parent.name
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield _reject(
            str(path),
            "unreadable",
            f"{path}: cannot read the file ({exc}); check it exists and is readable",
            site=site,
        )
        return
    with handle:
        any_line = False
        for number, data in enumerate(handle, start=1):
            source = f"{path}:{number}"
            if not data.strip():
                continue  # blank lines separate nothing in JSONL; not a page
            any_line = True
            if len(data) > max_bytes:
                yield _reject(
                    source,
                    "too_large",
                    f"{source}: line of {len(data):,} bytes is over the {max_bytes:,}-byte limit "
                    "per page; split it or raise max_bytes",
                    site=site,
                )
                continue
            text, problem, decoding = _decode(data, source)
            if problem is not None:
                yield _reject(source, problem[0], problem[1], site=site)
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield _reject(
                    source,
                    "malformed_json",
                    f"{source}: not valid JSON ({exc.msg} at column {exc.colno}); "
                    "each line must be one JSON object "
                    'like {"url": ..., "text": ...}',
                    site=site,
                )
                continue
            if not isinstance(record, dict):
                yield _reject(
                    source,
                    "malformed_json",
                    f"{source}: expected a JSON object, got {type(record).__name__}; "
                    "write one object per line",
                    site=site,
                )
                continue
            url = record.get("url") if isinstance(record.get("url"), str) else None
            page_site = site_of(url, path)
            extra = {k: v for k, v in record.items() if k not in ("url", "text", "html")}
            page_text = record.get("text")
            html = record.get("html")
            if isinstance(page_text, str) and page_text.strip():
                doc = Document(
                    id=document_id(f"{identity}:{number}", url=url),
                    source=source,
                    raw_text=page_text,
                    url=url,
                    site=page_site,
                    metadata=extra,
                )
                yield _with_decoding(doc, decoding)
            elif isinstance(html, str) and html.strip():
                doc = _html_document(
                    source,
                    html,
                    url=url,
                    site=page_site,
                    extra=extra,
                    identity=f"{identity}:{number}",
                )
                if doc.status != STATUS_REJECTED:
                    doc = doc.with_(url=doc.url or url, site=site_of(doc.url or url, path))
                yield _with_decoding(doc, decoding)
            else:
                yield _reject(
                    source,
                    "missing_text",
                    f"{source}: the object has no non-empty 'text' or 'html' field "
                    f"(keys: {sorted(record)}); add one",
                    site=page_site,
                    extra=extra,
                )
        if not any_line:
            yield _reject(
                str(path),
                "empty_file",
                f"{path}: the JSONL file has no pages; remove it or fill it",
                site=site,
            )
