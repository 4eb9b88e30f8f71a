"""Merging parts' Trees by digest: identical entries merge, any difference is a conflict, and
every conflict of every pair of parts is reported in one error (stage, prime, and the staged
files a build of a later part sees)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from .errors import Conflict, StageConflictError
from .tree import Entry, Tree

Owned = dict[
    str, tuple[Entry, Path, str]
]  # path -> (entry, folder holding it, the part that brings it first)


@dataclass(frozen=True)
class Contribution:
    """What one part brings to a merge: its selected Tree and the folder holding the bytes."""

    part: str
    tree: Tree
    root: Path


def merge(step: str, contributions: list[Contribution]) -> Owned:
    """One placement for all contributions (each path with the folder holding it and the part
    that brings it first), or StageConflictError listing every difference."""
    claims: dict[str, list[tuple[str, Entry, Path]]] = {}
    for contribution in contributions:
        for path, entry in contribution.tree.items():
            claims.setdefault(path, []).append((contribution.part, entry, contribution.root))
    conflicts = [
        Conflict(path, part_a, part_b, difference(a, b))
        for path in sorted(claims)
        for (part_a, a, _), (part_b, b, _) in itertools.combinations(claims[path], 2)
        if not same(a, b)
    ]
    if conflicts:
        raise StageConflictError(step, conflicts)
    return {path: (owners[0][1], owners[0][2], owners[0][0]) for path, owners in claims.items()}


def same(a: Entry, b: Entry) -> bool:
    return a == b or (a.kind == b.kind == "dir")


def difference(a: Entry, b: Entry) -> str:
    if a.kind != b.kind:
        return f"{a.describe()} vs {b.describe()}"
    if a.kind == "symlink":
        return f"link target differs: {a.target} vs {b.target}"
    if a.digest != b.digest:
        return (
            f"bytes differ: {a.size} bytes, sha256 {a.digest[:12]} vs "
            f"{b.size} bytes, sha256 {b.digest[:12]}"
        )
    return (
        f"mode differs: {'executable' if a.executable else 'not executable'} vs "
        f"{'executable' if b.executable else 'not executable'}"
    )
