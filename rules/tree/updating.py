"""Update a folder that holds one Tree so that it holds another, touching only what differs.

A part's install folder is what stage and prime link to. Replacing it whole after a rebuild gives
every file a new inode, so the link farms relink every entry (0.5 s for the 16.8k entries of a
large venv), though an edit of the project changes a few dozen. Updated in place, an unchanged
file keeps its inode, and the farms' own checks keep their links.

An entry is kept only when the old Tree names it with the same kind, bytes and mode and one lstat
shows it as a capture left it (kind, size, mode, mtime = SOURCE_DATE_EPOCH, a symlink's target);
anything else is taken from the new output. A write that kept the size and the mtime is the link
farms' to see (they check the ctime of every entry they placed, and hash on doubt). The caller
removes the folder's marks first: a crash halfway leaves a folder that counts as not built.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from rules.core import remove_tree

from .tree import Entry, Tree
from .writing import file_mode

Take = Callable[[str, str], None]  # (path in the Tree, where it goes) -> the entry is there


def holds_folders(dest: Path, tree: Tree) -> bool:
    """Whether every folder of `tree` is a folder in `dest`, never a symlink made in its place:
    `update_in_place` must not remove or write anything through one."""
    root = str(dest)
    for path, entry in tree.items():
        if entry.kind == "dir":
            try:
                if not stat.S_ISDIR(os.lstat(f"{root}/{path}").st_mode):
                    return False
            except OSError:
                return False
    return not os.path.islink(dest) and os.path.isdir(dest)


def update_in_place(
    dest: Path, old: Tree, new: Tree, take: Take, epoch: int, checked: bool = True
) -> int:
    """Make `dest`, which held `old` (and `holds_folders` it), hold `new`; `take` puts a new
    file or symlink in place (replacing whatever is there). Returns the number of entries
    taken. `checked=False`: `dest` is known to hold `old` as a capture left it (a folder just
    made from a Tree, or one whose stat data were just checked), so what did not change is kept
    without a look."""
    root = str(dest)
    touched: set[str] = set()
    for path in sorted(old.keys() - new.keys(), reverse=True):  # children first
        _remove(f"{root}/{path}")
        touched.add(os.path.dirname(path))
    taken = 0
    for path in sorted(new):  # parents first
        entry = new[path]
        target = f"{root}/{path}"
        if old.get(path) == entry and (not checked or _as_captured(target, entry, epoch)):
            continue
        touched.add(os.path.dirname(path))
        if entry.kind == "dir":
            _make_folder(target)
            touched.add(path)
            continue
        if os.path.isdir(target) and not os.path.islink(target):
            remove_tree(Path(target))
        take(path, target)
        taken += 1
    for folder in sorted(touched, reverse=True):
        if folder and folder not in new:
            continue  # removed with its folder
        os.utime(f"{root}/{folder}" if folder else root, (epoch, epoch))
    return taken


def _as_captured(path: str, entry: Entry, epoch: int) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if entry.kind == "dir":
        return stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o755
    if entry.kind == "symlink":
        return stat.S_ISLNK(info.st_mode) and os.readlink(path) == entry.target
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_size == entry.size
        and stat.S_IMODE(info.st_mode) == file_mode(entry)
        and info.st_mtime == epoch
    )


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        remove_tree(Path(path))
    elif os.path.lexists(path):
        os.unlink(path)


def _make_folder(path: str) -> None:
    if os.path.lexists(path) and not (os.path.isdir(path) and not os.path.islink(path)):
        os.unlink(path)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)


def moved_from(folder: str) -> Take:
    """Take each entry by renaming it out of `folder` (a finished output about to be removed:
    its captured files already have their modes and mtime)."""

    def take(path: str, target: str) -> None:
        os.replace(f"{folder}/{path}", target)

    return take


def copied_from(folder: str, epoch: int) -> Take:
    """Take each entry by copying it out of `folder`, which stays as it is."""

    def take(path: str, target: str) -> None:
        source = f"{folder}/{path}"
        if os.path.lexists(target):
            os.unlink(target)
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)
            os.utime(target, (epoch, epoch), follow_symlinks=False)
            return
        shutil.copyfile(source, target)
        os.chmod(target, stat.S_IMODE(os.lstat(source).st_mode))
        os.utime(target, (epoch, epoch))

    return take
