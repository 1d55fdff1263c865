"""Grouped train/validation/test splits: documents sharing a duplicate cluster or an identical
text land in the same split; documents of a parent release keep theirs (pure)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from corpus.errors import ReleaseError

from .layout import SPLITS


def text_key(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def group_documents(docs: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Doc ids grouped so that a shared cluster id or an identical (whitespace-normalised) text
    puts two documents in the same group; groups and members are sorted."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for doc in docs:
        doc_node = "doc:" + doc["id"]
        for node in (
            "cluster:" + (doc.get("cluster_id") or doc["id"]),
            "text:" + text_key(doc["text"]),
        ):
            a, b = find(doc_node), find(node)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = defaultdict(list)
    for doc in docs:
        groups[find("doc:" + doc["id"])].append(doc["id"])
    return sorted(sorted(members) for members in groups.values())


def assign_splits(
    docs: Sequence[Mapping[str, Any]],
    *,
    seed: int = 13,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    min_docs_per_split: int = 1,
    fixed: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Doc id -> split, whole groups at a time (see `group_documents`).

    Groups holding a document listed in `fixed` (e.g. the parent release's assignment) go to
    that split (an evaluation split wins if members disagree). The other groups are taken in a
    seeded hash order; each goes to the split furthest below its share of the documents, except
    that a split with a positive ratio and fewer than `min_docs_per_split` documents is served
    first. So 5 singleton documents give 3/1/1 and no split is empty when it can be avoided.
    """
    if len(ratios) != len(SPLITS) or any(r < 0 for r in ratios) or not sum(ratios) > 0:
        raise ReleaseError(
            f"split ratios {ratios!r}: need three non-negative numbers (train, validation, test)"
        )
    fixed = fixed or {}
    total = len(docs)
    share = {s: r / sum(ratios) * total for s, r in zip(SPLITS, ratios, strict=True)}
    active = [s for s, r in zip(SPLITS, ratios, strict=True) if r > 0]
    counts = dict.fromkeys(SPLITS, 0)
    out: dict[str, str] = {}
    free: list[list[str]] = []
    for members in group_documents(docs):
        pinned = {fixed[m] for m in members if m in fixed}
        if pinned:
            split = next(s for s in reversed(SPLITS) if s in pinned)
            counts[split] += len(members)
            out.update(dict.fromkeys(members, split))
        else:
            free.append(members)
    free.sort(key=lambda m: hashlib.sha256(f"{seed}:{m[0]}".encode()).hexdigest())
    for members in free:
        starved = [s for s in active if counts[s] < min_docs_per_split]
        candidates = starved or active
        split = max(candidates, key=lambda s: (share[s] - counts[s], -SPLITS.index(s)))
        counts[split] += len(members)
        out.update(dict.fromkeys(members, split))
    return out


# --------------------------------------------------------------------------- versions
