"""One exception root for the whole project.

Each subclass also inherits the matching built-in, so callers that already catch
`ValueError` or `OSError` keep working. Messages name the thing (file, line, task),
the bad value, the rule and the next step.
"""

from __future__ import annotations


class ContrabandError(Exception):
    """Root of every error this project raises on purpose (user errors, not bugs)."""


class ConfigError(ContrabandError, ValueError):
    """A file under configs/ is missing, malformed or inconsistent."""


class SchemaError(ConfigError):
    """configs/schema.yaml (or data checked against it) breaks a schema rule."""


class InputError(ContrabandError, ValueError):
    """An input page or file cannot be used."""


class LabelStudioError(ContrabandError, RuntimeError):
    """Label Studio could not be reached, refused a request or answered unexpectedly."""


class ReleaseError(ContrabandError, ValueError):
    """A release cannot be built, read or compared."""
