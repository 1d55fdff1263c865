"""Publish a release on the Hugging Face Hub: which files go (`hub_publish_plan`) and the push."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corpus.errors import ReleaseError

from .inspect import checked_release_dir, read_manifest, verify_release
from .layout import file_sha256, hub_excluded


def hub_publish_plan(release_dir: Path, *, repo_id: str) -> dict[str, Any]:
    """Exactly what `push_to_hub` would publish: repo, tag 'v'+version, files with sha256.

    Secrets (.env, keys), hidden files and raw Label Studio exports are never in the plan, even if
    someone copied them into the release folder; they are listed under `excluded`. Refuses a release
    whose files no longer match its manifest.
    """
    release_dir = checked_release_dir(release_dir)
    if problems := verify_release(release_dir, ignore_secrets=True):
        raise ReleaseError(
            f"{release_dir}: will not publish a release that differs from its manifest: "
            + "; ".join(problems)
        )
    version = read_manifest(release_dir)["version"]
    files, excluded = [], []
    for path in sorted(release_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(release_dir).as_posix()
        if hub_excluded(rel):
            excluded.append(rel)
        else:
            files.append({"path": rel, "sha256": file_sha256(path), "size": path.stat().st_size})
    return {
        "repo_id": repo_id,
        "repo_type": "dataset",
        "revision": f"v{version}",
        "tag": f"v{version}",
        "commit_message": f"Release v{version}",
        "files": files,
        "excluded": excluded,
    }


def push_to_hub(release_dir: Path, *, repo_id: str, token: str) -> str:
    """Upload a release to a Hugging Face dataset repo and tag the commit 'v'+version.

    Steps (huggingface_hub.HfApi): create_repo(repo_id, repo_type="dataset", exist_ok=True);
    upload_folder(...) with allow_patterns = exactly the files of `hub_publish_plan` (so secrets and
    raw exports cannot slip in); create_tag(tag="v"+version, revision=<that commit>). Returns the
    URL of the tagged revision. Untested here: the Hub is unreachable from CI, so tests check
    `hub_publish_plan` (the folder and tag it would publish). Re-pushing an existing tag fails on
    the Hub side, which keeps published versions immutable too.
    """
    from huggingface_hub import HfApi

    plan = hub_publish_plan(release_dir, repo_id=repo_id)
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(release_dir),
        repo_id=repo_id,
        repo_type="dataset",
        allow_patterns=[f["path"] for f in plan["files"]],
        commit_message=plan["commit_message"],
    )
    api.create_tag(
        repo_id,
        tag=plan["tag"],
        revision=commit.oid,
        repo_type="dataset",
        tag_message=plan["commit_message"],
    )
    return f"https://huggingface.co/datasets/{repo_id}/tree/{plan['tag']}"
