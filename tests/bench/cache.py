"""Benchmark the action cache; every figure is a ratio against a floor measured in the same run.

Run as a script: `.venv/bin/python tests/bench/cache.py [--parts 20] [--files 2000] [--rounds 3]
[--dir /dev/shm] [--sync] [--python]`. It generates a workspace of N dump parts x M files in a
temporary folder below --dir (default /dev/shm: on tmpfs a file creation costs CPU, not
writeback, so the ratios are stable; give --dir /var/tmp --sync for the disk figures, with a
`sync` before every timed step, floor and partsmith alike) and measures, medians of --rounds:

  floor      doit's own start-up (a trivial dodo.py) + one lstat per source file (os.scandir walk)
  no-op      `doit stage` with nothing changed                       target <= 1.2x floor
  one edit   one file changed in one part: only that part rebuilds   target <= 1.5x no-op
  cold       the first `doit stage` against `cp -a` of the sources   target <= 1.5x cp -a
  restore    `doit stage` after `rm -rf build`, against `cp -a` of the install folders
                                                                     target <= 1.1x
  restage    `doit stage` after `rm -rf build/stage`, against `cp -al` of the install folders
                                                                     target <= 2x
Below the figures it prints the work each one cannot skip, measured in the same run (the stage
check's lstat per staged entry, hashing the sources for a cold key, the copies and links), and
each figure against it: what stops a target that is missed.
With --python it also builds a workspace of four python parts from a local wheelhouse (the default
workspace's pins, downloaded once) and measures restore vs cold build (target <= 0.05x) and
`doit -n 2 stage` vs `-n 1` on a cold cache (target >= 1.7x faster).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOIT = [sys.executable, "-m", "doit"]
PINS = [
    "flask==3.0.3",
    "click==8.1.7",
    "certifi==2024.8.30",
    "werkzeug==3.0.6",
    "jinja2==3.1.4",
    "markupsafe==2.1.5",
    "itsdangerous==2.2.0",
    "blinker==1.8.2",
]


SYNC = False  # --sync: flush the disk before every timed step, so writeback is not carried over


def timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    if SYNC:
        os.sync()
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def median(function, rounds: int) -> float:
    return statistics.median(function() for _ in range(rounds))


def walk(folder: Path) -> int:
    count = 0
    stack = [str(folder)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                entry.stat(follow_symlinks=False)
                count += 1
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return count


def hash_all(folder: Path) -> float:
    """Seconds to read and sha256 every file below `folder`: what computing a cold key costs."""
    start = time.perf_counter()
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            hashlib.sha256(path.read_bytes()).hexdigest()
    return time.perf_counter() - start


def seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def generate(root: Path, parts: int, files: int) -> Path:
    lines = ["name: bench", "parts:"]
    for part in range(parts):
        for index in range(files):
            path = (
                root / f"p{part}" / f"p{part}" / f"d{index % 20}" / f"f{index}.txt"
            )  # no two parts clash
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"part {part} file {index}\n" * 4)
        lines.append(f"  p{part}: {{plugin: dump, source: p{part}}}")
    (root / "parts.yaml").write_text("\n".join(lines) + "\n")
    return root / "parts.yaml"


def dump_figures(top: Path, parts: int, files: int, rounds: int) -> None:
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(top / "cache")}
    ws = generate(top / "ws", parts, files)
    stage = [*DOIT, "-f", str(REPO / "dodo.py"), "stage", f"workspace={ws}"]
    trivial = top / "trivial"
    trivial.mkdir()
    (trivial / "dodo.py").write_text("def task_nothing():\n    return {'actions': None}\n")

    copy = median(
        lambda: (
            shutil.rmtree(top / "copy", ignore_errors=True),
            timed(["cp", "-a", str(ws.parent), str(top / "copy")], top),
        )[1],
        rounds,
    )
    cold = timed(stage, top, env)
    doit_floor = median(lambda: timed([*DOIT, "nothing"], trivial), rounds)
    walk_floor = median(
        lambda: (lambda s: (walk(ws.parent), time.perf_counter() - s)[1])(time.perf_counter()),
        rounds,
    )
    floor = doit_floor + walk_floor
    noop = median(lambda: timed(stage, top, env), rounds)

    def one_edit() -> float:
        target = ws.parent / "p0" / "p0" / "d0" / "f0.txt"
        target.write_text(target.read_text() + "x\n")
        return timed(stage, top, env)

    edit = median(one_edit, rounds)

    installs = ws.parent / "build" / "parts"
    copy_installs = median(
        lambda: (
            shutil.rmtree(top / "installs", ignore_errors=True),
            timed(["cp", "-a", str(installs), str(top / "installs")], top),
        )[1],
        rounds,
    )

    def restore() -> float:
        shutil.rmtree(ws.parent / "build")
        return timed(stage, top, env)

    restored = median(restore, rounds)

    link_installs = median(
        lambda: (
            shutil.rmtree(top / "linked", ignore_errors=True),
            timed(["cp", "-al", str(installs), str(top / "linked")], top),
        )[1],
        rounds,
    )

    def restage() -> float:
        shutil.rmtree(ws.parent / "build" / "stage")
        return timed(stage, top, env)

    restaged = median(restage, rounds)

    # What each figure cannot avoid, measured here too, so that a miss names the work that stops it:
    # the stage check (one lstat per staged entry), a cold key (every source file read and hashed).
    stage_walk = median(lambda: seconds(lambda: walk(ws.parent / "build" / "stage")), rounds)
    hashing = median(lambda: hash_all(ws.parent / "p0") * parts, 1)
    checked = floor + stage_walk
    total = parts * files
    print(f"{parts} dump parts x {files} files ({total} files), medians of {rounds}:")
    print(
        f"  floor      {floor:7.3f} s  "
        f"(doit start-up {doit_floor:.3f} s + lstat walk {walk_floor:.3f} s)"
    )
    print(f"  no-op      {noop:7.3f} s  {noop / floor:5.2f}x floor          (target <= 1.2x)")
    print(f"  one edit   {edit:7.3f} s  {edit / noop:5.2f}x no-op          (target <= 1.5x)")
    print(
        f"  cold       {cold:7.3f} s  {cold / copy:5.2f}x cp -a sources  "
        f"(target <= 1.5x; cp -a {copy:.3f} s)"
    )
    print(
        f"  restore    {restored:7.3f} s  {restored / copy_installs:5.2f}x cp -a installs "
        f"(target <= 1.1x; "
        f"cp -a {copy_installs:.3f} s) = {restored / cold:.3f}x cold"
    )
    print(
        f"  restage    {restaged:7.3f} s  {restaged / link_installs:5.2f}x cp -al installs "
        f"(target <= 2x; "
        f"cp -al {link_installs:.3f} s)"
    )
    print("the work each figure cannot skip, measured in this run (ratios against it):")
    print(
        f"  no-op      floor + one lstat per staged entry ({stage_walk:.3f} s) = {checked:.3f} s: "
        f"{noop / checked:5.2f}x"
    )
    print(
        f"  cold       start-up + hash the sources ({hashing:.3f} s) "
        f"+ cp -a twice (install, store) + cp -al (stage) "
        f"= {doit_floor + hashing + 2 * copy + link_installs:.3f} s: "
        f"{cold / (doit_floor + hashing + 2 * copy + link_installs):5.2f}x"
    )
    print(
        f"  restore    floor + cp -a installs + cp -al installs = "
        f"{floor + copy_installs + link_installs:.3f} s: "
        f"{restored / (floor + copy_installs + link_installs):5.2f}x"
    )
    print(
        f"  restage    floor + cp -al installs = {floor + link_installs:.3f} s: "
        f"{restaged / (floor + link_installs):5.2f}x"
    )


def python_figures(top: Path, rounds: int) -> None:
    wheels = top / "wheels"
    subprocess.run(
        [
            *DOIT[:1],
            "-m",
            "pip",
            "download",
            "-q",
            "--only-binary",
            ":all:",
            "-d",
            str(wheels),
            *PINS,
        ],
        check=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    # each part its own build-environment: four builds to run, not one result shared by four
    text = f"name: py\npython: {{index-url: none, find-links: [{wheels}]}}\nparts:\n" + "".join(
        f"  p{n}: {{plugin: python, python-packages: [{', '.join(PINS)}], "
        f"build-environment: [{{N: '{n}'}}]}}\n"
        for n in range(4)
    )
    runs: dict[str, list[float]] = {"-n 1 cold": [], "-n 2 cold": [], "restore": []}
    for round_ in range(rounds):
        for jobs in ("1", "2"):
            ws = top / f"py{jobs}-{round_}"
            ws.mkdir()
            (ws / "parts.yaml").write_text(text)
            env = {**os.environ, "PARTSMITH_CACHE_DIR": str(ws / "cache")}
            command = [
                *DOIT,
                "-f",
                str(REPO / "dodo.py"),
                "-n",
                jobs,
                "stage",
                "workspace=parts.yaml",
            ]
            runs[f"-n {jobs} cold"].append(timed(command, ws, env))
            if jobs == "1":
                shutil.rmtree(ws / "build")
                runs["restore"].append(timed(command, ws, env))
    one, two, restore = (statistics.median(runs[k]) for k in ("-n 1 cold", "-n 2 cold", "restore"))
    print(f"four python parts ({len(PINS)} wheels each), medians of {rounds}:")
    print(f"  cold -n 1  {one:7.3f} s")
    print(f"  cold -n 2  {two:7.3f} s  {one / two:5.2f}x faster than -n 1 (target >= 1.7x)")
    print(f"  restore    {restore:7.3f} s  {restore / one:5.3f}x cold        (target <= 0.05x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=20)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python", action="store_true")
    parser.add_argument("--dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None)
    parser.add_argument("--sync", action="store_true")
    options = parser.parse_args()
    global SYNC
    SYNC = options.sync
    with tempfile.TemporaryDirectory(dir=options.dir) as temp:
        dump_figures(Path(temp), options.parts, options.files, options.rounds)
        if options.python:
            python_figures(Path(temp), options.rounds)


if __name__ == "__main__":
    main()
