"""doit run as a user runs it: `doit -f <repo>/dodo.py ...` in a subprocess, from another folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # tests/helpers/doit_runner.py
DODO = REPO / "dodo.py"


def doit(
    *args: str, cwd: Path, env: dict[str, str] | None = None, umask: int | None = None
) -> subprocess.CompletedProcess:
    """Run `doit -f <repo>/dodo.py ARGS` from `cwd`, as a user would from another folder."""
    return subprocess.run(
        [sys.executable, "-m", "doit", "-f", str(DODO), *args],
        cwd=cwd,
        env=env if env is not None else os.environ.copy(),
        text=True,
        capture_output=True,
        umask=-1 if umask is None else umask,
    )


def killed_after(seconds: float, *args: str, cwd: Path) -> None:
    """Run `doit -f <repo>/dodo.py ARGS` from `cwd` and kill -9 it with everything it started
    (its sandboxed scripts, its compile) after `seconds`: a crash at that moment."""
    running = subprocess.Popen(
        [sys.executable, "-m", "doit", "-f", str(DODO), *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(seconds)
    os.killpg(running.pid, signal.SIGKILL)
    running.wait()
