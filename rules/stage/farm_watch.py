"""The link farm's up-to-date check through watchman (rules/core/watchman.py): when nothing was
written below the folder, its records, or the install folders its files are linked from since a
clock taken when the folder was last known intact, it still is, and no entry is looked at.

The clock is kept in `<dest>.watch` with the summary it vouches for and the paths (relative to
the build root, which is what is watched) whose changes matter. It is taken before a walk that
found the folder intact, never after: a write made while the walk ran is reported next time. An
assemble writes a new summary, so the first check after it walks.
"""

from __future__ import annotations

import marshal
from pathlib import Path

from rules.core import write_atomic
from rules.core.watchman import changes_since, current_clock

FORMAT = 1


def clock_before(dest: Path) -> str | None:
    """A clock to keep once the folder is known intact; None without watchman."""
    return current_clock(dest.parent)


def still_intact(dest: Path, summary: bytes) -> bool:
    """True when watchman vouches that nothing that matters changed since the kept clock."""
    kept = _load(dest)
    if kept is None or kept[2] != summary:
        return False
    changes = changes_since(dest.parent, kept[1])
    if changes is None or changes.names is None:
        return False
    watched = kept[3]
    return not any(
        name == path or name.startswith(path + "/") for name in changes.names for path in watched
    )


def remember(dest: Path, clock: str, summary: bytes, linked_from: list[Path]) -> None:
    """Keep `clock` as vouching for `dest` as `summary` describes it; nothing is kept when a
    folder its files are linked from lies outside the build root (it is not watched)."""
    if not all(folder.is_relative_to(dest.parent) for folder in linked_from):
        _path(dest).unlink(missing_ok=True)
        return
    watched = [dest.name, dest.name + ".d"]
    watched += [folder.relative_to(dest.parent).as_posix() for folder in linked_from]
    write_atomic(_path(dest), marshal.dumps((FORMAT, clock, summary, sorted(set(watched)))))


def _load(dest: Path) -> tuple | None:
    try:
        kept = marshal.loads(_path(dest).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return kept if isinstance(kept, tuple) and len(kept) == 4 and kept[0] == FORMAT else None


def _path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".watch")
