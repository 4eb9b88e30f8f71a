"""The store's records of verified blobs: a blob whose stat is the one recorded when its bytes were
known right is copied without being read into Python; any change on disk after that (its ctime
moves) makes it hashed again, and counted as missing when its bytes are wrong."""

import errno
import hashlib
import os
import time
from pathlib import Path

import pytest

from rules.cache import spool as spool_module
from rules.cache import store as store_module
from rules.cache import verified as verified_module
from rules.cache.store import Store
from rules.cache.verified import Verified, settled
from rules.tree import writing
from rules.tree.tree import capture

EPOCH = 1591640328


def output(root: Path, files: int = 30) -> Path:
    (root / "lib").mkdir(parents=True)
    for n in range(files):
        (root / "lib" / f"m{n}.py").write_text(f"module {n}\n" * (n + 1))
    (root / "run").write_text("#!/bin/sh\n")
    os.chmod(root / "run", 0o755)
    (root / "empty").write_bytes(b"")
    os.symlink("run", root / "link")
    return root


def stored(tmp_path: Path) -> tuple[Store, dict]:
    src = output(tmp_path / "src")
    tree = capture(src, EPOCH).tree
    store = Store(tmp_path / "cache")
    store.put("k" * 64, {}, tree, src)
    return store, tree


def settle(where: Path | None = None) -> None:
    """Wait until what was just written is older than a clock tick (a record is made then), or
    than 2 s where timestamps are coarse (whole milliseconds)."""
    probe = (where or Path("/tmp")) / ".probe"
    probe.write_bytes(b"")
    coarse = probe.stat().st_ctime_ns % 1_000_000 == 0
    probe.unlink()
    margin = verified_module.COARSE_SETTLE_NS if coarse else verified_module.SETTLE_NS
    time.sleep(2 * margin / 1e9)


def hashed_reads(monkeypatch) -> list[str]:
    """The digests a restore copied by hashing them (each such copy reads the blob into Python)."""
    seen: list[str] = []
    real = store_module.copy_hashed_from

    def counting(reader, target, *args, **kwargs):
        found = real(reader, target, *args, **kwargs)
        seen.append(found[0])
        return found

    monkeypatch.setattr(store_module, "copy_hashed_from", counting)
    return seen


def same_files(a: Path, b: Path) -> None:
    for path in a.rglob("*"):
        other = b / path.relative_to(a)
        if path.is_symlink():
            assert os.readlink(other) == os.readlink(path)
        elif path.is_file():
            assert other.read_bytes() == path.read_bytes()
            assert other.stat().st_mode == path.stat().st_mode
            assert other.stat().st_mtime == EPOCH


def test_a_blob_whose_stat_matches_its_record_is_not_read_again(tmp_path, monkeypatch):
    store, tree = stored(tmp_path)
    settle(tmp_path)
    assert store.restore(tree, tmp_path / "first", EPOCH)  # the put's last blobs: too fresh
    reads = hashed_reads(monkeypatch)
    read_calls: list[int] = []
    real_read = os.read

    def counting_read(fd, size):
        read_calls.append(fd)
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", counting_read)
    assert store.restore(tree, tmp_path / "second", EPOCH)
    monkeypatch.setattr(os, "read", real_read)
    assert reads == [] and read_calls == []
    same_files(tmp_path / "src", tmp_path / "second")


def test_a_blob_changed_on_disk_after_it_was_verified_is_missing_and_removed(tmp_path):
    store, tree = stored(tmp_path)
    settle(tmp_path)
    assert store.restore(tree, tmp_path / "first", EPOCH)
    digest = tree["lib/m3.py"].digest
    blob = store.blob(digest)
    before = blob.stat()
    os.chmod(blob, 0o644)  # as root (or a user who chmods it) could
    blob.write_bytes(b"X" * before.st_size)  # same size
    os.chmod(blob, 0o444)
    os.utime(blob, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same mtime
    assert blob.stat().st_ctime_ns != before.st_ctime_ns
    assert not store.restore(tree, tmp_path / "second", EPOCH)
    assert not blob.exists()


def test_a_blob_touched_but_right_is_hashed_once_and_trusted_again(tmp_path, monkeypatch):
    store, tree = stored(tmp_path)
    settle(tmp_path)
    assert store.restore(tree, tmp_path / "first", EPOCH)
    digest = tree["lib/m3.py"].digest
    os.utime(store.blob(digest))  # the ctime moves, the bytes do not
    settle(tmp_path)
    reads = hashed_reads(monkeypatch)
    assert store.restore(tree, tmp_path / "second", EPOCH)
    assert reads == [digest]
    reads.clear()
    assert store.restore(tree, tmp_path / "third", EPOCH)
    assert reads == []


def test_a_blob_changed_while_it_is_copied_is_hashed_and_refused(tmp_path, monkeypatch):
    store, tree = stored(tmp_path)
    settle(tmp_path)
    assert store.restore(tree, tmp_path / "first", EPOCH)
    victim = store.blob(tree["lib/m5.py"].digest)
    real = store_module.copy_known

    def copy_then_change(reader, target, mode, mtime, size):
        real(reader, target, mode, mtime, size)
        if os.fstat(reader).st_ino == victim.stat().st_ino:
            os.chmod(victim, 0o644)
            with open(victim, "r+b") as blob:
                blob.write(b"#")
            os.chmod(victim, 0o444)

    monkeypatch.setattr(store_module, "copy_known", copy_then_change)
    assert not store.restore(tree, tmp_path / "second", EPOCH)
    assert not victim.exists()


def test_the_puts_blobs_are_recorded_once_settled(tmp_path, monkeypatch):
    """A put writes its blobs from the bytes it hashed: a restore after it reads none of them
    (those named within a clock tick of the record are left to the first restore)."""
    monkeypatch.setattr(verified_module, "SETTLE_NS", 0)
    monkeypatch.setattr(verified_module, "COARSE_SETTLE_NS", 0)
    store, tree = stored(tmp_path)
    reads = hashed_reads(monkeypatch)
    assert store.restore(tree, tmp_path / "out", EPOCH)
    assert reads == []
    same_files(tmp_path / "src", tmp_path / "out")


def test_a_fresh_ctime_is_never_recorded():
    now = time.time_ns()
    tick = verified_module.SETTLE_NS
    assert not settled(now - 1000, now)  # changed in the clock's current tick: could change again
    assert settled(now - 2 * tick, now)
    whole_ms = (now // 1_000_000) * 1_000_000  # a filesystem with coarse timestamps
    assert not settled(whole_ms - 2 * tick, now)
    assert settled(whole_ms - 3_000_000_000, now)


def test_a_damaged_or_foreign_record_file_is_no_record(tmp_path, monkeypatch):
    store, tree = stored(tmp_path)
    settle(tmp_path)
    assert store.restore(tree, tmp_path / "first", EPOCH)
    shards = list((store.root / "verified").iterdir())
    assert shards
    for n, shard in enumerate(shards):
        shard.write_bytes([b"", b"\x00" * 40, b"garbage", b"[\x00\x00\x00\x00"][n % 4])
    reads = hashed_reads(monkeypatch)
    assert store.restore(tree, tmp_path / "second", EPOCH)
    assert len(reads) == len({e.digest for e in tree.values() if e.kind == "file"})


def test_a_record_of_a_replaced_blob_is_not_trusted(tmp_path, monkeypatch):
    """Same bytes under a new inode (a store copied back, a blob written again): hashed."""
    store, tree = stored(tmp_path)
    settle(tmp_path)
    assert store.restore(tree, tmp_path / "first", EPOCH)
    digest = tree["run"].digest
    blob = store.blob(digest)
    copy = blob.with_name("copy")
    copy.write_bytes(blob.read_bytes())
    os.replace(copy, blob)
    reads = hashed_reads(monkeypatch)
    assert store.restore(tree, tmp_path / "second", EPOCH)
    assert reads == [digest]


def test_trim_drops_the_records_of_the_blobs_it_removes(tmp_path):
    store, tree = stored(tmp_path)
    settle(tmp_path)
    assert store.restore(tree, tmp_path / "first", EPOCH)
    digests = {e.digest for e in tree.values() if e.kind == "file"}
    known = Verified(store.root / "verified")
    assert all(known.trusts(d, store.blob(d).stat()) for d in digests)
    store.trim(0)  # evicts the one result, and its blobs
    left: dict = {}
    for shard in (store.root / "verified").iterdir():
        left |= verified_module.Verified(store.root / "verified")._read(shard.name)
    assert left == {}


def test_a_missing_blob_among_many_fails_the_restore_in_threads(tmp_path):
    store, tree = stored(tmp_path)
    store.blob(tree["lib/m7.py"].digest).unlink()
    assert not store.restore(tree, tmp_path / "out", EPOCH)


def test_an_error_in_a_copying_thread_fails_the_restore(tmp_path, monkeypatch):
    store, tree = stored(tmp_path)
    settle(tmp_path)
    assert store.restore(tree, tmp_path / "first", EPOCH)

    def broken(*_args):
        raise OSError(errno.ENOSPC, "full")

    monkeypatch.setattr(store_module, "copy_known", broken)
    assert not store.restore(tree, tmp_path / "second", EPOCH)


@pytest.mark.parametrize("refusal", [errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP])
def test_a_kernel_copy_refused_falls_back_to_sendfile(tmp_path, monkeypatch, refusal):
    def refused(*_args, **_kwargs):
        raise OSError(refusal, "no")

    monkeypatch.setattr(writing.os, "copy_file_range", refused)
    data = os.urandom(3 << 20) + b"tail"
    (tmp_path / "src").write_bytes(data)
    reader = os.open(tmp_path / "src", os.O_RDONLY)
    try:
        writing.copy_known(reader, str(tmp_path / "dst"), 0o755, EPOCH, len(data))
    finally:
        os.close(reader)
    assert (tmp_path / "dst").read_bytes() == data
    assert (tmp_path / "dst").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "dst").stat().st_mtime == EPOCH
    assert hashlib.sha256((tmp_path / "dst").read_bytes()).hexdigest()


def test_a_capture_asks_no_stat_of_the_blobs_the_store_recorded(tmp_path, monkeypatch):
    """A rebuild that makes the same output: the spool sees from the records that the store
    holds each blob (the put still looks, under the store's lock)."""
    store, tree = stored(tmp_path)
    settle(tmp_path)
    assert store.restore(tree, tmp_path / "first", EPOCH)
    asked: list[str] = []
    real = spool_module.os.path.exists

    def counting(path):
        asked.append(path)
        return real(path)

    monkeypatch.setattr(spool_module.os.path, "exists", counting)
    with store.spooling() as spool:
        again = capture(tmp_path / "src", EPOCH, sink=spool).tree
        assert asked == [] and spool.held == {}
        store.put("k" * 64, {}, again, tmp_path / "src", spool=spool)
    assert again == tree


def test_a_recorded_blob_gone_before_the_put_is_copied_from_the_output(tmp_path):
    """A record is a hint for the capture, never proof for the put: a blob removed by hand (its
    record left behind) is stored again from the output."""
    store, tree = stored(tmp_path)
    settle(tmp_path)
    assert store.restore(tree, tmp_path / "first", EPOCH)
    gone = store.blob(tree["lib/m9.py"].digest)
    gone.unlink()
    with store.spooling() as spool:
        again = capture(tmp_path / "src", EPOCH, sink=spool).tree
        store.put("k" * 64, {}, again, tmp_path / "src", spool=spool)
    assert hashlib.sha256(gone.read_bytes()).hexdigest() == gone.name
    assert store.restore(tree, tmp_path / "second", EPOCH)


def test_blobs_added_checked_are_recorded_too(tmp_path, monkeypatch):
    """A remote cache's blobs, checked against their digests when fetched, are not hashed again
    by the restore that follows."""
    monkeypatch.setattr(verified_module, "SETTLE_NS", 0)
    monkeypatch.setattr(verified_module, "COARSE_SETTLE_NS", 0)
    src = output(tmp_path / "src")
    tree = capture(src, EPOCH).tree
    store = Store(tmp_path / "cache")
    store.add_blobs({e.digest: (src / p).read_bytes() for p, e in tree.items() if e.kind == "file"})
    reads = hashed_reads(monkeypatch)
    assert store.restore(tree, tmp_path / "out", EPOCH)
    assert reads == []
