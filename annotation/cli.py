"""`contraband`: one command-line program, one subcommand per pipeline verb.

Every command is a thin wrapper: it checks its arguments, calls one library function
with keyword-only options and prints one summary line. User errors (ContrabandError)
exit 1 with a message and no traceback; tracebacks are for bugs. Here: the program and its
`--config-dir`, `curate` and the embedded `server`; the other verbs are in `cli_commands`,
the options they share in `cli_options`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from annotation.cli_commands import COMMANDS
from annotation.cli_options import user_errors as _user_errors
from annotation.cli_options import workdir_option


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="contraband-corpus")
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    envvar="CONTRABAND_CONFIG_DIR",
    help="A directory of configs that replace the shipped defaults file by file "
    "(schema.yaml, clean.yaml, dedup.yaml, preannotate.yaml, labelstudio.yaml, spacy/*.cfg); "
    "also read from CONTRABAND_CONFIG_DIR.",
)
@click.pass_context
def main(ctx: click.Context, config_dir: Path | None) -> None:
    """Turn scraped trafficking news pages into a clean corpus, Label Studio tasks,
    versioned Hugging Face releases and spaCy models."""
    if config_dir is not None:
        _use_config_dir(ctx, config_dir)


def _use_config_dir(ctx: click.Context, config_dir: Path) -> None:
    """Point corpus.settings at `config_dir` for this command (restored when it ends)."""
    from corpus.settings import CONFIG_DIR_ENV

    previous = os.environ.get(CONFIG_DIR_ENV)
    os.environ[CONFIG_DIR_ENV] = str(config_dir.resolve())

    def restore() -> None:
        if previous is None:
            os.environ.pop(CONFIG_DIR_ENV, None)
        else:
            os.environ[CONFIG_DIR_ENV] = previous

    ctx.call_on_close(restore)


# -- corpus ----------------------------------------------------------------------
@main.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/corpus"),
    show_default=True,
    help="Output directory for corpus.parquet and report.html.",
)
@click.option(
    "--clean-config",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Cleaning rules (default: configs/clean.yaml).",
)
@click.option(
    "--dedup-config",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Deduplication parameters (default: configs/dedup.yaml).",
)
@click.option(
    "--report-documents",
    type=click.IntRange(0),
    default=200,
    show_default=True,
    help="How many documents get a raw-vs-clean view in report.html (counts always cover all).",
)
@click.option("--strict", is_flag=True, help="Exit non-zero if any page was rejected.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where to run: this machine's processes, or a Dask cluster (the dask extra: "
    "pip install '.[dask]'); both write the same rows.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Processes (local engine) or local Dask workers (dask engine). Default: one per CPU.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="With --engine dask: the scheduler of a running cluster (tcp://HOST:8786) instead "
    "of a local cluster.",
)
@click.option(
    "--files-per-partition",
    type=click.IntRange(1),
    default=None,
    help="With --engine dask: page files per partition (default 2000).",
)
@_user_errors
def curate(
    sources: tuple[Path, ...],
    out_dir: Path,
    clean_config: Path | None,
    dedup_config: Path | None,
    report_documents: int,
    strict: bool,
    no_progress: bool,
    engine: str,
    workers: int | None,
    scheduler: str | None,
    files_per_partition: int | None,
) -> None:
    """Ingest, clean and deduplicate SOURCES (files or directories of .txt, .html, .jsonl)."""
    from corpus.clean import load_clean_config
    from corpus.curate import curate as run_curate
    from corpus.dedup import load_dedup_config
    from corpus.settings import default_config_path

    if engine != "dask" and (scheduler is not None or files_per_partition is not None):
        raise click.UsageError(
            "--scheduler needs --engine dask (and so does --files-per-partition)"
        )
    if scheduler is not None and workers is not None:
        raise click.UsageError(
            "--workers starts a local Dask cluster and --scheduler uses a running one; "
            "pass only one of them"
        )
    summary = run_curate(
        list(sources),
        out_dir=out_dir,
        clean_config=load_clean_config(clean_config or default_config_path("clean.yaml")),
        dedup_config=load_dedup_config(dedup_config),
        strict=strict,
        progress=not no_progress,
        report_documents=report_documents,
        workers=workers,
        engine=engine,
        scheduler=scheduler,
        files_per_partition=files_per_partition,
    )
    click.echo(summary.summary_line())


# -- Label Studio server -----------------------------------------------------------
@main.group()
def server() -> None:
    """Run the embedded Label Studio server (127.0.0.1, data dir in the working directory)."""


@server.command("start")
@workdir_option
@click.option("--port", type=int, default=None, help="Port (default: a free one).")
@click.option(
    "--database",
    default=None,
    metavar="URL",
    help="postgresql://USER:PASSWORD@HOST:PORT/NAME to run on PostgreSQL, or sqlite "
    "(default: CONTRABAND_DATABASE_URL from the environment or .env, else SQLite). Kept in "
    ".env for later starts; a password here is visible in `ps` while the command runs, so "
    "prefer CONTRABAND_DATABASE_URL in .env.",
)
@_user_errors
def server_start(workdir: Path, port: int | None, database: str | None) -> None:
    """Start the embedded server (first start: creates the admin account and token in .env)."""
    from annotation.labelstudio.server import start_server

    info = start_server(workdir=workdir, port=port, database=database)
    click.echo(
        f"server: running at {info.url} (pid {info.pid}, data {info.data_dir}, "
        f"database {info.database})"
    )
    click.echo(
        f"server: log in as {info.username} with LABEL_STUDIO_PASSWORD from {workdir / '.env'}"
    )


@server.command("stop")
@workdir_option
@_user_errors
def server_stop(workdir: Path) -> None:
    """Stop the embedded server: the main process and its export workers, also after a crash."""
    from annotation.labelstudio.server import stop_server

    click.echo("server: stopped" if stop_server(workdir=workdir) else "server: was not running")


@server.command("status")
@workdir_option
@_user_errors
def server_status(workdir: Path) -> None:
    """Say whether the embedded server runs, where, and list its processes."""
    from annotation.labelstudio.processes import list_server_processes
    from annotation.labelstudio.server import server_status as status

    info = status(workdir=workdir)
    processes = list_server_processes(workdir=workdir)
    for process in processes:
        state = "running" if process["alive"] else "gone"
        click.echo(
            f"server: {process['role']} process pid {process['pid']} on {process['url']} "
            f"since {process.get('started_at', '?')}: {state}"
        )
    if info is None:
        leftovers = sum(1 for p in processes if p["alive"])
        hint = (
            f"; {leftovers} leftover process(es) of a crashed server: `contraband server stop` "
            "ends them"
            if leftovers
            else ""
        )
        click.echo(f"server: not running (start it with `contraband server start`){hint}")
        sys.exit(3)
    click.echo(
        f"server: running at {info.url} (pid {info.pid}, data {info.data_dir}, "
        f"database {info.database})"
    )


# -- the other verbs: annotation/cli_commands.py ------------------------------------
for _command in COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
