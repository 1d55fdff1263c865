"""Read input pages into `Document`s: directories, `.txt` dumps, `.html` pages, `.jsonl` files.

This is the push side's input edge (the only corpus module that opens page files).
Bad input never raises: it becomes a Document with status "rejected", a machine-readable
`reject_reason` and `metadata["error"]`, a message naming the file (and line).

HTML pages: the main content is extracted with trafilatura; `raw_text` is the *extracted
text*, so the offset map of an HTML document maps clean text back to that extracted
text, not to the HTML markup. The HTML itself is not stored, only its length
(`metadata["html_length"]`) and what trafilatura found (title, date, author, sitename).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from charset_normalizer import from_bytes

from .records import STATUS_REJECTED, Document, stable_id

TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSONL_SUFFIXES = frozenset({".jsonl"})
PAGE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES

_BINARY_CONTROL_FRACTION = 0.1  # share of control bytes above which a file is binary
_MAX_CHAOS = 0.2  # charset-normalizer "mess" above which a decoding is rejected


def iter_pages(sources: Iterable[str | Path], *, max_bytes: int = 5_000_000) -> Iterator[Document]:
    """One Document per input page, in a stable order.

    Directories are walked recursively in sorted order and only files with a page
    suffix (.txt, .html, .htm, .jsonl; hidden files skipped) are read; a file named
    explicitly with another suffix is rejected as unsupported_type. `max_bytes` limits a
    file (and, for JSONL, one line).
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
            for file in files:
                yield from _iter_file(file, max_bytes=max_bytes)
        else:
            yield from _iter_file(path, max_bytes=max_bytes)


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
        id=stable_id(source, ""),
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


def _iter_file(path: Path, *, max_bytes: int) -> Iterator[Document]:
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
        yield from _iter_jsonl(path, max_bytes=max_bytes)
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
    text, problem = _decode(data, source)
    if problem is not None:
        reason, message = problem
        yield _reject(source, reason, message, site=site)
        return
    if suffix in HTML_SUFFIXES:
        yield _html_document(source, text, url=None, site=site)
    else:
        yield Document(id=stable_id(source, text), source=source, raw_text=text, site=site)


def _decode(data: bytes, where: str) -> tuple[str, tuple[str, str] | None]:
    """Decoded text, or (reason, message) when the bytes are not a usable text page."""
    if not data.strip():
        return "", ("empty_file", f"{where}: the page is empty; remove it or re-scrape it")
    head = data[:8192]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or controls / len(head) > _BINARY_CONTROL_FRACTION:
        return "", (
            "binary_file",
            f"{where}: looks binary (NUL or control bytes), not a text page; "
            "remove it from the sources",
        )
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None or best.chaos > _MAX_CHAOS:
        return "", (
            "undecodable",
            f"{where}: bytes are neither UTF-8 nor a recognisable encoding"
            f"{'' if best is None else f' (best guess {best.encoding},'}"
            f"{'' if best is None else f' {best.chaos:.0%} garbled)'}; "
            "re-save the page as UTF-8",
        )
    return str(best), None


def _html_document(
    source: str, html: str, *, url: str | None, site: str, extra: dict[str, Any] | None = None
) -> Document:
    import trafilatura

    meta: dict[str, Any] = dict(extra or {})
    meta["html_length"] = len(html)
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
        id=stable_id(source, text),
        source=source,
        raw_text=text,
        url=url,
        site=site_of(url, Path(source.rsplit(":", 1)[0])) if url else site,
        title=found.get("title"),
        published=found.get("date"),
        authors=authors,
        metadata=meta,
    )


def _iter_jsonl(path: Path, *, max_bytes: int) -> Iterator[Document]:
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
            text, problem = _decode(data, source)
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
                yield Document(
                    id=stable_id(source, page_text),
                    source=source,
                    raw_text=page_text,
                    url=url,
                    site=page_site,
                    metadata=extra,
                )
            elif isinstance(html, str) and html.strip():
                doc = _html_document(source, html, url=url, site=page_site, extra=extra)
                yield doc.with_(url=doc.url or url, site=site_of(doc.url or url, path))
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
