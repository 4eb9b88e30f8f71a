"""The store's spool: blobs a capture wrote as it hashed them, under temporary names until the
store syncs them and names them by digest (see store.py)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from rules.tree import copy_checked

from .verified import Verified

_SPOOLS = itertools.count()  # with the pid, a name of each spool's own: no two write one temp


class Spool:
    """Blobs a capture wrote as it hashed them (a `rules.tree.BlobSink`), under temp names until
    `Store.put_tree` syncs the filesystem and names them by digest. Never trusted before that:
    nothing here is under a final name, and every temp holds exactly the bytes that were hashed
    into its digest. A write that fails (a full disk, a read-only cache) stops the spooling, not
    the capture: the store copies what the spool lacks from the output, or warns as before."""

    def __init__(self, cas: Path, known: Verified | None = None) -> None:
        self.cas = str(cas)
        self.known = known  # the store's records: a blob it verified needs no stat to be seen
        self.token = f"{os.getpid()}.{next(_SPOOLS)}"
        self.held: dict[str, str] = {}  # digest -> the temp holding its bytes
        self.temps: set[str] = set()  # every temp made and not yet named or removed
        self.shards: set[str] = set()
        self.broken = False
        self.count = itertools.count()

    # -- the capture's side (BlobSink): never raises for the store's own writes ----------------

    def write(self, digest: str, chunks: list[bytes]) -> None:
        if self.broken or digest in self.held or self._stored(digest):
            return
        temp = f"{self._final(digest)}.{self.token}.tmp"
        try:
            self._shard(digest)
            self._make(temp, chunks)
        except OSError:
            self._give_up(temp)
            return
        self.held[digest] = temp

    def stream(self) -> _Stream:
        return _Stream(self)

    # -- the store's side -------------------------------------------------------------------------

    def temp_for(self, digest: str, source: str) -> str | None:
        """The temp to name `digest` from, copied from `source` when the capture did not write
        it; None when the store holds the blob already (a temp held is named without asking:
        its bytes are the digest's, whoever named that blob meanwhile)."""
        held = self.held.get(digest)
        if held is not None:
            return held
        if os.path.exists(self._final(digest)):
            return None
        temp = f"{self._final(digest)}.{self.token}.tmp"
        self._shard(digest)
        self.temps.add(temp)
        if copy_checked(source, temp, 0o444) != digest:
            raise OSError(f"{source} changed since it was captured")
        self.held[digest] = temp
        return temp

    def name(self, temp: str, digest: str) -> None:
        """Give a synced temp its final name."""
        os.replace(temp, self._final(digest))
        self.temps.discard(temp)
        del self.held[digest]

    def close(self) -> None:
        """Remove every temp nobody named."""
        for temp in self.temps:
            Path(temp).unlink(missing_ok=True)
        self.temps.clear()
        self.held.clear()

    # -- helpers ---------------------------------------------------------------------------------

    def _final(self, digest: str) -> str:
        return f"{self.cas}/{digest[:2]}/{digest}"

    def _stored(self, digest: str) -> bool:
        """Whether the store holds `digest`, as far as a capture needs to know: a record of it
        answers without a system call (a hint: `temp_for` looks again, under the store's lock,
        and copies from the output a blob gone meanwhile)."""
        if self.known is not None and self.known.has(digest):
            return True
        return os.path.exists(self._final(digest))

    def _shard(self, digest: str) -> None:
        if digest[:2] not in self.shards:
            os.makedirs(f"{self.cas}/{digest[:2]}", exist_ok=True)
            self.shards.add(digest[:2])

    def _make(self, temp: str, chunks: list[bytes]) -> None:
        self.temps.add(temp)
        writer = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(writer, view) :]
            os.fchmod(writer, 0o444)  # whatever the umask
        finally:
            os.close(writer)

    def _give_up(self, temp: str) -> None:
        self.broken = True
        Path(temp).unlink(missing_ok=True)
        self.temps.discard(temp)

    def _adopt(self, temp: str, digest: str) -> None:
        """A streamed temp, now known to hold `digest`: kept unless held already."""
        if digest in self.held or self._stored(digest):
            self._drop(temp)
            return
        final_temp = f"{self._final(digest)}.{self.token}.tmp"
        try:
            self._shard(digest)
            os.rename(temp, final_temp)  # beside its final name: cas/tmp holds only open streams
        except OSError:
            self._give_up(temp)
            return
        self.temps.discard(temp)
        self.temps.add(final_temp)
        self.held[digest] = final_temp

    def _drop(self, temp: str) -> None:
        Path(temp).unlink(missing_ok=True)
        self.temps.discard(temp)

    def _stream_temp(self) -> str:
        return f"{self.cas}/tmp/{self.token}.{next(self.count)}.tmp"


class _Stream:
    """A spool's temp for one file larger than a capture holds in memory (a `BlobStream`)."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.temp = spool._stream_temp()
        self.writer = -1
        if spool.broken:
            return
        try:
            os.makedirs(os.path.dirname(self.temp), exist_ok=True)
            spool.temps.add(self.temp)
            self.writer = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except OSError:
            spool._give_up(self.temp)

    def write(self, chunk: bytes) -> None:
        if self.writer < 0:
            return
        try:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self.writer, view) :]
        except OSError:
            self._close()
            self.spool._give_up(self.temp)

    def finish(self, digest: str) -> None:
        if self.writer < 0:
            return
        try:
            os.fchmod(self.writer, 0o444)
        except OSError:
            self.discard()
            self.spool.broken = True
            return
        self._close()
        self.spool._adopt(self.temp, digest)

    def discard(self) -> None:
        if self.writer >= 0:
            self._close()
            self.spool._drop(self.temp)

    def _close(self) -> None:
        os.close(self.writer)
        self.writer = -1
