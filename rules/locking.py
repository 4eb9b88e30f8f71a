"""`doit lock`: resolve every python part (or one) and write its PEP 751 lock beside the workspace.

Parts with the same inputs share one resolution. A lock's versions are kept when locking again
(uv's preferences), so only a changed part or `upgrade=PKG` moves anything, and a lock whose
content is unchanged is not rewritten. `check=1` writes nothing and resolves nothing: it fails
when a lock is missing or no longer matches its part (what CI runs).
"""
from __future__ import annotations

import os
from pathlib import Path

from . import pulledsource
from .digest import digest
from .errors import PartsmithError
from .fsutil import write_atomic
from .layout import Layout
from .locks import action_lock
from .progress import Progress
from .pylock import Lock, differences, dumps, load, lock_path, normalized
from .resolve import lock_inputs, resolve
from .workspace import Workspace


def python_parts(workspace: Workspace, only: str | None) -> list[str]:
    names = [name for name in workspace.build_order() if workspace.parts[name].plugin == "python"]
    if only is None:
        return names
    if only not in names:
        raise PartsmithError(f"lock: {only!r} is not a python part of {workspace.path.name}",
                             resolution=f"Name one of: {', '.join(names) or '(none)'}.")
    return [only]


def lock(workspace: Workspace, only: str | None = None, upgrade: str | None = None) -> str:
    shared: dict[str, Lock] = {}
    said = []
    for name in python_parts(workspace, only):
        said.append(_lock_part(workspace, name, upgrade, shared))
    if upgrade and not any(p.name == normalized(upgrade) for lock in shared.values() for p in lock.packages):
        raise PartsmithError(f"lock: upgrade={upgrade}: no locked part holds that package",
                             "\n".join(said), "Name a package one of the locks lists.")
    return "\n".join(said) or "lock: no python parts"


def _lock_part(workspace: Workspace, name: str, upgrade: str | None, shared: dict[str, Lock]) -> str:
    path = lock_path(workspace.path, name)
    layout = Layout(workspace.build_root)
    with action_lock(layout.lock(f"{name}.pull"), f"lock:{name}") as fd:
        if pulledsource.needed(workspace.parts[name]) and not pulledsource.is_current(workspace, name):
            pulledsource.pull(workspace, name)  # the requirements may live in what override-pull writes
        previous = _previous(path)
        inputs = lock_inputs(workspace, name)
        wanted = digest({"inputs": inputs, "previous": previous.contents() if previous else None, "upgrade": upgrade})
        if wanted not in shared:
            progress = Progress(f"lock:{name}")
            progress.phase("resolving")
            shared[wanted] = resolve(workspace, name, previous, upgrade, keep_open=(fd,))
            progress.clear()
        text = dumps(Lock(shared[wanted].packages, shared[wanted].build, inputs), name)
    if path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
        return f"lock:{name}: up to date, {_counted(shared[wanted])} in {_shown(path)}"
    _write(path, text)
    moved = _moves(previous, shared[wanted])
    return f"lock:{name}: wrote {_counted(shared[wanted])} to {_shown(path)}" + (f" ({moved})" if moved else "")


def check(workspace: Workspace, only: str | None = None) -> str:
    """Every python part's lock exists and matches the part; nothing is resolved or written."""
    stale = []
    for name in python_parts(workspace, only):
        path = lock_path(workspace.path, name)
        if not path.is_file():
            stale.append(f"{name}: no lock ({_shown(path)})")
            continue
        changed = differences(load(path).inputs, lock_inputs(workspace, name))
        stale += [f"{name}: {line}" for line in changed]
    if stale:
        raise PartsmithError(f"lock: {len(stale)} difference{'s' * (len(stale) != 1)} between the locks and the parts",
                             "\n".join(stale), "Run `doit lock` and commit the locks.")
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
    moves = [f"{p.name} {before[p.name]} -> {p.version}" for p in lock.packages
             if p.name in before and before[p.name] != p.version]
    added = [p.pin for p in lock.packages if p.name not in before]
    return "; ".join(filter(None, [", ".join(moves), ("added " + ", ".join(added)) if added else ""]))


def _counted(lock: Lock) -> str:
    build = f" and {_plural(len(lock.build), 'package')} to build the project" if lock.build else ""
    return _plural(len(lock.packages), "package") + build


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _shown(path: Path) -> str:
    from doit import get_initial_workdir
    rel = os.path.relpath(path, get_initial_workdir() or os.getcwd())
    return rel if not rel.startswith("..") else str(path)
