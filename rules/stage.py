"""Stage and prime: merge parts' Trees by digest; identical entries merge, any difference is a
conflict, and every conflict of every pair of parts is reported in one error.

Nothing is touched unless the merge succeeded, so a failed stage leaves the previous one exactly
as it was; linkfarm.py then makes the folder a tree of links to the parts' install folders.
"""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from filelock import FileLock

from .errors import BuildError, Conflict, StageConflictError
from .filesets import select
from .layout import Layout
from .scriptlets import primed_by_script
from .linkfarm import Repair, assemble
from .tree import ChangedSince, Entry, Placement, Tree, read_manifest
from .workspace import Workspace


@dataclass(frozen=True)
class Contribution:
    """What one part brings to a merge: its selected Tree and the folder holding the bytes."""

    part: str
    tree: Tree
    root: Path


def merge(step: str, contributions: list[Contribution]) -> dict[str, tuple[Entry, Path, str]]:
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
        return (f"bytes differ: {a.size} bytes, sha256 {a.digest[:12]} vs "
                f"{b.size} bytes, sha256 {b.digest[:12]}")
    return f"mode differs: {'executable' if a.executable else 'not executable'} vs " \
           f"{'executable' if b.executable else 'not executable'}"


def staged(workspace: Workspace, part: str) -> Contribution:
    """A built part's files that its `stage` fileset lets through."""
    layout = Layout(workspace.build_root)
    tree = read_manifest(layout.manifest(part))
    settings = workspace.parts[part]
    # with override-stage the build already staged: its output is what the part stages
    fileset = settings.stage if settings.override_stage is None else ("*",)
    return Contribution(part, select(tree, fileset), layout.install(part))


def primed(workspace: Workspace, part: str) -> Contribution:
    contribution = staged(workspace, part)
    if workspace.parts[part].override_prime is not None:
        return Contribution(part, *primed_by_script(workspace, part, contribution.tree, contribution.root))
    return Contribution(part, select(contribution.tree, workspace.parts[part].prime), contribution.root)


def stage(workspace: Workspace, repair: Repair) -> int:
    """Link every part's staged files into <build-root>/stage; `repair` restores a part whose
    install folder was written through a link."""
    layout = Layout(workspace.build_root)
    with FileLock(layout.lock("stage")), reported_if_changed_by_hand(layout):
        owned = merge("stage", [staged(workspace, p) for p in workspace.build_order()])
        return assemble(layout.stage, owned, workspace.source_date_epoch, repair)


def prime(workspace: Workspace, repair: Repair) -> int:
    layout = Layout(workspace.build_root)
    with FileLock(layout.lock("prime")), reported_if_changed_by_hand(layout):
        owned = merge("prime", [primed(workspace, p) for p in workspace.build_order()])
        return assemble(layout.prime, owned, workspace.source_date_epoch, repair)


def placement(owned: dict[str, tuple[Entry, Path, str]]) -> Placement:
    """A merge as `materialize` takes it: path -> (entry, the folder holding it)."""
    return {path: (entry, root) for path, (entry, root, _) in owned.items()}


@contextmanager
def reported_if_changed_by_hand(layout: Layout) -> Iterator[None]:
    """A file of a part's Tree that is gone from its install folder: say which part to rebuild."""
    try:
        yield
    except (FileNotFoundError, ChangedSince) as err:
        parts = layout.root / "parts"
        missing = err.path if isinstance(err, ChangedSince) else Path(err.filename or "")
        if not missing.is_relative_to(parts):
            raise
        part = missing.relative_to(parts).parts[0]
        what = "was changed" if isinstance(err, ChangedSince) else "is gone"
        raise BuildError(
            f"{missing} {what}: part {part!r}'s output was changed by hand since it was built",
            resolution=f"Bring it back: `doit clean build:{part}`, then run again (it restores from the cache).",
        ) from None
