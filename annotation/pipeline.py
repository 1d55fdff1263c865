"""Orchestration at the edges: the CLI verbs that chain several stages.

Push side: curate -> tasks -> pre-annotate -> push. Pull side: pull -> validate ->
adjudicate -> agreement -> events -> release. Each function here wires pure stages
to the I/O modules (server, labelstudio, release) and returns a summary object. The
README's main job, which runs them all on the seeds, is in `demo`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus.errors import ContrabandError, LabelStudioError, ReleaseError

from .records import AnnotatedTask
from .schema import Schema, load_schema

if TYPE_CHECKING:
    from .labelstudio.client import LabelStudio


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


@dataclass(frozen=True)
class PushOptions:
    """The options of `push_corpus` (see there) but `lock_wait`, handed whole to the part that
    runs with the project's push lock held."""

    workdir: Path
    project_title: str
    schema_path: Path | None = None
    settings_path: Path | None = None
    model: Path | None = None
    predictions: bool = True
    batch_size: int = 1000
    max_chars: int = 10_000
    update_config: bool = False
    dry_run: bool = False
    progress: bool = True


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
    from .project_settings import load_project_settings

    load_schema(schema_path)  # misspelt settings are refused before anything connects
    load_project_settings(settings_path)
    options = PushOptions(
        workdir=Path(workdir),
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
        return _push_corpus_unlocked(corpus_dir, options)
    client = LabelStudio(resolve_connection(workdir=workdir))
    with _project_push_lock(client, project_title, wait=lock_wait, verb="push"):
        existed = client.find_project(project_title) is not None
        try:
            return _push_corpus_unlocked(corpus_dir, options)
        except ContrabandError:
            project_id = None if existed else client.find_project(project_title)
            if project_id is not None and read_task_list_head(client, project_id).count == 0:
                client.delete_project(project_id)
            raise


def _push_corpus_unlocked(corpus_dir: Path, options: PushOptions) -> CorpusPush:
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

    schema = load_schema(options.schema_path)
    settings = load_project_settings(options.settings_path)
    docs = read_corpus(str(corpus_dir))
    tasks = documents_to_tasks(docs, schema=schema, max_chars=options.max_chars)
    client = LabelStudio(resolve_connection(workdir=options.workdir))
    project_title, dry_run = options.project_title, options.dry_run
    changed: dict[str, Any] = {}
    if dry_run:
        project_id = client.find_project(project_title)
        if project_id is None:
            return CorpusPush(
                PushSummary.planned_new_project(project_title, tasks), settings=settings.describe()
            )
    else:
        project_id = client.ensure_project(
            project_title, schema=schema, update_config=options.update_config
        ).id
        changed = client.update_project_fields(project_id, settings.to_project_fields())
    shown_before = client.read_project_fields(project_id, ["model_version"])["model_version"]
    preannotator = _LazyPreannotator(options.model, schema=schema)
    summary = push_tasks(
        tasks,
        client=client,
        project_id=project_id,
        predictions=preannotator.predict if options.predictions else None,
        schema=schema,
        batch_size=options.batch_size,
        dry_run=dry_run,
        progress=options.progress,
        ledger_dir=options.workdir / ".contraband" / "ledgers",
    )
    refresh = None
    # Annotators see only the predictions of the project's model version: when this push
    # switches it (new tasks predicted by another model or the rules), the unannotated tasks
    # get the same version too, or they would show nothing.
    switches = bool(summary.predictions) and shown_before not in (None, "")
    switches = switches and shown_before != preannotator.model_version
    if options.predictions and (options.model is not None or switches):
        refresh = refresh_predictions(
            tasks,
            client=client,
            project_id=project_id,
            predict=preannotator.predict,
            model_version=preannotator.model_version,
            schema=schema,
            batch_size=options.batch_size,
            dry_run=dry_run,
            progress=options.progress,
        )
    sent = bool(summary.predictions or summary.updated or (refresh and refresh.refreshed))
    shown = None
    if options.predictions and sent and not dry_run:
        shown = preannotator.model_version
        changed |= client.update_project_fields(project_id, {"model_version": shown})
    elif not dry_run:  # nothing sent: the project keeps showing what it showed
        shown = client.read_project_fields(project_id, ["model_version"])["model_version"]
    return CorpusPush(
        summary,
        refresh,
        settings=settings.describe(),
        settings_changed=tuple(changed),
        model_version=preannotator.model_version if options.predictions and sent else None,
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

    client = LabelStudio(resolve_connection(workdir=workdir))
    project_id = client.find_project(project_title)
    if project_id is None:
        raise LabelStudioError(
            f"Label Studio at {client.url} has no project titled {project_title!r}; check --project"
        )
    with _project_push_lock(client, project_title, wait=lock_wait, verb="doctor"):
        return repair_duplicates(client=client, project_id=project_id, repair=repair)


@contextmanager
def _project_push_lock(
    client: LabelStudio, project_title: str, *, wait: float, verb: str
) -> Iterator[None]:
    """Hold the project's push lock: one push (or doctor) per server and project at a time.

    Waits up to `wait` seconds, saying on stderr (as `verb`) who holds it."""
    from .locks import project_lock_path, writer_lock

    with writer_lock(
        project_lock_path(client.url, project_title),
        what=f"push of project {project_title!r} at {client.url}",
        wait=wait,
        on_wait=lambda message: print(f"{verb}: {message}", file=sys.stderr, flush=True),
    ):
        yield


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
