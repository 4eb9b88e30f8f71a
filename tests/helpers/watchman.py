"""A private watchman daemon for tests and benches: Debian's `watchman` (installed by .ci/run),
with its own socket, state and log, so that it never meets a user's daemon. Partsmith finds it
through $WATCHMAN_SOCK, as pywatchman does."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path


def installed() -> bool:
    return shutil.which("watchman") is not None


class Watchman:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        # a unix socket's path holds at most 107 bytes: not below a long tmp_path
        self.folder = Path(tempfile.mkdtemp(prefix="wm"))
        self.sock = self.folder / "sock"

    def __enter__(self) -> Watchman:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def environment(self) -> dict[str, str]:
        return {"WATCHMAN_SOCK": str(self.sock)}

    def start(self) -> None:
        """The CLI starts the daemon (it forks into the background) and answers once it runs."""
        self.logs.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "watchman",
                f"--sockname={self.sock}",
                f"--statefile={self.folder / 'state'}",
                f"--pidfile={self.folder / 'pid'}",
                f"--logfile={self.logs / 'watchman.log'}",
                "--no-save-state",
                "get-pid",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def pid(self) -> int:
        return int((self.folder / "pid").read_text().split()[0])

    def stop(self) -> None:
        if self.sock.exists():
            subprocess.run(
                ["watchman", f"--sockname={self.sock}", "shutdown-server"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        self._wait_gone()

    def kill(self) -> None:
        """kill -9: the watches, and every clock they gave, are lost."""
        os.kill(self.pid(), signal.SIGKILL)
        self._wait_gone()
        self.sock.unlink(missing_ok=True)

    def _wait_gone(self) -> None:
        try:
            pid = self.pid()
        except (OSError, ValueError):
            return
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
