"""What every remote cache backend shares: the interface `remote.fetch` and `remote.upload` drive,
bounded retries, and the outage that costs a run one warning.

A backend (HTTP in http_remote.py, REAPI gRPC in grpc_remote.py) moves bytes and nothing more:
it never checks a blob against its digest (remote.py does, once, for every backend), and every
failure it cannot retry away ends in `give_up`, which marks the server down for the whole run.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TypeVar
from urllib.parse import SplitResult, urlsplit

from rules.core import cache_root

from ..errors import Transient, Unavailable

TIMEOUT = 10.0  # seconds for a small request (an action result, a lookup)
DEADLINE = 120.0  # seconds for one transfer of blobs, however slowly the bytes trickle in
ATTEMPTS = 3
PARALLEL = 8
AC_LIMIT = 64 << 20  # an action result (or its record) larger than this is not one of ours

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Blob:
    """A blob to send: its size is known at once, its bytes are read only when it is sent."""

    size: int
    load: Callable[[], bytes]


def _marker(url: str) -> Path:
    """Where the processes of one doit run (-n N) tell each other that the server failed."""
    run = multiprocessing.parent_process()
    run_id = run.pid if run is not None else os.getpid()
    name = hashlib.sha256(f"{run_id} {url}".encode()).hexdigest()[:24]
    return cache_root() / "remote-down" / name


def _mark_down(url: str) -> bool:
    """Mark the server failed for this run; True for the one process that marked it first."""
    marker = _marker(url)
    marker.parent.mkdir(parents=True, exist_ok=True)
    for old in marker.parent.iterdir():  # markers of runs long gone
        if time.time() - old.stat().st_mtime > 86400:
            old.unlink(missing_ok=True)
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def split_url(url: str, schemes: tuple[str, ...]) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError("PARTSMITH_REMOTE_CACHE is not an http(s):// or grpc(s):// URL")
    if parts.username or parts.password:
        raise ValueError(
            "PARTSMITH_REMOTE_CACHE holds credentials: put them in PARTSMITH_REMOTE_HEADER"
        )
    return parts


def parallel(work: Callable[[T], U], items: Iterable[T]) -> list[U]:
    from concurrent.futures import (
        ThreadPoolExecutor,
    )  # only a run that talks to a server pays for it

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(work, items))


@dataclass
class Remote:
    """One configured server, and the interface both backends implement."""

    url: str
    upload: bool = False
    down: bool = False
    announce: bool = False  # this process is the one that tells the user the server failed
    distrusted: set[str] = field(default_factory=set)  # blobs the server served corrupt

    def attempt(self, call: Callable[[], T]) -> T:
        """`call` up to ATTEMPTS times while it fails with Transient; then the server is down."""
        if self.down or _marker(self.url).exists():
            self.down = True
            raise Unavailable("an earlier request failed")
        reason = ""
        for number in range(ATTEMPTS):
            try:
                return call()
            except Transient as err:
                reason = str(err)
            time.sleep(0.2 * 2**number)
        self.give_up(reason)

    def give_up(self, reason: str) -> NoReturn:
        self.down = True
        self.announce = (
            _mark_down(self.url) or self.announce
        )  # the first process of the run to fail says so
        raise Unavailable(reason)

    # -- the interface: every method may raise Unavailable ---------------------------------------

    def get_result(self, key: str) -> bytes | None:
        """The action result stored under `key` (None: a miss); Oversized if it is too large."""
        raise NotImplementedError

    def put_result(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def read_blobs(self, sizes: dict[str, int]) -> dict[str, bytes | None]:
        """The bytes the server holds for these blobs, unchecked. A blob the server lacks is left
        out; None stands for an answer that cannot be that blob (larger than its size)."""
        raise NotImplementedError

    def missing_blobs(self, sizes: dict[str, int]) -> set[str]:
        raise NotImplementedError

    def write_blobs(self, blobs: dict[str, Blob]) -> None:
        raise NotImplementedError
