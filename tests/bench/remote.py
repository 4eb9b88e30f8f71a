"""Benchmark the remote cache: restoring the default workspace from a real nginx, against its cold
build and against a restore from the local store, in the same run.

Run as a script: `.venv/bin/python tests/bench/remote.py [rounds]` (needs Debian's nginx; the cold
build pulls from PyPI). Prints medians and ratios.
"""

from __future__ import annotations

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
from helpers.nginx import Nginx, free_port  # noqa: E402


def stage(checkout: Path, cache: Path, remote: str | None = None, upload: bool = False) -> float:
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(cache)}
    env.pop("PARTSMITH_REMOTE_CACHE", None)
    if remote:
        env.update(PARTSMITH_REMOTE_CACHE=remote, PARTSMITH_REMOTE_UPLOAD="1" if upload else "0")
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "doit",
            "-f",
            str(REPO / "dodo.py"),
            "stage",
            "workspace=workspace/parts.yaml",
        ],
        cwd=checkout,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def checkout(top: Path, name: str) -> Path:
    folder = top / name
    shutil.copytree(
        REPO / "workspace",
        folder / "workspace",
        ignore=shutil.ignore_patterns("build"),
        symlinks=True,
    )
    return folder


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as temp:
        top = Path(temp)
        server = Nginx(top / "nginx", free_port()).start()
        try:
            cold = stage(checkout(top, "cold"), top / "cache-cold")
            stage(
                checkout(top, "ci"), top / "cache-ci", server.url, upload=True
            )  # fills the server
            local, remote = [], []
            for n in range(rounds):
                shutil.rmtree(top / "cold" / "workspace" / "build")
                local.append(stage(top / "cold", top / "cache-cold"))
                remote.append(stage(checkout(top, f"dev{n}"), top / f"cache-dev{n}", server.url))
        finally:
            server.stop()
    local_median, remote_median = statistics.median(local), statistics.median(remote)
    print(f"default workspace, medians of {rounds}:")
    print(f"  cold build             {cold:6.2f} s")
    print(f"  restore, local store   {local_median:6.2f} s  {local_median / cold:.3f}x cold")
    print(
        f"  restore, remote nginx  {remote_median:6.2f} s  {remote_median / cold:.3f}x cold, "
        f"{remote_median / local_median:.2f}x the local restore"
    )


if __name__ == "__main__":
    main()
