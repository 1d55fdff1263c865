"""`curate`: ingest -> clean -> dedup -> corpus.parquet + report.html (the push side's first job).

The only corpus module that writes files. `annotation/cli.py` wraps `curate` as
`contraband curate SOURCES... --out DIR`.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .clean import CleanConfig, clean_documents, load_clean_config
from .dedup import deduplicate, load_dedup_config
from .errors import InputError
from .ingest import iter_pages
from .records import CORPUS_COLUMNS, STATUS_DUPLICATE, STATUS_KEPT, STATUS_REJECTED, Document
from .report import render_report

_REMOVAL = pa.struct(
    [
        ("reason", pa.string()),
        ("raw_start", pa.int64()),
        ("raw_end", pa.int64()),
        ("text", pa.string()),
        ("replacement", pa.string()),
    ]
)
_OFFSET_MAP = pa.struct(
    [
        ("clean_start", pa.list_(pa.int64())),
        ("clean_end", pa.list_(pa.int64())),
        ("raw_start", pa.list_(pa.int64())),
        ("raw_end", pa.list_(pa.int64())),
        ("copy", pa.list_(pa.bool_())),
    ]
)
_PARAGRAPH = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("cluster", pa.string())])

CORPUS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("site", pa.string()),
        ("title", pa.string()),
        ("published", pa.string()),
        ("authors", pa.list_(pa.string())),
        ("clean_text", pa.string()),
        ("raw_text", pa.string()),
        ("removals", pa.list_(_REMOVAL)),
        ("offset_map", _OFFSET_MAP),
        ("content_hash", pa.string()),
        ("status", pa.string()),
        ("reject_reason", pa.string()),
        ("duplicate_of", pa.string()),
        ("cluster_id", pa.string()),
        ("similarity", pa.float64()),
        ("duplicate_paragraphs", pa.list_(_PARAGRAPH)),
        ("metadata", pa.string()),
    ]
)
assert CORPUS_SCHEMA.names == list(CORPUS_COLUMNS), "CORPUS_SCHEMA must follow CORPUS_COLUMNS"


@dataclass(frozen=True)
class CurateSummary:
    """What one curate run did: counts, and where the outputs went."""

    pages_in: int
    kept: int
    duplicate: int
    rejected: dict[str, int]
    removals: dict[str, int]
    corpus_path: Path
    report_path: Path

    @property
    def out_dir(self) -> Path:
        return self.corpus_path.parent

    def summary_line(self) -> str:
        """One line: pages in/kept/duplicate/rejected, edits by reason, output directory."""
        rejected = sum(self.rejected.values())
        reasons = ", ".join(
            f"{k} {v}" for k, v in sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        edits = sum(self.removals.values())
        by_reason = ", ".join(
            f"{k} {v}" for k, v in sorted(self.removals.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        return (
            f"curate: {self.pages_in} pages in, {self.kept} kept, {self.duplicate} duplicate, "
            f"{rejected} rejected{f' ({reasons})' if reasons else ''}; "
            f"{edits} edits{f' ({by_reason})' if by_reason else ''} -> {self.out_dir}"
        )


def write_corpus(docs: Sequence[Document], path: str | Path) -> Path:
    """Write the corpus table (exactly the columns of `Document.to_row()`) as Parquet."""
    path = Path(path)
    rows: list[dict[str, Any]] = [d.to_row() for d in docs]
    for row in rows:
        for p in row["duplicate_paragraphs"]:
            p["cluster"] = None if p.get("cluster") is None else str(p["cluster"])
    table = pa.Table.from_pylist(rows, schema=CORPUS_SCHEMA)
    pq.write_table(table, path)
    return path


def curate(
    sources: Sequence[str | Path],
    *,
    out_dir: str | Path,
    clean_config: CleanConfig | None = None,
    dedup_config: Any = None,
    strict: bool = False,
    progress: bool = True,
) -> CurateSummary:
    """Ingest `sources`, clean, deduplicate, and write `out_dir/corpus.parquet` (one row per
    input page, rejected ones included) and `out_dir/report.html`.

    Raises InputError when no page at all could be read, and, after writing the outputs,
    when `strict` is set and any page was rejected.
    """
    from tqdm import tqdm

    clean_config = clean_config or load_clean_config()
    dedup_config = dedup_config or load_dedup_config()
    pages = iter_pages(sources)
    docs = list(tqdm(pages, desc="ingest", unit="page", disable=not progress, file=sys.stderr))
    if not docs:
        raise InputError(
            f"curate: no page found in {[str(s) for s in sources]}; "
            "pass files or directories holding .txt, .html/.htm or .jsonl pages"
        )
    if all(d.status == STATUS_REJECTED for d in docs):
        reasons = Counter(d.reject_reason for d in docs)
        first = docs[0].metadata.get("error", "")
        raise InputError(
            f"curate: none of the {len(docs)} page(s) could be read ({dict(reasons)}); "
            f"first problem: {first}"
        )
    if progress:
        print(f"clean: {len(docs)} pages", file=sys.stderr)
    docs = clean_documents(docs, config=clean_config)
    if progress:
        print("dedup: comparing kept pages", file=sys.stderr)
    docs = deduplicate(docs, config=dedup_config)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    corpus_path = write_corpus(docs, out / "corpus.parquet")
    report_path = out / "report.html"
    report_path.write_text(render_report(docs), encoding="utf-8")

    status = Counter(d.status for d in docs)
    summary = CurateSummary(
        pages_in=len(docs),
        kept=status[STATUS_KEPT],
        duplicate=status[STATUS_DUPLICATE],
        rejected=dict(
            Counter(d.reject_reason or "unknown" for d in docs if d.status == STATUS_REJECTED)
        ),
        removals=dict(Counter(e.reason for d in docs for e in d.edits)),
        corpus_path=corpus_path,
        report_path=report_path,
    )
    if strict and summary.rejected:
        problems = "; ".join(
            d.metadata.get("error", d.source) for d in docs if d.status == STATUS_REJECTED
        )
        raise InputError(
            f"curate --strict: {sum(summary.rejected.values())} page(s) rejected ({problems}); "
            f"outputs were written to {out}. Fix or remove these inputs, or run without --strict"
        )
    return summary
