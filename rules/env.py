"""The environment of a hermetic action, built from nothing (SPEC.md, "What the hermetic action
guarantees"). Nothing of the caller's environment is read here, on purpose."""
from __future__ import annotations

import os
import platform
import shlex
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from .offline import proxy_environment

SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
# The Debian multiarch triplet and architecture of this machine, as snapcraft's ARCH_TRIPLET and
# ARCH_BUILD_FOR (partsmith builds for the machine it runs on).
ARCH_TRIPLET = sysconfig.get_config_var("MULTIARCH") or f"{platform.machine()}-linux-gnu"
DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "ppc64le": "ppc64el", "s390x": "s390x",
            "riscv64": "riscv64", "i686": "i386"}.get(platform.machine(), platform.machine())
# A build's parallelism is an input like any other: fixed, so a key does not depend on the
# machine's cores (and a `make -j$CRAFT_PARALLEL_BUILD_COUNT` builds alike everywhere).
PARALLEL_BUILD_COUNT = "1"


@dataclass(frozen=True)
class Sandbox:
    """The fixed folders of one action; every path an action sees lies below `root`."""

    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def install(self) -> Path:
        return self.root / "install"

    @property
    def stage(self) -> Path:
        return self.root / "stage"

    @property
    def prime(self) -> Path:
        """$CRAFT_PRIME: empty during a build; override-prime fills its own (stage.py)."""
        return self.root / "prime"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def tools(self) -> Path:
        return self.root / "tools"

    @property
    def project(self) -> Path:
        """$CRAFT_PROJECT_DIR: an empty folder. A build reads its part's `source` (an input the
        cache key covers), never the rest of the workspace, and never learns the checkout path."""
        return self.root / "project"

    @property
    def log(self) -> Path:
        return self.root / "build.log"


def action_environment(sandbox: Sandbox, part_name: str, epoch: int, interpreter_dir: Path,
                       network: bool = False) -> dict[str, str]:
    """Fixed variables only; the part's build-environment is exported by the script after them.
    Without `network` (every step but pull's), the proxies point nowhere (offline.py)."""
    path = [sandbox.tools, sandbox.install / "bin", sandbox.stage / "bin", interpreter_dir, *SYSTEM_PATH]
    return {
        "PATH": ":".join(str(p) for p in path),
        "HOME": str(sandbox.home),
        "TMPDIR": str(sandbox.tmp),
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONHASHSEED": "0",
        "SOURCE_DATE_EPOCH": str(epoch),
        # pip reads configuration files (/etc/pip.conf, /etc/xdg/pip, ~/.config/pip) even when no
        # PIP_* variable is set; os.devnull here is pip's documented way to read none of them.
        "PIP_CONFIG_FILE": os.devnull,
        # git run by a build must not find the checkout's repository above the sandbox (its
        # top-level path, its HEAD): the source is an input by content, not by where it sits.
        "GIT_CEILING_DIRECTORIES": str(sandbox.root),
        **craft_variables(sandbox, part_name),
        **({} if network else proxy_environment()),
    }


def craft_variables(sandbox: Sandbox, part_name: str) -> dict[str, str]:
    """craft-parts' CRAFT_* variables and, for scripts written for core18/core20, the same
    values under snapcraft's older SNAPCRAFT_* names."""
    craft = {
        "PART_NAME": part_name,
        "PART_SRC": str(sandbox.src),
        "PART_BUILD": str(sandbox.build),
        "PART_INSTALL": str(sandbox.install),
        "STAGE": str(sandbox.stage),
        "PRIME": str(sandbox.prime),
        "PROJECT_DIR": str(sandbox.project),
        "ARCH_TRIPLET": ARCH_TRIPLET,
        "ARCH_BUILD_FOR": DEB_ARCH,
        "ARCH_BUILD_ON": DEB_ARCH,
        "TARGET_ARCH": DEB_ARCH,
        "PARALLEL_BUILD_COUNT": PARALLEL_BUILD_COUNT,
    }
    return {f"{prefix}_{name}": value for prefix in ("CRAFT", "SNAPCRAFT") for name, value in craft.items()}


def export_lines(build_environment: tuple[tuple[str, str], ...]) -> list[str]:
    """`export NAME="value"` lines, as snapcraft writes them: `$OTHER` in a value is expanded,
    so `PATH: "$PATH:/opt/x"` extends the fixed PATH; quotes and backquotes are literal."""
    return [f'export {name}="{_double_quoted(value)}"' for name, value in build_environment]


def _double_quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")


def quote(path: Path) -> str:
    return shlex.quote(str(path))
