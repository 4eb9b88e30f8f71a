"""Bytecode compiled once per interpreter, for every part, workspace and rebuild: a cache of .pyc
files beside the store ($PARTSMITH_CACHE_DIR/pyc), each named by a digest of what decides its
bytes: the interpreter's magic number, the invalidation mode (checked-hash) and optimization
level (none), the path compiled in (the file's path inside the venv, as compileall's `-s <venv>
-p /` writes it) and the source's bytes. A file the cache has is copied; the others are compiled
by compileall itself (so the bytes are what compileall gives), in parallel, then kept.

It runs as the venv's own interpreter (its magic number is the one that counts), isolated (-I -S:
no site, so no .pth file imports anything that writes a timestamped .pyc first). Like pip and
compileall -q, a file that does not compile (a py2-only test file) is left without a .pyc.

Bounded with the store by `doit cache-trim` and $PARTSMITH_CACHE_MAX_SIZE: an entry's mtime is
when it was last used (written, or copied out: the driver touches an entry it copies when its
mtime is over TOUCH_EVERY old, so a rebuild loop touches nothing and a trim never sees a used
entry as older than TOUCH_EVERY before its use). Eviction is an unlink, safe against a build
running at the same time: the driver reads an entry through one open descriptor (an entry unlinked
after that is still read whole) and an entry gone before it is a miss, compiled and kept again;
entries are never written in place (temp file, fsync, rename), so there is nothing half-written
to read, and a temp file a killed driver left is swept by a trim once STALE_TEMP old.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

from rules.core import cache_root, cores_per_task

from .errors import PythonError

DRIVER = r"""
import compileall, hashlib, importlib.util, multiprocessing, os, py_compile, sys, tempfile
from concurrent.futures import ProcessPoolExecutor

ROOT, CACHE, JOBS = sys.argv[1], sys.argv[2], int(sys.argv[3])
TOUCH_BEFORE = float(sys.argv[4])  # an entry copied out whose mtime is older is touched
MODE = py_compile.PycInvalidationMode.CHECKED_HASH
# what decides a .pyc's bytes besides its source and path: the interpreter, to the micro version
SALT = (importlib.util.MAGIC_NUMBER + sys.version.encode() + b"\0checked-hash\0optimize=0\0")


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


def put(path, pyc):
    # a file created anew: never written through a link a build left at that name
    if os.path.lexists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(pyc)


def keep(entry, pyc):
    # a temp file, flushed, renamed: a crash leaves no entry half-written, and two builds
    # writing one entry write the same bytes
    os.makedirs(os.path.dirname(entry), exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(entry))
    with os.fdopen(fd, "wb") as out:
        out.write(pyc)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, entry)


def compiled(path):
    # compileall's own work, for exactly its bytes, then kept; a file that does not compile is
    # left without a .pyc, as compileall -q leaves it
    try:
        data = source_of(path)
        made = importlib.util.cache_from_source(path)
        if os.path.lexists(made):
            os.unlink(made)  # a .pyc the wheel shipped (or a link) is not this source's
        compileall.compile_file(path, force=True, quiet=2, invalidation_mode=MODE,
                                stripdir=ROOT, prependdir="/")
        if not os.path.isfile(made) or os.path.islink(made):
            return 0
        with open(made, "rb") as out:
            pyc = out.read()
        if valid(pyc, data):
            try:
                keep(key(path, data), pyc)
            except OSError:
                pass  # a cache that cannot be written costs the next build a compile
        return 1
    except OSError:
        return 0  # a source that cannot be read (a dangling link): no .pyc, as compileall


def sources():
    for folder, subfolders, files in os.walk(os.path.join(ROOT, "lib")):
        cache = os.path.join(folder, "__pycache__")
        if os.path.islink(cache):
            os.unlink(cache)  # a build's link out of the venv: nothing is written through it
        subfolders.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


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


def copied(path):
    try:
        data = source_of(path)
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
    made = importlib.util.cache_from_source(path)
    os.makedirs(os.path.dirname(made), exist_ok=True)
    put(made, pyc)
    return True


every = list(sources())
missing = [path for path in every if not copied(path)]
if len(missing) > 1 and JOBS > 1:
    fork = multiprocessing.get_context("fork")  # a -c script: workers must inherit its functions
    with ProcessPoolExecutor(JOBS, mp_context=fork) as pool:
        made = sum(pool.map(compiled, missing, chunksize=16))
else:
    made = sum(map(compiled, missing))
print(f"partsmith: bytecode: {made} compiled, {len(every) - len(missing)} copied")
"""


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


def compile_venv(install: Path, env: dict[str, str]) -> None:
    """Every module of the venv at `install` compiled, or copied from the pyc cache. A driver
    that fails (not a module that does not compile: that one is skipped) fails the build."""
    done = subprocess.run(
        [
            str(install / "bin" / "python"),
            *("-I", "-S", "-c", DRIVER),
            *(str(install), str(pyc_cache()), str(cores_per_task())),
            str(time.time() - TOUCH_EVERY),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        umask=0o022,
    )
    if done.returncode != 0:
        raise PythonError(
            f"compiling the bytecode of {install.name} failed",
            "\n".join(done.stderr.splitlines()[-10:]),
        )
