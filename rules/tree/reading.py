"""Reading a file once: its sha256, its size, a scan for strings that must not leak, and its
bytes handed on in the same read to a sink (the store's spool) or a copy. Every capture and
checked copy reads through here.

A capture made for the store (a build's output) hands each file's bytes to a `BlobSink`: the
store's spool, which keeps them under temporary names until the store names them by digest. The
action that captures takes no store (`run_action` knows nothing of caches), so the builder sets
the sink around it with `captured_into`; every other capture (verify's, a pull's, a test's) has
none and only hashes.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Protocol

CHUNK = 1 << 20
# a file up to this size is held in memory until hashed, so a sink that holds its digest already
# is not written to (a rebuild's unchanged output: a venv's large libraries are 20-40 MB)
HELD = 64 * CHUNK


class BlobStream(Protocol):
    """A temp file of a sink's, for a file larger than HELD: its digest is known at its end."""

    def write(self, chunk: bytes) -> None: ...

    def finish(self, digest: str) -> None:
        """The bytes written are `digest`'s: kept, unless the sink holds that digest already."""

    def discard(self) -> None: ...


class BlobSink(Protocol):
    """Where a capture writes each file's bytes in the read that hashes them (the store's spool).
    A sink never raises for its own writes: one that fails (a full disk) leaves that blob to the
    store's later copy, and the capture goes on."""

    def write(self, digest: str, chunks: list[bytes]) -> None:
        """A whole file's bytes, hashed: kept, unless the sink (or its store) holds `digest`
        already."""

    def stream(self) -> BlobStream: ...


_SINK: ContextVar[BlobSink | None] = ContextVar("partsmith_capture_sink", default=None)


@contextmanager
def captured_into(sink: BlobSink | None) -> Iterator[None]:
    """Every capture (and captured copy) made inside writes its files to `sink` as it hashes
    them; None: they only hash."""
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)


def capture_sink() -> BlobSink | None:
    """The sink `captured_into` set, if any."""
    return _SINK.get()


class Feed:
    """One file's bytes on their way to a sink: held in memory up to HELD (then given whole with
    their digest, so a blob the store has is never written), streamed to a temp file beyond."""

    __slots__ = ("held", "sink", "size", "stream")

    def __init__(self, sink: BlobSink) -> None:
        self.sink = sink
        self.held: list[bytes] = []
        self.size = 0
        self.stream: BlobStream | None = None

    def add(self, chunk: bytes) -> None:
        if self.stream is not None:
            self.stream.write(chunk)
            return
        self.held.append(chunk)
        self.size += len(chunk)
        if self.size > HELD:
            self.stream = self.sink.stream()
            for held in self.held:
                self.stream.write(held)
            self.held = []

    def done(self, digest: str) -> None:
        if self.stream is None:
            self.sink.write(digest, self.held)
        else:
            self.stream.finish(digest)

    def drop(self) -> None:
        """The read failed: nothing of this file is kept."""
        if self.stream is not None:
            self.stream.discard()


def hash_file(
    path: Path | str, forbidden: tuple[bytes, ...] = (), sink: BlobSink | None = None
) -> tuple[str, int, bool]:
    """sha256 and size of a file, and whether any `forbidden` byte string occurs in it; its bytes
    also go to `sink`, in the same read."""
    feed = Feed(sink) if sink is not None else None
    reader = os.open(path, os.O_RDONLY)  # a descriptor, not a file object: once per file
    try:
        digest, size, found = read_through(reader, forbidden, feed)
    except BaseException:
        if feed is not None:
            feed.drop()
        raise
    finally:
        os.close(reader)
    if feed is not None:
        feed.done(digest)
    return digest, size, found


def read_through(
    reader: int, forbidden: tuple[bytes, ...], feed: Feed | None, writer: int | None = None
) -> tuple[str, int, bool]:
    """Read `reader` to its end once: its sha256, its size and whether any `forbidden` byte
    string occurs in it; each chunk also goes to `feed` and, when given, to `writer`."""
    sha, size, found, tail = hashlib.sha256(), 0, False, b""
    overlap = max((len(f) for f in forbidden), default=1) - 1
    while chunk := os.read(reader, CHUNK):
        sha.update(chunk)
        size += len(chunk)
        if feed is not None:
            feed.add(chunk)
        if forbidden and not found:
            window = tail + chunk
            # their few distinct prefixes first (a sealed sandbox forbids a dozen folders of
            # /partsmith): one scan per prefix, the whole list only where one occurs
            found = any(p in window for p in _prefixes(forbidden)) and any(
                f in window for f in forbidden
            )
            tail = window[-overlap:] if overlap else b""
        while writer is not None and chunk:
            chunk = chunk[os.write(writer, chunk) :]
    return sha.hexdigest(), size, found


@functools.lru_cache(maxsize=8)
def _prefixes(forbidden: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """Distinct leading parts of the forbidden strings (as long as the shortest of them, 10 bytes
    at most): every forbidden string contains one."""
    width = min(10, *(len(f) for f in forbidden))
    return tuple(sorted({f[:width] for f in forbidden}))
