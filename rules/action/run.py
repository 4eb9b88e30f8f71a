"""Run one part's build as a hermetic action in its sandbox folder, then normalize and capture.

The action sees only what this module gives it: a copy of the part's source, the staged files of
the parts it is after, its declared inputs (pulled wheels, stage-packages), the fixed environment
of env.py and umask 022. Its output is normalized and captured into a Tree; an output that still
names the sandbox fails the part.

Like craft-parts, a build runs in steps, each a bash script with its own working folder and
`craftctl default`: the build in $CRAFT_PART_BUILD, then override-stage in a folder of its own
where `craftctl default` copies what the part's stage fileset selects of $CRAFT_PART_INSTALL as
it is at that moment (craftctl.py); what it leaves there is what the part stages. `craftctl set
version=...` is kept with the result. override-pull and override-prime run the same way outside
the build action (scriptlets.py). A build never sees the source's `.git`:
its bytes differ between clones of one commit, so it is neither an input nor copied in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from rules.core import remove_tree, uv_cache
from rules.tree import (
    Capture,
    Deferred,
    Placement,
    Tree,
    capture,
    copy_captured,
    materialize,
    normalize_modes,
    organize,
    select,
)
from rules.workspace import Sandbox

from .craftctl import read_values, selected_folder, write_tools
from .environment import action_environment
from .errors import ActionError
from .git_version import GitVersion, write_stand_in
from .layers import check_upper
from .seal import seen, seen_path
from .source_copy import copy_source
from .step import NORMAL, Conditions, Step, caller_umask_ignored, prepare_sandbox


class Background(Deferred, Protocol):
    """What an output fix leaves running while the install folder is captured (python: the
    bytecode compile, writing only `__pycache__` folders)."""

    def wait(self) -> None:
        """Return once it has ended (organize moves files: it waits first); raise if it failed."""

    def stop(self) -> None:
        """End it if it still runs (the capture failed); nothing once it has ended."""


@dataclass(frozen=True)
class OutputFix:
    """A plugin's own pass over the install folder after the script (python: the venv fixes),
    named in the step's log. `apply(install, sandbox_root, interpreter, environment, keep_open)`
    may leave part of its work running (holding `keep_open`, the part's lock, as the build
    script does, so a killed doit's leftover keeps the part locked until it ends): the capture
    waits for it where it writes."""

    label: str
    apply: Callable[[Path, Path, Path, dict[str, str], tuple[int, ...]], Background | None]


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
    interpreter: Path  # the part's python, which its key names
    inputs: tuple[tuple[str, Path], ...] = ()  # sandbox-relative path -> file to link there
    fix_output: OutputFix | None = None  # run after the script and the stage-packages
    debs: tuple[Path, ...] = ()  # stage-packages, unpacked into the install after the build
    override_stage: str | None = None
    stage: tuple[str, ...] = ("*",)  # the fileset `craftctl default` stages in override-stage
    values: tuple[tuple[str, str], ...] = ()  # what override-pull said: `craftctl get` answers it
    copies_source: bool = False  # dump's default build: the source copied straight into the install
    subdir: str | None = None  # source-subdir: the folder of $CRAFT_PART_BUILD the build runs in
    git: GitVersion | None = None  # a part that asks git for its version: the stand-in answers
    readable: tuple[Path, ...] = ()  # host paths the sealed build reads: toolchain, extra paths
    # a build in layers: the folder mounted read-only under the install folder; the output is
    # then only what the build wrote over it (rules/build/layers.py)
    layer: Path | None = None

    @property
    def copy_is_output(self) -> bool:
        """The source's copy, as it was made and hashed, is the whole output (nothing changes
        it)."""
        return self.copies_source and not (self.debs or self.organize)

    def step(self, sandbox: Sandbox, keep_open: tuple[int, ...], conditions: Conditions) -> Step:
        return Step(
            sandbox,
            self.part,
            self.epoch,
            self.build_environment,
            self.interpreter.parent,
            keep_open,
            conditions,
            workdir=self.build_dir(sandbox),
            readable=self.readable,
            writable=(uv_cache(),),
            layer=self.layer,
        )

    def build_dir(self, sandbox: Sandbox) -> Path:
        return sandbox.build / self.subdir if self.subdir else sandbox.build

    def written(self, sandbox: Sandbox) -> Path:
        """The folder holding what the build wrote into its install folder."""
        return sandbox.layer_upper if self.layer is not None else sandbox.install


@dataclass(frozen=True)
class Built:
    """A finished action: the captured output, the folder holding it, and what `craftctl set`
    said."""

    capture: Capture
    folder: Path
    values: dict[str, str]

    @property
    def tree(self) -> Tree:
        return self.capture.tree


def run_action(
    action: Action,
    sandbox: Sandbox,
    stage: Placement,
    keep_open: tuple[int, ...] = (),
    conditions: Conditions = NORMAL,
    runner: Callable[[Step, str], int] | None = None,
) -> Built:
    """Build in `sandbox` (wiped first) and return the captured, normalized output.

    `keep_open`: file descriptors the build script inherits; build.py passes its lock, so a
    script left running by a killed doit keeps the part locked until it ends. `runner`: what
    runs the build script instead of this machine (the remote executor); every step after it
    runs here."""
    prepare_sandbox(sandbox, layered=action.layer is not None)
    step = replace(action.step(sandbox, keep_open, conditions), runner=runner)
    with caller_umask_ignored():
        values, build_dir = dict(action.values), action.build_dir(sandbox)
        write_tools(
            sandbox, action.build_environment, action.default_build, values, build_dir, action.stage
        )
        if action.copies_source:
            copied = _copy_source_to_install(action, sandbox, conditions.reverse_source)
            if action.copy_is_output:  # captured as it was made
                return Built(
                    _accepted(action.part, sandbox, copied), sandbox.install, read_values(sandbox)
                )
        else:
            _fill(action, sandbox, stage, conditions.reverse_source)
    if not action.copies_source:
        step.run(action.script)
    # also before override-stage: what the build made is checked, and normalized as it is staged
    captured = _captured_install(action, sandbox, _finish_install(action, sandbox, keep_open))
    if action.override_stage is None:
        return Built(captured, action.written(sandbox), read_values(sandbox))
    staged = sandbox.root / "staged"
    captured = _run_scripted(step, "stage", action.override_stage, staged)
    return Built(captured, staged, read_values(sandbox))


def _finish_install(
    action: Action, sandbox: Sandbox, keep_open: tuple[int, ...]
) -> Background | None:
    """What follows the script in the install folder: stage-packages, the plugin's fix, organize.
    Returns what the fix left running, for the capture to wait for; organize, which moves any
    file, waits for it first."""
    if action.layer is not None:
        check_upper(sandbox.layer_upper, action.layer)  # what the layer's Tree can take
    if action.git is not None:  # the stand-in repository is the build's, never an output
        remove_tree(sandbox.install / ".git")
    for deb in action.debs:
        unpack_deb(deb, sandbox.install, action.part)
    background = None
    if action.fix_output is not None:
        _say(sandbox, action.fix_output.label)
        env = action_environment(sandbox, action.part, action.epoch, action.interpreter.parent)
        background = action.fix_output.apply(
            action.written(sandbox), seen(sandbox).root, action.interpreter, env, keep_open
        )
    if background is not None and action.organize:
        try:
            background.wait()
        finally:
            background.stop()
        background = None
    organize(sandbox.install, action.organize, action.part)
    return background


def _captured_install(action: Action, sandbox: Sandbox, background: Background | None) -> Capture:
    try:
        _say(sandbox, "capturing the output")
        written = action.written(sandbox)
        return _captured(action.part, sandbox, written, action.epoch, background)
    finally:
        if background is not None:
            background.stop()


def _say(sandbox: Sandbox, what: str) -> None:
    """A line in the step's log: where a long build is (the progress line shows it)."""
    with open(sandbox.log, "a") as log:
        log.write(f"partsmith: {what}\n")


def scripted_step(
    step: Step, name: str, script: str, tree: Tree, root: Path, fileset: tuple[str, ...], out: Path
) -> Capture:
    """override-prime: the part's files that `fileset` selects of `tree` (its bytes in `root`)
    are laid out first, for `craftctl default` to copy into `out`; then `_run_scripted`."""
    with caller_umask_ignored():
        materialize(
            {path: (entry, root) for path, entry in select(tree, fileset).items()},
            selected_folder(step.sandbox, name),
            step.epoch,
        )
    return _run_scripted(step, name, script, out)


def _run_scripted(step: Step, name: str, script: str, out: Path) -> Capture:
    """override-stage / override-prime: the script runs in `out`, which starts empty and is
    $CRAFT_STAGE / $CRAFT_PRIME; what it leaves there is captured."""
    with caller_umask_ignored():
        out.mkdir()
    variable = "CRAFT_STAGE" if name == "stage" else "CRAFT_PRIME"
    inside = str(seen_path(step.sandbox, out))
    env = {variable: inside, "SNAPCRAFT_" + variable.removeprefix("CRAFT_"): inside}
    step.at(name, out, env).run(script)
    return _captured(step.part, step.sandbox, out, step.epoch)


def unpack_deb(deb: Path, install: Path, part: str) -> None:
    """A stage-package's files, as `dpkg-deb -x` unpacks them (no maintainer scripts run)."""
    result = subprocess.run(
        ["dpkg-deb", "-x", str(deb), str(install)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
    )
    if result.returncode != 0:
        raise ActionError(
            f"part {part!r}: stage-package {deb.name} could not be unpacked",
            result.stderr.strip(),
            "Run `doit clean pull:<part>` and run again.",
        )


def _fill(action: Action, sandbox: Sandbox, stage: Placement, reverse_source: bool) -> None:
    copy_part_source(action.source, action.build_root, sandbox.src, action.epoch, reverse_source)
    # The build folder starts as the (pulled) source, like craft-parts; links cost nothing.
    copy_source(sandbox.src, sandbox.build, skip=(), reverse=reverse_source, link=True)
    materialize(stage, sandbox.stage, action.epoch)
    if action.git is not None:
        write_stand_in(action.git, sandbox.build, action.epoch)
    for relative, path in action.inputs:
        _link_or_copy(path, sandbox.root / relative)


def _copy_source_to_install(action: Action, sandbox: Sandbox, reverse: bool) -> Capture:
    """dump's default build without a script: what `cp -a` of the source copy would give, made
    once, straight from the source, hashed and normalized as it is copied. No script runs, so
    nothing can read the checkout or write into it: the sandbox copy that a script needs would
    only cost one more creation per file."""
    sandbox.install.rmdir()
    if action.source is None:
        sandbox.install.mkdir()
        return capture(sandbox.install, action.epoch)
    skip = frozenset({str(action.build_root), str(action.source / ".git")})
    return copy_captured(
        action.source, sandbox.install, skip, action.epoch, _forbidden(sandbox), reverse
    )


def copy_part_source(
    source: Path | None, build_root: Path, dest: Path, epoch: int, reverse: bool = False
) -> None:
    """$CRAFT_PART_SRC of the steps after pull: a copy of the part's (pulled) source without the
    build root and `.git`, with normalized modes and mtimes (the checkout's umask and times are
    not inputs); an empty folder for a part without a source."""
    if source is not None:
        copy_source(source, dest, skip=(build_root, source / ".git"), reverse=reverse, epoch=epoch)
    else:
        dest.mkdir()
        normalize_modes(dest, epoch)


def _link_or_copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:  # another filesystem
        shutil.copyfile(source, dest)


def _captured(
    part: str, sandbox: Sandbox, folder: Path, epoch: int, deferred: Deferred | None = None
) -> Capture:
    if folder.is_symlink() or not folder.is_dir():
        raise ActionError(
            f"part {part!r}: $CRAFT_PART_INSTALL was replaced by something that is not a folder",
            resolution="Write the part's files into $CRAFT_PART_INSTALL; "
            "do not remove or replace it.",
        )
    return _accepted(part, sandbox, capture(folder, epoch, _forbidden(sandbox), deferred=deferred))


def _forbidden(sandbox: Sandbox) -> tuple[bytes, ...]:
    """What no output may hold: the sandbox's path, as written and as a file: URL quotes it;
    sealed, each of its entries as the build saw them (/partsmith/install, /partsmith/tools...:
    the root alone is a word a project's URL may hold)."""
    spellings = {str(sandbox.root), os.path.realpath(sandbox.root)}
    inside = seen(sandbox)
    if inside != sandbox:
        # what it holds when its output is captured: every folder the step could have named
        spellings |= {str(inside.root / name) for name in os.listdir(sandbox.root)}
    return tuple(sorted({form.encode() for path in spellings for form in (path, quote(path))}))


def _accepted(part: str, sandbox: Sandbox, result: Capture) -> Capture:
    """`result`, unless it holds what no output may: one error listing every such entry."""
    problems = (
        [f"{path}: holds the sandbox path {seen(sandbox).root}" for path in result.leaks]
        + [f"{link}: symlink leaves the part's install folder" for link in result.escaping_links]
        + [f"{path}: not a file, folder or symlink" for path in result.unsupported]
    )
    if problems:
        raise ActionError(
            f"part {part!r}: {len(problems)} output{'s' if len(problems) != 1 else ''} refused",
            "\n".join(problems),
            "Outputs must not depend on where the build ran: write relative paths or "
            "absolute paths of the target system, and keep symlinks inside the part.",
        )
    return result
