"""The README's main job on the seed pages, safe to run again (`contraband demo`):
curate -> embedded Label Studio -> push -> gold annotations -> pull -> release.

It chains the verbs of `pipeline` and adds the hand-made gold annotations of the seeds
(`seeds/gold/*.yaml`) as an annotator, without ever touching an annotated task.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from corpus.curate import curate
from corpus.errors import LabelStudioError
from corpus.records import read_corpus

from .gold import load_gold_dir
from .labelstudio.client import LabelStudio
from .labelstudio.server import resolve_connection, start_server
from .labelstudio.task_scan import list_task_keys
from .pipeline import ReleaseOutcome, pull_annotations, push_corpus, release_annotations
from .schema import load_schema
from .tasks import documents_to_tasks

DEMO_GOLD_ANNOTATOR = "gold-annotator@contraband.local"


def run_demo(
    sources: Sequence[Path],
    *,
    workdir: Path = Path("."),
    project_title: str,
    gold_dir: Path | None = None,
    build_dir: Path = Path("build"),
    releases_dir: Path = Path("releases"),
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> ReleaseOutcome:
    """The README's main job on the seeds, safe to run again:
    curate -> embedded server -> push -> gold annotations -> pull -> release."""
    schema = load_schema()
    corpus_dir = Path(build_dir) / "corpus"
    summary = curate(list(sources), out_dir=corpus_dir, progress=progress)
    echo(summary.summary_line())

    if os.environ.get("LABEL_STUDIO_URL") and os.environ.get("LABEL_STUDIO_API_KEY"):
        echo(f"server: using LABEL_STUDIO_URL={os.environ['LABEL_STUDIO_URL']}")
        info = None
    else:
        info = start_server(workdir=workdir)
        echo(f"server: running at {info.url}")

    push_summary = push_corpus(
        corpus_dir, workdir=workdir, project_title=project_title, progress=progress
    )
    echo(push_summary.summary_line())

    client = LabelStudio(resolve_connection(workdir=workdir))
    project_id = client.find_project(project_title)
    if project_id is None:  # only when the push above was a no-op on an unknown server
        raise LabelStudioError(
            f"project {project_title!r} was not created; see the push summary above"
        )
    gold_dir = Path(gold_dir) if gold_dir else Path(sources[0]) / "gold"
    docs = [d for d in read_corpus(str(corpus_dir)) if d.status == "kept"]
    gold = load_gold_dir(gold_dir, docs, schema=schema) if gold_dir.is_dir() else {}
    added = add_gold_annotations(
        client, project_id, gold, tasks=documents_to_tasks(docs, schema=schema)
    )
    echo(
        f"gold: {len(gold)} gold documents from {gold_dir}; {added} annotations added "
        "(tasks that already had an annotation were left alone)"
    )
    echo(_second_annotator_note(client, project_id))

    pulled = pull_annotations(
        workdir=workdir,
        project_title=project_title,
        out_dir=Path(build_dir) / "labelstudio",
        progress=progress,
    )
    echo(pulled.summary_line())
    outcome = release_annotations(
        Path(build_dir) / "labelstudio" / "annotations.jsonl",
        releases_dir=releases_dir,
        workdir=workdir,
    )
    echo(outcome.summary_line())

    url = info.url if info else os.environ["LABEL_STUDIO_URL"]
    echo("")
    program = Path(sys.argv[0]).as_posix()
    echo(
        f"Annotators: `{program} annotators add EMAIL...` gives each one an account, then "
        f"they open {url}/projects/{project_id}"
        + (
            f" (the admin logs in as {info.username} with LABEL_STUDIO_PASSWORD from "
            f"{Path(workdir) / '.env'})."
            if info
            else "."
        )
    )
    echo(f"Stop the server with `{program} server stop`.")
    echo(
        f'Researchers: datasets.load_dataset("{outcome.path}") loads the release '
        f"(configs: default, annotations, events)."
    )
    return outcome


def _second_annotator_note(client: LabelStudio, project_id: int) -> str:
    """Say how many tasks still wait for another annotator under the project's overlap."""
    fields = client.read_project_fields(
        project_id, ["maximum_annotations", "overlap_cohort_percentage"]
    )
    per_task = int(fields.get("maximum_annotations") or 1)
    existing = list_task_keys(client, project_id)
    waiting = sum(1 for t in existing.values() if t.annotation_count < per_task)
    return (
        f"overlap: {per_task} annotator(s) per task on {fields.get('overlap_cohort_percentage')}% "
        f"of tasks (configs/labelstudio.yaml); at most {waiting} of {len(existing)} tasks wait "
        "for another annotator"
    )


def add_gold_annotations(
    client: LabelStudio, project_id: int, gold: dict[str, Any], *, tasks: Sequence[Any]
) -> int:
    """Add each document's gold annotation, as the gold annotator, to its tasks that have no
    annotation yet (never touching annotators' work; running twice adds nothing)."""
    if not gold:
        return 0
    existing = list_task_keys(client, project_id)
    user_id = None
    added = 0
    for task in tasks:
        annotation = gold.get(task.doc_id)
        found = existing.get(task.key)
        if annotation is None or found is None or found.annotation_count > 0:
            continue
        if user_id is None:
            user_id = client.create_user(
                DEMO_GOLD_ANNOTATOR, first_name="Gold", last_name="Annotator"
            )
        spans = tuple(
            s for s in annotation.spans if task.chunk_start <= s.start and s.end <= task.chunk_end
        )
        ids = {s.id for s in spans}
        relations = tuple(r for r in annotation.relations if r.head in ids and r.tail in ids)
        client.add_annotation(
            found.id,
            annotation.with_(spans=spans, relations=relations),
            chunk_start=task.chunk_start,
            user_id=user_id,
            ground_truth=True,
        )
        added += 1
    return added
