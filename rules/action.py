"""Run one part's build as a hermetic action in its sandbox folder, then normalize and capture.

The action sees only what this module gives it: a copy of the part's source, the staged files of
the parts it is after, the fixed environment of env.py and umask 022. Its output is normalized and
captured into a Tree; an output that still names the sandbox fails the part.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .env import Sandbox, action_environment, export_lines, quote
from .errors import BuildError
from .filesets import organize
from .sources import copy_source
from .tree import Capture, Placement, capture, materialize

SHELL = "/bin/bash"
TAIL_LINES = 20


@dataclass(frozen=True)
class Action:
    """Everything that decides what a part's build does: pure data, made by `plan`."""

    part: str
    source: Path | None
    project_dir: Path
    build_root: Path  # never copied in, even when it lies inside the source
    script: str  # override-build, or the plugin's default commands
    default_build: tuple[str, ...]  # what `craftctl default` runs
    build_environment: tuple[tuple[str, str], ...]
    organize: tuple[tuple[str, str], ...]
    epoch: int
    interpreter_dir: Path


def run(action: Action, sandbox: Sandbox, stage: Placement) -> Capture:
    """Build in `sandbox` (wiped first) and return the captured, normalized install Tree."""
    _prepare(action, sandbox, stage)
    env = action_environment(sandbox, action.part, action.epoch, action.interpreter_dir)
    with open(sandbox.log, "wb") as log:
        status = subprocess.run(
            [SHELL, "--noprofile", "--norc", str(sandbox.tools / "build.sh")],
            env=env, cwd=sandbox.build, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, umask=0o022,
        ).returncode
    if status != 0:
        raise BuildError(
            f"part {action.part!r}: build script failed with exit status {status}",
            _tail(sandbox.log),
            f"Fix the part's override-build or source; the full log is {sandbox.log}",
        )
    organize(sandbox.install, action.organize, action.part)
    return _captured(action, sandbox)


def _prepare(action: Action, sandbox: Sandbox, stage: Placement) -> None:
    if os.path.lexists(sandbox.root):
        shutil.rmtree(sandbox.root)
    for folder in (sandbox.install, sandbox.home, sandbox.tmp, sandbox.tools):
        folder.mkdir(parents=True)
    if action.source is not None:
        copy_source(action.source, sandbox.src, skip=action.build_root)
    else:
        sandbox.src.mkdir()
    # The build folder starts as the source, like craft-parts; links cost nothing and both are ours.
    shutil.copytree(sandbox.src, sandbox.build, symlinks=True, copy_function=os.link)
    materialize(stage, sandbox.stage, action.epoch)
    os.symlink(action.project_dir, sandbox.project)
    _write_scripts(action, sandbox)


def _write_scripts(action: Action, sandbox: Sandbox) -> None:
    prologue = ["set -euo pipefail", *export_lines(action.build_environment), f"cd {quote(sandbox.build)}"]
    (sandbox.tools / "build.sh").write_text("\n".join([*prologue, action.script, ""]))
    (sandbox.tools / "default-build.sh").write_text("\n".join([*prologue, *action.default_build, ""]))
    craftctl = sandbox.tools / "craftctl"
    craftctl.write_text(_CRAFTCTL.format(default=quote(sandbox.tools / "default-build.sh")))
    craftctl.chmod(0o755)


_CRAFTCTL = """#!/bin/bash
# partsmith's craftctl: `craftctl default` runs the plugin's default build, as in snapcraft.
case "${{1:-}}" in
  default) exec /bin/bash --noprofile --norc {default} ;;
  *) echo "craftctl: '${{1:-}}' is not supported by partsmith (only 'craftctl default')" >&2; exit 2 ;;
esac
"""


def _captured(action: Action, sandbox: Sandbox) -> Capture:
    forbidden = {str(sandbox.root).encode(), os.path.realpath(sandbox.root).encode()}
    result = capture(sandbox.install, action.epoch, tuple(sorted(forbidden)))
    problems = (
        [f"{path}: holds the sandbox path {sandbox.root}" for path in result.leaks]
        + [f"{link}: symlink leaves the part's install folder" for link in result.escaping_links]
        + [f"{path}: not a file, folder or symlink" for path in result.unsupported]
    )
    if problems:
        raise BuildError(
            f"part {action.part!r}: {len(problems)} output{'s' if len(problems) != 1 else ''} refused",
            "\n".join(problems),
            "Outputs must not depend on where the build ran: write relative paths or "
            "absolute paths of the target system, and keep symlinks inside the part.",
        )
    return result


def _tail(log: Path) -> str:
    lines = log.read_bytes().decode("utf-8", "replace").splitlines()
    shown = lines[-TAIL_LINES:]
    return "\n".join(["(last lines of the build output)" if len(lines) > TAIL_LINES else "(build output)", *shown])
