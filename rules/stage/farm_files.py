"""Placing the link farm's entries: a hard link to the part's install file (a copy across file
systems), folders and symlinks made, strays removed, folder times set."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from rules.core import remove_tree
from rules.tree import (
    ChangedSince,
    Entry,
    copy_checked,
)

from .farm_records import OWNED, PartRecord


def remove_entry(path: str) -> None:
    """Nearly every entry replaced is a file or link: one unlink, which never removes a folder
    (it fails with EISDIR); only then is the entry looked at."""
    try:
        os.unlink(path)
        return
    except FileNotFoundError:
        return
    except OSError as err:
        # EACCES: a folder in a folder made read-only by hand (looked at before EISDIR)
        if err.errno not in (errno.EISDIR, errno.EPERM, errno.EACCES):
            raise
    if stat.S_ISDIR(os.lstat(path).st_mode):
        remove_tree(Path(path))
    else:
        os.unlink(path)  # not a folder after all: the error says why


def remove_strays(
    root: str, folders: list[str], records: dict[str, PartRecord], epoch: int
) -> None:
    """Entries added by hand: only the folders whose mtime moved (and the top) are listed."""
    top = [""] if os.lstat(root).st_mtime != epoch else []
    for path in top + folders:
        folder = f"{root}/{path}" if path else root
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            child = f"{path}/{name}" if path else name
            if not any(record.claims.get(child, (0,) * 11)[OWNED] for record in records.values()):
                remove_entry(f"{folder}/{name}")


def place_entry(target: str, entry: Entry, source: str) -> bool:
    """Create one entry; True when it is a hard link to the part's file."""
    if entry.kind == "dir":
        os.mkdir(target, 0o755)
        os.chmod(target, 0o755)
        return False
    if entry.kind == "symlink":
        os.symlink(entry.target, target)
        mtime = os.lstat(source).st_mtime  # SOURCE_DATE_EPOCH, as the part's own link
        os.utime(target, (mtime, mtime), follow_symlinks=False)
        return False
    try:
        os.link(source, target)
        return True
    except OSError as err:
        if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
    copy_entry(source, target, entry)
    return False


def copy_entry(source: str, target: str, entry: Entry) -> None:
    """Across file systems (or where links are refused): a checked copy, said once."""
    folder = os.path.dirname(target)
    if not said_copies:
        said_copies.add(folder)
        print(
            f"partsmith: {folder} cannot link to the parts' install folders "
            "(another file system?): files are copied"
        )
    mtime = os.stat(source).st_mtime
    if (
        copy_checked(source, target, 0o755 if entry.executable else 0o644, int(mtime))
        != entry.digest
    ):
        os.unlink(target)
        raise ChangedSince(Path(source))


def set_folder_times(root: str, folders: list[str], epoch: int) -> None:
    """`folders` in path order; the deepest first, the top last."""
    for path in reversed(folders):
        try:
            os.utime(f"{root}/{path}" if path else root, (epoch, epoch))
        except FileNotFoundError:
            pass  # the folder of an entry that went with it
    os.utime(root, (epoch, epoch))


said_copies: set[str] = set()
