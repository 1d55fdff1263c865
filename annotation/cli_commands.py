"""The `contraband` verbs past curate and the server, in the order data flows:
preannotate, push, doctor, pull, annotators, release (+ diff), export spacy, train, schema,
and demo (the main job). `cli` adds them to the program (`COMMANDS`).

Each is a thin wrapper: it checks its arguments, calls one library function with
keyword-only options and prints one summary line.
"""

from __future__ import annotations

from pathlib import Path

import click

from corpus.errors import ContrabandError

from .cli_options import (
    lock_wait_option,
    project_option,
    schema_option,
    user_errors,
    workdir_option,
)


# -- Label Studio ---------------------------------------------------------------------
@click.command()
@click.argument("corpus_dir", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="JSONL file: one line per kept document with spans and relations.",
)
@click.option(
    "--model",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A trained spaCy pipeline (default: the rule pipeline from configs/).",
)
@schema_option
@user_errors
def preannotate(corpus_dir: Path, out: Path, model: Path | None, schema_path: Path | None) -> None:
    """Write spaCy pre-annotations of a curated corpus for inspection."""
    from annotation.preannotate import preannotate_documents
    from annotation.schema import load_schema
    from corpus.records import read_corpus

    docs = read_corpus(str(corpus_dir))
    count = preannotate_documents(docs, out=out, model=model, schema=load_schema(schema_path))
    click.echo(f"preannotate: {len(docs)} documents in, {count} pre-annotated -> {out}")


@click.command()
@click.argument("corpus_dir", type=click.Path(exists=True, path_type=Path))
@workdir_option
@project_option
@schema_option
@click.option(
    "--model",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Trained spaCy pipeline for predictions (default: rule pipeline). Also refreshes "
    "the predictions of tasks nobody has annotated yet; annotated tasks are never touched.",
)
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Project settings: annotators per task, overlap share, sampling order "
    "(default: configs/labelstudio.yaml).",
)
@click.option("--no-predictions", is_flag=True, help="Import tasks without pre-annotations.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 50_000),
    default=1000,
    show_default=True,
    help="Tasks per import request.",
)
@click.option(
    "--max-chars",
    type=click.IntRange(500),
    default=10_000,
    show_default=True,
    help="Split longer documents into chunks on paragraph boundaries.",
)
@click.option(
    "--update-config", is_flag=True, help="Apply a changed schema to an existing project."
)
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing in Label Studio.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@lock_wait_option(
    "Seconds to wait for another push of the same project to finish (0: exit at once)."
)
@user_errors
def push(
    corpus_dir: Path,
    workdir: Path,
    project_title: str,
    schema_path: Path | None,
    settings_path: Path | None,
    model: Path | None,
    no_predictions: bool,
    batch_size: int,
    max_chars: int,
    update_config: bool,
    dry_run: bool,
    no_progress: bool,
    lock_wait: float,
) -> None:
    """Create/update the Label Studio project and import the kept documents (idempotent).

    The project gets the settings of configs/labelstudio.yaml; the project shows the model
    version of the predictions this push sent. One push per project at a time: a second one
    waits for the first (see --wait)."""
    from annotation.pipeline import push_corpus

    if model is not None and not no_predictions:
        from annotation.training.model_check import model_vs_rules_warning

        warning = model_vs_rules_warning(model)
        if warning:
            click.echo(f"warning: {warning}", err=True)

    summary = push_corpus(
        corpus_dir,
        workdir=workdir,
        project_title=project_title,
        schema_path=schema_path,
        settings_path=settings_path,
        model=model,
        predictions=not no_predictions,
        batch_size=batch_size,
        max_chars=max_chars,
        update_config=update_config,
        dry_run=dry_run,
        progress=not no_progress,
        lock_wait=lock_wait,
    )
    _echo_notes("push", [*summary.push.conflicts, *summary.push.duplicates])
    click.echo(summary.summary_line())


def _echo_notes(verb: str, messages: list[str], *, limit: int = 50) -> None:
    """Print messages to stderr, at most `limit` of them."""
    for message in messages[:limit]:
        click.echo(f"{verb}: {message}", err=True)
    if len(messages) > limit:
        click.echo(f"{verb}: ... and {len(messages) - limit} more", err=True)


@click.command()
@workdir_option
@project_option
@click.option(
    "--repair",
    is_flag=True,
    help="Delete the unannotated extra tasks of every duplicated task key (annotated tasks "
    "are never deleted).",
)
@lock_wait_option("Seconds to wait for a running push of the project to finish.")
@user_errors
def doctor(workdir: Path, project_title: str, repair: bool, lock_wait: float) -> None:
    """Find task keys held by several tasks (e.g. after overlapping pushes of older versions)."""
    from annotation.pipeline import doctor_project

    summary = doctor_project(
        workdir=workdir, project_title=project_title, repair=repair, lock_wait=lock_wait
    )
    _echo_notes("doctor", summary.messages())
    click.echo(summary.summary_line())


@click.command()
@workdir_option
@project_option
@schema_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/labelstudio"),
    show_default=True,
    help="Where the raw export, annotations.jsonl and the validation report go.",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@user_errors
def pull(
    workdir: Path, project_title: str, schema_path: Path | None, out_dir: Path, no_progress: bool
) -> None:
    """Export every annotation, keep the raw export with its checksum, validate, write records.

    When nothing changed since the last pull, the raw export is not stored a second time."""
    from annotation.pipeline import pull_annotations

    result = pull_annotations(
        workdir=workdir,
        project_title=project_title,
        schema_path=schema_path,
        out_dir=out_dir,
        progress=not no_progress,
    )
    click.echo(result.summary_line())


# -- annotators ---------------------------------------------------------------------
@click.group()
def annotators() -> None:
    """Give annotators access to Label Studio without its admin UI."""


@annotators.command("add")
@click.argument("emails", nargs=-1, required=True)
@workdir_option
@click.option("--dry-run", is_flag=True, help="Say what would happen; create nothing.")
@user_errors
def annotators_add(emails: tuple[str, ...], workdir: Path, dry_run: bool) -> None:
    """Create accounts for EMAILS in the organization (embedded server: one-time passwords in
    .contraband/annotator-logins.txt, mode 0600, never printed; external server: prints the
    organization's invite link to sign up with)."""
    from annotation.annotators import add_annotators

    outcome = add_annotators(list(emails), workdir=workdir, dry_run=dry_run)
    for line in outcome.lines():
        click.echo(line)


# -- release ------------------------------------------------------------------------
@click.group(invoke_without_command=True)
@click.option(
    "--annotations",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("build/labelstudio/annotations.jsonl"),
    show_default=True,
    help="annotations.jsonl written by `contraband pull`.",
)
@click.option(
    "--version",
    "version",
    default="auto",
    show_default=True,
    help="Release version X.Y.Z, or 'auto' for the next patch version.",
)
@click.option(
    "--releases-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("releases"),
    show_default=True,
    help="Where releases/vX.Y.Z/ directories live.",
)
@click.option("--changelog", default="", help="What changed since the parent release.")
@click.option(
    "--push-to-hub", "hub_repo", default=None, help="Also upload to this Hugging Face dataset repo."
)
@click.option(
    "--dry-run", is_flag=True, help="Show what would be released/uploaded; write nothing."
)
@workdir_option
@schema_option
@click.pass_context
@user_errors
def release(
    ctx: click.Context,
    annotations: Path,
    version: str,
    releases_dir: Path,
    changelog: str,
    hub_repo: str | None,
    dry_run: bool,
    workdir: Path,
    schema_path: Path | None,
) -> None:
    """Adjudicate pulled annotations and build an immutable releases/vX.Y.Z/ dataset."""
    if ctx.invoked_subcommand is not None:
        return
    from annotation.pipeline import release_annotations

    outcome = release_annotations(
        annotations,
        version=version,
        releases_dir=releases_dir,
        changelog=changelog,
        hub_repo=hub_repo,
        dry_run=dry_run,
        workdir=workdir,
        schema_path=schema_path,
    )
    click.echo(outcome.summary_line())


@release.command("diff")
@click.argument("old", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, file_okay=False, path_type=Path))
@user_errors
def release_diff(old: Path, new: Path) -> None:
    """List documents and annotations added, removed and changed between two releases."""
    from annotation.release import diff_releases

    click.echo(diff_releases(old, new).to_markdown())


# -- spaCy --------------------------------------------------------------------------
@click.group()
def export() -> None:
    """Export a release to other tools."""


@export.command("spacy")
@click.argument("release_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/spacy"),
    show_default=True,
    help="Where train/dev/test .spacy DocBins and alignment.json go.",
)
@schema_option
@user_errors
def export_spacy_command(release_dir: Path, out_dir: Path, schema_path: Path | None) -> None:
    """Write spaCy DocBins (entities, overlapping spans, relations) from a release."""
    from annotation.schema import load_schema
    from annotation.training.export import export_spacy

    report = export_spacy(release_dir, out_dir=out_dir, schema=load_schema(schema_path))
    click.echo(report.summary_line())


@click.command()
@click.argument("export_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--config",
    "config",
    default="ner",
    show_default=True,
    help="'ner', 'spancat', 'relations' (configs/spacy/<name>.cfg) or a path to a spaCy config. "
    "'relations' adds only the relation model to the pipeline given by --base.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("models/latest"),
    show_default=True,
    help="Where the trained pipeline and scores.json go.",
)
@click.option(
    "--max-steps", type=click.IntRange(1), default=None, help="Override training.max_steps."
)
@click.option(
    "--base",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="With --config relations: the trained pipeline (e.g. models/ner/model-best) whose "
    "spans the relation model reads; it is copied, not changed.",
)
@click.option(
    "--no-relations",
    is_flag=True,
    help="Do not fit the relation model (configs/spacy/relations.cfg) after a ner/spancat run.",
)
@user_errors
def train(
    export_dir: Path,
    config: str,
    out_dir: Path,
    max_steps: int | None,
    base: Path | None,
    no_relations: bool,
) -> None:
    """Train a spaCy pipeline on exported DocBins; print it beside the rule pre-annotator on
    the same split, per label with support; write scores.json."""
    from annotation.training.train import (
        comparison_table,
        is_relation_config,
        train_model,
        train_relations,
    )
    from corpus.settings import default_config_path

    config_path = Path(config)
    if not config_path.exists():
        try:
            config_path = default_config_path(f"spacy/{config}.cfg")
        except ContrabandError:
            raise click.BadParameter(
                f"{config!r} is neither a file nor one of configs/spacy/*.cfg "
                "(ner, spancat, relations)",
                param_hint="--config",
            ) from None
    if is_relation_config(config_path):
        if base is None:
            raise click.BadParameter(
                "--config relations adds the relation model to a trained pipeline: pass "
                "--base models/ner/model-best (or train with --config ner, which adds it)",
                param_hint="--base",
            )
        result = train_relations(export_dir, base=base, out_dir=out_dir, config=config_path)
    else:
        overrides = {"training.max_steps": max_steps} if max_steps else None
        result = train_model(
            export_dir,
            config=config_path,
            out_dir=out_dir,
            overrides=overrides,
            relations=not no_relations,
        )
    if result.comparison:
        click.echo(comparison_table(result.comparison))
    click.echo(result.summary_line())


# -- schema -------------------------------------------------------------------------
@click.command("schema")
@click.argument("what", type=click.Choice(["labeling-config", "instructions", "labels"]))
@schema_option
@user_errors
def schema_command(what: str, schema_path: Path | None) -> None:
    """Print what is generated from configs/schema.yaml."""
    from annotation.schema import load_schema

    schema = load_schema(schema_path)
    if what == "labeling-config":
        click.echo(schema.to_labeling_config())
    elif what == "instructions":
        click.echo(schema.to_instructions_html())
    else:
        click.echo(f"schema v{schema.version}: entities {', '.join(schema.entity_names)}")
        click.echo(f"relations {', '.join(schema.relation_names)}")


# -- the main job -------------------------------------------------------------------
@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@workdir_option
@project_option
@click.option(
    "--gold",
    "gold_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Hand-made gold annotations to load as an annotator (default: <first source>/gold).",
)
@click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build"),
    show_default=True,
    help="Where the corpus and the pulled annotations go.",
)
@click.option(
    "--releases-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("releases"),
    show_default=True,
    help="Where the release is written.",
)
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@user_errors
def demo(
    sources: tuple[Path, ...],
    workdir: Path,
    project_title: str,
    gold_dir: Path | None,
    build_dir: Path,
    releases_dir: Path,
    no_progress: bool,
) -> None:
    """The main job: curate -> embedded server -> push -> gold annotations -> pull -> release."""
    from annotation.demo import run_demo

    run_demo(
        list(sources),
        workdir=workdir,
        project_title=project_title,
        gold_dir=gold_dir,
        build_dir=build_dir,
        releases_dir=releases_dir,
        progress=not no_progress,
        echo=click.echo,
    )


COMMANDS: tuple[click.Command, ...] = (
    preannotate,
    push,
    doctor,
    pull,
    annotators,
    release,
    export,
    train,
    schema_command,
    demo,
)
