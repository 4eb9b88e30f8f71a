"""The link farm's records: one per part (`<dest>.d/<part>`, marshal), every path the part brings
with its row, and the summary (`<dest>.json`) written last. See linkfarm.py for what they decide."""

from __future__ import annotations

import errno
import hashlib
import json
import marshal
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rules.core import write_atomic
from rules.tree import (
    Entry,
)

# A record's row for one path: the entry's five fields, then whether this part placed it, and for
# a placed file the inode, ctime and link count after linking, whether it is a hard link, and its
# mtime (SOURCE_DATE_EPOCH of the build that made it).
Row = tuple


OWNED = 5


FORMAT = 3  # of the records; a record of another format is not trusted (the folder is built anew)


@dataclass
class PartRecord:
    folder: tuple[int, int, int]  # `identity` of the folder the part's files were linked from
    fingerprint: tuple | None  # Source.fingerprint when the record was written
    claims: dict[str, Row]  # every path the part brings

    def dump(self) -> bytes:
        return marshal.dumps((FORMAT, self.folder, self.fingerprint, self.claims))

    @staticmethod
    def load(data: bytes) -> PartRecord:
        version, folder, fingerprint, claims = marshal.loads(data)
        if version != FORMAT or not isinstance(claims, dict):
            raise ValueError("another format")
        return PartRecord(tuple(folder), fingerprint, claims)

    def placed(self) -> Iterable[tuple[str, Row]]:
        return ((path, row) for path, row in self.claims.items() if row[OWNED])


def recorded_tree(dest: Path) -> dict[str, Entry]:
    """What the last complete assemble put in `dest` (pack reads prime this way)."""
    if read_summary(dest) is None:
        raise FileNotFoundError(errno.ENOENT, "not assembled", str(summary_path(dest)))
    found = {
        path: Entry._make(row[:5])
        for record in read_records(records_folder(dest)).values()
        for path, row in record.placed()
    }
    return dict(sorted(found.items()))


def records_folder(dest: Path) -> Path:
    return dest.with_name(dest.name + ".d")


def summary_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".json")


def new_row(root: str, path: str, entry: Entry, placing: bool) -> Row:
    if not placing or entry.kind != "file":
        return (*entry, placing, 0, 0, 0, False, 0)
    info = os.lstat(f"{root}/{path}")
    linked = info.st_nlink > 1  # a copy (across file systems) has an inode of its own
    return (*entry, True, info.st_ino, info.st_ctime_ns, info.st_nlink, linked, info.st_mtime_ns)


def identity(folder: Path) -> tuple[int, int, int]:
    """A rebuilt or restored install folder is a new folder: its inode tells them apart, and its
    ctime (set when it was renamed into place) tells a new folder from an old one whose inode
    number was reused."""
    info = os.stat(folder)
    return (info.st_dev, info.st_ino, info.st_ctime_ns)


def read_records(folder: Path) -> dict[str, PartRecord]:
    records = {}
    for name in os.listdir(folder) if folder.is_dir() else []:
        if name.endswith(".tmp"):
            continue
        try:
            records[name] = PartRecord.load((folder / name).read_bytes())
        except (OSError, EOFError, ValueError, TypeError, IndexError):
            (folder / name).unlink(
                missing_ok=True
            )  # damaged: not trusted, the folder is built anew
    return records


def read_summary(dest: Path) -> tuple[bytes, dict] | None:
    try:
        data = summary_path(dest).read_bytes()
        summary = json.loads(data)
        return (data, summary) if isinstance(summary.get("records"), dict) else None
    except (OSError, ValueError, AttributeError):
        return None


def write_records(
    dest: Path, outcome: Outcome, previous: dict[str, PartRecord], summary: dict | None
) -> int:
    """The records that changed, then the summary, written last: the mark of a complete assemble.
    It names every record by digest, so a task depending on it (pack on prime) reruns when what
    was placed changed. Returns the number of entries placed."""
    folder = records_folder(dest)
    folder.mkdir(exist_ok=True)
    digests = {} if summary is None else dict(summary["records"])
    for part in sorted(outcome.rewritten):
        data = outcome.records[part].dump()
        write_atomic(folder / part, data)
        digests[part] = hashlib.sha256(data).hexdigest()
    for part in set(previous) - set(outcome.records):
        (folder / part).unlink(missing_ok=True)
    digests = {part: digests[part] for part in sorted(outcome.records)}
    entries = sum(1 for record in outcome.records.values() for _ in record.placed())
    write_atomic(
        summary_path(dest), json.dumps({"entries": entries, "records": digests}, sort_keys=True)
    )
    return entries


@dataclass
class Outcome:
    """What an assemble leaves: every part's record, and which of them changed."""

    records: dict[str, PartRecord]
    rewritten: set[str]
