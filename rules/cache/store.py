"""The local content-addressed store: blobs by sha256, action results by key.

Layout under the cache root: `cas/ab/abcd…` (file bytes, read-only), `ac/<key>.json` (an action
result: its key record and the Tree of its output). Blobs are written to temp files, flushed to
disk once per batch (syncfs), then renamed; the action result is written last, the same way, so
a crash at any moment leaves either nothing or temp files nobody reads. A restore hashes a blob
while copying it unless the store verified it before and its stat data (size, mtime, ctime,
inode) has not moved since (`verified.py`, git's index for the store); then the kernel copies it
(copy_file_range), in two threads. A blob whose bytes no longer match its name counts as missing,
is removed, and the action runs again — it never reaches an install folder.

A build's output reaches the store in the read that captures it: a `Spool` (the capture's sink)
writes each file's bytes to a temp file as they are hashed (`cas/ab/<digest>.<spool>.tmp`, or
`cas/tmp/<spool>.<n>.tmp` for a file larger than the capture holds in memory, named once its
digest is known), so `put_tree` has only to sync and rename them. A temp's bytes are the very
buffer that was hashed: its name cannot lie. Temps nobody names are removed when the spool
closes (a failed build, a leak refused), or by `trim` an hour later (a killed process).

Restores copy (never hard-link): a write to stage/ or an install folder must not be able to reach
a cached blob, and running as root ignores read-only modes.
"""

from __future__ import annotations

import collections
import ctypes
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rules.core import flocked, remove_tree, write_atomic
from rules.tree import (
    Entry,
    Tree,
    copy_hashed_from,
    copy_known,
    file_mode,
    from_data,
    link_escapes,
    write_tree,
)

from .spool import Spool
from .verified import Verified

_LIBC = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Result:
    key: str
    record: dict
    tree: dict[str, Entry]
    values: dict[str, str] = field(default_factory=dict)  # what `craftctl set` said


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.cas = root / "cas"
        self.ac = root / "ac"

    # -- blobs ---------------------------------------------------------------------------------

    def blob(self, digest: str) -> Path:
        return self.cas / digest[:2] / digest

    @contextmanager
    def spooling(self) -> Iterator[Spool]:
        """A spool for captures to write into (`rules.tree.captured_into`), for `put` to name;
        what it holds when this ends unnamed is removed."""
        spool = Spool(self.cas, self.verified())
        try:
            yield spool
        finally:
            spool.close()

    def put_tree(self, tree: Tree, folder: Path, spool: Spool | None = None) -> None:
        """Store every file of `tree` that the store does not hold yet: the temp `spool` wrote
        while capturing it, else a copy read from `folder` (checked against its digest)."""
        own = spool is None
        spool = Spool(self.cas) if spool is None else spool
        try:
            named = {}  # one temp per digest, however many files share it
            root = str(folder)
            for path, entry in tree.items():  # strings, not Paths: this runs once per output file
                if entry.kind == "file" and entry.digest not in named:
                    temp = spool.temp_for(entry.digest, f"{root}/{path}")
                    if temp is not None:
                        named[entry.digest] = temp
            if named:
                _sync(self.cas)
            for digest, temp in named.items():
                spool.name(temp, digest)
        finally:
            if own:
                spool.close()
        self._note_written(named)

    def _note_written(self, digests: Iterable[str]) -> None:
        """Record the blobs just named: their bytes are the ones hashed into their names (the
        temps are this process's own), so a restore need not hash them again. A blob named less
        than a clock tick ago is left for the first restore to hash."""
        known, cas = self.verified(), str(self.cas)
        for digest in digests:
            since = time.time_ns()
            try:
                info = os.stat(f"{cas}/{digest[:2]}/{digest}")
            except OSError:
                continue
            known.record(digest, info, since)
        known.save()

    def restore(self, tree: Tree, dest: Path, epoch: int) -> bool:
        """Materialize `tree` into the new folder `dest` from blobs; False when a blob is missing
        or corrupt (that blob is removed, so the next store write repairs it) or the Tree is not
        one a capture could have produced."""
        try:
            check_tree(dict(tree))
            return self._restore(tree, dest, epoch)
        except (OSError, ValueError):
            return False

    def _restore(self, tree: Tree, dest: Path, epoch: int) -> bool:
        cas = str(self.cas)
        known = self.verified()
        since = time.time_ns()  # before every stat this restore takes
        queued: list[tuple[Entry, str]] = []

        def copy(entry: Entry, target: str) -> bool:
            try:
                reader = os.open(f"{cas}/{entry.digest[:2]}/{entry.digest}", os.O_RDONLY)
            except FileNotFoundError:
                return False
            try:
                return self._copy_blob(reader, entry, target, (epoch, since), known)
            finally:
                os.close(reader)

        def queue(_path: str, entry: Entry, target: str) -> bool:
            queued.append((entry, target))
            return True

        try:
            return write_tree(tree, dest, epoch, queue, lambda: _in_threads(copy, queued))
        finally:
            known.save()

    def _copy_blob(
        self, reader: int, entry: Entry, target: str, times: tuple[int, int], known: Verified
    ) -> bool:
        """Copy the open blob of `entry` to `target`: in the kernel when its stat is the one
        recorded when its bytes were last known right, before and after the copy (a change during
        it moves the ctime); else hashed on the way, and recorded when right."""
        epoch, since = times
        digest, mode = entry.digest, file_mode(entry)
        before = os.fstat(reader)
        if known.trusts(digest, before):
            copy_known(reader, target, mode, epoch, before.st_size)
            if known.trusts(digest, os.fstat(reader)):
                return True
            os.unlink(target)  # changed while it was copied: read it again, hashing
            known.forget(digest)
            before = os.fstat(reader)
        if copy_hashed_from(reader, target, mode, epoch)[0] != digest:
            os.unlink(self.blob(digest))  # corrupt: gone, so the rebuild stores good bytes again
            known.forget(digest)
            return False
        known.record(digest, before, since)
        return True

    def verified(self) -> Verified:
        """What the store knows of its blobs' bytes (see verified.py)."""
        return Verified(self.root / "verified")

    # -- action results --------------------------------------------------------------------------

    def result_path(self, key: str) -> Path:
        return self.ac / f"{key}.json"

    def get(self, key: str) -> Result | None:
        path = self.result_path(key)
        try:
            data = json.loads(path.read_text())
            result = Result(
                key, data["record"], from_data(data["tree"]), dict(data.get("values", {}))
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            remove_tree(path)  # damaged, or not what partsmith writes: a miss, and gone
            # (a Tree that parses but could not come from a capture is refused by `restore`)
            return None
        os.utime(path)  # least recently used eviction reads this
        return result

    def writing(self) -> AbstractContextManager[None]:
        """Held by every writer from its first blob to the result naming them, and taken alone
        by `trim`: a trim deletes every blob no result names, so it must not run in between.
        Writers share it (their temp files have names of their own): the parts that `doit -n N`
        builds at once store their outputs at once."""
        return flocked(self.root / "store.lock", exclusive=False)

    def trimming(self) -> AbstractContextManager[None]:
        return flocked(self.root / "store.lock", exclusive=True)

    def put(
        self,
        key: str,
        record: dict,
        tree: Tree,
        folder: Path,
        values: dict[str, str] | None = None,
        spool: Spool | None = None,
    ) -> None:
        """Store the blobs of `tree` (what `spool` wrote as it was captured, else from `folder`),
        then the result that refers to them."""
        with self.writing():
            self.put_tree(tree, folder, spool)
            self.put_result(key, record, tree, values)

    def add_blobs(self, blobs: dict[str, bytes]) -> None:
        """Store blobs already checked against their digests (fetched from a remote cache)."""
        pending = []
        for digest, data in blobs.items():
            final = self.blob(digest)
            final.parent.mkdir(parents=True, exist_ok=True)
            temp = final.with_name(f"{final.name}.{os.getpid()}.tmp")
            temp.write_bytes(data)
            os.chmod(temp, 0o444)
            pending.append((temp, final))
        if pending:
            _sync(self.cas)
        for temp, final in pending:
            os.replace(temp, final)
        self._note_written(blobs)

    def put_result(
        self, key: str, record: dict, tree: Tree, values: dict[str, str] | None = None
    ) -> None:
        """Write the action result last, once every blob it names is stored. `values`: what the
        build said with `craftctl set` (a version), an output like the files."""
        self.ac.mkdir(parents=True, exist_ok=True)
        data = {
            "record": record,
            "tree": {path: entry.to_json() for path, entry in tree.items()},
            **({"values": values} if values else {}),
        }
        write_atomic(self.result_path(key), json.dumps(data, sort_keys=True), durable=True)

    # -- size and eviction ----------------------------------------------------------------------

    def stats(self) -> dict:
        results = list(self.ac.glob("*.json")) if self.ac.is_dir() else []
        blobs = self._blob_sizes()
        size = sum(blobs.values()) + sum(p.stat().st_size for p in results)
        return {"results": len(results), "blobs": len(blobs), "bytes": size}

    def trim(self, max_bytes: int) -> int:
        """Drop blobs no result refers to, then evict least recently used results (and the blobs
        only they used) until the store fits in `max_bytes`; returns how many results went.
        A blob no result names yet but younger than an hour is kept: a pull fetches its locked
        files into the store before it stores the result naming them, without holding the
        store's lock for the whole download."""
        with self.trimming():
            results = (
                sorted(self.ac.glob("*.json"), key=lambda p: p.stat().st_mtime)
                if self.ac.is_dir()
                else []
            )
            uses = {path: self._digests(path) for path in results}
            count = Counter(digest for digests in uses.values() for digest in digests)
            sizes = self._blob_sizes()
            fresh = time.time() - UNNAMED_GRACE
            for name in [
                name
                for name in sizes
                if count[name] == 0 and self.blob(name).stat().st_mtime < fresh
            ]:
                self.blob(name).unlink(missing_ok=True)
                del sizes[name]
            total = sum(sizes.values()) + sum(path.stat().st_size for path in results)
            evicted = 0
            while results and total > max_bytes:
                oldest = results.pop(0)
                total -= oldest.stat().st_size
                oldest.unlink(missing_ok=True)
                evicted += 1
                for name in uses[oldest]:
                    count[name] -= 1
                    if count[name] == 0 and name in sizes:
                        self.blob(name).unlink(missing_ok=True)
                        total -= sizes.pop(name)
            self.verified().prune(set(sizes))
            return evicted

    def _digests(self, result: Path) -> set[str]:
        try:
            tree = json.loads(result.read_text())["tree"]
        except (OSError, ValueError, KeyError):
            return set()
        return {entry["sha256"] for entry in tree.values() if entry["kind"] == "file"}

    def _blob_sizes(self) -> dict[str, int]:
        """Every finished blob's size; temp files of writers that died an hour ago go away."""
        sizes = {}
        stale = time.time() - 3600
        for path in self.cas.glob("*/*") if self.cas.is_dir() else []:
            info = path.stat()
            if path.name.endswith(".tmp"):
                if info.st_mtime < stale:
                    path.unlink(missing_ok=True)
            else:
                sizes[path.name] = info.st_size
        return sizes


DIGEST = re.compile(r"[0-9a-f]{64}")
UNNAMED_GRACE = 3600  # seconds a blob no result names yet is kept by trim


def check_tree(tree: dict[str, Entry]) -> None:
    """A Tree read from the store or a remote must be one a capture could have produced: relative
    paths without NUL that stay inside, every parent a folder of the Tree (so nothing is written
    through a link), known kinds, sha256 digests, relative links that resolve inside. Anything
    else is damage (or an attack) and raises ValueError."""
    for path, entry in tree.items():
        names = path.split("/")  # no empty name: not absolute, no "//", no trailing "/"
        if "" in names or "." in names or ".." in names or "\0" in path:
            raise ValueError(f"bad path {path!r}")
        parent = path.rpartition("/")[0]
        if parent and (parent not in tree or tree[parent].kind != "dir"):
            raise ValueError(f"{path!r} is not inside a folder of the tree")
        if entry.kind not in ("file", "dir", "symlink") or (
            entry.kind == "file" and not DIGEST.fullmatch(entry.digest)
        ):
            raise ValueError(f"bad entry for {path!r}")
        if entry.kind == "symlink" and ("\0" in entry.target or link_escapes(tree, path)):
            raise ValueError(f"symlink {path!r} leaves the tree")


COPY_THREADS = 2  # the copies' system calls release the GIL; 1 or 2 (see _in_threads)


def _in_threads(copy: Callable[[Entry, str], bool], queued: list[tuple[Entry, str]]) -> bool:
    """Run `copy` on every queued file, in two threads: this one from the first file on, the
    other from the last one back (so they create files in different folders, whose locks they
    would otherwise wait for); False (and no more copies started) once one returns False."""
    pending = collections.deque(queued)
    failed: list[BaseException | None] = []

    def work(take: Callable[[], tuple[Entry, str]]) -> None:
        try:
            while not failed:
                entry, target = take()
                if not copy(entry, target):
                    failed.append(None)
        except IndexError:  # nothing left to take
            pass
        except BaseException as err:
            failed.append(err)

    helper = None
    if COPY_THREADS > 1 and len(queued) > 1:
        helper = threading.Thread(target=work, args=(pending.pop,))
        helper.start()
    work(pending.popleft)
    if helper is not None:
        helper.join()
    for err in failed:
        if err is not None:
            raise err
    return not failed


def _sync(folder: Path) -> None:
    """Flush the store's filesystem once for a whole batch of blobs (an fsync per file costs
    ~0.3 ms each here: 12 s for 40,000 files)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        if _LIBC.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)
