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
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .fsutil import remove_tree
from filelock import FileLock

from .errors import BuildError, Conflict, StageConflictError
from .filesets import select
from .layout import Layout
from .scriptlets import primed_by_script
from .tree import ChangedSince, Entry, Placement, Tree, materialize, place, read_manifest
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
    settings = workspace.parts[part]
    # with override-stage the build already staged: its output is what the part stages
    fileset = settings.stage if settings.override_stage is None else ("*",)
    return Contribution(part, select(tree, fileset), layout.install(part))


def primed(workspace: Workspace, part: str) -> Contribution:
    contribution = staged(workspace, part)
    if workspace.parts[part].override_prime is not None:
        return Contribution(part, *primed_by_script(workspace, part, contribution.tree, contribution.root))
    return Contribution(part, select(contribution.tree, workspace.parts[part].prime), contribution.root)


def assemble(dest: Path, placement: Placement, epoch: int, record: Path) -> None:
    """Make `dest` hold exactly `placement`. `record` lists what `dest` held after the last
    success: when it is there, only what changed is touched (a dev loop's one edited file costs
    one copy, not a new stage); otherwise the folder is built beside `dest` and swapped in."""
    previous = _recorded(record, dest)
    record.unlink(missing_ok=True)  # from here until the new record, `dest` is not trusted
    if previous is None:
        _replace(dest, placement, epoch)
    else:
        _update(dest, previous, placement, epoch)
    temp = record.with_name(record.name + ".tmp")
    temp.write_text(json.dumps({"entries": len(placement),
                                "tree": {path: entry.to_json() for path, (entry, _) in placement.items()}}))
    os.replace(temp, record)


def _recorded(record: Path, dest: Path) -> dict[str, Entry] | None:
    try:
        tree = json.loads(record.read_text())["tree"]
        return {path: Entry.from_json(data) for path, data in tree.items()} if dest.is_dir() else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _replace(dest: Path, placement: Placement, epoch: int) -> None:
    """Build the new folder beside `dest`, then swap it in; a crash leaves the old or the new."""
    fresh = dest.with_name(f".{dest.name}.new")
    old = dest.with_name(f".{dest.name}.old")
    if not os.path.lexists(dest) and os.path.lexists(old):  # a crash between the two renames
        os.rename(old, dest)
    for leftover in (fresh, old):
        remove_tree(leftover)
    materialize(placement, fresh, epoch)
    if os.path.lexists(dest):
        os.rename(dest, old)
    os.rename(fresh, dest)
    remove_tree(old)


def _update(dest: Path, previous: dict[str, Entry], placement: Placement, epoch: int) -> None:
    """Make `dest` equal to `placement` touching only what differs from the previous stage, or
    was changed there by hand (edited, replaced, added). Symlinks in `dest` are never followed."""
    keep: set[str] = set()
    for path in sorted(placement):  # parents first: nothing below a changed folder is kept
        entry = placement[path][0]
        parent = posixpath.dirname(path)
        if (not parent or parent in keep) and previous.get(path) == entry and _on_disk_is(dest / path, entry, epoch):
            keep.add(path)
    for path, (entry, root) in placement.items():  # every byte needed is there before anything moves
        if path not in keep and entry.kind == "file" and not (root / path).is_file():
            raise FileNotFoundError(2, "No such file or directory", str(root / path))
    _remove_all_but(dest, keep)
    for path in sorted(set(placement) - keep):
        entry, root = placement[path]
        place(dest / path, entry, root / path)
        os.utime(dest / path, (epoch, epoch), follow_symlinks=False)
    for path in sorted((p for p, (e, _) in placement.items() if e.kind == "dir"), reverse=True):
        os.utime(dest / path, (epoch, epoch))
    os.utime(dest, (epoch, epoch))


def _remove_all_but(dest: Path, keep: set[str]) -> None:
    """Remove every entry below `dest` not in `keep`, without entering symlinks."""
    for folder, dirs, files in os.walk(dest):
        prefix = os.path.relpath(folder, dest)
        for name in files + dirs:
            rel = name if prefix == "." else f"{prefix}/{name}"
            if rel in keep:
                continue
            path = Path(folder, name)
            if path.is_dir() and not path.is_symlink():
                remove_tree(path)
            else:
                path.unlink()
        dirs[:] = [d for d in dirs if (d if prefix == "." else f"{prefix}/{d}") in keep]


def _on_disk_is(path: Path, entry: Entry, epoch: int) -> bool:
    """Whether `path` still is what the stage put there (an edit by hand changes its mtime)."""
    try:
        info = os.lstat(path)
    except OSError:  # gone, or a file now stands where a folder was
        return False
    if entry.kind == "dir":
        return stat.S_ISDIR(info.st_mode)
    if entry.kind == "symlink":
        return stat.S_ISLNK(info.st_mode) and os.readlink(path) == entry.target
    mode = 0o755 if entry.executable else 0o644
    return (stat.S_ISREG(info.st_mode) and info.st_size == entry.size and info.st_mtime == epoch
            and stat.S_IMODE(info.st_mode) == mode)


def stage(workspace: Workspace) -> int:
    layout = Layout(workspace.build_root)
    with FileLock(layout.lock("stage")), reported_if_changed_by_hand(layout):
        placement = merge("stage", [staged(workspace, p) for p in workspace.build_order()])
        assemble(layout.stage, placement, workspace.source_date_epoch, layout.stage_record)
    return len(placement)


def prime(workspace: Workspace) -> int:
    layout = Layout(workspace.build_root)
    with FileLock(layout.lock("prime")), reported_if_changed_by_hand(layout):
        placement = merge("prime", [primed(workspace, p) for p in workspace.build_order()])
        assemble(layout.prime, placement, workspace.source_date_epoch, layout.prime_record)
    return len(placement)


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
