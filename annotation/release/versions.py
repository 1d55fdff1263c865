"""Release versions (semantic, `releases/vX.Y.Z/`): list, latest and next."""

from __future__ import annotations

from pathlib import Path

from corpus.errors import ReleaseError

from .layout import SEMVER


def normalise_version(version: str) -> str:
    bare = version[1:] if version.startswith("v") else version
    if not SEMVER.match(bare):
        raise ReleaseError(f"release version {version!r} is not semver X.Y.Z (e.g. 0.1.0)")
    return bare


def list_versions(releases_dir: Path) -> list[str]:
    """Versions present under `releases_dir` (directories named vX.Y.Z), oldest first."""
    if not Path(releases_dir).is_dir():
        return []
    found = [
        p.name[1:]
        for p in Path(releases_dir).iterdir()
        if p.is_dir() and p.name.startswith("v") and SEMVER.match(p.name[1:])
    ]
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


def latest_version(releases_dir: Path) -> str | None:
    """The highest vX.Y.Z under `releases_dir` (without the 'v'), or None when there is none."""
    versions = list_versions(releases_dir)
    return versions[-1] if versions else None


def next_version(releases_dir: Path, bump: str = "patch") -> str:
    """The version after the latest one ('0.1.0' when there is none); bump: major|minor|patch."""
    if bump not in ("major", "minor", "patch"):
        raise ReleaseError(f"bump {bump!r}: use major, minor or patch")
    latest = latest_version(releases_dir)
    if latest is None:
        return "0.1.0"
    major, minor, patch = (int(x) for x in latest.split("."))
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


# --------------------------------------------------------------------------- writing
