"""What a remote hit adds to the local store, against a concurrent cache-trim: in process, with a
fake server (the transfers themselves are tested against real nginx and BuildGrid)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import pytest

from rules.cache.remote import client as remote
from rules.cache.remote import reapi
from rules.cache.store import UNNAMED_GRACE, Store
from rules.core.hashing import digest
from rules.tree.tree import Entry, to_json

FILES = {"a.txt": b"one file of the part\n", "b.txt": b"another\n"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeRemote:
    """A server holding one action result: the files of FILES and partsmith's record."""

    url = "http://fake"
    down = False
    announce = True
    upload = False

    def __init__(self) -> None:
        self.record = {"part": "p"}
        tree = {path: Entry("file", sha(data), len(data)) for path, data in FILES.items()}
        payload = json.dumps({"record": self.record, "tree": json.loads(to_json(tree))}).encode()
        self.blobs = {sha(data): data for data in [*FILES.values(), payload]}
        outputs = [reapi.OutputFile(path, sha(data), len(data)) for path, data in FILES.items()]
        self.result = reapi.encode(
            reapi.ActionResult(
                (*outputs, reapi.OutputFile(remote.RECORD_PATH, sha(payload), len(payload)))
            )
        )
        self.distrusted: set[str] = set()

    @property
    def key(self) -> str:
        return digest(self.record)

    def get_result(self, key: str) -> bytes | None:
        return self.result if key == self.key else None

    def read_blobs(self, sizes: dict[str, int]) -> dict[str, bytes]:
        return {blob: self.blobs[blob] for blob in sizes if blob in self.blobs}


@pytest.fixture
def server(monkeypatch) -> FakeRemote:
    fake = FakeRemote()
    monkeypatch.setattr(remote, "remote_from_environment", lambda: fake)
    return fake


def test_a_trim_during_a_remote_fetch_cannot_delete_the_blobs_it_is_adding(
    tmp_path, server, monkeypatch
):
    """cache-trim deletes every blob no result names. The fetch adds its blobs before the result
    that names them, so a trim between the two would leave a result whose file is gone; the
    store's lock keeps the trim out until the result is written."""
    store = Store(tmp_path / "cache")
    trims: list[threading.Thread] = []
    add_blobs = store.add_blobs

    def add_blobs_then_trim(blobs: dict[str, bytes]) -> None:
        add_blobs(blobs)
        trim = threading.Thread(target=store.trim, args=(1 << 40,))  # a limit that evicts no result
        trim.start()
        trim.join(timeout=1)  # done at once without the lock; held back until the result with it
        trims.append(trim)

    monkeypatch.setattr(store, "add_blobs", add_blobs_then_trim)
    assert remote.fetch_from_remote(store, server.key)
    trims[0].join()
    result = store.get(server.key)
    assert result is not None
    assert all(store.blob(entry.digest).is_file() for entry in result.tree.values())


def test_a_blob_trimmed_after_it_was_seen_in_the_store_makes_the_fetch_a_miss(
    tmp_path, server, monkeypatch
):
    """The fetch downloads only the blobs the store lacks; one it had when it looked, which a
    trim removes before the lock is taken, would be named by a result without its bytes: the
    fetch is a miss instead (the part is built here)."""
    store = Store(tmp_path / "cache")
    store.add_blobs({sha(FILES["a.txt"]): FILES["a.txt"]})  # held, but named by no result
    old = time.time() - 2 * UNNAMED_GRACE  # and old: a trim takes it (it keeps young ones)
    os.utime(store.blob(sha(FILES["a.txt"])), (old, old))
    read_blobs = server.read_blobs

    def read_then_trim(sizes: dict[str, int]) -> dict[str, bytes]:
        served = read_blobs(sizes)
        if sha(FILES["b.txt"]) in sizes:  # the download of the files takes a while: a trim runs
            store.trim(1 << 40)
        return served

    monkeypatch.setattr(server, "read_blobs", read_then_trim)
    assert not remote.fetch_from_remote(store, server.key)
    assert store.get(server.key) is None
