"""Run one part's build as a hermetic action in its sandbox folder, then normalize and capture.

The action sees only what this module gives it: a copy of the part's source, the staged files of
the parts it is after, its declared inputs (pulled wheels), the fixed environment of env.py and
umask 022. Its output is normalized and captured into a Tree; an output that still names the
sandbox fails the part.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from urllib.parse import quote
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import normalize
from .env import Sandbox, action_environment, export_lines
from .env import quote as shell_quote
from .fsutil import remove_tree
from .errors import BuildError
from .filesets import organize
from .sources import copy_source
from .tree import Capture, Placement, capture, materialize, normalize_modes

SHELL = "/bin/bash"
TAIL_LINES = 20


@dataclass(frozen=True)
class Action:
    """Everything that decides what a part's build does: pure data, made by `build.plan`."""

    part: str
    source: Path | None
    build_root: Path  # never copied in, even when it lies inside the source
    script: str  # override-build, or the plugin's default commands
    default_build: tuple[str, ...]  # what `craftctl default` runs
    build_environment: tuple[tuple[str, str], ...]
    organize: tuple[tuple[str, str], ...]
    epoch: int
    interpreter_dir: Path
    inputs: tuple[tuple[str, Path], ...] = ()  # sandbox-relative path -> file to link there
    python_venv: bool = False  # normalize the install folder as a python virtual environment


@dataclass(frozen=True)
class Conditions:
    """What `doit verify` varies in a second build, on top of another sandbox path: a command
    wrapping the script (one CPU, another hostname), variables added to its environment (a
    shifted clock) and the order in which the source is copied in."""

    wrapper: tuple[str, ...] = ()
    extra_env: tuple[tuple[str, str], ...] = ()
    reverse_source: bool = False


NORMAL = Conditions()


def run(action: Action, sandbox: Sandbox, stage: Placement, keep_open: tuple[int, ...] = (),
        conditions: Conditions = NORMAL) -> Capture:
    """Build in `sandbox` (wiped first) and return the captured, normalized install Tree.

    `keep_open`: file descriptors the build script inherits; build.py passes its lock, so a
    script left running by a killed doit keeps the part locked until it ends."""
    prepare_sandbox(sandbox)
    with caller_umask_ignored():
        _fill(action, sandbox, stage, conditions.reverse_source)
    status = execute(sandbox, action.epoch, action.part, action.build_environment, action.script,
                     action.interpreter_dir, keep_open, conditions)
    if status != 0:
        raise BuildError(
            f"part {action.part!r}: build script failed with exit status {status}",
            _tail(sandbox.log),
            f"Fix the part's override-build or source; the full log is {sandbox.log}",
        )
    if action.python_venv:
        env = action_environment(sandbox, action.part, action.epoch, action.interpreter_dir)
        normalize.python_venv(sandbox.install, sandbox.root, env)
    organize(sandbox.install, action.organize, action.part)
    return _captured(action, sandbox)


@contextmanager
def caller_umask_ignored() -> Iterator[None]:
    """Folders partsmith makes for an action get 0755 whatever the caller's umask."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def prepare_sandbox(sandbox: Sandbox) -> None:
    remove_tree(sandbox.root)
    with caller_umask_ignored():
        for folder in (sandbox.install, sandbox.home, sandbox.tmp, sandbox.tools, sandbox.project):
            folder.mkdir(parents=True)


def execute(sandbox: Sandbox, epoch: int, part: str, build_environment: tuple[tuple[str, str], ...],
            script: str, interpreter_dir: Path, keep_open: tuple[int, ...] = (),
            conditions: Conditions = NORMAL) -> int:
    """Run `script` with bash in the sandbox's fixed environment; its output goes to the log."""
    env = {**action_environment(sandbox, part, epoch, interpreter_dir), **dict(conditions.extra_env)}
    prologue = _prologue(sandbox, build_environment)
    (sandbox.tools / "build.sh").write_text("\n".join([*prologue, script, ""]))
    with open(sandbox.log, "wb") as log:
        return subprocess.run(
            [*conditions.wrapper, SHELL, "--noprofile", "--norc", str(sandbox.tools / "build.sh")],
            env=env, cwd=sandbox.root, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, umask=0o022, pass_fds=keep_open,
        ).returncode


def _prologue(sandbox: Sandbox, build_environment: tuple[tuple[str, str], ...]) -> list[str]:
    return ["set -euo pipefail", *export_lines(build_environment), f"cd {shell_quote(sandbox.build)}"]


def _fill(action: Action, sandbox: Sandbox, stage: Placement, reverse_source: bool) -> None:
    if action.source is not None:
        copy_source(action.source, sandbox.src, skip=action.build_root, reverse=reverse_source)
    else:
        sandbox.src.mkdir()
    normalize_modes(sandbox.src, action.epoch)  # the checkout's umask and mtimes are not inputs
    # The build folder starts as the source, like craft-parts; links cost nothing and both are ours.
    copy_source(sandbox.src, sandbox.build, skip=action.build_root, reverse=reverse_source, link=True)
    materialize(stage, sandbox.stage, action.epoch)
    for relative, path in action.inputs:
        _link_or_copy(path, sandbox.root / relative)
    default = sandbox.tools / "default-build.sh"
    default.write_text("\n".join([*_prologue(sandbox, action.build_environment), *action.default_build, ""]))
    craftctl = sandbox.tools / "craftctl"
    craftctl.write_text(_CRAFTCTL.format(default=shell_quote(default)))
    craftctl.chmod(0o755)


def _link_or_copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:  # another filesystem
        shutil.copyfile(source, dest)


_CRAFTCTL = """#!/bin/bash
# partsmith's craftctl: `craftctl default` runs the plugin's default build, as in snapcraft.
case "${{1:-}}" in
  default) exec /bin/bash --noprofile --norc {default} ;;
  *) echo "craftctl: '${{1:-}}' is not supported by partsmith (only 'craftctl default')" >&2; exit 2 ;;
esac
"""


def _captured(action: Action, sandbox: Sandbox) -> Capture:
    if sandbox.install.is_symlink() or not sandbox.install.is_dir():
        raise BuildError(f"part {action.part!r}: $CRAFT_PART_INSTALL was replaced by something that is not a folder",
                         resolution="Write the part's files into $CRAFT_PART_INSTALL; do not remove or replace it.")
    spellings = {str(sandbox.root), os.path.realpath(sandbox.root)}
    forbidden = {form.encode() for path in spellings for form in (path, quote(path))}  # quote: file: URLs
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
