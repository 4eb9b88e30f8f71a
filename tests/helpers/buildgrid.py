"""A real BuildGrid (REAPI v2 over gRPC) on 127.0.0.1, for tests: cache-only, all in memory.

BuildGrid lives in its own virtual environment (`.venv-buildgrid` at the repository root, ignored
by git): its pins are not ours, and the test venv must not take them. The first test that needs it
creates it (about 20 s, from PyPI), under a file lock so that parallel sessions do not race.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]  # tests/helpers/buildgrid.py
VENV = REPO / ".venv-buildgrid"
VERSION = "0.4.4"  # the last release for Python 3.11; later ones need 3.12

CONFIG = """\
server:
  - !channel
    address: "127.0.0.1:{port}"
    insecure-mode: true
storages:
  - !lru-storage &cas
    size: 1GB
caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 100000
    allow-updates: true
instances:
  - name: "{instance}"
    services:
      - !action-cache
        cache: *ac
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
"""


def bgd() -> Path:
    """The `bgd` command, installed first if this checkout has none yet."""
    command, ready = VENV / "bin" / "bgd", VENV / ".installed"
    with FileLock(str(VENV) + ".lock"):
        if not ready.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
            subprocess.run(
                [str(VENV / "bin" / "pip"), "install", "-q", f"buildgrid=={VERSION}"], check=True
            )
            ready.write_text(VERSION)
    return command


@dataclass
class BuildGrid:
    root: Path
    port: int
    instance: str = ""
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}" + (f"/{self.instance}" if self.instance else "")

    @property
    def log(self) -> Path:
        return self.root / "bgd.log"

    def start(self) -> BuildGrid:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "bgd.yml"
        config.write_text(CONFIG.format(port=self.port, instance=self.instance))
        with open(self.log, "wb") as log:  # -vv: one line per request, which calls() counts
            self.process = subprocess.Popen(
                [str(bgd()), "server", "start", "-vv", str(config)],
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self.process.poll() is None:
            if self._answers():
                self.calls(
                    GetCapabilities=1
                )  # the probe's line is in the log before any test counts
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"BuildGrid did not start: {self.log.read_text()[-2000:]}")

    def _answers(self) -> bool:
        import grpc

        from rules.cache.remote import reapi

        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            call = channel.unary_unary(
                "/build.bazel.remote.execution.v2.Capabilities/GetCapabilities"
            )
            try:
                return bool(call(reapi.capabilities_request(self.instance), timeout=2))
            except grpc.RpcError:
                return False

    def calls(self, **at_least: int) -> collections.Counter:
        """How many requests of each method the server received so far, from its log.

        BuildGrid may write a request's line after its answer has reached the client (seen in CI:
        a Read missing from the count, and the readiness probe counted late), so a caller names
        the counts it knows it caused and this waits, 10 s at most, for the log to show them and
        then to stay quiet for a moment; the assertions then see every line of what came before."""
        deadline, quiet = time.monotonic() + 10, 0.3
        text, since = "", time.monotonic()
        while time.monotonic() < deadline:
            now = self.log.read_text()
            if now != text:
                text, since = now, time.monotonic()
            counts = self._count(text)
            if (
                all(counts[method] >= n for method, n in at_least.items())
                and time.monotonic() - since >= quiet
            ):
                break
            time.sleep(0.05)
        return self._count(self.log.read_text())

    @staticmethod
    def _count(log: str) -> collections.Counter:
        return collections.Counter(re.findall(r'Received request\..*? method="(\w+)"', log))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
