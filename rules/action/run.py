"""Run one part's build as a hermetic action in its sandbox folder, then normalize and capture.

The action sees only what this module gives it: a copy of the part's source, the staged files of
the parts it is after, its declared inputs (pulled wheels, stage-packages), the fixed environment
of env.py and umask 022. Its output is normalized and captured into a Tree; an output that still
names the sandbox fails the part.

Like craft-parts, a build runs in steps, each a bash script with its own working folder and
`craftctl default`: the build in $CRAFT_PART_BUILD, then override-stage in a folder of its own
that `craftctl default` fills with the part's staged files; what it leaves there is what the part
stages. `craftctl set version=...` is kept with the result. override-pull and override-prime run
the same way outside the build action (scriptlets.py). A build never sees the source's `.git`:
its bytes differ between clones of one commit, so it is neither an input nor copied in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from rules.core import remove_tree
from rules.tree import (
    Capture,
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

from .environment import action_environment, export_lines
from .environment import quote as shell_quote
from .errors import ActionError
from .network_cut import namespace_command, network_hint
from .source_copy import copy_source

SHELL = "/bin/bash"
TAIL_LINES = 20


@dataclass(frozen=True)
class OutputFix:
    """A plugin's own pass over the install folder after the script (python: the venv fixes),
    named in the step's log. `apply(install, sandbox_root, environment)`."""

    label: str
    apply: Callable[[Path, Path, dict[str, str]], None]


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
    fix_output: OutputFix | None = None  # run after the script and the stage-packages
    debs: tuple[Path, ...] = ()  # stage-packages, unpacked into the install after the build
    override_stage: str | None = None
    stage: tuple[str, ...] = ("*",)  # the fileset `craftctl default` stages in override-stage
    values: tuple[tuple[str, str], ...] = ()  # what override-pull said: `craftctl get` answers it
    copies_source: bool = False  # dump's default build: the source copied straight into the install

    @property
    def copy_is_output(self) -> bool:
        """The source's copy, as it was made and hashed, is the whole output (nothing changes it)."""
        return self.copies_source and not (self.debs or self.organize)

    def step(self, sandbox: Sandbox, keep_open: tuple[int, ...], conditions: Conditions) -> Step:
        return Step(
            sandbox,
            self.part,
            self.epoch,
            self.build_environment,
            self.interpreter_dir,
            keep_open,
            conditions,
        )


@dataclass(frozen=True)
class Built:
    """A finished action: the captured output, the folder holding it, and what `craftctl set` said."""

    capture: Capture
    folder: Path
    values: dict[str, str]

    @property
    def tree(self) -> Tree:
        return self.capture.tree


@dataclass(frozen=True)
class Conditions:
    """What `doit verify` varies in a second build, on top of another sandbox path: a command
    wrapping the script (one CPU, another hostname), variables added to its environment (a
    shifted clock) and the order in which the source is copied in."""

    wrapper: tuple[str, ...] = ()
    extra_env: tuple[tuple[str, str], ...] = ()
    reverse_source: bool = False


NORMAL = Conditions()


def run_action(
    action: Action,
    sandbox: Sandbox,
    stage: Placement,
    keep_open: tuple[int, ...] = (),
    conditions: Conditions = NORMAL,
) -> Built:
    """Build in `sandbox` (wiped first) and return the captured, normalized output.

    `keep_open`: file descriptors the build script inherits; build.py passes its lock, so a
    script left running by a killed doit keeps the part locked until it ends."""
    prepare_sandbox(sandbox)
    step = action.step(sandbox, keep_open, conditions)
    with caller_umask_ignored():
        write_tools(sandbox, action.build_environment, action.default_build, dict(action.values))
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
    for deb in action.debs:
        unpack_deb(deb, sandbox.install, action.part)
    if action.fix_output is not None:
        _say(sandbox, action.fix_output.label)
        env = action_environment(sandbox, action.part, action.epoch, action.interpreter_dir)
        action.fix_output.apply(sandbox.install, sandbox.root, env)
    organize(sandbox.install, action.organize, action.part)
    _say(sandbox, "capturing the output")
    captured = _captured(action.part, sandbox, sandbox.install, action.epoch)
    folder = sandbox.install
    if action.override_stage is not None:
        folder = sandbox.root / "staged"
        captured = scripted_step(
            step,
            "stage",
            action.override_stage,
            captured.tree,
            sandbox.install,
            action.stage,
            folder,
        )
    return Built(captured, folder, read_values(sandbox))


def _say(sandbox: Sandbox, what: str) -> None:
    """A line in the step's log: where a long build is (the progress line shows it)."""
    with open(sandbox.log, "a") as log:
        log.write(f"partsmith: {what}\n")


@dataclass(frozen=True)
class Step:
    """One step script of a part and everything it runs with: `execute` needs nothing else.
    The steps of one action differ only in name, workdir and env (`at` makes the next one)."""

    sandbox: Sandbox
    part: str
    epoch: int
    build_environment: tuple[tuple[str, str], ...]
    interpreter_dir: Path
    # file descriptors the script inherits: build.py passes its lock, so a script left running
    # by a killed doit keeps the part locked until it ends
    keep_open: tuple[int, ...] = ()
    conditions: Conditions = NORMAL
    name: str = "build"  # $CRAFT_STEP_NAME in lower case; also names the script's file
    workdir: Path | None = None  # where the script starts; None: the build folder
    env: tuple[tuple[str, str], ...] = ()  # on top of the fixed environment (e.g. $CRAFT_STAGE)
    network: bool = False  # only pull's steps (override-pull, uv's lock and sdist builds) have it

    def at(self, name: str, workdir: Path, env: dict[str, str] | None = None) -> Step:
        return replace(self, name=name, workdir=workdir, env=tuple((env or {}).items()))

    def run(self, script: str) -> None:
        """Run `script`; a failure names the step and shows the log's tail."""
        status = execute(self, script)
        _warn_empty_values(self)
        if status != 0:
            what = "build script" if self.name == "build" else f"override-{self.name} script"
            log = self.sandbox.log.read_bytes().decode("utf-8", "replace")
            hint = None if self.network else network_hint(log)
            raise ActionError(
                f"part {self.part!r}: {what} failed with exit status {status}",
                _tail(log),
                "\n".join(
                    filter(
                        None,
                        [
                            hint,
                            f"Fix the part's override-{self.name} or source; the full log is {self.sandbox.log}",
                        ],
                    )
                ),
            )


def _warn_empty_values(step: Step) -> None:
    """One warning line per empty `craftctl set` of the step. The sandbox (and its log) goes
    once the part is built, so the log, which holds the error of the command that should have
    given the value, is kept beside it."""
    marks, kept = step.sandbox.tools / "empty-values", _kept_log(step)
    kept.unlink(missing_ok=True)  # a log kept by an earlier run no longer says anything
    if not marks.is_file():
        return
    shutil.copyfile(step.sandbox.log, kept)
    for name in sorted(set(marks.read_text().split())):
        print(
            f"partsmith: warning: part {step.part!r}: override-{step.name}: `craftctl set {name}=` "
            f"with an empty value (did the command that gives it fail? its log is kept in {kept})"
        )
    marks.unlink()


def _kept_log(step: Step) -> Path:
    return step.sandbox.root.with_name(f"{step.sandbox.root.name}.{step.name}.log")


def scripted_step(
    step: Step, name: str, script: str, tree: Tree, root: Path, fileset: tuple[str, ...], out: Path
) -> Capture:
    """override-stage / override-prime: `out` starts empty, `craftctl default` copies the part's
    files that `fileset` selects into it, the script runs there; what it leaves is captured."""
    selected = _selected(step.sandbox, name)
    with caller_umask_ignored():
        materialize(
            {path: (entry, root) for path, entry in select(tree, fileset).items()},
            selected,
            step.epoch,
        )
        out.mkdir()
    variable = "CRAFT_STAGE" if name == "stage" else "CRAFT_PRIME"
    env = {variable: str(out), "SNAPCRAFT_" + variable.removeprefix("CRAFT_"): str(out)}
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
        for folder in (
            sandbox.install,
            sandbox.home,
            sandbox.tmp,
            sandbox.tools,
            sandbox.project,
            sandbox.prime,
            sandbox.tools / "values",
        ):
            folder.mkdir(parents=True)


def execute(step: Step, script: str) -> int:
    """Run `script` with bash in the sandbox's fixed environment, in the step's folder; its
    output goes to the log. Returns the exit status."""
    sandbox, conditions = step.sandbox, step.conditions
    env = {
        **action_environment(sandbox, step.part, step.epoch, step.interpreter_dir, step.network),
        **dict(step.env),
        "CRAFT_STEP_NAME": step.name.upper(),
        **dict(conditions.extra_env),
    }
    isolation = () if step.network else namespace_command()
    prologue = _prologue(step.workdir or sandbox.build, step.build_environment)
    path = sandbox.tools / f"{step.name}.sh"
    path.write_text("\n".join([*prologue, script, ""]))
    with open(sandbox.log, "ab") as log:
        return subprocess.run(
            [*isolation, *conditions.wrapper, SHELL, "--noprofile", "--norc", str(path)],
            env=env,
            cwd=sandbox.root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            umask=0o022,
            pass_fds=step.keep_open,
        ).returncode


def _prologue(workdir: Path, build_environment: tuple[tuple[str, str], ...]) -> list[str]:
    return ["set -euo pipefail", *export_lines(build_environment), f"cd {shell_quote(workdir)}"]


def _fill(action: Action, sandbox: Sandbox, stage: Placement, reverse_source: bool) -> None:
    copy_part_source(action.source, action.build_root, sandbox.src, action.epoch, reverse_source)
    # The build folder starts as the (pulled) source, like craft-parts; links cost nothing.
    copy_source(sandbox.src, sandbox.build, skip=(), reverse=reverse_source, link=True)
    materialize(stage, sandbox.stage, action.epoch)
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
        copy_source(source, dest, skip=(build_root, source / ".git"), reverse=reverse)
    else:
        dest.mkdir()
    normalize_modes(dest, epoch)


def write_tools(
    sandbox: Sandbox,
    build_environment: tuple[tuple[str, str], ...],
    default_build: tuple[str, ...],
    values: dict[str, str] | None = None,
) -> None:
    """craftctl and snapcraftctl, what `craftctl default` runs in each step, and the values
    `craftctl get` answers before a script sets its own."""
    for key, value in (values or {}).items():
        (sandbox.tools / "values" / key).write_text(value)
    defaults = {
        "pull": [":  # the source is in $CRAFT_PART_SRC already: pull fetched or copied it"],
        "build": [*_prologue(sandbox.build, build_environment), *default_build],
        "stage": [
            f'cp --archive --no-dereference {shell_quote(_selected(sandbox, "stage"))}/. "$CRAFT_STAGE"'
        ],
        "prime": [
            f'cp --archive --no-dereference {shell_quote(_selected(sandbox, "prime"))}/. "$CRAFT_PRIME"'
        ],
    }
    for step, lines in defaults.items():
        (sandbox.tools / f"default-{step}.sh").write_text("\n".join(lines) + "\n")
    for name, text in (("craftctl", _CRAFTCTL), ("snapcraftctl", _SNAPCRAFTCTL)):
        tool = sandbox.tools / name
        tool.write_text(text.format(tools=shell_quote(sandbox.tools)))
        tool.chmod(0o755)


def _selected(sandbox: Sandbox, step: str) -> Path:
    """Where override-stage / override-prime find the part's selected files for `craftctl default`."""
    return sandbox.root / f"{step}-selected"


def read_values(sandbox: Sandbox) -> dict[str, str]:
    """What the scripts said with `craftctl set`."""
    folder = sandbox.tools / "values"
    return {path.name: path.read_text() for path in sorted(folder.iterdir())}


def _link_or_copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:  # another filesystem
        shutil.copyfile(source, dest)


_CRAFTCTL = """#!/bin/bash
# partsmith's craftctl, as snapcraft's: `default` runs the step's default action; `set` keeps the
# project's version or grade with the part's result; `get` reads what was set.
set -euo pipefail
tools={tools}
case "${{1:-}}" in
  default) exec /bin/bash --noprofile --norc "$tools/default-${{CRAFT_STEP_NAME,,}}.sh" ;;
  set)
    shift
    for pair in "$@"; do
      name=${{pair%%=*}}
      if [[ "$pair" != *=* || ! "$name" =~ ^(version|grade)$ ]]; then
        echo "craftctl set: expected version=VALUE or grade=VALUE, got '$pair'" >&2; exit 2
      fi
      if [ -z "${{pair#*=}}" ]; then
        # most often `$(git describe)` without .git: its error is just above in the log
        echo "craftctl set: $name is empty (did the command that gives it fail?)" >&2
        echo "$name" >> "$tools/empty-values"
      fi
      printf '%s' "${{pair#*=}}" > "$tools/values/$name"
    done ;;
  get)
    [[ "${{2:-}}" =~ ^(version|grade)$ ]] || {{ echo "craftctl get: expected version or grade" >&2; exit 2; }}
    [ -f "$tools/values/$2" ] || {{ echo "craftctl get: $2 is not set" >&2; exit 1; }}
    cat "$tools/values/$2"; echo ;;
  *) echo "craftctl: '${{1:-}}' is not a craftctl command (default, set, get)" >&2; exit 2 ;;
esac
"""

_SNAPCRAFTCTL = """#!/bin/bash
# snapcraftctl of core18/core20, mapped onto craftctl.
set -euo pipefail
tools={tools}
case "${{1:-}}" in
  pull|build|stage|prime)
    if [ "$1" != "${{CRAFT_STEP_NAME,,}}" ]; then
      echo "snapcraftctl $1: called in override-${{CRAFT_STEP_NAME,,}}" >&2; exit 2
    fi
    exec "$tools/craftctl" default ;;
  set-version) exec "$tools/craftctl" set "version=${{2:-}}" ;;
  set-grade) exec "$tools/craftctl" set "grade=${{2:-}}" ;;
  *) echo "snapcraftctl: '${{1:-}}' is not supported (pull, build, stage, prime, set-version, set-grade)" >&2; exit 2 ;;
esac
"""


def _captured(part: str, sandbox: Sandbox, folder: Path, epoch: int) -> Capture:
    if folder.is_symlink() or not folder.is_dir():
        raise ActionError(
            f"part {part!r}: $CRAFT_PART_INSTALL was replaced by something that is not a folder",
            resolution="Write the part's files into $CRAFT_PART_INSTALL; do not remove or replace it.",
        )
    return _accepted(part, sandbox, capture(folder, epoch, _forbidden(sandbox)))


def _forbidden(sandbox: Sandbox) -> tuple[bytes, ...]:
    """What no output may hold: the sandbox's path, as written and as a file: URL quotes it."""
    spellings = {str(sandbox.root), os.path.realpath(sandbox.root)}
    return tuple(sorted({form.encode() for path in spellings for form in (path, quote(path))}))


def _accepted(part: str, sandbox: Sandbox, result: Capture) -> Capture:
    """`result`, unless it holds what no output may: one error listing every such entry."""
    problems = (
        [f"{path}: holds the sandbox path {sandbox.root}" for path in result.leaks]
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


def _tail(log: str) -> str:
    lines = log.splitlines()
    shown = lines[-TAIL_LINES:]
    return "\n".join(
        [
            "(last lines of the build output)" if len(lines) > TAIL_LINES else "(build output)",
            *shown,
        ]
    )
