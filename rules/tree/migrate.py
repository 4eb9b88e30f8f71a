"""craft-parts' migration of a part's files from one step's folder to the next, as `craftctl
default` does it in override-stage: what a fileset selects of a folder *as it is now* is copied
into another, symlinks as symlinks, modes kept. The selection is `select`'s, on a listing of the
folder (kinds only: globs never look at bytes), so there is one set of fileset semantics.

`migrate_command` is the tool the step script runs (craftctl.py writes it into the sandbox):
partsmith's Python, in a process of its own, at the moment the script calls `craftctl default`.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

from .errors import TreeError
from .filesets import select
from .tree import Entry


def listing(root: Path) -> dict[str, Entry]:
    """Every entry below `root` by kind, parents before their children; a symlinked folder is a
    symlink, never a way in. Anything else (a fifo, a socket) is listed as a file: copying it
    then names it, rather than leaving it out silently."""
    found: dict[str, Entry] = {}
    _list_into(str(root), "", found)
    return found


def _list_into(folder: str, prefix: str, found: dict[str, Entry]) -> None:
    with os.scandir(folder) as entries:
        for item in sorted(entries, key=lambda item: item.name):
            rel = prefix + item.name
            if item.is_symlink():
                found[rel] = Entry("symlink", target=os.readlink(item.path))
            elif item.is_dir():
                found[rel] = Entry("dir")
                _list_into(item.path, rel + "/", found)
            else:
                found[rel] = Entry("file")


def migrate(source: Path, dest: Path, fileset: tuple[str, ...]) -> int:
    """Copy what `fileset` selects of `source` into the folder `dest`; returns how many entries.
    What the script put in `dest` first, as craft-parts' migrate_files treats it: a file is
    replaced, a symlink left alone, a folder kept; anything else in the way is a TreeError."""
    chosen = select(listing(source), fileset)
    for path in sorted(chosen):  # a parent sorts before its children
        _copy_entry(source / path, dest / path, path)
    return len(chosen)


def _copy_entry(source: Path, dest: Path, path: str) -> None:
    """One selected entry; its parent folder in `dest` was made (or checked) just before."""
    info = os.lstat(source)
    if stat.S_ISDIR(info.st_mode):
        _make_folder(dest, path)
        os.chmod(dest, stat.S_IMODE(info.st_mode))
        return
    if not (stat.S_ISLNK(info.st_mode) or stat.S_ISREG(info.st_mode)):
        raise TreeError(f"{path}: not a file, folder or symlink")
    if dest.is_symlink():  # craft-parts: "If the file is already here and it's a symlink,
        return  # leave it alone."
    if dest.is_dir():
        raise TreeError(f"{path}: a folder is in the way of the part's {_kind(info)}")
    dest.unlink(missing_ok=True)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(source), dest)
    else:
        shutil.copy2(source, dest)  # bytes, mode and mtime; the capture after the step normalizes


def _make_folder(dest: Path, path: str) -> None:
    if dest.is_symlink():  # writing through it could reach anywhere
        raise TreeError(f"{path}: a symlink is in the way of the part's folder")
    if os.path.lexists(dest) and not dest.is_dir():
        raise TreeError(f"{path}: a file is in the way of the part's folder")
    dest.mkdir(exist_ok=True)


def _kind(info: os.stat_result) -> str:
    return "symlink" if stat.S_ISLNK(info.st_mode) else "file"


def migrate_command(argv: list[str]) -> int:
    """`<tool> SOURCE DEST [GLOB...]`: migrate, saying how many entries it copied; a problem is
    one line on stderr and exit status 1, never a traceback."""
    if len(argv) < 2:
        print("craftctl default: expected SOURCE DEST [GLOB...]", file=sys.stderr)
        return 2
    source, dest, fileset = Path(argv[0]), Path(argv[1]), tuple(argv[2:])
    try:
        count = migrate(source, dest, fileset)
    except TreeError as err:
        print(f"craftctl default: cannot copy into {dest}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"craftctl default: {err}", file=sys.stderr)
        return 1
    print(f"craftctl default: {count} entries of {source} copied into {dest}")
    return 0
