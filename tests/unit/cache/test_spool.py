"""The store's spool: a captured output reaches the store in the read that hashes it, and nothing
of it is trusted (under a final name) before its bytes are synced and known to be its digest's."""

import hashlib
import os
from pathlib import Path

import pytest

from rules.cache import spool as spool_module
from rules.cache import store as store_module
from rules.cache.cached_action import CachedAction, Produced, run_cached
from rules.cache.store import Store
from rules.tree import reading as reading_module
from rules.tree.reading import CHUNK, captured_into
from rules.tree.tree import capture
from rules.tree.writing import copy_captured

EPOCH = 1591640328
HELD = 2 * CHUNK  # what these tests let a capture hold in memory (64 MiB otherwise)
BIG = os.urandom(HELD + 12345)  # more than that: streamed to a temp


@pytest.fixture(autouse=True)
def small_held(monkeypatch):
    monkeypatch.setattr(reading_module, "HELD", HELD)


def output(root: Path) -> Path:
    """A small output: two identical files, an empty one, an executable, a large one, a link."""
    (root / "lib").mkdir(parents=True)
    (root / "a.txt").write_text("same bytes\n")
    (root / "lib" / "b.txt").write_text("same bytes\n")
    (root / "empty").write_bytes(b"")
    (root / "run").write_text("#!/bin/sh\n")
    os.chmod(root / "run", 0o755)
    (root / "lib" / "big.bin").write_bytes(BIG)
    os.symlink("a.txt", root / "link")
    return root


def files_in(store: Store) -> list[Path]:
    return sorted(p for p in store.cas.rglob("*") if p.is_file())


def assert_blobs_true(store: Store) -> None:
    """Every file of the store is a blob under its own digest: no temp left, no lying name."""
    for path in files_in(store):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, path


def test_a_spooled_capture_gives_the_same_tree_and_stores_each_digest_once(tmp_path):
    plain = capture(output(tmp_path / "plain"), EPOCH).tree
    store = Store(tmp_path / "cache")
    with store.spooling() as spool:
        captured = capture(output(tmp_path / "out"), EPOCH, sink=spool)
        assert all(p.name.endswith(".tmp") for p in files_in(store))  # nothing final yet
        store.put_tree(captured.tree, tmp_path / "out", spool)

    assert captured.tree == plain
    digests = {e.digest for e in plain.values() if e.kind == "file"}
    assert sorted(p.name for p in files_in(store)) == sorted(digests)  # "same bytes" once
    assert_blobs_true(store)
    assert all(os.stat(p).st_mode & 0o777 == 0o444 for p in files_in(store))


def test_the_put_reads_nothing_the_capture_spooled(tmp_path, monkeypatch):
    """The bytes stored are the ones captured: the put neither re-reads nor re-copies the output
    (the output may even be gone by then)."""
    store = Store(tmp_path / "cache")
    folder = output(tmp_path / "out")

    def no_copy(*args):
        raise AssertionError(f"the put read {args[0]} again")

    monkeypatch.setattr(spool_module, "copy_checked", no_copy)
    with store.spooling() as spool:
        tree = capture(folder, EPOCH, sink=spool).tree
        (folder / "a.txt").chmod(0o644)
        (folder / "a.txt").write_text("changed afterwards\n")
        store.put("k" * 64, {}, tree, folder, spool=spool)

    assert store.blob(tree["a.txt"].digest).read_bytes() == b"same bytes\n"
    assert store.blob(tree["lib/big.bin"].digest).read_bytes() == BIG
    assert store.get("k" * 64).tree == tree
    assert_blobs_true(store)


def test_nothing_gets_a_final_name_before_the_sync(tmp_path, monkeypatch):
    store = Store(tmp_path / "cache")
    synced = []

    def sync(folder):
        synced.append([p for p in files_in(store) if not p.name.endswith(".tmp")])

    monkeypatch.setattr(store_module, "_sync", sync)
    with store.spooling() as spool:
        tree = capture(output(tmp_path / "out"), EPOCH, sink=spool).tree
        store.put_tree(tree, tmp_path / "out", spool)
    assert synced == [[]]  # one sync, and no blob named before it
    assert len(files_in(store)) == 4
    assert_blobs_true(store)


def test_a_capture_that_fails_midway_leaves_nothing_in_the_store(tmp_path, monkeypatch):
    """An exception in the middle of the batch (here the ninth read fails, inside the large
    file, once it is streamed to a temp, after two small files were spooled): the spool's temps
    go with it, and no blob was ever under a final name."""
    store = Store(tmp_path / "cache")
    folder = output(tmp_path / "out")
    reads, temps = [], []
    real_read = os.read

    def failing_read(fd, size):
        reads.append(fd)
        if len(reads) == 9:
            temps.extend(files_in(store))
            raise OSError(5, "Input/output error")
        return real_read(fd, size)

    monkeypatch.setattr(reading_module.os, "read", failing_read)
    with pytest.raises(OSError), store.spooling() as spool:
        capture(folder, EPOCH, sink=spool)
    assert len(reads) == 9
    assert len(temps) == 3 and all(p.name.endswith(".tmp") for p in temps)  # 2 held, 1 stream
    assert files_in(store) == []


def test_a_put_that_fails_after_the_sync_leaves_only_true_blobs(tmp_path, monkeypatch):
    store = Store(tmp_path / "cache")
    real_replace, renames = os.replace, []

    def failing_replace(src, dst):
        renames.append(dst)
        if len(renames) == 2:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(spool_module.os, "replace", failing_replace)
    with pytest.raises(OSError), store.spooling() as spool:
        tree = capture(output(tmp_path / "out"), EPOCH, sink=spool).tree
        store.put("k" * 64, {}, tree, tmp_path / "out", spool=spool)
    assert len(files_in(store)) == 1  # the one renamed before the failure, whole
    assert_blobs_true(store)
    assert store.get("k" * 64) is None


def test_a_leaking_output_is_refused_and_nothing_of_it_is_trusted(tmp_path):
    """A capture that finds a forbidden string still says so; the build fails on it, before
    anything is stored, and the spool's temps go."""
    store = Store(tmp_path / "cache")
    folder = output(tmp_path / "out")
    (folder / "leak.txt").write_text("built in /sandbox/root/install\n")
    with pytest.raises(RuntimeError), store.spooling() as spool:
        found = capture(folder, EPOCH, (b"/sandbox/root",), sink=spool)
        assert found.leaks == ["leak.txt"]
        raise RuntimeError("refused")  # what _accepted does
    assert files_in(store) == []


def test_a_blob_the_store_holds_is_not_written_again(tmp_path):
    store = Store(tmp_path / "cache")
    with store.spooling() as spool:
        tree = capture(output(tmp_path / "one"), EPOCH, sink=spool).tree
        store.put_tree(tree, tmp_path / "one", spool)
    before = {p: os.stat(p).st_ino for p in files_in(store)}

    with store.spooling() as spool:
        capture(output(tmp_path / "two"), EPOCH, sink=spool)
        assert spool.held == {}  # held in memory and known, or streamed and dropped
        assert spool.temps == set()
        store.put_tree(tree, tmp_path / "two", spool)
    assert {p: os.stat(p).st_ino for p in files_in(store)} == before


def test_a_blob_trimmed_between_capture_and_put_is_copied_from_the_output(tmp_path):
    """The capture skipped a blob the store held; gone by the put (a trim), it is read from the
    output, checked, as a put without a spool does."""
    store = Store(tmp_path / "cache")
    store.put_tree(capture(output(tmp_path / "one"), EPOCH).tree, tmp_path / "one")
    with store.spooling() as spool:
        tree = capture(output(tmp_path / "two"), EPOCH, sink=spool).tree
        store.blob(tree["a.txt"].digest).unlink()
        store.put_tree(tree, tmp_path / "two", spool)
    assert store.blob(tree["a.txt"].digest).read_bytes() == b"same bytes\n"
    assert_blobs_true(store)


def test_a_spool_that_cannot_write_leaves_the_capture_whole_and_the_put_copies(
    tmp_path, monkeypatch
):
    """A full disk under the store fails no build: the capture goes on, the put copies."""
    store = Store(tmp_path / "cache")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool_module.Spool, "_make", full)
    monkeypatch.setattr(spool_module.os, "makedirs", full)
    plain = capture(output(tmp_path / "plain"), EPOCH).tree
    with store.spooling() as spool:
        tree = capture(output(tmp_path / "out"), EPOCH, sink=spool).tree
        assert spool.broken and spool.held == {}
    assert tree == plain
    monkeypatch.undo()
    store.put_tree(tree, tmp_path / "out")
    assert len(files_in(store)) == 4
    assert_blobs_true(store)


def test_a_captured_copy_spools_too(tmp_path, monkeypatch):
    """dump's copy of its source (hashed as it is copied) writes the store in that same read."""
    store = Store(tmp_path / "cache")
    source = output(tmp_path / "source")
    plain = capture(output(tmp_path / "plain"), EPOCH).tree
    monkeypatch.setattr(spool_module, "copy_checked", None)  # the put must not copy
    with store.spooling() as spool, captured_into(spool):
        tree = copy_captured(source, tmp_path / "copy", frozenset(), EPOCH).tree
        store.put_tree(tree, tmp_path / "copy", spool)
    assert tree == plain
    assert len(files_in(store)) == 4
    assert_blobs_true(store)


def test_only_captures_inside_captured_into_spool(tmp_path):
    store = Store(tmp_path / "cache")
    with store.spooling() as spool:
        with captured_into(spool):
            capture(output(tmp_path / "inside"), EPOCH)
        held = dict(spool.held)
        capture(output(tmp_path / "outside"), EPOCH)  # verify's, a pull's: no sink
        assert len(held) == 4 and spool.held == held


def test_run_cached_stores_what_produce_captured_into_its_spool(tmp_path, monkeypatch):
    from rules.cache import cached_action

    monkeypatch.setattr(cached_action, "fetch_from_remote", lambda store, key: False)
    monkeypatch.setattr(cached_action, "upload_to_remote", lambda *args: None)
    monkeypatch.setattr(spool_module, "copy_checked", None)  # the put must not copy
    store = Store(tmp_path / "cache")
    folder = tmp_path / "out"

    def produce() -> Produced:
        with captured_into(spool):
            return Produced(folder, capture(output(folder), EPOCH).tree)

    with store.spooling() as spool:
        ran = run_cached(
            CachedAction(
                "build:demo",
                store,
                "k" * 64,
                {"rule": "demo"},
                folder,
                EPOCH,
                produce=produce,
                publish=lambda fresh, tree: None,
                made="built",
                spool=spool,
            )
        )
    assert ran.outcome == "built"
    assert store.get("k" * 64).tree == ran.tree
    assert len(files_in(store)) == 4
    assert_blobs_true(store)
