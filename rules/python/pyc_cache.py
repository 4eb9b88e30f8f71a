"""Bytecode compiled once per interpreter, for every part, workspace and rebuild: a cache of .pyc
files beside the store ($PARTSMITH_CACHE_DIR/pyc), each named by a digest of what decides its
bytes: the interpreter's magic number, the invalidation mode (checked-hash) and optimization
level (none), the driver compiling (a digest of its text), the path compiled in (the file's path
inside the venv, as compileall's `-s <venv> -p /` writes it) and the source's bytes. A file the
cache has is copied; the others are compiled as compileall compiles them (py_compile's own steps),
in parallel, then kept. marshal flags objects referenced more than once, so a .pyc's bytes also
depend on the modules the compiling process has loaded: they are compileall's for nearly every
module (of 2,441 in partsmith's own venv, one differs by a flag, as it did with compileall in
the driver before), and always the same for one interpreter and driver, which the key holds. The
driver runs while the venv's other files are captured (compiling.py): it writes only
`__pycache__` folders, each of which the capture takes once the driver reports it written.

It runs as the venv's own interpreter (its magic number is the one that counts), which must be
the part's (compiling.py refuses any other in a sealed build), isolated (-I -S:
no site, so no .pth file imports anything that writes a timestamped .pyc first). Like pip and
compileall -q, a file that does not compile (a py2-only test file) is left without a .pyc.

Bounded with the store by `doit cache-trim` and $PARTSMITH_CACHE_MAX_SIZE: an entry's mtime is
when it was last used (written, or copied out: the driver touches an entry it copies when its
mtime is over TOUCH_EVERY old, so a rebuild loop touches nothing and a trim never sees a used
entry as older than TOUCH_EVERY before its use). Eviction is an unlink, safe against a build
running at the same time: the driver reads an entry through one open descriptor (an entry unlinked
after that is still read whole) and an entry gone before it is a miss, compiled and kept again;
entries are never written in place (temp files, one syncfs for the batch, renames), so there is
nothing half-written to read, and a temp file a killed driver left is swept by a trim once
STALE_TEMP old.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import NamedTuple

from rules.core import cache_root

DRIVER = r"""
import hashlib, importlib.util, multiprocessing, os, sys, tempfile
from concurrent.futures import ProcessPoolExecutor
from importlib._bootstrap_external import _code_to_hash_pyc  # what py_compile writes

# marshal flags an object referenced more than once (an identifier some loaded module also
# names), so a .pyc's bytes depend on the modules its compiler has loaded: compileall's own are
# loaded (its bytes, for nearly every module), and besides them only the pool's (ctypes comes
# after the workers). The key holds this text's digest: one driver, one set of bytes.
import compileall, py_compile  # noqa: F401

ROOT, CACHE, JOBS = sys.argv[1], sys.argv[2], int(sys.argv[3])
TOUCH_BEFORE = float(sys.argv[4])  # an entry copied out whose mtime is older is touched
REPORT = int(sys.argv[6])  # a pipe: each folder whose __pycache__ is written, as it is (NUL ends
# each: a folder's name may hold a newline, never a NUL)
# what decides a .pyc's bytes besides its source and path: the interpreter, to the micro version
# and this driver (its digest, argv[5]): how it compiles decides them too (see the imports)
SALT = (importlib.util.MAGIC_NUMBER + sys.version.encode() + b"\0checked-hash\0optimize=0\0"
        + sys.argv[5].encode())


def source_of(path):
    with open(path, "rb") as source:
        return source.read()


def key(path, data):
    digest = hashlib.sha256(SALT + ("/" + os.path.relpath(path, ROOT)).encode() + b"\0" + data)
    name = digest.hexdigest()
    return os.path.join(CACHE, name[:2], name)


def valid(pyc, data):
    # checked-hash flags (3) and the source's hash: an entry damaged on disk is never used
    flags, checked = pyc[4:8], pyc[8:16]
    return len(pyc) > 16 and flags == b"\3\0\0\0" and checked == importlib.util.source_hash(data)


MADE = set()  # the folders this process has made (or found): one mkdir each, not one a file


def folder_of(path):
    folder = os.path.dirname(path)
    if folder not in MADE:
        os.makedirs(folder, exist_ok=True)
        MADE.add(folder)
    return folder


def written(fd, data):
    with memoryview(data) as left:
        while left:
            left = left[os.write(fd, left):]


def put(path, pyc):
    # a file created anew: never written through a link (or a .pyc) a build left at that name
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    folder_of(path)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        os.unlink(path)
        fd = os.open(path, flags, 0o644)
    try:
        written(fd, pyc)
    finally:
        os.close(fd)


def kept(entry, pyc):
    # a temp file beside the entry, named by the driver once the whole batch is synced: a crash
    # leaves no entry half-written, and two builds writing one entry write the same bytes
    fd, temp = tempfile.mkstemp(dir=folder_of(entry))
    try:
        written(fd, pyc)
    finally:
        os.close(fd)
    return temp, entry


def compiled(path, data):
    # what compileall -s ROOT -p / --invalidation-mode checked-hash writes (its py_compile:
    # compile() under the path inside the venv, then a checked-hash .pyc), without
    # its second read of the source, its own temp file and our read back; a file that does not
    # compile is left without a .pyc, as compileall -q leaves it
    made = importlib.util.cache_from_source(path)
    dfile = "/" + os.path.relpath(path, ROOT)  # held, as py_compile holds it (see the imports)
    try:
        code = compile(data, dfile, "exec", dont_inherit=True)
    except Exception:
        try:
            os.unlink(made)  # a .pyc the wheel shipped (or a link) is not this source's
        except OSError:
            pass
        return None
    pyc = _code_to_hash_pyc(code, importlib.util.source_hash(data), True)
    try:
        put(made, pyc)  # in place of a .pyc the wheel shipped, or a link
    except OSError:
        return None  # no room for it (a file named __pycache__): skipped, as compileall skips
    try:
        return kept(key(path, data), pyc)
    except OSError:
        return ()  # a cache that cannot be written costs the next build a compile


def used(fd):
    # one descriptor: an entry a trim unlinks now is still read whole (raw calls: the fstat that
    # gives the size also gives the mtime, so marking the entry used costs nothing most times)
    info = os.fstat(fd)
    pyc = os.read(fd, info.st_size)
    while len(pyc) < info.st_size:
        more = os.read(fd, info.st_size - len(pyc))
        if not more:
            break
        pyc += more
    if info.st_mtime < TOUCH_BEFORE:
        try:
            os.utime(fd)  # least recently used eviction reads this
        except OSError:
            pass  # an entry that cannot be touched is still good
    return pyc


def copied(path, data):
    try:
        fd = os.open(key(path, data), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False  # not kept, or evicted: a miss
    try:
        pyc = used(fd)
    except OSError:
        return False
    finally:
        os.close(fd)
    if not valid(pyc, data):
        return False
    try:
        put(importlib.util.cache_from_source(path), pyc)
    except OSError:
        return False  # compiled instead, which says why not
    return True


def bytecode(path):
    # "copied"; a (temp, entry) to name; () compiled, not kept; None: no .pyc
    try:
        data = source_of(path)
    except OSError:
        return None  # a source that cannot be read (a dangling link): no .pyc, as compileall
    return "copied" if copied(path, data) else compiled(path, data)


def sources():
    lib = os.path.join(ROOT, "lib")
    if os.path.islink(lib):
        return  # a build's link out of the venv: nothing is compiled through it
    for folder, subfolders, files in os.walk(lib):
        cache = os.path.join(folder, "__pycache__")
        if os.path.islink(cache):
            os.unlink(cache)  # a build's link out of the venv: nothing is written through it
        # as compileall: nothing inside a __pycache__ folder is compiled (its .pyc would land
        # after that folder was reported written)
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def synced(folder):
    # one flush of the cache's filesystem for the whole batch (an fsync per entry costs
    # ~0.3 ms each on a disk: seconds for a large venv), then every entry named
    import ctypes  # here, after the workers: see compileall's import above

    fd = os.open(folder, os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def reported(outcomes):
    # outcomes come in the order of `every`, where each folder's sources follow one another: a
    # folder is written once its last source's outcome has come (its worker wrote it first)
    done, folders = [], [os.path.dirname(path) for path in every]
    with open(REPORT, "w", encoding="utf-8", errors="surrogateescape") as report:
        for n, outcome in enumerate(outcomes):
            done.append(outcome)
            if n + 1 == len(folders) or folders[n + 1] != folders[n]:
                report.write(os.path.relpath(folders[n], ROOT) + "/\0")
                report.flush()
    return done


every = list(sources())
if len(every) > 1 and JOBS > 1:
    fork = multiprocessing.get_context("fork")  # a -c script: workers must inherit its functions
    # the workers close their copy of the report pipe: the reports end when the driver does,
    # even killed alone
    closed = {"initializer": os.close, "initargs": (REPORT,)}
    with ProcessPoolExecutor(JOBS, mp_context=fork, **closed) as pool:
        done = reported(pool.map(bytecode, every, chunksize=16))
else:
    done = reported(map(bytecode, every))
named = [outcome for outcome in done if isinstance(outcome, tuple) and outcome]
if named:
    try:
        synced(CACHE)
        for temp, entry in named:
            os.replace(temp, entry)
    except OSError:
        pass  # a cache that cannot be written costs the next build a compile; a trim sweeps
copies = done.count("copied")
print(f"partsmith: bytecode: {sum(o is not None for o in done) - copies} compiled, {copies} copied")
"""


DRIVER_DIGEST = hashlib.sha256(DRIVER.encode()).hexdigest()
TOUCH_EVERY = 600  # seconds: how stale an entry's mtime may be as its last use
STALE_TEMP = 3600  # seconds: a temp file this old was left by a driver that died
ENTRY = re.compile(r"[0-9a-f]{64}")


class PycEntry(NamedTuple):
    mtime: float  # its last use, up to TOUCH_EVERY earlier
    size: int
    path: Path


def pyc_cache() -> Path:
    return cache_root() / "pyc"


def pyc_entries(sweep: bool = False) -> list[PycEntry]:
    """Every finished entry of the pyc cache, least recently used first. With `sweep`, temp files
    of drivers that died (killed mid-write) STALE_TEMP ago are removed; younger ones are being
    written and are neither entries nor removed."""
    found = []
    stale = time.time() - STALE_TEMP
    try:
        shards = [
            item.path for item in os.scandir(pyc_cache()) if item.is_dir(follow_symlinks=False)
        ]
    except FileNotFoundError:
        return []
    for shard in shards:
        try:
            items = list(os.scandir(shard))
        except FileNotFoundError:
            continue  # removed by hand meanwhile
        for item in items:
            try:
                info = item.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # evicted by another trim meanwhile
            if ENTRY.fullmatch(item.name) and item.is_file(follow_symlinks=False):
                found.append(PycEntry(info.st_mtime, info.st_size, Path(item.path)))
            elif sweep and info.st_mtime < stale and not item.is_dir(follow_symlinks=False):
                Path(item.path).unlink(missing_ok=True)
    return sorted(found)


def evict_pyc(entries: list[PycEntry]) -> int:
    """Remove these entries (a build reading one now still reads it whole; one that opens it later
    misses and compiles); returns the bytes freed."""
    freed = 0
    for entry in entries:
        try:
            entry.path.unlink()
        except FileNotFoundError:
            continue  # another trim took it
        freed += entry.size
    return freed
