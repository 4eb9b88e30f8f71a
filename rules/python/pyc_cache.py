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

DRIVER = r"""
import compileall, hashlib, importlib.util, os, py_compile, shutil, sys, tempfile
from concurrent.futures import ProcessPoolExecutor

ROOT, CACHE, JOBS = sys.argv[1], sys.argv[2], int(sys.argv[3])
MODE = py_compile.PycInvalidationMode.CHECKED_HASH
SALT = importlib.util.MAGIC_NUMBER + b"\0checked-hash\0optimize=0\0"


def key(path):
    digest = hashlib.sha256(SALT + ("/" + os.path.relpath(path, ROOT)).encode() + b"\0")
    with open(path, "rb") as source:
        digest.update(source.read())
    name = digest.hexdigest()
    return os.path.join(CACHE, name[:2], name)


def compiled(path):
    # compileall's own work, for exactly its bytes; then kept (a temp file renamed: a crash
    # leaves no half-written entry, and two builds writing one key write the same bytes)
    made = importlib.util.cache_from_source(path)
    if os.path.exists(made):
        os.unlink(made)  # a .pyc the wheel shipped is not this source's, if it fails to compile
    compileall.compile_file(path, force=True, quiet=2, invalidation_mode=MODE,
                            stripdir=ROOT, prependdir="/")
    if not os.path.exists(made):
        return 0  # it does not compile: no .pyc, as compileall -q leaves it
    entry = key(path)
    os.makedirs(os.path.dirname(entry), exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(entry))
    with os.fdopen(fd, "wb") as out, open(made, "rb") as pyc:
        shutil.copyfileobj(pyc, out)
    os.replace(temp, entry)
    return 1


def sources():
    for folder, subfolders, files in os.walk(os.path.join(ROOT, "lib")):
        subfolders.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


missing, copied = [], 0
for path in sources():
    entry = key(path)
    if os.path.exists(entry):
        made = importlib.util.cache_from_source(path)
        os.makedirs(os.path.dirname(made), exist_ok=True)
        shutil.copyfile(entry, made)
        copied += 1
    else:
        missing.append(path)
if len(missing) > 1 and JOBS > 1:
    with ProcessPoolExecutor(JOBS) as pool:
        made = sum(pool.map(compiled, missing, chunksize=16))
else:
    made = sum(map(compiled, missing))
print(f"partsmith: bytecode: {made} compiled, {copied} from the pyc cache")
"""


def pyc_cache() -> Path:
    return cache_root() / "pyc"


def compile_venv(install: Path, env: dict[str, str]) -> None:
    """Every module of the venv at `install` compiled, or copied from the pyc cache."""
    subprocess.run(
        [
            str(install / "bin" / "python"),
            *("-I", "-S", "-c", DRIVER),
            *(str(install), str(pyc_cache()), str(cores_per_task())),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        umask=0o022,
    )
