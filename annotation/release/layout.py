"""Names of a release directory: splits, configs, files, and what never leaves it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

SPLITS: tuple[str, ...] = ("train", "validation", "test")
CONFIG_DEFAULT = "default"
CONFIG_ANNOTATIONS = "annotations"
CONFIG_EVENTS = "events"
MANIFEST = "manifest.json"
CARD = "README.md"
# Texts are excerpts of news pages whose copyright stays with the publishers; the annotations
# are ours. "other" is the Hub's value for a licence that needs the explanation in the card.
LICENSE = "other"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# annotation.pseudonym.pseudonymise() output; anything else may be an email, a name or a user id.
PSEUDONYM = re.compile(r"^annotator-[0-9a-f]{10}$")
DOCUMENT_META = ("url", "title", "published", "site", "cluster_id")
# Never published, whatever sits in the folder: secrets and raw Label Studio exports.
HUB_EXCLUDE = (
    ".env",
    "*.env",
    ".env.*",
    "*.key",
    "*.pem",
    "export*.json",
    "export*.jsonl",
    "raw/*",
)
EVENT_DOC_COLUMNS = ("doc_id", "document_id", "id")


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hub_excluded(rel: str) -> bool:
    """Whether a release file (path relative to the release) is never published: secrets,
    raw exports, hidden files."""
    from fnmatch import fnmatch

    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch(name, pat) or fnmatch(rel, pat) for pat in HUB_EXCLUDE) or any(
        part.startswith(".") for part in rel.split("/")
    )
