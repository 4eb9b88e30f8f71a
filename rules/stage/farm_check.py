"""The link farm's up-to-date check: one lstat of each placed entry against its part's record,
which tells an intact entry from one written through its link, replaced, or added by hand."""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from rules.tree import (
    hash_file,
)

from .farm_records import OWNED, PartRecord, Row, read_records, read_summary, records_folder
from .farm_watch import clock_before, remember, still_intact

INTACT = ("intact", "changed")  # "changed": a folder whose mtime moved (its strays are removed)


def farm_is_intact(dest: Path, epoch: int, linked_from: list[Path] | None = None) -> bool:
    """doit's up-to-date check: the last assemble completed and every entry is as it left it
    (one lstat each: nothing written through, replaced, added or removed by hand). With watchman
    and `linked_from` (every folder the entries may be linked from), no lstat when nothing there
    changed since the last check that looked."""
    root = str(dest)
    found_intact.pop(root, None)  # what an earlier check found says nothing now
    summary = read_summary(dest)
    if summary is None or not dest.is_dir():
        return False
    if linked_from is not None and still_intact(dest, summary[0]):
        if os.lstat(root).st_mtime == epoch:
            found_intact[root] = (summary[0], None)
            return True
    clock = clock_before(dest) if linked_from is not None else None
    records = read_records(records_folder(dest))
    if set(records) != set(summary[1]["records"]):
        return False
    for record in records.values():
        for path, row in record.claims.items():
            if row[OWNED] and row_state(f"{root}/{path}", row, epoch) != "intact":
                return False
    if os.lstat(root).st_mtime != epoch:
        return False
    found_intact[root] = (summary[0], records)
    if clock is not None and linked_from is not None:  # a run without watchman keeps the clock
        remember(dest, clock, summary[0], linked_from)
    return True


def entry_states(root: str, records: dict[str, PartRecord], epoch: int) -> dict[str, str]:
    """Each placed entry's state, parents first; nothing below a folder that is no longer ours is
    looked at (it may be a symlink made by hand: never followed)."""
    rows = {path: row for record in records.values() for path, row in record.placed()}
    states: dict[str, str] = {}
    for path in sorted(rows):
        parent = posixpath.dirname(path)
        if parent and states.get(parent, "intact") not in INTACT:
            states[path] = "under"
        else:
            states[path] = row_state(f"{root}/{path}", rows[path], epoch)
    return states


def row_state(path: str, row: Row, epoch: int) -> str:
    """intact | changed (a folder whose mtime moved: entries were added or removed by hand) |
    written (the inode we linked was changed) | replaced (something else is there) | gone
    (under: below a folder that is not intact, set by `entry_states`)."""
    try:
        info = os.lstat(path)
    except OSError:
        return "gone"
    kind, digest, size, executable, target, _, ino, ctime_ns, nlink, linked, mtime_ns = row
    if kind == "dir":
        if not stat.S_ISDIR(info.st_mode):
            return "replaced"
        return "intact" if info.st_mtime == epoch else "changed"
    if kind == "symlink":
        return (
            "intact" if stat.S_ISLNK(info.st_mode) and os.readlink(path) == target else "replaced"
        )
    if not stat.S_ISREG(info.st_mode) or info.st_ino != ino:
        return "replaced"
    if (
        info.st_size != size
        or info.st_mtime_ns != mtime_ns
        or stat.S_IMODE(info.st_mode) != (0o755 if executable else 0o644)
    ):
        return "written" if linked else "replaced"
    if info.st_ctime_ns != ctime_ns and info.st_nlink == nlink:  # a new link moves the ctime too
        # Only the ctime moved: a write that set the mtime back, or a link made and removed since
        # (prime's, on `doit clean prime`). The bytes decide; an intact file is linked again,
        # which records its new ctime.
        return "written" if linked and hash_file(path)[0] != digest else "replaced"
    return "intact"


# What is_intact found intact in this process (the summary's bytes and the records it read, or
# None when watchman vouched for them unread):
# when doit then runs the stage anyway (a part was rebuilt), the update neither reads the records
# nor lstats every entry again. It is trusted only while the summary is the one it was found with
# (under `doit -n N` a worker forked after the check inherits it on the same terms).
found_intact: dict[str, tuple[bytes, dict[str, PartRecord] | None]] = {}
