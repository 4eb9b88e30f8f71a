"""Benchmark: a python part whose source holds ~100k files (issue 21, item 5).

Run as a script: `.venv/bin/python tests/bench/big_source.py [--rounds 3] [--files 100000]
[--setuptools WHEEL] [--only plain,pulled] [--profile DIR]`. Offline, on tmpfs
(/dev/shm/partsmith-bench-big-*, removed at the end). The workspace: one python part whose source
is a PEP 621 project holding --files small files, nearly all under tests/ (fake file-system roots,
not packaged), and a small package that is, depending on a wheel made on the fly (a local
wheelhouse, `index-url: none`) of --dep-modules modules (2,000: the install folder is a venv of
a few thousand entries, as a real part's). Its build backend is an in-tree one that reads only
the package (as flit does), or setuptools when --setuptools names a wheel of setuptools >= 70.1
(which carries bdist_wheel: nothing else is needed offline).

Two variants of the part (--only): `plain` (source: the project) and `pulled` (the same with an
override-pull that changes one file after `craftctl default`, as the real case patches its
copy). Medians of --rounds, in the same run:

  cold      `doit stage` from nothing: no build root, an empty cache (uv's cache kept warm:
            the figure is partsmith's, not uv's unpacking)
  no-op     `doit stage` again, nothing changed, PARTSMITH_WATCHMAN=0; then with a watchman
            daemon (after one run that walks and keeps the clocks)        target <= 0.5 s
  restore   `rm -rf build` then `doit stage`: everything comes from the store
            floor: `cp -a` of the part's install folder (in page cache)  target <= 2x;
            then the same with watchman (the source's kept manifest outlives the build root)
  start-up  `doit list` of the same workspace (doit's start-up and the workspace load)
  walk      one lstat of every source entry (os.walk), in this process
  uv        floor of the cold build: `uv venv` + `uv pip install` of the project folder (built
            again: --refresh-package) and its dependency (the same wheelhouse, offline, uv's
            cache warm), compile included

The workspace is locked once (`doit lock`, untimed) so pull follows the lock as the README's
workspaces do; --unlocked leaves it unlocked (each pull then resolves, in a copy of the source).

--profile DIR writes a cProfile of one cold build, the no-op after it (without watchman) and one
restore of each variant to DIR.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from helpers.watchman import Watchman  # noqa: E402
from helpers.wheels import make_wheel  # noqa: E402

DOIT = [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py")]
PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
UV = str(Path(sys.executable).parent / "uv")

IN_TREE_BACKEND = '''
"""An in-tree PEP 517 backend that reads only the package, as flit does."""
import base64, hashlib, os, zipfile

NAME, VERSION = "bigproj", "1.0"
DIST = f"{NAME}-{VERSION}.dist-info"


def _files():
    for folder, dirs, names in os.walk(NAME):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            yield path, open(path, "rb").read()
    yield f"{DIST}/METADATA", (
        f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\nRequires-Dist: libdep\\n"
    ).encode()
    yield f"{DIST}/WHEEL", b"Wheel-Version: 1.0\\nGenerator: bench\\nRoot-Is-Purelib: true\\n" \\
        b"Tag: py3-none-any\\n"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    rows = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in _files():
            archive.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), data)
            sha = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append(f"{path},sha256={sha},{len(data)}")
        rows.append(f"{DIST}/RECORD,,")
        archive.writestr(zipfile.ZipInfo(f"{DIST}/RECORD", (1980, 1, 1, 0, 0, 0)),
                         "\\n".join(rows) + "\\n")
    return name
'''

IN_TREE_PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "bigproj"
version = "1.0"
dependencies = ["libdep"]
"""

SETUPTOOLS_PYPROJECT = """\
[build-system]
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"

[project]
name = "bigproj"
version = "1.0"
dependencies = ["libdep"]

[tool.setuptools]
packages = ["bigproj", "bigproj.sub"]
"""

WORKSPACE = """\
name: big
source-date-epoch: 1591640328
python: {{index-url: none, find-links: [wheels]}}
parts:
  big:
    plugin: python
    source: proj
{extra}"""

OVERRIDE_PULL = """\
    override-pull: |
      craftctl default
      echo "PATCHED = True" >> bigproj/__init__.py
"""


def make_project(folder: Path, files: int, setuptools: bool) -> None:
    """A project of `files` files: a package of 20 modules, the rest fake file-system roots under
    tests/ (1,000 roots of etc/, usr/share/ and var/lib/ files)."""
    package = folder / "bigproj"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("VERSION = '1.0'\n")
    (package / "sub/__init__.py").write_text("")
    for n in range(18):
        (package / f"mod{n}.py").write_text(f"def f{n}():\n    return {n}\n")
    if setuptools:
        (folder / "pyproject.toml").write_text(SETUPTOOLS_PYPROJECT)
    else:
        (folder / "pyproject.toml").write_text(IN_TREE_PYPROJECT)
        (folder / "backend.py").write_text(IN_TREE_BACKEND)
    made = sum(1 for _ in folder.rglob("*") if _.is_file())
    roots = folder / "tests/roots"
    per_root, layout = 100, ("etc/conf.d", "usr/share/doc", "var/lib/state", "etc")
    for n in range((files - made + per_root - 1) // per_root):
        for sub in layout:
            (roots / f"r{n:04}" / sub).mkdir(parents=True, exist_ok=True)
        for k in range(min(per_root, files - made)):
            sub = layout[k % len(layout)]
            (roots / f"r{n:04}" / sub / f"f{k}.conf").write_text(f"root {n} file {k}\n")
            made += 1


def make_workspace(
    root: Path, files: int, dep_modules: int, setuptools_wheel: Path | None, pulled: bool
) -> Path:
    ws = root / ("pulled" if pulled else "plain")
    wheels = ws / "wheels"
    modules = {f"libdep/m{n // 100}/mod{n}.py": f"VALUE = {n}\n" for n in range(dep_modules)}
    modules |= {f"libdep/m{n}/__init__.py": "" for n in range((dep_modules + 99) // 100)}
    make_wheel(wheels, "libdep", "1.0", {"libdep/__init__.py": "NAME = 'libdep'\n", **modules})
    if setuptools_wheel is not None:
        shutil.copy(setuptools_wheel, wheels)
    make_project(ws / "proj", files, setuptools_wheel is not None)
    (ws / "parts.yaml").write_text(WORKSPACE.format(extra=OVERRIDE_PULL if pulled else ""))
    return ws / "parts.yaml"


def environment(cache: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PARTSMITH_", "PIP_", "UV_", "PYTHONPROFILE", "WATCHMAN"))
        and k != "PYTHONDONTWRITEBYTECODE"  # bytecode as a user has it
    }
    return {**env, "PARTSMITH_CACHE_DIR": str(cache), "PARTSMITH_WATCHMAN": "0", **extra}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - start


def doit(ws: Path, env: dict[str, str], *args: str, profile: Path | None = None) -> float:
    runner = DOIT
    if profile is not None:
        runner = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "doit", *DOIT[3:]]
    return timed([*runner, *args, f"workspace={ws}"], ws.parent, env)


def cold_cache(cache: Path) -> None:
    """An empty store, uv's cache kept (as a machine that built anything before has it)."""
    for entry in cache.iterdir() if cache.is_dir() else ():
        if entry.name != "uv":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def walk(folder: Path) -> float:
    start = time.perf_counter()
    for top, dirs, names in os.walk(folder):
        for name in dirs + names:
            os.lstat(os.path.join(top, name))
    return time.perf_counter() - start


def uv_floor(ws: Path, cache: Path) -> float:
    venv = ws.parent / "floor-venv"
    shutil.rmtree(venv, ignore_errors=True)
    env = {**environment(cache), "UV_CACHE_DIR": str(cache / "uv")}
    start = time.perf_counter()
    timed([UV, "venv", "-q", "--python", PYTHON, str(venv)], ws.parent, env)
    timed(
        [
            UV,
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin/python"),
            "--no-index",  # offline (uv refuses --offline with --refresh-package)
            "--find-links",
            str(ws.parent / "wheels"),
            "--compile-bytecode",
            "--refresh-package",  # the project built again, as a cold build does
            "bigproj",
            "--link-mode",
            "copy",
            str(ws.parent / "proj"),
        ],
        ws.parent,
        env,
    )
    return time.perf_counter() - start


def measure(
    ws: Path, rounds: int, profile: Path | None, locked: bool, watched: dict[str, str]
) -> dict[str, float]:
    """`watched`: the environment that points partsmith at a watchman daemon."""
    cache = ws.parent / "cache"
    build = ws.parent / "build"
    install = build / "parts/big/install"
    figures: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    if locked:  # pull follows the lock (no resolution): as the README has a workspace do
        doit(ws, environment(cache), "lock")
    doit(ws, environment(cache), "stage")  # uv's cache filled, the page cache warm
    for _ in range(rounds):
        shutil.rmtree(build)
        cold_cache(cache)
        add("cold", doit(ws, environment(cache), "stage"))
        add("no-op", doit(ws, environment(cache), "stage"))
        doit(ws, environment(cache, **watched), "stage")  # walks once, keeps the clocks
        add("no-op watchman", doit(ws, environment(cache, **watched), "stage"))
        copy = ws.parent / "install-copy"
        add("cp -a", timed(["cp", "-a", str(install), str(copy)], ws.parent, os.environ.copy()))
        shutil.rmtree(copy)
        shutil.rmtree(build)
        add("restore", doit(ws, environment(cache), "stage"))
        shutil.rmtree(build)
        add("restore watchman", doit(ws, environment(cache, **watched), "stage"))
        add("start-up", doit(ws, environment(cache), "list"))
        add("walk", walk(ws.parent / "proj"))
        add("uv", uv_floor(ws, cache))
        print("  round:", ", ".join(f"{k} {v[-1]:.2f}" for k, v in figures.items()), flush=True)
    if profile is not None:
        shutil.rmtree(build)
        cold_cache(cache)
        doit(ws, environment(cache), "stage", profile=profile / f"{ws.parent.name}-cold.prof")
        doit(ws, environment(cache), "stage", profile=profile / f"{ws.parent.name}-no-op.prof")
        shutil.rmtree(build)
        doit(ws, environment(cache), "stage", profile=profile / f"{ws.parent.name}-restore.prof")
    return {name: statistics.median(values) for name, values in figures.items()}


def report(variant: str, m: dict[str, float], entries: int, files: int) -> None:
    print(f"{variant}: {files} source files; the install folder holds {entries} entries")
    print(
        f"  cold     {m['cold']:6.2f} s   uv venv + uv pip install floor {m['uv']:.2f} s: "
        f"{m['cold'] / m['uv']:.1f}x"
    )
    print(
        f"  no-op    {m['no-op']:6.2f} s   start-up {m['start-up']:.2f} s + walk "
        f"{m['walk']:.2f} s = {m['start-up'] + m['walk']:.2f} s: "
        f"{m['no-op'] / (m['start-up'] + m['walk']):.2f}x"
    )
    print(
        f"  no-op    {m['no-op watchman']:6.2f} s   with watchman (target <= 0.5 s): "
        f"{m['no-op watchman'] / m['start-up']:.2f}x start-up"
    )
    for name in ("restore", "restore watchman"):
        print(
            f"  {name:<8} {m[name]:6.2f} s   cp -a of the install folder {m['cp -a']:.3f} s: "
            f"{m[name] / m['cp -a']:.1f}x (target <= 2x); net of start-up "
            f"{m[name] - m['start-up']:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--dep-modules", type=int, default=2_000, help="the dependency's size")
    parser.add_argument("--setuptools", type=Path, help="a setuptools (>= 70.1) wheel")
    parser.add_argument("--only", default="plain,pulled")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--unlocked", action="store_true", help="no lock: pull resolves")
    args = parser.parse_args()
    top = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    root = Path(tempfile.mkdtemp(prefix="partsmith-bench-big-", dir=top))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    print(
        f"{args.rounds} rounds, medians; tmpfs: {top is not None}; backend: "
        f"{'setuptools' if args.setuptools else 'in-tree'}"
    )
    try:
        for variant in args.only.split(","):
            ws = make_workspace(
                root, args.files, args.dep_modules, args.setuptools, variant == "pulled"
            )
            with Watchman(root / "watchman-logs") as daemon:
                watched = {**daemon.environment(), "PARTSMITH_WATCHMAN": "1"}
                m = measure(ws, args.rounds, args.profile, not args.unlocked, watched)
            entries = sum(1 for _ in (ws.parent / "build/parts/big/install").rglob("*"))
            report(variant, m, entries, args.files)
            sys.stdout.flush()
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
