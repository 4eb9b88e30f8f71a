"""Bytecode compiled once per interpreter, for every part, workspace and rebuild: a cache of .pyc
files beside the store ($PARTSMITH_CACHE_DIR/pyc), each named by a digest of what decides its
bytes: the interpreter's magic number, the invalidation mode (checked-hash) and optimization
level (none), the path compiled in (the file's path inside the venv, as compileall's `-s <venv>
-p /` writes it) and the source's bytes. A file the cache has is copied; the others are compiled
by compileall itself (so the bytes are what compileall gives), in parallel, then kept.

It runs as the venv's own interpreter (its magic number is the one that counts), isolated (-I -S:
no site, so no .pth file imports anything that writes a timestamped .pyc first). Like pip and
compileall -q, a file that does not compile (a py2-only test file) is left without a .pyc.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from rules.core import cache_root, cores_per_task

from .errors import PythonError

DRIVER = r"""
import compileall, hashlib, importlib.util, multiprocessing, os, py_compile, sys, tempfile
from concurrent.futures import ProcessPoolExecutor

ROOT, CACHE, JOBS = sys.argv[1], sys.argv[2], int(sys.argv[3])
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


def copied(path):
    try:
        data = source_of(path)
        with open(key(path, data), "rb") as entry:
            pyc = entry.read()
    except OSError:
        return False
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


def pyc_cache() -> Path:
    return cache_root() / "pyc"


def compile_venv(install: Path, env: dict[str, str]) -> None:
    """Every module of the venv at `install` compiled, or copied from the pyc cache. A driver
    that fails (not a module that does not compile: that one is skipped) fails the build."""
    done = subprocess.run(
        [
            str(install / "bin" / "python"),
            *("-I", "-S", "-c", DRIVER),
            *(str(install), str(pyc_cache()), str(cores_per_task())),
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
