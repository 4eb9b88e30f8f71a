"""Which Python interpreter actions see: its folder goes on the action's PATH."""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from rules.workspace import Workspace

from .errors import ActionError


def interpreter(workspace: Workspace) -> Path:
    """The workspace's `python.interpreter`, else the real interpreter behind the running Python."""
    wanted = workspace.python.interpreter
    if wanted is None:
        # sys._base_executable is the interpreter a virtualenv was made from: the same for every
        # venv of one Python, so it does not tie outputs or keys to the caller's venv.
        return Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    found = shutil.which(wanted)
    if found is None:
        raise ActionError(
            f"{workspace.path.name}: python.interpreter: {wanted!r} is not an executable on PATH",
            resolution="Install it, or name an interpreter that exists (e.g. python3).",
        )
    return _real_interpreter(found, workspace.directory)


@functools.cache
def _real_interpreter(found: str, directory: Path) -> Path:
    """Ask the interpreter where it really is: a pyenv shim or a wrapper script is not the
    interpreter the key must name, and must not choose another one at build time."""
    probe = (
        "import os, sys; print(os.path.realpath(getattr(sys, '_base_executable', sys.executable)))"
    )
    try:
        result = subprocess.run(
            [found, "-c", probe], cwd=directory, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ActionError(f"python.interpreter: {found} does not run: {err}") from None
    if result.returncode != 0 or not result.stdout.strip():
        raise ActionError(
            f"python.interpreter: {found} is not a working Python interpreter",
            "\n".join(result.stderr.splitlines()[-5:]),
        )
    return Path(result.stdout.strip())


@functools.cache
def interpreter_facts(path: str) -> dict[str, Any]:
    """What makes an interpreter produce different outputs, asked once per doit run."""
    probe = (
        "import json, platform, sys, sysconfig; print(json.dumps({'implementation': "
        "platform.python_implementation(), 'version': platform.python_version(), "
        "'platform': sysconfig.get_platform(), 'abi': sys.abiflags, "
        "'soabi': sysconfig.get_config_var('SOABI'), 'prefix': sys.base_prefix}))"
    )
    if os.path.realpath(getattr(sys, "_base_executable", sys.executable)) == path:
        return {
            "implementation": platform.python_implementation(),
            "version": platform.python_version(),
            "platform": sysconfig.get_platform(),
            "abi": sys.abiflags,
            "soabi": sysconfig.get_config_var("SOABI"),
            "prefix": sys.base_prefix,  # what a sealed build sees of the interpreter
        }
    output = subprocess.run(
        [path, "-c", probe], capture_output=True, text=True, env={}, check=True
    ).stdout
    facts: dict[str, Any] = json.loads(output)  # the probe prints an object
    return facts


def sandbox_paths(workspace: Workspace) -> tuple[Path, ...]:
    """What a sealed step of the workspace reads besides its sandbox and partsmith's own runtime:
    the prefix of the interpreter it builds with, the local find-links folders (pull's steps
    look there), and the workspace's `sandbox: extra-paths`."""
    prefix = Path(interpreter_facts(str(interpreter(workspace)))["prefix"])
    if prefix == Path("/"):
        raise ActionError(
            f"{workspace.path.name}: python.interpreter: its prefix is /, and a sealed build "
            "would see the whole machine through it",
            resolution="Use an interpreter installed below a prefix of its own (/usr, /opt/...).",
        )
    links = [Path(link) for link in workspace.python.find_links if "://" not in link]
    return (prefix, *links, *map(Path, workspace.extra_sandbox_paths))


def declared_paths(build_environment: tuple[tuple[str, str], ...]) -> tuple[Path, ...]:
    """The local folders a part's PIP_FIND_LINKS or UV_FIND_LINKS name (pull looks there: their
    files are pull's inputs), for its sealed pull steps."""
    named = " ".join(v for k, v in build_environment if k in ("PIP_FIND_LINKS", "UV_FIND_LINKS"))
    words = (word.removeprefix("file://") for word in re.split(r"[,\s]+", named))  # uv: commas
    return tuple(Path(word) for word in words if os.path.isabs(word))
