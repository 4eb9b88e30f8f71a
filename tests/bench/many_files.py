"""Benchmark: the no-op of a workspace with many source files (issue 21, item 4).

Run as a script: `.venv/bin/python tests/bench/many_files.py [--rounds 7] [--parts 20]
[--files 2000]`. A workspace of --parts dump parts, --files small files each (40,000 by default),
on tmpfs, in a folder with `.git` (a checkout: one watch holds every source and the build root),
built once; then, medians of --rounds, in the same run:

  start-up    `doit` of a dodo.py that imports partsmith's task table and has one task that is
              up to date: doit's start-up with partsmith's modules imported (watchman's floor)
  lstat       one lstat of each source and staged entry, in one process (timed apart)
  no-op       `doit stage` with nothing changed, without watchman    target <= 1.3x start-up + lstat
  watchman    the same with a watchman daemon watching               target <= 1.2x start-up
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

DOIT = [sys.executable, "-m", "doit"]

FLOOR_DODO = """
import rules.cli  # partsmith's modules, as `doit stage` imports them

DOIT_CONFIG = {"backend": "sqlite3", "verbosity": 2}  # partsmith's: not a slower dbm

def task_floor():
    return {"actions": None, "uptodate": [True]}
"""


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([*DOIT, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"doit {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - start


def workspace(root: Path, parts: int, files: int) -> Path:
    text = "name: many\nparts:\n"
    for p in range(parts):
        text += f"  p{p}: {{plugin: dump, source: src{p}}}\n"
        for n in range(files):
            folder = root / f"src{p}" / f"d{n // 100}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"p{p}f{n}.txt").write_text(f"{p} {n}\n")
    (root / "parts.yaml").write_text(text)
    (root / ".git").mkdir()  # a checkout, as a user's workspace is: watchman watches it whole
    return root


def lstat_all(folders: list[Path]) -> float:
    start = time.perf_counter()
    for folder in folders:
        for top, dirs, names in os.walk(folder):
            for name in dirs + names:
                os.lstat(os.path.join(top, name))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--parts", type=int, default=20)
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        ws = workspace(base / "ws", args.parts, args.files)
        (base / "floor").mkdir()
        (base / "floor/dodo.py").write_text(FLOOR_DODO)
        # as a user meets it: the modules' bytecode written once and read after (this machine
        # sets PYTHONDONTWRITEBYTECODE, which would compile every module in every run)
        drop = ("PARTSMITH_", "WATCHMAN", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        env |= {"PARTSMITH_CACHE_DIR": str(base / "cache"), "PYTHONPATH": str(REPO)}
        plain = {**env, "PARTSMITH_WATCHMAN": "0"}
        stage = ["-f", str(REPO / "dodo.py"), "stage", f"workspace={ws / 'parts.yaml'}"]
        timed(stage, ws, plain)
        sources = [ws / f"src{p}" for p in range(args.parts)]
        floor, lstats, noop, watched = [], [], [], []
        with Watchman(base / "watchman") as daemon:
            on = {**env, **daemon.environment(), "PARTSMITH_WATCHMAN": "1"}
            timed(stage, ws, on)  # the first run with watchman walks, and sets clocks
            for _ in range(args.rounds):
                floor.append(timed(["-f", str(base / "floor/dodo.py")], base / "floor", env))
                lstats.append(lstat_all([*sources, ws / "build/stage"]))
                noop.append(timed(stage, ws, plain))
                watched.append(timed(stage, ws, on))
        f, s, n, w = (statistics.median(x) for x in (floor, lstats, noop, watched))
        print(f"{args.parts} parts, {args.parts * args.files} files, medians of {args.rounds}:")
        print(f"  start-up {f:.3f} s; lstat of each source and staged entry {s:.3f} s")
        print(f"  no-op without watchman {n:.3f} s: {n / (f + s):.2f}x start-up + lstat (<= 1.3x)")
        print(f"  no-op with watchman    {w:.3f} s: {w / f:.2f}x start-up (<= 1.2x)")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
