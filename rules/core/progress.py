"""One updating line per running task on a terminal: what a long pull or build is doing now.

Without a terminal (CI, a pipe) it prints nothing: logs stay as they were, and the summary line
is unchanged. The line is rewritten at most ten times a second and cleared when the task ends.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INTERVAL = 0.1


class Progress:
    def __init__(self, task: str, enabled: bool | None = None) -> None:
        self.task = task
        self.enabled = (
            sys.stderr.isatty() and not os.environ.get("CI") if enabled is None else enabled
        )
        self._lock = threading.Lock()
        self._what, self._count, self._done, self._bytes, self._total = "", 0, 0, 0, 0
        self._shown_at = 0.0

    def phase(self, what: str) -> None:
        with self._lock:
            self._what, self._count = what, 0
            self._show(force=True)

    def start_count(self, what: str, count: int, total_bytes: int) -> None:
        with self._lock:
            self._what, self._count, self._done, self._bytes, self._total = (
                what,
                count,
                0,
                0,
                total_bytes,
            )
            self._show(force=True)

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self._bytes += count
            self._show()

    def add_done(self) -> None:
        with self._lock:
            self._done += 1
            self._show(force=self._done == self._count)

    @contextmanager
    def following(self, log: Path) -> Iterator[None]:
        """Show the last line `log` gets while the block runs (a build script's own steps)."""
        if not self.enabled:
            yield
            return
        stop = threading.Event()
        thread = threading.Thread(target=self._follow, args=(log, stop), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self.clear()

    def _follow(self, log: Path, stop: threading.Event) -> None:
        shown = ""
        while not stop.wait(INTERVAL * 2):
            line = _last_line(log)
            if line and line != shown:
                shown = line
                self.phase(line.removeprefix("partsmith: "))

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._shown_at < INTERVAL):
            return
        self._shown_at = now
        text = self._what
        if self._count:
            text += f" {self._done}/{self._count} ({_size(self._bytes)} of {_size(self._total)})"
        sys.stderr.write(f"\r\x1b[K{self.task}: {text}"[:200])
        sys.stderr.flush()


def _last_line(log: Path) -> str:
    try:
        with open(log, "rb") as stream:
            stream.seek(max(0, stream.seek(0, os.SEEK_END) - 4096))
            lines = stream.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def _size(count: int) -> str:
    for unit in ("B", "kB", "MB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000  # type: ignore[assignment]
    return f"{count:.1f} GB"


SILENT = Progress("", enabled=False)
