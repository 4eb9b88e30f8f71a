"""Benchmark: cold build of two identical python parts vs `pip install` of the same wheels.

Run as a script: `.venv/bin/python tests/bench/python_parts.py [rounds]`. It downloads the default
workspace's pinned wheels once into a temporary wheelhouse (the only network use), then, each
round, measures in the same run:
  floor     two plain venvs (`venv --without-pip`) + `pip install --no-index` of the wheels
  floor+ep  the same with ensurepip in each venv (what a plain `python -m venv` costs)
  partsmith `doit stage` on a fresh workspace of two python parts (pull + build + stage)
  build     the build:<part> tasks alone (pull already done)
and prints medians and ratios against the floor.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PINS = ["flask==3.0.3", "click==8.1.7", "certifi==2024.8.30", "werkzeug==3.0.6", "jinja2==3.1.4",
        "markupsafe==2.1.5", "itsdangerous==2.2.0", "blinker==1.8.2"]
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
WORKSPACE = """\
name: bench
python: {{index-url: none, find-links: [{wheels}]}}
parts:
  one: {{plugin: python, python-packages: [{pins}]}}
  two: {{plugin: python, python-packages: [{pins}]}}
"""


def timed(command: list[str], **kwargs) -> float:
    kwargs.setdefault("env", {**os.environ, "PIP_CONFIG_FILE": os.devnull})  # the floor reads no pip.conf either
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def floor(work: Path, wheels: Path, ensurepip: bool) -> float:
    total = 0.0
    for name in ("a", "b"):
        venv = work / name
        total += timed([sys.executable, "-m", "venv", *([] if ensurepip else ["--without-pip"]), str(venv)])
        total += timed([*PIP, "--python", str(venv / "bin/python"), "install", "--no-index",
                        "--find-links", str(wheels), *PINS])
    return total


def partsmith(work: Path, wheels: Path) -> tuple[float, float]:
    work.mkdir()
    (work / "parts.yaml").write_text(WORKSPACE.format(wheels=wheels, pins=", ".join(PINS)))
    doit = [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py")]
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(work / "cache")}
    cold = timed([*doit, "stage", "workspace=parts.yaml"], cwd=work, env=env)
    for part in ("one", "two"):  # not built here, and not in a (fresh) cache: the builds run again
        (work / "build" / "parts" / part / "result.json").unlink()
    env["PARTSMITH_CACHE_DIR"] = str(work / "cache2")
    build = timed([*doit, "build:one", "build:two", "workspace=parts.yaml"], cwd=work, env=env)
    return cold, build


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as temp:
        top = Path(temp)
        wheels = top / "wheels"
        timed([*PIP, "download", "--only-binary", ":all:", "-d", str(wheels), *PINS])
        figures: dict[str, list[float]] = {"floor": [], "floor+ep": [], "partsmith": [], "build": []}
        for round_ in range(rounds):
            figures["floor"].append(floor(top / f"floor{round_}", wheels, ensurepip=False))
            figures["floor+ep"].append(floor(top / f"ep{round_}", wheels, ensurepip=True))
            cold, build = partsmith(top / f"ps{round_}", wheels)
            figures["partsmith"].append(cold)
            figures["build"].append(build)
        base = statistics.median(figures["floor"])
        print(f"two python parts, {len(PINS)} wheels each, {rounds} rounds (medians)")
        for name, values in figures.items():
            median = statistics.median(values)
            print(f"  {name:10s} {median:6.2f} s   {median / base:5.2f}x floor")


if __name__ == "__main__":
    main()
