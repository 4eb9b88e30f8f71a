"""Benchmark: what the sealed sandbox costs.

Run as a script: `.venv/bin/python tests/bench/sandbox.py [--rounds 5] [--actions 20]`.
In the same run, medians of --rounds:

  per action  a workspace of --actions nil parts whose script is `true`, cold (empty cache),
              sealed against PARTSMITH_UNSEALED=1: the difference per action is the sandbox's
              cost (bwrap's namespaces and mounts), in ms
  default     a cold `doit stage` of the default workspace (a copy, on tmpfs, its wheels from
              the store: only the build runs), sealed against unsealed   target <= 1.05x
  no-op       the same workspace's no-op, sealed against unsealed (no action runs: ~1.0x)
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
DOIT = [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py")]


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([*DOIT, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"doit {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - start


def environment(cache: Path, sealed: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTSMITH_")}
    return {
        **env,
        "PARTSMITH_CACHE_DIR": str(cache),
        **({} if sealed else {"PARTSMITH_UNSEALED": "1"}),
    }


def nil_workspace(root: Path, actions: int) -> Path:
    parts = "".join(f"  p{n}: {{plugin: nil, override-build: 'true'}}\n" for n in range(actions))
    (root / "nil").mkdir()
    (root / "nil/parts.yaml").write_text(f"name: nil\nparts:\n{parts}")
    return root / "nil/parts.yaml"


def cold(ws: Path, cache: Path, sealed: bool, keep_pulls: bool) -> float:
    """A cold build: no build root, no action results (pull's store kept when asked)."""
    shutil.rmtree(ws.parent / "build", ignore_errors=True)
    shutil.rmtree(cache / "ac", ignore_errors=True)
    if not keep_pulls:
        shutil.rmtree(cache, ignore_errors=True)
    if keep_pulls:  # pull again from the store, untimed: only the build is measured
        timed(["pull", f"workspace={ws}"], ws.parent, environment(cache, sealed))
        shutil.rmtree(cache / "ac", ignore_errors=True)
    return timed(["stage", f"workspace={ws}"], ws.parent, environment(cache, sealed))


def measure(root: Path, rounds: int, actions: int) -> dict[str, float]:
    """Medians of each figure, sealed and unsealed alternating in every round."""
    nil = nil_workspace(root, actions)
    shutil.copytree(REPO / "workspace", root / "default", ignore=shutil.ignore_patterns("build"))
    default = root / "default/parts.yaml"
    cache = root / "cache"
    timed(["stage", f"workspace={default}"], default.parent, environment(cache, True))  # fill
    figures: dict[str, list[float]] = {}
    for _ in range(rounds):  # alternating, so the machine's moods fall on both
        for sealed in (True, False):
            mode = "sealed" if sealed else "unsealed"
            figures.setdefault(f"nil {mode}", []).append(
                cold(nil, root / "nilcache", sealed, False)
            )
            figures.setdefault(f"default {mode}", []).append(cold(default, cache, sealed, True))
            env = environment(cache, sealed)
            timed(["stage", f"workspace={default}"], default.parent, env)
            no_op = timed(["stage", f"workspace={default}"], default.parent, env)
            figures.setdefault(f"no-op {mode}", []).append(no_op)
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--actions", type=int, default=20)
    args = parser.parse_args()
    top = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    root = Path(tempfile.mkdtemp(prefix="partsmith-bench-sandbox-", dir=top))
    try:
        m = measure(root, args.rounds, args.actions)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    extra = (m["nil sealed"] - m["nil unsealed"]) / args.actions * 1000
    print(f"{args.rounds} rounds, medians; {args.actions} nil actions; tmpfs: {top is not None}")
    print(
        f"per action: sealed {m['nil sealed']:.2f} s, unsealed {m['nil unsealed']:.2f} s: "
        f"{extra:.1f} ms more per action than the unsealed network cut"
    )
    for what in ("default", "no-op"):
        ratio = m[f"{what} sealed"] / m[f"{what} unsealed"]
        print(
            f"{what:8} sealed {m[f'{what} sealed']:.2f} s, unsealed "
            f"{m[f'{what} unsealed']:.2f} s: {ratio:.3f}x (target <= 1.05x)"
        )


if __name__ == "__main__":
    main()
