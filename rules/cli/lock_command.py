"""`doit lock`: resolve every python part (or one) and write its PEP 751 lock beside the workspace.

Parts with the same inputs share one resolution. A lock's versions are kept when locking again
(uv's preferences), so only a changed part or `upgrade=PKG` moves anything, and a lock whose
content is unchanged is not rewritten. `check=1` writes nothing and resolves nothing: it fails
when a lock is missing or no longer matches its part (what CI runs).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rules.core import PartsmithError, Progress, action_lock, cores_per_task, digest, write_atomic
from rules.pull import materialize_source, needs_source_pull, pull_source, source_is_current
from rules.python import (
    Lock,
    declared_suffice,
    dumps,
    kept_declarations,
    load,
    lock_differences,
    lock_inputs,
    lock_path,
    normalized,
    resolve_lock,
)
from rules.workspace import Layout, Workspace

from .errors import CommandError
from .reporter import shown


def python_parts(workspace: Workspace, only: str | None) -> list[str]:
    names = [name for name in workspace.build_order() if workspace.parts[name].installs_python]
    if only is None:
        return names
    if only not in names:
        raise CommandError(
            f"lock: {only!r} is not a python part of {workspace.path.name}",
            resolution=f"Name one of: {', '.join(names) or '(none)'}.",
        )
    return [only]


@dataclass(frozen=True)
class Wanted:
    """One part's lock to make: what it is resolved from, and the lock it replaces."""

    part: str
    path: Path
    previous: Lock | None
    inputs: dict
    resolution: str  # parts with the same one share it


def lock(workspace: Workspace, only: str | None = None, upgrade: str | None = None) -> str:
    wanted = [_wanted(workspace, name, upgrade) for name in python_parts(workspace, only)]
    firsts = {w.resolution: w for w in reversed(wanted)}  # the first part asking for each
    # each resolution is uv and a backend hook in subprocesses: independent, so run side by side
    with ThreadPoolExecutor(max_workers=max(1, min(len(firsts), cores_per_task()))) as pool:
        futures = {key: pool.submit(_resolved, workspace, w, upgrade) for key, w in firsts.items()}
        resolved = {key: future.result() for key, future in futures.items()}
    said = [_written(w, resolved[w.resolution]) for w in wanted]
    if upgrade and not any(
        p.name == normalized(upgrade) for lock in resolved.values() for p in lock.packages
    ):
        raise CommandError(
            f"lock: upgrade={upgrade}: no locked part holds that package",
            "\n".join(said),
            "Name a package one of the locks lists.",
        )
    return "\n".join(said) or "lock: no python parts"


def _wanted(workspace: Workspace, name: str, upgrade: str | None) -> Wanted:
    if needs_source_pull(workspace.parts[name]) and not source_is_current(workspace, name):
        # the requirements may live in what override-pull writes
        pull_source(workspace, name, partial(kept_declarations, workspace, workspace.parts[name]))
    # a resolution reads the whole project (and the lock's inputs are the whole source's): a
    # pulled source restored in part, written whole
    materialize_source(Layout(workspace.build_root), name, workspace.source_date_epoch)
    path = lock_path(workspace.path, name)
    previous = _previous(path)
    inputs = lock_inputs(workspace, name)
    resolution = digest(
        {
            "inputs": inputs,
            "previous": previous.contents() if previous else None,
            "upgrade": upgrade,
        }
    )
    return Wanted(name, path, previous, inputs, resolution)


def _resolved(workspace: Workspace, wanted: Wanted, upgrade: str | None) -> Lock:
    layout = Layout(workspace.build_root)
    with action_lock(layout.lock(f"{wanted.part}.pull"), f"lock:{wanted.part}") as fd:
        progress = Progress(f"lock:{wanted.part}")
        progress.phase("resolving")
        try:
            return resolve_lock(workspace, wanted.part, wanted.previous, upgrade, keep_open=(fd,))
        finally:
            progress.clear()


def _written(wanted: Wanted, resolved: Lock) -> str:
    text = dumps(Lock(resolved.packages, resolved.build, wanted.inputs), wanted.part)
    if wanted.path.is_file() and wanted.path.read_text(encoding="utf-8", errors="replace") == text:
        return f"lock:{wanted.part}: up to date, {_counted(resolved)} in {shown(wanted.path)}"
    _write(wanted.path, text)
    moved = _moves(wanted.previous, resolved)
    return f"lock:{wanted.part}: wrote {_counted(resolved)} to {shown(wanted.path)}" + (
        f" ({moved})" if moved else ""
    )


def check(workspace: Workspace, only: str | None = None) -> str:
    """Every python part's lock exists and matches the part; nothing is resolved or written."""
    stale = []
    for name in python_parts(workspace, only):
        path = lock_path(workspace.path, name)
        if not path.is_file():
            stale.append(f"{name}: no lock ({shown(path)})")
            continue
        if not declared_suffice(workspace, name):  # restored in part, and not enough
            materialize_source(Layout(workspace.build_root), name, workspace.source_date_epoch)
        changed = lock_differences(load(path).inputs, lock_inputs(workspace, name))
        stale += [f"{name}: {line}" for line in changed]
    if stale:
        raise CommandError(
            f"lock: {len(stale)} difference{'s' * (len(stale) != 1)} "
            "between the locks and the parts",
            "\n".join(stale),
            "Run `doit lock` and commit the locks.",
        )
    return "lock: every python part's lock matches it"


def _previous(path: Path) -> Lock | None:
    """The lock being replaced, for its versions; a damaged one is simply written anew."""
    try:
        return load(path) if path.is_file() else None
    except PartsmithError:
        return None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


def _moves(previous: Lock | None, lock: Lock) -> str:
    if previous is None:
        return ""
    before = {p.name: p.version for p in previous.packages}
    moves = [
        f"{p.name} {before[p.name]} -> {p.version}"
        for p in lock.packages
        if p.name in before and before[p.name] != p.version
    ]
    added = [p.pin for p in lock.packages if p.name not in before]
    return "; ".join(
        filter(None, [", ".join(moves), ("added " + ", ".join(added)) if added else ""])
    )


def _counted(lock: Lock) -> str:
    build = f" and {_plural(len(lock.build), 'package')} to build the project" if lock.build else ""
    return _plural(len(lock.packages), "package") + build


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"
