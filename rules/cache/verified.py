"""What the store knows of its blobs' bytes, as git's index knows a work tree's files: a blob whose
bytes were hashed (by a restore) or written from hashed bytes (by a put) is recorded with its stat
data, and a restore copies it without reading it into Python again while its stat is the same.

A record is (size, mtime_ns, ctime_ns, inode). Changing a file's bytes moves its ctime, and
nothing but the system clock sets a ctime back (`touch` and `utime` move it too), so a blob
changed on disk after it was recorded no longer matches and is hashed again (and counts as missing
when its bytes are wrong). A record is made only for a stat whose ctime is older than the moment
the stat was taken by more than a clock tick (a filesystem's timestamps come from a coarse clock:
a change in the same tick could keep the ctime), 2 s for a filesystem whose timestamps are whole
milliseconds or coarser; a blob stored a moment ago is hashed on its first restore instead, as git
smudges a racily clean entry. A store on a network filesystem whose server clock lags this
machine's by more than that tick weakens this (as it does git's index).

Records live beside the blobs, one marshal file per shard (`verified/ab`): replaced whole (temp
and rename, no fsync), merged with what is there when written, lost updates between processes
only cost a hash. A damaged or lost file is no record at all: nothing is trusted that a stat does
not match, so a crash can only make a restore read more.
"""

from __future__ import annotations

import itertools
import marshal
import os
import time
from pathlib import Path

SETTLE_NS = 20_000_000  # two ticks of the coarsest kernel clock (HZ=100)
COARSE_SETTLE_NS = 2_000_000_000  # timestamps of whole milliseconds or coarser (FAT's are 2 s)

Stat = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
_TEMPS = itertools.count()


def stat_of(info: os.stat_result) -> Stat:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def settled(ctime_ns: int, since_ns: int) -> bool:
    """Whether any change made after `since_ns` (a clock reading taken before the stat) must give
    the file a ctime other than `ctime_ns`."""
    margin = COARSE_SETTLE_NS if ctime_ns % 1_000_000 == 0 else SETTLE_NS
    return ctime_ns < since_ns - margin


class Verified:
    """The records of one store (`<cache>/verified/`), read a shard at a time as asked, and the
    changes this process made, written by `save`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.shards: dict[str, dict[str, Stat]] = {}
        self.changed: dict[str, dict[str, Stat | None]] = {}  # None: forget the digest

    def trusts(self, digest: str, info: os.stat_result) -> bool:
        """Whether `info` (a stat of the blob `digest`) is the one recorded when its bytes were
        last known to be right."""
        return self._shard(digest).get(digest) == (
            info.st_size,
            info.st_mtime_ns,
            info.st_ctime_ns,
            info.st_ino,
        )

    def has(self, digest: str) -> bool:
        """Whether `digest` was recorded: its blob was there and right when last seen (not
        proof that it still is)."""
        return digest in self._shard(digest)

    def record(self, digest: str, info: os.stat_result, since_ns: int) -> None:
        """The blob `digest` held its right bytes when `info` was taken (after `since_ns`); kept
        only if a later change is sure to move its ctime."""
        if settled(info.st_ctime_ns, since_ns):
            known = stat_of(info)
            self.shards.setdefault(digest[:2], {})[digest] = known
            self.changed.setdefault(digest[:2], {})[digest] = known

    def forget(self, digest: str) -> None:
        self.shards.get(digest[:2], {}).pop(digest, None)
        self.changed.setdefault(digest[:2], {})[digest] = None

    def save(self) -> None:
        """Write what changed, merged into what each shard's file holds now (another process may
        have written it meanwhile). Best effort: a record not written costs a hash later."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for name, changes in self.changed.items():
                shard = self._read(name)
                for digest, known in changes.items():
                    if known is None:
                        shard.pop(digest, None)
                    else:
                        shard[digest] = known
                self._write(name, shard)
        except OSError:
            pass
        self.changed.clear()

    def prune(self, kept: set[str]) -> None:
        """Drop the records of blobs not in `kept` (a trim removed them), and the temp files of
        writers killed an hour ago."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.name.endswith(".tmp"):
                if path.stat().st_mtime < time.time() - 3600:
                    path.unlink(missing_ok=True)
                continue
            shard = self._read(path.name)
            left = {digest: known for digest, known in shard.items() if digest in kept}
            if len(left) != len(shard):
                self._write(path.name, left)

    def _shard(self, digest: str) -> dict[str, Stat]:
        shard = self.shards.get(digest[:2])
        if shard is None:
            shard = self.shards[digest[:2]] = self._read(digest[:2])
        return shard

    def _read(self, name: str) -> dict[str, Stat]:
        try:
            data = marshal.loads((self.folder / name).read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, name: str, shard: dict[str, Stat]) -> None:
        temp = self.folder / f"{name}.{os.getpid()}.{next(_TEMPS)}.tmp"
        try:
            temp.write_bytes(marshal.dumps(shard))
            os.replace(temp, self.folder / name)
        except OSError:
            temp.unlink(missing_ok=True)
            raise
