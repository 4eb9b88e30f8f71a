"""Stage and prime: every part's selected Tree, merged by digest (merge.py: identical entries
merge, any difference is a conflict, every conflict reported in one error) into a tree of links
to the parts' install folders (linkfarm.py). Nothing is touched unless the merge succeeded, so a
failed stage leaves the previous one exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from rules.action import primed_by_script
from rules.tree import ChangedSince, Contribution, Owned, Placement, read_manifest, select
from rules.workspace import Layout, Workspace

from .errors import StageError
from .linkfarm import Repair, Source, assemble


def staged(workspace: Workspace, part: str) -> Contribution:
    """A built part's files that its `stage` fileset lets through."""
    layout = Layout(workspace.build_root)
    try:
        tree = read_manifest(layout.manifest(part))
    except ValueError:  # written by hand, or cut short outside partsmith (it writes atomically)
        raise StageError(
            f"part {part!r}: {layout.manifest(part)} is damaged",
            resolution=f"Run `doit clean build:{part}`, then run again: the part comes back "
            "from the cache.",
        ) from None
    settings = workspace.parts[part]
    # with override-stage the build already staged: its output is what the part stages
    fileset = settings.stage if settings.override_stage is None else ("*",)
    return Contribution(part, select(tree, fileset), layout.install(part))


def primed(workspace: Workspace, part: str) -> Contribution:
    contribution = staged(workspace, part)
    if workspace.parts[part].override_prime is not None:
        return Contribution(
            part, *primed_by_script(workspace, part, contribution.tree, contribution.root)
        )
    return Contribution(
        part, select(contribution.tree, workspace.parts[part].prime), contribution.root
    )


def stage_parts(workspace: Workspace, repair: Repair) -> int:
    """Link every part's staged files into <build-root>/stage; `repair` restores a part whose
    install folder was written through a link."""
    layout = Layout(workspace.build_root)
    with FileLock(layout.lock("stage")), reported_if_changed_by_hand(layout):
        sources = [_stage_source(workspace, layout, part) for part in workspace.build_order()]
        return assemble(layout.stage, "stage", sources, workspace.source_date_epoch, repair)


def prime_parts(workspace: Workspace, repair: Repair) -> int:
    layout = Layout(workspace.build_root)
    with FileLock(layout.lock("prime")), reported_if_changed_by_hand(layout):
        sources = [_prime_source(workspace, layout, part) for part in workspace.build_order()]
        return assemble(layout.prime, "prime", sources, workspace.source_date_epoch, repair)


def _stage_source(workspace: Workspace, layout: Layout, part: str) -> Source:
    """A part's staged Tree is decided by its Tree file and its stage fileset."""
    settings = workspace.parts[part]
    fileset = (
        ("override-stage",) if settings.override_stage is not None else ("stage", *settings.stage)
    )
    return Source(
        part,
        layout.install(part),
        lambda: staged(workspace, part).tree,
        layout.manifest(part),
        (fileset,),
    )


def _prime_source(workspace: Workspace, layout: Layout, part: str) -> Source:
    """override-prime runs each time prime does, and its output is read each time; any other
    part's primed Tree is decided by its Tree file and its two filesets."""
    settings = workspace.parts[part]
    if settings.override_prime is not None:
        made = primed(workspace, part)
        return Source(part, made.root, lambda: made.tree)
    staging = _stage_source(workspace, layout, part)
    return Source(
        part,
        staging.root,
        lambda: primed(workspace, part).tree,
        staging.decided_by,
        (*staging.selection, ("prime", *settings.prime)),
    )


def placement(owned: Owned) -> Placement:
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
        raise StageError(
            f"{missing} {what}: part {part!r}'s output was changed by hand since it was built",
            resolution=f"Bring it back: `doit clean build:{part}`, "
            "then run again (it restores from the cache).",
        ) from None
