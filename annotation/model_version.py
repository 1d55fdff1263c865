"""Model versions derived from the model itself, so that every set of predictions names its source.

Label Studio shows annotators the predictions whose model_version equals the project's
model_version, and pull keeps the version with each prediction. A version must therefore
change whenever the predictions could: a trained pipeline's version is its name plus a
content hash of every file in its directory (two trainings never share a version, a copied
model keeps it); the rule pipeline's is `rules-<hash of configs/ rules and gazetteers>`
(see annotation.preannotate.build_rule_pipeline).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from corpus.errors import ConfigError

_HASH_CHARS = 12
_READ_BYTES = 1 << 20


def hash_model_dir(path: Path) -> str:
    """sha256 over every file of a model directory (relative path, size and bytes), in path order."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        relative = file.relative_to(path).as_posix()
        digest.update(f"{relative}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as handle:
            while chunk := handle.read(_READ_BYTES):
                digest.update(chunk)
    return digest.hexdigest()


def model_name(path: Path) -> str:
    """A readable name: meta.json's name unless it is spaCy's default, else the directory's.

    `contraband train --out models/ner` writes models/ner/model-best with the default name
    "pipeline", which would name every model alike: the name is then `ner-model-best`.
    """
    path = Path(path)
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path}: cannot read meta.json ({exc}); pass a spaCy pipeline directory "
            "(model-best or model-last written by `contraband train`)"
        ) from None
    name = str(meta.get("name") or "")
    if not name or name == "pipeline":
        name = f"{path.resolve().parent.name}-{path.resolve().name}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "pipeline"


def model_version_of(path: Path) -> str:
    """`model-<name>-<12 hex of the directory's content hash>` for a trained spaCy pipeline."""
    return f"model-{model_name(path)}-{hash_model_dir(path)[:_HASH_CHARS]}"
