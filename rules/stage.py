"""Stage and prime: merge parts' Trees by digest; identical entries merge, any difference is a
conflict, and every conflict of every pair of parts is reported in one error.

The destination folder is replaced only when the merge succeeded and the new folder is complete,
so a failed stage leaves the previous one exactly as it was.
"""
from __future__ import annotations

import itertools
import json
from contextlib import contextmanager
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .fsutil import remove_tree
from filelock import FileLock

from .errors import BuildError, Conflict, StageConflictError
from .filesets import select
from .layout import Layout
from .tree import Entry, Placement, Tree, materialize, read_manifest
from .workspace import Workspace


@dataclass(frozen=True)
class Contribution:
    """What one part brings to a merge: its selected Tree and the folder holding the bytes."""

    part: str
    tree: Tree
    root: Path


def merge(step: str, contributions: list[Contribution]) -> dict[str, tuple[Entry, Path]]:
    """One placement for all contributions, or StageConflictError listing every difference."""
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
    return {path: (owners[0][1], owners[0][2]) for path, owners in claims.items()}


def same(a: Entry, b: Entry) -> bool:
    return a == b or (a.kind == b.kind == "dir")


def difference(a: Entry, b: Entry) -> str:
    if a.kind != b.kind:
        return f"{a.describe()} vs {b.describe()}"
    if a.kind == "symlink":
        return f"link target differs: {a.target} vs {b.target}"
    if a.digest != b.digest:
        return (f"bytes differ: {a.size} bytes, sha256 {a.digest[:12]} vs "
                f"{b.size} bytes, sha256 {b.digest[:12]}")
    return f"mode differs: {'executable' if a.executable else 'not executable'} vs " \
           f"{'executable' if b.executable else 'not executable'}"


def staged(workspace: Workspace, part: str) -> Contribution:
    """A built part's files that its `stage` fileset lets through."""
    layout = Layout(workspace.build_root)
    tree = read_manifest(layout.manifest(part))
    return Contribution(part, select(tree, workspace.parts[part].stage), layout.install(part))


def primed(workspace: Workspace, part: str) -> Contribution:
    contribution = staged(workspace, part)
    return Contribution(part, select(contribution.tree, workspace.parts[part].prime), contribution.root)


def assemble(dest: Path, placement: Placement, epoch: int) -> None:
    """Build the new folder beside `dest`, then swap it in; a crash leaves the old or the new."""
    fresh = dest.with_name(f".{dest.name}.new")
    old = dest.with_name(f".{dest.name}.old")
    if not os.path.lexists(dest) and os.path.lexists(old):  # a crash between the two renames
        os.rename(old, dest)
    for leftover in (fresh, old):
        if os.path.lexists(leftover):
            remove_tree(leftover)
    materialize(placement, fresh, epoch)
    if os.path.lexists(dest):
        os.rename(dest, old)
    os.rename(fresh, dest)
    if os.path.lexists(old):
        remove_tree(old)


def stage(workspace: Workspace) -> int:
    layout = Layout(workspace.build_root)
    with FileLock(layout.lock("stage")), reported_if_changed_by_hand(layout):
        placement = merge("stage", [staged(workspace, p) for p in workspace.build_order()])
        assemble(layout.stage, placement, workspace.source_date_epoch)
        layout.stage_record.write_text(json.dumps({"entries": len(placement)}))
    return len(placement)


def prime(workspace: Workspace) -> int:
    layout = Layout(workspace.build_root)
    with FileLock(layout.lock("prime")), reported_if_changed_by_hand(layout):
        placement = merge("prime", [primed(workspace, p) for p in workspace.build_order()])
        assemble(layout.prime, placement, workspace.source_date_epoch)
    return len(placement)


@contextmanager
def reported_if_changed_by_hand(layout: Layout) -> Iterator[None]:
    """A file of a part's Tree that is gone from its install folder: say which part to rebuild."""
    try:
        yield
    except FileNotFoundError as err:
        parts = layout.root / "parts"
        missing = Path(err.filename or "")
        if not missing.is_relative_to(parts):
            raise
        part = missing.relative_to(parts).parts[0]
        raise BuildError(
            f"{missing} is gone: part {part!r}'s output was changed by hand since it was built",
            resolution=f"Bring it back: `doit clean build:{part}`, then run again (it restores from the cache).",
        ) from None
