"""The stage and prime folders: trees of hard links to the parts' install folders.

Each file is created once, in a part's install folder (by its build, or by a restore from the
store); stage and prime link to it, as craft-parts does (`link_or_copy`). A folder on another file
system gets copies, said once. The store is never linked to: it holds copies, mode 0444.

A link shares its inode with the install file, so a write made in stage/ by hand reaches the
install folder too. Each part has a record (`<dest>.d/<part>.json`) of what it placed: every
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
import json
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from .digest import digest
from .fsutil import remove_tree
from .tree import ChangedSince, Entry, copy_checked

Owned = Mapping[str, tuple[Entry, Path, str]]  # path -> (entry, folder holding it, owning part)
Repair = Callable[[str], Path]  # restores a part whose install was written through; returns its new folder


@dataclass(frozen=True)
class Placed:
    """What one entry of dest was made from, and what its inode looked like afterwards."""

    entry: Entry
    ino: int = 0
    ctime_ns: int = 0
    nlink: int = 0
    linked: bool = False  # a hard link to the part's file (else a copy, or not a file)

    def to_json(self) -> list:
        return [self.entry.to_json(), self.ino, self.ctime_ns, self.nlink, self.linked]

    @staticmethod
    def from_json(data: list) -> "Placed":
        return Placed(Entry.from_json(data[0]), data[1], data[2], data[3], data[4])


@dataclass
class PartRecord:
    folder: list[int]  # (device, inode) of the folder the part's files were linked from
    placed: dict[str, Placed]


def assemble(dest: Path, owned: Owned, epoch: int, repair: Repair) -> int:
    """Make `dest` hold exactly `owned`; returns the number of entries."""
    records, summary = _records_folder(dest), _summary(dest)
    summary.unlink(missing_ok=True)  # from here until it is written again, dest is not trusted
    previous = _read_records(records) if dest.is_dir() else {}
    if not previous:
        previous, linked = {}, _replace(dest, owned, epoch)
    else:
        owned, linked = _update(dest, owned, previous, epoch, repair)
    _write_records(dest, owned, previous, linked)
    _write_summary(summary, owned)
    return len(owned)


def is_intact(dest: Path, epoch: int) -> bool:
    """doit's up-to-date check: the last assemble completed and every entry is as it left it
    (one lstat each: nothing written through, replaced, added or removed by hand)."""
    if not _summary(dest).is_file() or not dest.is_dir():
        return False
    for record in _read_records(_records_folder(dest)).values():
        for path, placed in record.placed.items():
            if _state(dest / path, placed, epoch) != "intact":
                return False
            if placed.entry.kind == "dir" and os.lstat(dest / path).st_mtime != epoch:
                return False  # an entry was added or removed there
    return os.lstat(dest).st_mtime == epoch


def recorded_tree(dest: Path) -> dict[str, Entry]:
    """What the last complete assemble put in `dest` (pack reads prime this way)."""
    if not _summary(dest).is_file():
        raise FileNotFoundError(errno.ENOENT, "not assembled", str(_summary(dest)))
    found = {path: placed.entry for record in _read_records(_records_folder(dest)).values()
             for path, placed in record.placed.items()}
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
    linked = {path: _place(fresh / path, owned[path][0], owned[path][1] / path) for path in sorted(owned)}
    _set_folder_times(fresh, owned, epoch)
    if os.path.lexists(dest):
        os.rename(dest, old)
    os.rename(fresh, dest)
    remove_tree(old)
    return linked


# -- an update in place ----------------------------------------------------------------------------

def _update(dest: Path, owned: Owned, previous: dict[str, PartRecord], epoch: int,
            repair: Repair) -> tuple[Owned, dict[str, bool]]:
    """Touch only what changed, was written through, replaced, added or removed by hand;
    returns the placement (with repaired parts' folders) and what was placed, as `_replace`."""
    before = {path: (part, placed) for part, record in previous.items() for path, placed in record.placed.items()}
    states = _states(dest, {path: placed for path, (_, placed) in before.items()}, epoch)
    written = sorted(p for p, state in states.items() if state == "written")
    for path in written:
        print(f"partsmith: {dest / path} was changed by hand: it is a link to part {before[path][0]!r}'s file, "
              "so that part is restored")
    owned = _repaired(owned, {before[p][0] for p in written}, repair)
    folders = _folders(owned)
    moved = {part for part, record in previous.items() if record.folder != folders.get(part)}
    keep = {path for path, (entry, _, part) in owned.items()
            if path in before and before[path][0] == part and part not in moved
            and before[path][1].entry == entry and states[path] == "intact"}
    for path in sorted(set(before) - keep, reverse=True):  # children first
        if states[path] != "under":  # below a folder replaced by hand: it goes with that folder
            _remove(dest / path, keep_folder=path in owned and owned[path][0].kind == "dir" and states[path] == "intact")
    _remove_strays(dest, owned, epoch)
    linked = {}
    for path in sorted(set(owned) - keep):
        entry, root, _ = owned[path]
        if not (entry.kind == "dir" and states.get(path) == "intact"):
            linked[path] = _place(dest / path, entry, root / path)
    _set_folder_times(dest, owned, epoch)
    return owned, linked


def _states(dest: Path, placed: dict[str, Placed], epoch: int) -> dict[str, str]:
    """Each entry's state, parents first; nothing below a folder that is no longer ours is
    looked at (it may be a symlink made by hand: never followed)."""
    states: dict[str, str] = {}
    for path in sorted(placed):
        parent = posixpath.dirname(path)
        if parent and states.get(parent, "intact") != "intact":
            states[path] = "under"
        else:
            states[path] = _state(dest / path, placed[path], epoch)
    return states


def _state(path: Path, placed: Placed, epoch: int) -> str:
    """intact | written (the inode we linked was changed) | replaced (something else is there) | gone
    (under: below a folder that is not intact, set by `_states`)."""
    try:
        info = os.lstat(path)
    except OSError:
        return "gone"
    entry = placed.entry
    if entry.kind == "dir":
        return "intact" if stat.S_ISDIR(info.st_mode) else "replaced"
    if entry.kind == "symlink":
        return "intact" if stat.S_ISLNK(info.st_mode) and os.readlink(path) == entry.target else "replaced"
    if not stat.S_ISREG(info.st_mode) or info.st_ino != placed.ino:
        return "replaced"
    mode = 0o755 if entry.executable else 0o644
    ctime_moved = info.st_ctime_ns != placed.ctime_ns and info.st_nlink == placed.nlink
    if info.st_size != entry.size or info.st_mtime != epoch or stat.S_IMODE(info.st_mode) != mode or ctime_moved:
        return "written" if placed.linked else "replaced"
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


def _remove(path: Path, keep_folder: bool) -> None:
    if keep_folder:
        return
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        remove_tree(path)
    else:
        path.unlink()


def _remove_strays(dest: Path, owned: Owned, epoch: int) -> None:
    """Entries added by hand: only a folder whose mtime moved is listed."""
    for path in [""] + sorted(p for p, (entry, _, _) in owned.items() if entry.kind == "dir"):
        folder = dest / path if path else dest
        try:
            if os.lstat(folder).st_mtime == epoch:
                continue
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            rel = posixpath.join(path, name) if path else name
            if rel not in owned:
                _remove(folder / name, keep_folder=False)


# -- placing ---------------------------------------------------------------------------------------

_said_copies: set[Path] = set()


def _place(target: Path, entry: Entry, source: Path) -> bool:
    """Create one entry; True when it is a hard link to the part's file."""
    if entry.kind == "dir":
        target.mkdir()
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


def _copy(source: Path, target: Path, entry: Entry) -> None:
    """Across file systems (or where links are refused): a checked copy, said once per folder."""
    folder = target.parents[len(target.parts) - 2] if len(target.parts) > 2 else target.parent
    if folder not in _said_copies:
        _said_copies.add(folder)
        print(f"partsmith: {target.parent} cannot link to the parts' install folders (another file system?): "
              "files are copied")
    if copy_checked(source, target, 0o755 if entry.executable else 0o644) != entry.digest:
        target.unlink()
        raise ChangedSince(source)
    mtime = os.stat(source).st_mtime
    os.utime(target, (mtime, mtime))


def _set_folder_times(dest: Path, owned: Owned, epoch: int) -> None:
    for path in sorted((p for p, (entry, _, _) in owned.items() if entry.kind == "dir"), reverse=True):
        os.utime(dest / path, (epoch, epoch))
    os.utime(dest, (epoch, epoch))


# -- records ---------------------------------------------------------------------------------------

def _read_records(folder: Path) -> dict[str, PartRecord]:
    records = {}
    for path in folder.glob("*.json") if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
            records[path.stem] = PartRecord(data["folder"], {p: Placed.from_json(v) for p, v in data["placed"].items()})
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            path.unlink(missing_ok=True)  # damaged: its entries are checked and placed again
    return records


def _write_records(dest: Path, owned: Owned, previous: dict[str, PartRecord], linked: dict[str, bool]) -> None:
    """One record per part; a part none of whose entries was placed again keeps its file."""
    folder = _records_folder(dest)
    folder.mkdir(exist_ok=True)
    before = {path: placed for record in previous.values() for path, placed in record.placed.items()}
    by_part: dict[str, dict[str, Placed]] = {}
    for path, (entry, _, part) in owned.items():
        placed = _placed(dest / path, entry, linked[path]) if path in linked else before[path]
        by_part.setdefault(part, {})[path] = placed
    folders = _folders(owned)
    for part, placed in by_part.items():
        record = PartRecord(folders[part], placed)
        old = previous.get(part)
        if old is not None and old.folder == record.folder and old.placed == record.placed:
            continue
        temp = folder / f"{part}.json.tmp"
        temp.write_text(json.dumps({"folder": record.folder, "placed": {p: v.to_json() for p, v in placed.items()}}))
        os.replace(temp, folder / f"{part}.json")
    for part in set(previous) - set(by_part):
        (folder / f"{part}.json").unlink(missing_ok=True)


def _placed(target: Path, entry: Entry, linked: bool) -> Placed:
    if entry.kind != "file":
        return Placed(entry)
    info = os.lstat(target)
    return Placed(entry, info.st_ino, info.st_ctime_ns, info.st_nlink, linked)


def _write_summary(summary: Path, owned: Owned) -> None:
    tree = {path: entry.to_json() for path, (entry, _, _) in sorted(owned.items())}
    temp = summary.with_name(summary.name + ".tmp")
    temp.write_text(json.dumps({"entries": len(owned), "tree-digest": digest(tree)}))
    os.replace(temp, summary)
