"""The bytecode compile of a venv, started and followed: the driver (pyc_cache.DRIVER) run by
the part's own interpreter outside the sandbox, beside the capture of the venv's other files,
reporting each folder whose `__pycache__` it has written so the capture takes it at once."""

from __future__ import annotations

import fcntl
import filecmp
import io
import os
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from rules.core import cores_per_task, unsealed

from .errors import PythonError
from .pyc_cache import DRIVER, DRIVER_DIGEST, TOUCH_EVERY, pyc_cache


def compile_venv(
    install: Path,
    interpreter: Path,
    env: dict[str, str],
    keep_open: tuple[int, ...] = (),
    python: Path | None = None,
) -> Compiling:
    """Every module of the venv at `install` compiled, or copied from the pyc cache, in a driver
    left running: the install folder's other files are captured meanwhile. A driver that fails
    (not a module that does not compile: that one is skipped) fails the build when waited for.
    It holds `keep_open` (the part's lock): one that outlives a killed doit keeps the part locked,
    so it never writes into the next run's sandbox. `python`: the interpreter to run, when the
    caller vouches for it (a top layer holds no bin/python: its layer's was checked)."""
    python = python or _driver_python(install, interpreter)
    _open_to_the_compile(install / "lib")
    log = tempfile.TemporaryFile()  # a file, not a pipe: warnings cannot fill it, stalling it
    reports, report = _report_pipe()
    try:
        process = subprocess.Popen(
            _driver_command(python, install, report),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            umask=0o022,
            pass_fds=(*keep_open, report),
            start_new_session=True,  # its workers with it: `stop` ends the whole group
        )
    except OSError as err:
        log.close()
        os.close(reports)
        raise PythonError(
            f"compiling the venv's bytecode failed: {install / 'bin' / 'python'} cannot run",
            str(err),
            RESOLUTION,
        ) from None
    finally:
        os.close(report)  # the driver's and its workers' now: the reports end when they end
    return Compiling(process, log, os.fdopen(reports, "rb"))


def _driver_command(python: Path, install: Path, report: int) -> list[str]:
    return [
        str(python),
        *("-I", "-S", "-c", DRIVER),
        *(str(install), str(pyc_cache()), str(cores_per_task())),
        str(time.time() - TOUCH_EVERY),
        DRIVER_DIGEST,
        str(report),
    ]


def _report_pipe() -> tuple[int, int]:
    """The driver's reports of finished folders: a pipe large enough (where Linux allows) that
    the driver never waits for a capture still walking the venv's other files."""
    reports, report = os.pipe()
    try:
        fcntl.fcntl(report, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (OSError, AttributeError):
        pass  # the default size: at worst the driver pauses until the capture reads
    return reports, report


RESOLUTION = (
    "The compile runs $CRAFT_PART_INSTALL/bin/python's interpreter: an override-build must leave "
    "it the venv's, the part's interpreter. Fix the script and run again."
)


def _driver_python(install: Path, interpreter: Path) -> Path:
    """The python that runs the compile, outside the sandbox. Sealed: the part's interpreter
    itself (the one its key names), once the venv's `bin/python` is known to be that
    interpreter; never the venv's link, since CPython takes its standard library from the
    `home` of the `pyvenv.cfg` beside it, which the build wrote. Unsealed, the build itself ran
    here: the venv's python runs as it is."""
    python = install / "bin" / "python"
    if unsealed():
        return python  # a venv without its python: the start fails, with its own error
    if _same_file(python, interpreter):
        return interpreter
    found = f"leads to {os.path.realpath(python)}" if os.path.exists(python) else "is missing"
    raise PythonError(
        "compiling the venv's bytecode failed: bin/python is not the part's interpreter",
        f"{python} {found}, not {interpreter}: the compile runs outside the sandbox, so "
        "it runs only the interpreter the part's key names",
        RESOLUTION,
    )


def _same_file(python: Path, interpreter: Path) -> bool:
    """A link (or hard link) to the interpreter, or a copy of it (`venv --copies`)."""
    try:
        return os.path.samefile(python, interpreter) or filecmp.cmp(
            python, interpreter, shallow=False
        )
    except OSError:
        return False  # missing, or a dangling link


class Compiling:
    """The bytecode compile of one venv, running. It writes nothing but `__pycache__` folders
    (and removes links of that name), so the capture passes them by and takes each once the
    driver reports it written."""

    name = "__pycache__"

    def __init__(
        self, process: subprocess.Popen, log: IO[bytes], reports: io.BufferedReader
    ) -> None:
        self.process, self.log, self.reports = process, log, reports
        self.clean = False  # ended by itself, with its pool shut down: nothing of it is left

    def finished(self) -> Iterator[str]:
        """Each folder (relative, ending in /) whose `__pycache__` the driver has written, as it
        writes them; then the driver waited for."""
        pending = b""
        while chunk := self.reports.read1(1 << 16):
            *done, pending = (pending + chunk).split(b"\0")
            for folder in done:
                yield folder.decode(errors="surrogateescape")
        self._ended()

    def wait(self) -> None:
        """Every report read (a driver whose pipe is full would wait for ever), then the end."""
        for _ in self.finished():
            pass

    def _ended(self) -> None:
        self.clean = self.process.wait() == 0
        if not self.clean:
            self.log.seek(0)
            lines = self.log.read().decode(errors="replace").splitlines()
            raise PythonError(
                "compiling the venv's bytecode failed", "\n".join(lines[-10:]), RESOLUTION
            )

    def stop(self) -> None:
        """The driver and its workers killed unless it ended cleanly (its workers, orphaned,
        would hold the part's lock for good, even once a driver killed alone has ended; their
        group keeps its id while any of them lives); then its log closed."""
        if not self.clean:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass  # the whole group has ended
            self.process.wait()
        self.log.close()
        self.reports.close()


def _open_to_the_compile(lib: Path) -> None:
    """Give the owner what the compile uses (every folder listed and written, every source read)
    before it starts: the capture beside it sets modes 0755/0644 as it goes, and a compile that
    met a folder before or after that would give different bytecode. A `lib` that is a link
    is not followed (nor does the driver follow it)."""
    if lib.is_symlink():
        return
    for folder, subfolders, files in os.walk(lib):
        for name, needed in [*((n, 0o700) for n in subfolders), *((n, 0o400) for n in files)]:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and mode & needed != needed:
                os.chmod(path, stat.S_IMODE(mode) | needed)
