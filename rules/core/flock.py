"""Locks between doit processes that share a build root.

An action holds its part's lock with flock and hands the locked descriptor to the action's
processes: if doit is killed, a build script it leaves running keeps the part locked until that
script ends, so the next run waits instead of building into a sandbox still being written.
(filelock's locks live in the parent alone, which is right for the stage, not for actions.)
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def action_lock(path: Path, what: str) -> Iterator[int]:
    """Hold an exclusive flock on `path`; yields the descriptor for the action to inherit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"{what}: waiting for another run of it to end "
                "(another doit, or one a killed doit left running)"
            )
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


@contextmanager
def flocked(path: Path, exclusive: bool) -> Iterator[None]:
    """Hold a flock on `path`: shared (any number of holders at once) or exclusive (one, and no
    shared holder). Released when the process dies, so a killed holder never blocks the next run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)
