"""Pull a project: raw export kept unchanged for audit, converted to records, validated.

The raw export holds Label Studio user ids (and may hold emails): it stays in `out_dir`, which
gets a .gitignore for it, and is never released. Records carry only annotator pseudonyms.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .labelstudio import LabelStudio, results_to_annotation
from .pseudonym import pseudonymise
from .records import SOURCE_ANNOTATION, SOURCE_PREDICTION, AnnotatedTask
from .schema import TEXT_DATA_KEY, Schema
from .validate import Problem, problems_to_markdown, validate_tasks

META_KEYS = (
    "task_key",
    "url",
    "title",
    "published",
    "site",
    "cluster_id",
    "content_hash",
    "schema_version",
)


@dataclass(frozen=True)
class PullResult:
    tasks: list[AnnotatedTask]
    problems: list[Problem]
    export_path: Path
    export_sha256: str
    drafts: int = 0  # unsubmitted drafts seen in the export (kept in the raw export, not converted)

    def summary_line(self) -> str:
        annotations = sum(len(t.annotations) for t in self.tasks)
        skipped = sum(1 for t in self.tasks for a in t.annotations if a.cancelled)
        predictions = sum(len(t.predictions) for t in self.tasks)
        removed = sum(1 for p in self.problems if p.removed)
        return (
            f"pull: {len(self.tasks)} tasks, {annotations} annotations ({skipped} skipped), "
            f"{predictions} predictions, {self.drafts} drafts not converted; "
            f"{len(self.problems)} problems "
            f"({removed} spans/relations left out, see validation.md); raw export "
            f"{self.export_path} "
            f"(sha256 {self.export_sha256[:12]}...)"
        )


def _user_id(completed_by: Any) -> Any:
    return completed_by.get("id") if isinstance(completed_by, Mapping) else completed_by


def export_to_tasks(
    export: Sequence[Mapping[str, Any]], *, server_url: str, secret: str
) -> tuple[list[AnnotatedTask], list[Problem]]:
    """Raw export tasks -> AnnotatedTask records (document offsets, pseudonymous annotators).

    Results that are not a labelled region or a relation cannot become records: each is a Problem.
    """
    records: list[AnnotatedTask] = []
    problems: list[Problem] = []
    for task in export:
        data = task.get("data") or {}
        text = str(data.get(TEXT_DATA_KEY) or "")
        chunk_start = int(data.get("chunk_start") or 0)
        doc_id = str(data.get("doc_id") or f"task-{task.get('id')}")
        annotations = []
        for item in task.get("annotations") or []:
            unreadable: list[tuple[int, str]] = []
            annotations.append(
                results_to_annotation(
                    item.get("result") or [],
                    chunk_start=chunk_start,
                    task_text=text,
                    unreadable=unreadable,
                    annotator=pseudonymise(
                        f"{server_url}#{_user_id(item.get('completed_by'))}", secret=secret
                    ),
                    source=SOURCE_ANNOTATION,
                    id=item.get("id"),
                    ground_truth=bool(item.get("ground_truth")),
                    cancelled=bool(item.get("was_cancelled")),
                    created_at=item.get("created_at"),
                    updated_at=item.get("updated_at"),
                    lead_time=item.get("lead_time"),
                )
            )
            problems.extend(
                Problem(
                    code="unreadable_result",
                    message=(
                        f"Task {task.get('id')}, annotation {item.get('id')}, result "
                        f"{index}: {why}. "
                        f"Delete it in Label Studio; result {index} was left out of the pull."
                    ),
                    task_id=task.get("id"),
                    doc_id=doc_id,
                    annotation_id=item.get("id"),
                    result_index=index,
                    removed=f"result {index}",
                )
                for index, why in unreadable
            )
        predictions = []
        for item in task.get("predictions") or []:
            if not isinstance(
                item, Mapping
            ):  # an id only: the export was made without full predictions
                continue
            predictions.append(
                results_to_annotation(
                    item.get("result") or [],
                    chunk_start=chunk_start,
                    task_text=text,
                    annotator=str(item.get("model_version") or "unknown-model"),
                    source=SOURCE_PREDICTION,
                    id=item.get("id"),
                    score=item.get("score"),
                    created_at=item.get("created_at"),
                    updated_at=item.get("updated_at"),
                )
            )
        records.append(
            AnnotatedTask(
                doc_id=doc_id,
                task_id=task.get("id"),
                text=text,
                chunk_start=chunk_start,
                chunk_end=int(data.get("chunk_end") or chunk_start + len(text)),
                meta={key: data.get(key) for key in META_KEYS},
                annotations=tuple(annotations),
                predictions=tuple(predictions),
            )
        )
    return records, problems


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def pull(
    *, client: LabelStudio, project_id: int, out_dir: Path, schema: Schema, secret: str
) -> PullResult:
    """Export the project, keep the raw export with its sha256, convert, validate and write records.

    Writes out_dir/export-<UTC time>.json (+ .sha256), annotations.jsonl, validation.md/.json.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ignore = out_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text(
            "# raw Label Studio exports hold user ids/emails: never commit or release "
            "them\nexport-*\n",
            encoding="utf-8",
        )
    raw = client.export_raw_bytes(project_id)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    export_path = out_dir / f"export-{stamp}.json"
    export_path.write_bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    (out_dir / f"export-{stamp}.sha256").write_text(
        f"{digest}  {export_path.name}\n", encoding="utf-8"
    )
    export = json.loads(raw)
    records, problems = export_to_tasks(export, server_url=client.url, secret=secret)
    records, validation_problems = validate_tasks(records, schema=schema)
    problems = problems + validation_problems
    drafts = sum(len(t.get("drafts") or []) for t in export)
    _write_text(
        out_dir / "annotations.jsonl",
        "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records),
    )
    _write_text(out_dir / "validation.md", problems_to_markdown(problems, total_tasks=len(records)))
    _write_text(
        out_dir / "validation.json",
        json.dumps(
            {
                "project_id": project_id,
                "export": export_path.name,
                "export_sha256": digest,
                "tasks": len(records),
                "problems": [p.to_dict() for p in problems],
            },
            ensure_ascii=False,
            indent=2,
        ),
    )
    return PullResult(records, problems, export_path, digest, drafts)
