"""What the `contraband` commands share: the user-error wrapper and the common options.

Used by `cli` (the program, curate and the server) and `cli_commands` (the other verbs).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from corpus.errors import ContrabandError

DEFAULT_PROJECT = "contraband-corpus"


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ContrabandError into 'error: ...' + exit 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ContrabandError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper


workdir_option = click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where the embedded server's data dir and the .env with its credentials live.",
)
project_option = click.option(
    "--project",
    "project_title",
    default=DEFAULT_PROJECT,
    show_default=True,
    help="Label Studio project title.",
)
schema_option = click.option(
    "--schema",
    "schema_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Label schema (default: configs/schema.yaml).",
)


def lock_wait_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--wait SECONDS` (parameter `lock_wait`, default 600) for a command that takes a
    project's push lock; `help` says what it waits for."""
    return click.option(
        "--wait",
        "lock_wait",
        type=click.FloatRange(0),
        default=600.0,
        show_default=True,
        help=help,
    )
