"""The stage and prime folders: trees of hard links to the parts' install folders.

Each file is created once, in a part's install folder (by its build, or by a restore from the
store); stage and prime link to it, as craft-parts does (`link_or_copy`). A folder on another file
system gets copies, said once. The store is never linked to: it holds copies, mode 0444.

A link shares its inode with the install file, so a write made in stage/ by hand reaches the
install folder too. Each part has a record (`<dest>.d/<part>`, marshal: read on every run) of what it placed: every
entry, and for a file the inode, ctime and link count seen after linking. Each run checks every
placed entry with one lstat: a file whose inode is the one recorded but whose size, mode, mtime
(always SOURCE_DATE_EPOCH here) or ctime moved (a ctime moved by a new link, which changes the
link count, is not an edit) was written through the link: the part's install folder is no longer
what its key made, so `repair(part)` restores (or rebuilds) it before its files are linked again;
those bytes never reach the store or another part. A file replaced by a new one (an editor's
save-by-rename) is linked again. A folder whose mtime moved had entries added or removed by hand:
only such a folder is listed, and what does not belong there goes.

An edit costs what changed: only the records of parts whose entries changed are rewritten. The
summary (`<dest>.json`) is removed first and written last; a run that finds it missing trusts
nothing it cannot check, and the per-entry check repairs a stage a kill left half updated.
"""
from __future__ import annotations

import errno
import hashlib
import json
import marshal
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from .fsutil import remove_tree, write_atomic
from .tree import ChangedSince, Entry, copy_checked

Owned = Mapping[str, tuple[Entry, Path, str]]  # path -> (entry, folder holding it, owning part)
Repair = Callable[[str], Path]  # restores a part whose install was written through; returns its folder

# Hot loops below join plain strings: one lstat or link per entry is the whole cost wanted, and a
# pathlib join costs more than either.


@dataclass(frozen=True)
class Placed:
    """What one entry of dest was made from, and what its inode looked like afterwards."""

    entry: Entry
    ino: int = 0
    ctime_ns: int = 0
    nlink: int = 0
    linked: bool = False  # a hard link to the part's file (else a copy, or not a file)

    def row(self, path: str) -> tuple:
        e = self.entry
        return (path, e.kind, e.digest, e.size, e.executable, e.target, self.ino, self.ctime_ns, self.nlink, self.linked)

    @staticmethod
    def from_row(row: tuple) -> "Placed":
        return Placed(Entry(row[1], row[2], row[3], row[4], row[5]), row[6], row[7], row[8], row[9])


@dataclass
class PartRecord:
    folder: list[int]  # (device, inode) of the folder the part's files were linked from
    rows: list[tuple]  # Placed.row of every entry the part placed

    def placed(self) -> dict[str, Placed]:
        return {row[0]: Placed.from_row(row) for row in self.rows}


def assemble(dest: Path, owned: Owned, epoch: int, repair: Repair) -> int:
    """Make `dest` hold exactly `owned`; returns the number of entries."""
    records, summary = _records_folder(dest), _summary(dest)
    checked = summary.is_file() and _found_intact.pop(str(dest), None) == summary.read_bytes()
    summary.unlink(missing_ok=True)  # from here until it is written again, dest is not trusted
    previous = _read_records(records) if dest.is_dir() else {}
    if not previous:
        previous, linked = {}, _replace(dest, owned, epoch)
    else:
        owned, linked = _update(dest, owned, previous, epoch, repair, checked)
    _write_records(dest, owned, previous, linked)
    _write_summary(dest, len(owned))
    return len(owned)


def is_intact(dest: Path, epoch: int) -> bool:
    """doit's up-to-date check: the last assemble completed and every entry is as it left it
    (one lstat each: nothing written through, replaced, added or removed by hand)."""
    if not _summary(dest).is_file() or not dest.is_dir():
        return False
    summary = _summary(dest).read_bytes()
    root = str(dest)
    for record in _read_records(_records_folder(dest)).values():
        for row in record.rows:
            if _row_state(f"{root}/{row[0]}", row, epoch) != "intact":
                return False
    if os.lstat(root).st_mtime != epoch:
        return False
    _found_intact[root] = summary
    return True


# What is_intact found intact in this process, by the summary it read (which names every record):
# when doit then runs the stage anyway (a part was rebuilt), the update need not lstat every entry
# again. Under `doit -n N` the update runs in another process, which checks for itself.
_found_intact: dict[str, bytes] = {}


def recorded_tree(dest: Path) -> dict[str, Entry]:
    """What the last complete assemble put in `dest` (pack reads prime this way)."""
    if not _summary(dest).is_file():
        raise FileNotFoundError(errno.ENOENT, "not assembled", str(_summary(dest)))
    found = {path: placed.entry for record in _read_records(_records_folder(dest)).values()
             for path, placed in record.placed().items()}
    return dict(sorted(found.items()))


def _records_folder(dest: Path) -> Path:
    return dest.with_name(dest.name + ".d")


def _summary(dest: Path) -> Path:
    return dest.with_name(dest.name + ".json")


# -- a new folder ----------------------------------------------------------------------------------

def _replace(dest: Path, owned: Owned, epoch: int) -> dict[str, bool]:
    """Build the folder beside `dest`, then swap it in; a crash leaves the old or the new.
    Returns, for every entry placed, whether it is a link to the part's file."""
    fresh, old = dest.with_name(f".{dest.name}.new"), dest.with_name(f".{dest.name}.old")
    if not os.path.lexists(dest) and os.path.lexists(old):  # a crash between the two renames
        os.rename(old, dest)
    for leftover in (fresh, old):
        remove_tree(leftover)
    remove_tree(_records_folder(dest))
    fresh.mkdir(parents=True)
    into = str(fresh)
    linked = {path: _place(f"{into}/{path}", owned[path][0], f"{owned[path][1]}/{path}") for path in sorted(owned)}
    _set_folder_times(into, owned, epoch)
    if os.path.lexists(dest):
        os.rename(dest, old)
    os.rename(fresh, dest)
    remove_tree(old)
    return linked


# -- an update in place ----------------------------------------------------------------------------

def _update(dest: Path, owned: Owned, previous: dict[str, PartRecord], epoch: int,
            repair: Repair, checked: bool = False) -> tuple[Owned, dict[str, bool]]:
    """Touch only what changed, was written through, replaced, added or removed by hand;
    returns the placement (with repaired parts' folders) and what was placed, as `_replace`.
    `checked`: every entry was just found intact (`is_intact`), so none is looked at again."""
    root = str(dest)
    rows = {row[0]: (part, row) for part, record in previous.items() for row in record.rows}
    states = dict.fromkeys(rows, "intact") if checked else _states(root, {p: r for p, (_, r) in rows.items()}, epoch)
    written = sorted(p for p, state in states.items() if state == "written")
    for path in written:
        print(f"partsmith: {root}/{path} was changed by hand: it is a link to part {rows[path][0]!r}'s file, "
              "so that part is restored")
    owned = _repaired(owned, {rows[p][0] for p in written}, repair)
    folders = _folders(owned)
    moved = {part for part, record in previous.items() if record.folder != folders.get(part)}
    keep = {path for path, (entry, _, part) in owned.items()
            if path in rows and rows[path][0] == part and part not in moved and states[path] == "intact"
            and rows[path][1][1:6] == (entry.kind, entry.digest, entry.size, entry.executable, entry.target)}
    for path in sorted(set(rows) - keep, reverse=True):  # children first
        if states[path] != "under":  # below a folder replaced by hand: it goes with that folder
            kept_folder = path in owned and owned[path][0].kind == "dir" and states[path] == "intact"
            if not kept_folder:
                _remove(f"{root}/{path}")
    _remove_strays(root, owned, epoch)
    linked = {}
    for path in sorted(set(owned) - keep):
        entry, folder, _ = owned[path]
        if not (entry.kind == "dir" and states.get(path) == "intact"):
            linked[path] = _place(f"{root}/{path}", entry, f"{folder}/{path}")
    _set_folder_times(root, owned, epoch)
    return owned, linked


def _states(root: str, rows: dict[str, tuple], epoch: int) -> dict[str, str]:
    """Each entry's state, parents first; nothing below a folder that is no longer ours is
    looked at (it may be a symlink made by hand: never followed)."""
    states: dict[str, str] = {}
    for path in sorted(rows):
        parent = posixpath.dirname(path)
        if parent and states.get(parent, "intact") != "intact":
            states[path] = "under"
        else:
            state = _row_state(f"{root}/{path}", rows[path], epoch)
            states[path] = "intact" if state == "changed" else state  # its strays: _remove_strays
    return states


def _row_state(path: str, row: tuple, epoch: int) -> str:
    """intact | written (the inode we linked was changed) | replaced (something else is there) |
    gone (under: below a folder that is not intact, set by `_states`). A folder whose mtime moved
    had entries added or removed by hand: not intact either."""
    try:
        info = os.lstat(path)
    except OSError:
        return "gone"
    _, kind, _, size, executable, target, ino, ctime_ns, nlink, linked = row
    if kind == "dir":
        if not stat.S_ISDIR(info.st_mode):
            return "replaced"
        return "intact" if info.st_mtime == epoch else "changed"
    if kind == "symlink":
        return "intact" if stat.S_ISLNK(info.st_mode) and os.readlink(path) == target else "replaced"
    if not stat.S_ISREG(info.st_mode) or info.st_ino != ino:
        return "replaced"
    ctime_moved = info.st_ctime_ns != ctime_ns and info.st_nlink == nlink  # a new link moves it too
    if (info.st_size != size or info.st_mtime != epoch or stat.S_IMODE(info.st_mode) != (0o755 if executable else 0o644)
            or ctime_moved):
        return "written" if linked else "replaced"
    return "intact"


def _repaired(owned: Owned, parts: set[str], repair: Repair) -> Owned:
    """Restore each part whose install was written through; its files come from the new folder."""
    if not parts:
        return owned
    folders = {part: repair(part) for part in sorted(parts)}
    return {path: (entry, folders.get(part, root), part) for path, (entry, root, part) in owned.items()}


def _folders(owned: Owned) -> dict[str, list[int]]:
    roots = {part: root for _, root, part in owned.values()}
    return {part: _identity(root) for part, root in roots.items()}


def _identity(folder: Path) -> list[int]:
    """A rebuilt or restored install folder is a new folder: its inode tells them apart."""
    info = os.stat(folder)
    return [info.st_dev, info.st_ino]


def _remove(path: str) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        remove_tree(Path(path))
    else:
        os.unlink(path)


def _remove_strays(root: str, owned: Owned, epoch: int) -> None:
    """Entries added by hand: only a folder whose mtime moved is listed."""
    for path in [""] + sorted(p for p, (entry, _, _) in owned.items() if entry.kind == "dir"):
        folder = f"{root}/{path}" if path else root
        try:
            if os.lstat(folder).st_mtime == epoch:
                continue
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if (f"{path}/{name}" if path else name) not in owned:
                _remove(f"{folder}/{name}")


# -- placing ---------------------------------------------------------------------------------------

_said_copies: set[str] = set()


def _place(target: str, entry: Entry, source: str) -> bool:
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
    _copy(source, target, entry)
    return False


def _copy(source: str, target: str, entry: Entry) -> None:
    """Across file systems (or where links are refused): a checked copy, said once."""
    folder = os.path.dirname(target)
    if not _said_copies:
        _said_copies.add(folder)
        print(f"partsmith: {folder} cannot link to the parts' install folders (another file system?): "
              "files are copied")
    mtime = os.stat(source).st_mtime
    if copy_checked(source, target, 0o755 if entry.executable else 0o644, int(mtime)) != entry.digest:
        os.unlink(target)
        raise ChangedSince(Path(source))


def _set_folder_times(root: str, owned: Owned, epoch: int) -> None:
    for path in sorted((p for p, (entry, _, _) in owned.items() if entry.kind == "dir"), reverse=True):
        os.utime(f"{root}/{path}", (epoch, epoch))
    os.utime(root, (epoch, epoch))


# -- records ---------------------------------------------------------------------------------------

def _read_records(folder: Path) -> dict[str, PartRecord]:
    records = {}
    for name in os.listdir(folder) if folder.is_dir() else []:
        if name.endswith(".tmp"):
            continue
        try:
            data = marshal.loads((folder / name).read_bytes())
            records[name] = PartRecord(list(data[0]), list(data[1]))
        except (OSError, EOFError, ValueError, TypeError, IndexError):
            (folder / name).unlink(missing_ok=True)  # damaged: its entries are checked and placed again
    return records


def _write_records(dest: Path, owned: Owned, previous: dict[str, PartRecord], linked: dict[str, bool]) -> None:
    """One record per part; a part none of whose entries was placed again keeps its file."""
    folder = _records_folder(dest)
    folder.mkdir(exist_ok=True)
    root = str(dest)
    paths: dict[str, list[str]] = {}
    for path, (_, _, part) in owned.items():
        paths.setdefault(part, []).append(path)
    touched = {owned[path][2] for path in linked}
    folders = _folders(owned)
    before = {row[0]: row for record in previous.values() for row in record.rows}  # a folder may change owner
    for part, owned_paths in paths.items():
        old = previous.get(part)
        if part not in touched and old is not None and old.folder == folders[part] and len(old.rows) == len(owned_paths):
            continue  # every entry kept as it was: the same rows
        rows = [_row(f"{root}/{path}", path, owned[path][0], linked[path]) if path in linked else before[path]
                for path in sorted(owned_paths)]
        write_atomic(folder / part, marshal.dumps((folders[part], rows)))
    for part in set(previous) - set(paths):
        (folder / part).unlink(missing_ok=True)


def _row(target: str, path: str, entry: Entry, linked: bool) -> tuple:
    if entry.kind != "file":
        return Placed(entry).row(path)
    info = os.lstat(target)
    return Placed(entry, info.st_ino, info.st_ctime_ns, info.st_nlink, linked).row(path)


def _write_summary(dest: Path, entries: int) -> None:
    """Written last: the mark of a complete assemble. Its digest follows every record, so a
    task depending on this file (pack on prime) reruns when what was placed changed."""
    folder = _records_folder(dest)
    records = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in sorted(os.listdir(folder))
               if not name.endswith(".tmp")}
    write_atomic(_summary(dest), json.dumps({"entries": entries, "records": records}, sort_keys=True))
