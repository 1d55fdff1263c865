"""Where the default configs live, and how a YAML config becomes a checked settings object.

Two jobs, used by every module that reads a file under `configs/`:

- `default_config_path(name)`: the path of a default config (`"dedup.yaml"`,
  `"spacy/ner.cfg"`, ...). In order: the directory named by `CONTRABAND_CONFIG_DIR` when it
  holds that file; the `configs/` directory of a source checkout (so edits there take effect);
  the copy shipped inside the wheel (`corpus/default_configs/`, read with importlib.resources).
- `load_settings(path, model)`: read a YAML mapping into a pydantic model (subclass of
  `SettingsModel`: unknown keys refused, scalars strict, so `"no"` is not a bool and `1.0` is
  not an int). Every problem is reported in ONE error naming the file, the key path
  (`boilerplate.min_pges`), the bad value, the rule and, for an unknown key, the nearest
  valid name.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .config import read_yaml_mapping
from .errors import ConfigError

CONFIG_DIR_ENV = "CONTRABAND_CONFIG_DIR"
PACKAGED_CONFIG_DIR = "default_configs"  # inside the `corpus` package of a wheel install
_CHECKOUT_CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
_MARKER = "schema.yaml"  # a configs/ directory always holds the label schema

ModelT = TypeVar("ModelT", bound=BaseModel)


class SettingsModel(BaseModel):
    """Base of every settings model: unknown keys are errors, scalar types are strict.

    Sequences are declared as `list[...]` (YAML has no tuples); strict mode still accepts a
    YAML int where a float is expected.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @classmethod
    def rule_problems(cls, raw: Any) -> list[tuple[tuple[str | int, ...], str]]:
        """Problems that span several entries, as (key path, message), found on the raw mapping.

        Checked by `load_settings` together with the field errors, so that one run reports
        them all (a model validator would only run once every field is valid).
        """
        return []


# -- where the defaults are ---------------------------------------------------------------


def packaged_config_dir() -> Path | None:
    """The configs shipped inside the installed package, or None (source checkout)."""
    root = resources.files("corpus").joinpath(PACKAGED_CONFIG_DIR)
    if not root.is_dir():
        return None
    if not isinstance(root, Path):
        raise ConfigError(
            f"the default configs are inside a zip ({root}); install contraband-corpus "
            f"unpacked (pip install) or set {CONFIG_DIR_ENV} to a copy of configs/"
        )
    return root


def default_config_dir() -> Path:
    """The directory of the shipped defaults: the checkout's configs/ or the wheel's copy."""
    if (_CHECKOUT_CONFIG_DIR / _MARKER).is_file():
        return _CHECKOUT_CONFIG_DIR
    packaged = packaged_config_dir()
    if packaged is None:
        raise ConfigError(
            f"no default configs found (neither {_CHECKOUT_CONFIG_DIR} nor the package's "
            f"{PACKAGED_CONFIG_DIR}/); reinstall contraband-corpus or set {CONFIG_DIR_ENV}"
        )
    return packaged


def override_config_dir() -> Path | None:
    """The directory named by CONTRABAND_CONFIG_DIR, checked, or None when it is not set.

    A top-level YAML file there whose name is not one of the defaults is refused (with the
    nearest default name): a misspelt file name would otherwise be silently ignored.
    """
    value = os.environ.get(CONFIG_DIR_ENV, "").strip()
    if not value:
        return None
    directory = Path(value).expanduser()
    if not directory.is_dir():
        raise ConfigError(
            f"{CONFIG_DIR_ENV}={value}: not a directory; point it at a directory holding the "
            "configs you want to override (e.g. a copy of configs/), or unset it"
        )
    known = sorted(p.name for p in default_config_dir().glob("*.yaml"))
    for file in sorted(directory.glob("*.yaml")):
        if file.name not in known:
            raise ConfigError(
                f"{file}: {file.name!r} is not a config name{_nearest_hint(file.name, known)} "
                f"(known: {', '.join(known)}); rename it or move it out of {CONFIG_DIR_ENV}"
            )
    return directory


def default_config_path(name: str) -> Path:
    """Path of the config `name` (relative to configs/, e.g. "schema.yaml", "spacy/ner.cfg").

    CONTRABAND_CONFIG_DIR wins for the files it holds; every other file comes from the
    defaults (the checkout's configs/ or the copy inside the installed wheel).
    """
    override = override_config_dir()
    if override is not None and (override / name).is_file():
        return override / name
    path = default_config_dir() / name
    if not path.exists():
        raise ConfigError(
            f"{path}: default config {name!r} not found; restore it or pass another file"
        )
    return path


# -- reading and checking -----------------------------------------------------------------


def load_settings(
    path: str | Path,
    model: type[ModelT],
    *,
    what: str | None = None,
    error: type[ConfigError] = ConfigError,
) -> ModelT:
    """Read the YAML mapping at `path` into `model`; one `error` lists every problem.

    `what` names the file's role in messages ("dedup config"); missing keys take the model's
    defaults.
    """
    path = Path(path)
    raw = read_yaml_mapping(path, what=what or f"{path.stem} config", error=error)
    return settings_from_mapping(raw, model, source=str(path), error=error)


def settings_from_mapping(
    raw: Any,
    model: type[ModelT],
    *,
    source: str,
    error: type[ConfigError] = ConfigError,
) -> ModelT:
    """Validate an already-read mapping (from `source`) into `model`, as `load_settings` does."""
    problems: list[str] = []
    settings: ModelT | None = None
    try:
        settings = model.model_validate(raw)
    except ValidationError as exc:
        problems = [describe_problem(item, model) for item in exc.errors()]
    if isinstance(raw, dict) and issubclass(model, SettingsModel):
        problems += [f"{format_key_path(loc)}: {msg}" for loc, msg in model.rule_problems(raw)]
    if problems or settings is None:
        raise error(
            f"{source}: {len(problems)} problem(s):\n  - "
            + "\n  - ".join(problems)
            + f"\nFix {source} and run again."
        )
    return settings


def describe_problem(item: Any, model: type[BaseModel]) -> str:
    """One line for one pydantic error: key path, bad value, rule, and a hint for unknown keys."""
    loc = tuple(item.get("loc", ()))
    where = format_key_path(loc) or "(top level)"
    kind = item.get("type", "")
    if kind == "extra_forbidden":
        valid = sorted(_valid_keys(model, loc[:-1]))
        name = str(loc[-1])
        return (
            f"{where}: unknown key {name!r}{_nearest_hint(name, valid)} (valid keys here: "
            f"{', '.join(valid)})"
        )
    message = str(item.get("msg", "invalid"))
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        return f"{where}: {message}"
    if kind == "missing":
        return f"{where}: required key is missing"
    return f"{where}: {message}, got {_show(item.get('input'))}"


def format_key_path(loc: tuple[Any, ...]) -> str:
    """('relations', 'inside', 0, 'head') -> 'relations.inside[0].head'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _show(value: Any) -> str:
    """A bad value as the user wrote it (YAML), shortened, with its type when it matters."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _nearest_hint(name: str, valid: list[str]) -> str:
    """The "; did you mean 'min_pages'?" part for 'min_pges', or "" when nothing is close."""
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _valid_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model reached by following `loc` from `model` (list/dict hops)."""
    current: Any = model
    for part in loc:
        found = _model_in(current)
        if found is not None and isinstance(part, str) and part in found.model_fields:
            current = found.model_fields[part].annotation
        else:  # a list index or a dict key: step into the item type
            current = _item_type(current)
    found = _model_in(current)
    return list(found.model_fields) if found is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model in an annotation (`Model`, `Model | None`), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _item_type(annotation: Any) -> Any:
    """The item (list) or value (dict) type of a container annotation."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in args:
            if typing.get_args(arg):
                return _item_type(arg)
    return args[-1] if args else None
