"""Orchestration at the edges: the CLI verbs that chain several stages, and the demo.

Push side: curate -> tasks -> pre-annotate -> push. Pull side: pull -> validate ->
adjudicate -> agreement -> events -> release. Each function here wires pure stages
to the I/O modules (server, labelstudio, release) and returns a summary object.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import ContrabandError, LabelStudioError, ReleaseError

from .records import AnnotatedTask
from .schema import Schema, load_schema

DEMO_GOLD_ANNOTATOR = "gold-annotator@contraband.local"


# -- push ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CorpusPush:
    """What `push` did: the import, the model refresh, the project's settings and model version."""

    push: Any  # annotation.labelstudio.push.PushSummary
    refresh: Any = None  # annotation.labelstudio.refresh.RefreshSummary, with --model
    settings: str = ""  # the project settings applied (ProjectSettings.describe())
    settings_changed: tuple[str, ...] = ()  # Label Studio fields this push changed
    model_version: str | None = None  # the version of the predictions this push sent
    shown_version: str | None = None  # the project's model_version after the push

    def summary_line(self) -> str:
        line = self.push.summary_line()
        if self.refresh is not None:
            line += "; " + self.refresh.summary_phrase()
        if self.shown_version:
            unchanged = "" if self.model_version else " (unchanged: this push sent none)"
            line += f"; annotators see the predictions of {self.shown_version}{unchanged}"
        if self.settings:
            changed = (
                f" (changed: {', '.join(self.settings_changed)})" if self.settings_changed else ""
            )
            line += f"; project settings: {self.settings}{changed}"
        return line


class _LazyPreannotator:
    """Loads the pre-annotator on first use, so a push that sends nothing loads no model."""

    def __init__(self, model: Path | None, *, schema: Schema) -> None:
        self.model = model
        self.schema = schema
        self._loaded: Any = None

    def get(self) -> Any:
        if self._loaded is None:
            from .preannotate import load_preannotator

            self._loaded = load_preannotator(self.model, schema=self.schema)
        return self._loaded

    @property
    def model_version(self) -> str:
        """The version of the predictions (from the model's files, or the rules' config)."""
        if self.model is not None:
            from .model_version import model_version_of

            return model_version_of(Path(self.model))
        return str(self.get().model_version)

    def predict(self, tasks: Sequence[Any]) -> dict[str, Any]:
        """Pre-annotations keyed by task key, with document offsets."""
        if not tasks:
            return {}
        annotations = self.get().predict(
            [t.text for t in tasks], offsets=[t.chunk_start for t in tasks]
        )
        return {t.key: a for t, a in zip(tasks, annotations, strict=True)}


def push_corpus(
    corpus_dir: Path,
    *,
    workdir: Path = Path("."),
    project_title: str,
    schema_path: Path | None = None,
    settings_path: Path | None = None,
    model: Path | None = None,
    predictions: bool = True,
    batch_size: int = 1000,
    max_chars: int = 10_000,
    update_config: bool = False,
    dry_run: bool = False,
    progress: bool = True,
    lock_wait: float = 600.0,
) -> CorpusPush:
    """Read a curated corpus, make tasks, pre-annotate the new ones and push them (idempotent).

    One push per server and project at a time (`locks.writer_lock`, held from finding or
    creating the project to the last import): a second one waits up to `lock_wait` seconds,
    saying who holds the lock, then plans from what the first one imported. A project this
    call created is deleted again when the push fails before importing anything (e.g.
    predictions that break the schema), so a refused push leaves nothing on the server.
    The rest: `_push_corpus_unlocked`.
    """
    from .labelstudio.client import LabelStudio
    from .labelstudio.server import resolve_connection
    from .labelstudio.task_scan import read_task_list_head
    from .locks import project_lock_path, writer_lock
    from .project_settings import load_project_settings

    load_schema(schema_path)  # misspelt settings are refused before anything connects
    load_project_settings(settings_path)
    options = dict(
        workdir=workdir,
        project_title=project_title,
        schema_path=schema_path,
        settings_path=settings_path,
        model=model,
        predictions=predictions,
        batch_size=batch_size,
        max_chars=max_chars,
        update_config=update_config,
        dry_run=dry_run,
        progress=progress,
    )
    if dry_run:
        return _push_corpus_unlocked(corpus_dir, **options)
    client = LabelStudio(resolve_connection(workdir=workdir))
    with writer_lock(
        project_lock_path(client.url, project_title),
        what=f"push of project {project_title!r} at {client.url}",
        wait=lock_wait,
        on_wait=lambda message: print(f"push: {message}", file=sys.stderr, flush=True),
    ):
        existed = client.find_project(project_title) is not None
        try:
            return _push_corpus_unlocked(corpus_dir, **options)
        except ContrabandError:
            project_id = None if existed else client.find_project(project_title)
            if project_id is not None and read_task_list_head(client, project_id).count == 0:
                client.delete_project(project_id)
            raise


def _push_corpus_unlocked(
    corpus_dir: Path,
    *,
    workdir: Path = Path("."),
    project_title: str,
    schema_path: Path | None = None,
    settings_path: Path | None = None,
    model: Path | None = None,
    predictions: bool = True,
    batch_size: int = 1000,
    max_chars: int = 10_000,
    update_config: bool = False,
    dry_run: bool = False,
    progress: bool = True,
) -> CorpusPush:
    """`push_corpus` with the project's push lock held.

    The project gets the settings of configs/labelstudio.yaml (or `settings_path`). With
    `model`, the unannotated tasks already in the project get that model's predictions too
    (annotated tasks are never touched); so do they when new tasks get predictions of another
    version than the project showed. Whenever this push sends predictions, the project's
    model_version becomes theirs, so annotators see them.
    """
    from corpus.records import read_corpus

    from .labelstudio.client import LabelStudio
    from .labelstudio.push import PushSummary, push_tasks
    from .labelstudio.refresh import refresh_predictions
    from .labelstudio.server import resolve_connection
    from .project_settings import load_project_settings
    from .tasks import documents_to_tasks

    schema = load_schema(schema_path)
    settings = load_project_settings(settings_path)
    docs = read_corpus(str(corpus_dir))
    tasks = documents_to_tasks(docs, schema=schema, max_chars=max_chars)
    client = LabelStudio(resolve_connection(workdir=workdir))
    changed: dict[str, Any] = {}
    if dry_run:
        project_id = client.find_project(project_title)
        if project_id is None:
            return CorpusPush(
                PushSummary.planned_new_project(project_title, tasks), settings=settings.describe()
            )
    else:
        project_id = client.ensure_project(
            project_title, schema=schema, update_config=update_config
        ).id
        changed = client.update_project_fields(project_id, settings.to_project_fields())
    shown_before = client.read_project_fields(project_id, ["model_version"])["model_version"]
    preannotator = _LazyPreannotator(model, schema=schema)
    summary = push_tasks(
        tasks,
        client=client,
        project_id=project_id,
        predictions=preannotator.predict if predictions else None,
        schema=schema,
        batch_size=batch_size,
        dry_run=dry_run,
        progress=progress,
        ledger_dir=Path(workdir) / ".contraband" / "ledgers",
    )
    refresh = None
    # Annotators see only the predictions of the project's model version: when this push
    # switches it (new tasks predicted by another model or the rules), the unannotated tasks
    # get the same version too, or they would show nothing.
    switches = bool(summary.predictions) and shown_before not in (None, "")
    switches = switches and shown_before != preannotator.model_version
    if predictions and (model is not None or switches):
        refresh = refresh_predictions(
            tasks,
            client=client,
            project_id=project_id,
            predict=preannotator.predict,
            model_version=preannotator.model_version,
            schema=schema,
            batch_size=batch_size,
            dry_run=dry_run,
            progress=progress,
        )
    sent = bool(summary.predictions or summary.updated or (refresh and refresh.refreshed))
    shown = None
    if predictions and sent and not dry_run:
        shown = preannotator.model_version
        changed |= client.update_project_fields(project_id, {"model_version": shown})
    elif not dry_run:  # nothing sent: the project keeps showing what it showed
        shown = client.read_project_fields(project_id, ["model_version"])["model_version"]
    return CorpusPush(
        summary,
        refresh,
        settings=settings.describe(),
        settings_changed=tuple(changed),
        model_version=preannotator.model_version if predictions and sent else None,
        shown_version=shown,
    )


def doctor_project(
    *,
    workdir: Path = Path("."),
    project_title: str,
    repair: bool = False,
    lock_wait: float = 600.0,
):
    """Check a project for task keys held by several tasks; `repair` deletes the unannotated
    extras. Holds the project's push lock, so it never runs beside a push."""
    from .labelstudio.client import LabelStudio
    from .labelstudio.duplicates import repair_duplicates
    from .labelstudio.server import resolve_connection
    from .locks import project_lock_path, writer_lock

    client = LabelStudio(resolve_connection(workdir=workdir))
    project_id = client.find_project(project_title)
    if project_id is None:
        raise LabelStudioError(
            f"Label Studio at {client.url} has no project titled {project_title!r}; check --project"
        )
    with writer_lock(
        project_lock_path(client.url, project_title),
        what=f"push of project {project_title!r} at {client.url}",
        wait=lock_wait,
        on_wait=lambda message: print(f"doctor: {message}", file=sys.stderr, flush=True),
    ):
        return repair_duplicates(client=client, project_id=project_id, repair=repair)


def predict_tasks(
    tasks: Sequence[Any], *, schema: Schema, model: Path | None = None
) -> dict[str, Any]:
    """Pre-annotations keyed by task key, with document offsets."""
    return _LazyPreannotator(model, schema=schema).predict(tasks)


# -- pull ---------------------------------------------------------------------------
def pull_annotations(
    *,
    workdir: Path = Path("."),
    project_title: str,
    schema_path: Path | None = None,
    out_dir: Path,
    progress: bool = True,
):
    """Export the project, store the raw export with its checksum, validate, write records.

    `progress`: a progress bar on stderr, advanced as each exported part is converted."""
    from tqdm import tqdm

    from .labelstudio.client import LabelStudio
    from .labelstudio.pull import pull
    from .labelstudio.server import resolve_connection
    from .pseudonym import pseudonym_secret

    schema = load_schema(schema_path)
    client = LabelStudio(resolve_connection(workdir=workdir))
    project_id = client.find_project(project_title)
    if project_id is None:
        raise LabelStudioError(
            f"Label Studio has no project titled {project_title!r}; push a corpus first "
            f"(`contraband push CORPUS_DIR --project {project_title!r}`)"
        )
    with tqdm(unit="task", desc="pull", disable=not progress) as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        return pull(
            client=client,
            project_id=project_id,
            out_dir=Path(out_dir),
            schema=schema,
            secret=pseudonym_secret(workdir=workdir),
            on_part=advance,
        )


def read_annotated_tasks(path: Path) -> list[AnnotatedTask]:
    """Read annotations.jsonl written by pull; a bad line is an error naming file and line."""
    tasks = []
    if not Path(path).is_file():
        raise ContrabandError(
            f"{path}: no such file; run `contraband pull` first (it writes annotations.jsonl)"
        )
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                tasks.append(AnnotatedTask.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                raise ContrabandError(
                    f"{path}, line {number}: not an annotated task record ({exc}); re-run `contraband pull`"
                ) from None
    return tasks


# -- release ------------------------------------------------------------------------
@dataclass(frozen=True)
class ReleaseOutcome:
    version: str
    path: Path | None
    documents: int
    split_sizes: dict[str, int] = field(default_factory=dict)
    adjudication: dict[str, int] = field(default_factory=dict)
    events: int = 0
    reused: bool = False
    dry_run: bool = False
    hub: str | None = None

    @classmethod
    def from_manifest(
        cls, path: Path, *, reused: bool = False, hub: str | None = None
    ) -> ReleaseOutcome:
        """What a built release holds, read back from its manifest."""
        from .release import read_manifest

        manifest = read_manifest(path)
        counts = manifest.get("counts", {})
        return cls(
            version=manifest["version"],
            path=path,
            documents=int(counts.get("documents", 0)),
            split_sizes={name: int(v["documents"]) for name, v in counts.get("splits", {}).items()},
            adjudication=dict(counts.get("adjudication", {})),
            events=sum(int(n) for n in counts.get("events", {}).values()),
            reused=reused,
            hub=hub,
        )

    def summary_line(self) -> str:
        splits = " / ".join(f"{k} {v}" for k, v in self.split_sizes.items())
        adj = ", ".join(f"{k} {v}" for k, v in sorted(self.adjudication.items()))
        verb = "would build" if self.dry_run else ("unchanged, kept" if self.reused else "built")
        line = f"release: {verb} v{self.version}: {self.documents} documents"
        if splits:
            line += f" ({splits})"
        line += f", {self.events} seizure events; adjudication: {adj or 'none'}"
        if self.path:
            line += f" -> {self.path}"
        if self.hub:
            line += f"; {self.hub}"
        return line


def annotations_fingerprint(tasks: Sequence[AnnotatedTask]) -> str:
    """sha256 over what a release is built from (texts, metadata, human annotations): equal -> same release."""
    payload = []
    for t in sorted(tasks, key=lambda t: (t.doc_id, t.chunk_start)):
        anns = sorted(
            (
                a.annotator,
                a.ground_truth,
                a.cancelled,
                sorted((s.start, s.end, s.label) for s in a.spans),
                sorted((r.head, r.tail, r.label) for r in a.relations),
            )
            for a in t.annotations
        )
        payload.append((t.doc_id, t.chunk_start, t.text, sorted(t.meta.items()), anns))
    return hashlib.sha256(json.dumps(payload, default=str).encode("utf-8")).hexdigest()


def release_annotations(
    annotations: Path,
    *,
    version: str = "auto",
    releases_dir: Path = Path("releases"),
    changelog: str = "",
    hub_repo: str | None = None,
    dry_run: bool = False,
    workdir: Path = Path("."),
    schema_path: Path | None = None,
) -> ReleaseOutcome:
    """Adjudicate pulled annotations, measure agreement, derive events, build a release."""
    from .adjudicate import adjudicate, adjudication_counts
    from .agreement import compute_agreement
    from .events import seizure_events
    from .release import build_release, latest_version, next_version, push_to_hub, read_manifest

    schema = load_schema(schema_path)
    tasks = read_annotated_tasks(Path(annotations))
    if not tasks:
        raise ReleaseError(
            f"{annotations}: no annotated tasks; annotate in Label Studio and run `contraband pull` first"
        )
    fingerprint = annotations_fingerprint(tasks)
    releases_dir = Path(releases_dir)
    latest = latest_version(releases_dir)
    if version == "auto":
        latest_dir = releases_dir / f"v{latest}"
        if (
            latest is not None
            and read_manifest(latest_dir).get("annotations_fingerprint") == fingerprint
        ):
            return ReleaseOutcome.from_manifest(latest_dir, reused=True)
        version = next_version(releases_dir) if latest is not None else "0.1.0"
    adjudicated = adjudicate(tasks)
    agreement = compute_agreement(adjudicated, schema=schema)
    events = seizure_events(adjudicated)
    counts = adjudication_counts(adjudicated)
    documents = len({t.doc_id for t in adjudicated})
    if dry_run:
        return ReleaseOutcome(
            version=version,
            path=None,
            documents=documents,
            adjudication=counts,
            events=len(events),
            dry_run=True,
        )
    path = build_release(
        adjudicated,
        version=version,
        releases_dir=releases_dir,
        schema=schema,
        source_export_sha256=_export_checksum(Path(annotations).parent),
        agreement=agreement.to_dict(),
        events=events,
        parent=latest,
        changelog=changelog,
        fingerprint=fingerprint,
    )
    hub = None
    if hub_repo:
        from .secrets import get_secret

        token = get_secret("HF_TOKEN", workdir=workdir)
        if not token:
            raise ReleaseError(
                f"--push-to-hub needs HF_TOKEN in the environment or .env; the release itself is built at {path}"
            )
        hub = push_to_hub(path, repo_id=hub_repo, token=token)
    return ReleaseOutcome.from_manifest(path, hub=hub)


def _export_checksum(pull_dir: Path) -> str | None:
    """sha256 of the newest raw export stored by pull next to annotations.jsonl."""
    sums = sorted(pull_dir.glob("export-*.sha256"))
    if not sums:
        return None
    return sums[-1].read_text(encoding="utf-8").split()[0]


# -- demo ---------------------------------------------------------------------------
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
    import os

    from corpus.curate import curate
    from corpus.records import read_corpus

    from .gold import load_gold_dir
    from .labelstudio.client import LabelStudio
    from .labelstudio.server import resolve_connection, start_server
    from .tasks import documents_to_tasks

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


def _second_annotator_note(client: Any, project_id: int) -> str:
    """Say how many tasks still wait for another annotator under the project's overlap."""
    from .labelstudio.task_scan import list_task_keys

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
    client: Any, project_id: int, gold: dict[str, Any], *, tasks: Sequence[Any]
) -> int:
    """Add each document's gold annotation, as the gold annotator, to its tasks that have no
    annotation yet (never touching annotators' work; running twice adds nothing)."""
    from .labelstudio.task_scan import list_task_keys

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
