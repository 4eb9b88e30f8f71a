"""The environment of a hermetic action, built from nothing (SPEC.md, "What the hermetic action
guarantees"). Nothing of the caller's environment is read here, on purpose."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from rules.core import ARCH_TRIPLET, DEB_ARCH
from rules.workspace import Sandbox

from .network_cut import proxy_environment

SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
# A build's parallelism is an input like any other: fixed, so a key does not depend on the
# machine's cores (and a `make -j$CRAFT_PARALLEL_BUILD_COUNT` builds alike everywhere).
PARALLEL_BUILD_COUNT = "1"


def action_environment(
    sandbox: Sandbox, part_name: str, epoch: int, interpreter_dir: Path, network: bool = False
) -> dict[str, str]:
    """Fixed variables only; the part's build-environment is exported by the script after them.
    Without `network` (every step but pull's), the proxies point nowhere (offline.py)."""
    path = [
        sandbox.tools,
        sandbox.install / "bin",
        sandbox.stage / "bin",
        interpreter_dir,
        *SYSTEM_PATH,
    ]
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
    return {
        f"{prefix}_{name}": value
        for prefix in ("CRAFT", "SNAPCRAFT")
        for name, value in craft.items()
    }


def export_lines(build_environment: tuple[tuple[str, str], ...]) -> list[str]:
    """`export NAME="value"` lines, as snapcraft writes them: `$OTHER` in a value is expanded,
    so `PATH: "$PATH:/opt/x"` extends the fixed PATH; quotes and backquotes are literal."""
    return [f'export {name}="{_double_quoted(value)}"' for name, value in build_environment]


def _double_quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")


def quote(path: Path) -> str:
    return shlex.quote(str(path))
