"""Benchmark: a `plugin: uv` part against `uv sync` of the same uv.lock.

Run as a script: `.venv/bin/python tests/bench/uv_plugin.py [--rounds 3] [--packages ...]`.
It makes a uv project on tmpfs (/dev/shm) that depends on real packages from PyPI, locks it once
with partsmith's pinned uv, then per round, cold (an empty uv cache for both, an empty partsmith
cache for partsmith):

  floor: `uv venv` + `uv sync --frozen --no-dev --no-editable --compile-bytecode` of the lock
         into a new venv (what craft-parts' uv plugin runs), timed from an empty UV_CACHE_DIR;
  part:  `doit stage` of a workspace with that project as a `plugin: uv` part (pull: export,
         resolve the pins, download into the store; build: venv, install, compile; stage).

Both download the same wheels from PyPI in every round, so the network's noise is in both;
figures are medians and the ratio of medians.                          target part <= 1.3x floor
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
sys.path.insert(0, str(REPO))

from rules.python.uv import uv_binary  # noqa: E402  (the checkout's rules, not an installed one)

PACKAGES = ["flask==3.0.3", "requests==2.32.3", "rich==13.9.4", "pyyaml==6.0.2", "attrs==24.2.0"]
PYPROJECT = """[project]
name = "benchproj"
version = "1.0"
requires-python = ">=3.11"
dependencies = {deps}

[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
"""
BACKEND = """import base64, hashlib, os, zipfile
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, dist = "benchproj-1.0-py3-none-any.whl", "benchproj-1.0.dist-info"
    files = {"benchproj.py": b"", dist + "/METADATA": b"Metadata-Version: 2.1\\nName: benchproj\\n"
             b"Version: 1.0\\n", dist + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: b\\n"
             b"Root-Is-Purelib: true\\nTag: py3-none-any\\n"}
    rows = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
            sha = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append(f"{path},sha256={sha},{len(data)}")
        rows.append(dist + "/RECORD,,")
        archive.writestr(dist + "/RECORD", "\\n".join(rows) + "\\n")
    return name
"""
WORKSPACE = "name: bench\nparts:\n  app: {plugin: uv, source: proj}\n"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PYTHON"))}
    return {**env, **extra}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - start


def make_project(root: Path, packages: list[str]) -> Path:
    project = root / "proj"
    project.mkdir(parents=True)
    deps = "[" + ", ".join(f'"{p}"' for p in packages) + "]"
    (project / "pyproject.toml").write_text(PYPROJECT.format(deps=deps))
    (project / "backend.py").write_text(BACKEND)
    lock = [uv_binary(), "lock", "--no-config", "-q", "--python", sys.executable]
    timed(lock, project, clean_env(UV_CACHE_DIR=str(root / "lock-cache")))
    (root / "parts.yaml").write_text(WORKSPACE)
    return project


def floor(root: Path, project: Path, n: int) -> float:
    venv, cache = root / f"venv-{n}", root / f"uv-cache-floor-{n}"
    env = clean_env(UV_CACHE_DIR=str(cache), UV_PROJECT_ENVIRONMENT=str(venv))
    sync = ["sync", "--frozen", "--no-dev", "--no-editable", "--compile-bytecode", "--no-config"]
    seconds = timed(
        [uv_binary(), "venv", "-q", "--python", sys.executable, str(venv)], project, env
    )
    seconds += timed([uv_binary(), *sync, "-q", "--python", sys.executable], project, env)
    shutil.rmtree(venv)
    shutil.rmtree(cache)
    return seconds


def part(root: Path, n: int) -> float:
    shutil.rmtree(root / "build", ignore_errors=True)
    env = clean_env(PARTSMITH_CACHE_DIR=str(root / f"cache-{n}"))
    doit = [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "stage"]
    seconds = timed([*doit, f"workspace={root / 'parts.yaml'}"], root, env)
    shutil.rmtree(root / f"cache-{n}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--packages", nargs="*", default=PACKAGES)
    args = parser.parse_args()
    top = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    root = Path(tempfile.mkdtemp(prefix="partsmith-bench-uv-", dir=top))
    try:
        project = make_project(root, args.packages)
        floors, parts = [], []
        for n in range(args.rounds):  # alternating, so the network's moods fall on both
            floors.append(floor(root, project, n))
            parts.append(part(root, n))
        f, p = statistics.median(floors), statistics.median(parts)
        print(f"packages: {' '.join(args.packages)} (and their dependencies), {args.rounds} rounds")
        print(f"floor: uv venv + uv sync --frozen --no-dev --compile-bytecode, cold: {f:.2f} s")
        print(f"part:  doit stage of a plugin: uv part, cold:                        {p:.2f} s")
        print(f"ratio: {p / f:.2f}x (target <= 1.3x)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
