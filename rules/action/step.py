"""One step script of an action (build, override-stage, override-pull, ...): the sandbox it runs
in, its environment built from nothing, bash with `set -euo pipefail`, its log, and the error
that names the step and shows the log's tail when it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from rules.core import remove_tree
from rules.workspace import Sandbox

from .environment import action_environment, export_lines
from .environment import quote as shell_quote
from .errors import ActionError
from .network_cut import namespace_command, network_hint
from .seal import hidden_path_hint, sealed_command, seen, seen_path

SHELL = "/bin/bash"


TAIL_LINES = 20


@dataclass(frozen=True)
class Conditions:
    """What `doit verify` varies in a second build, on top of another sandbox path: a command
    wrapping the script (one CPU, another hostname), variables added to its environment (a
    shifted clock) and the order in which the source is copied in."""

    wrapper: tuple[str, ...] = ()
    extra_env: tuple[tuple[str, str], ...] = ()
    reverse_source: bool = False
    hostname: str | None = None  # sealed steps only: bwrap names the step's own UTS namespace


NORMAL = Conditions()


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
    # host paths the sealed step sees besides its sandbox (seal.py): the toolchain, read-only,
    # and uv's cache, writable
    readable: tuple[Path, ...] = ()
    writable: tuple[Path, ...] = ()
    # what runs the script instead of `execute` (the remote executor, for a build's own step)
    runner: Callable[[Step, str], int] | None = None
    # a build in layers: the folder mounted read-only under its install folder (seal.py)
    layer: Path | None = None

    def at(self, name: str, workdir: Path, env: dict[str, str] | None = None) -> Step:
        """The next step of the action (override-stage...): always run here."""
        pairs = tuple((env or {}).items())
        return replace(self, name=name, workdir=workdir, env=pairs, runner=None, layer=None)

    def run(self, script: str) -> None:
        """Run `script`; a failure names the step and shows the log's tail."""
        status = (self.runner or execute)(self, script)
        _warn_empty_values(self)
        if status != 0:
            what = "build script" if self.name == "build" else f"override-{self.name} script"
            log = self.sandbox.log.read_bytes().decode("utf-8", "replace")
            hint = hidden_path_hint(log, self.readable) or (
                None if self.network else network_hint(log)
            )
            raise ActionError(
                f"part {self.part!r}: {what} failed with exit status {status}",
                _tail(log),
                "\n".join(
                    filter(
                        None,
                        [
                            hint,
                            f"Fix the part's override-{self.name} or source; "
                            f"the full log is {self.sandbox.log}",
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


@contextmanager
def caller_umask_ignored() -> Iterator[None]:
    """Folders partsmith makes for an action get 0755 whatever the caller's umask."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def prepare_sandbox(sandbox: Sandbox, layered: bool = False) -> None:
    """The sandbox's fixed folders, empty; `layered`: with overlayfs's folders (seal.py)."""
    remove_tree(sandbox.root)
    layers = (sandbox.layer_upper, sandbox.layer_work) if layered else ()
    with caller_umask_ignored():
        for folder in (
            *layers,
            sandbox.install,
            sandbox.home,
            sandbox.tmp,
            sandbox.tools,
            sandbox.project,
            sandbox.prime,
            sandbox.tools / "values",
        ):
            folder.mkdir(parents=True)


def step_environment(step: Step) -> dict[str, str]:
    """The fixed environment of the step's script, with the paths the step sees."""
    return {
        **action_environment(
            seen(step.sandbox), step.part, step.epoch, step.interpreter_dir, step.network
        ),
        **dict(step.env),
        "CRAFT_STEP_NAME": step.name.upper(),
        **dict(step.conditions.extra_env),
    }


def write_script(step: Step, script: str) -> Path:
    """tools/<step>.sh: `set -euo pipefail`, the part's build-environment, `cd` to the step's
    folder (as the step sees it), then `script`."""
    sandbox = step.sandbox
    prologue = script_prologue(
        seen_path(sandbox, step.workdir or sandbox.build), step.build_environment
    )
    path = sandbox.tools / f"{step.name}.sh"
    path.write_text("\n".join([*prologue, script, ""]))
    return path


def execute(step: Step, script: str) -> int:
    """Run `script` with bash in the sandbox's fixed environment, in the step's folder; its
    output goes to the log. Returns the exit status."""
    sandbox, conditions = step.sandbox, step.conditions
    env = step_environment(step)
    path = write_script(step, script)
    sealed = sealed_command(
        sandbox, step.network, step.readable, step.writable, conditions.hostname, step.layer
    )
    # unsealed, the network is cut as before: a network namespace of its own, where one can be made
    isolation = () if sealed or step.network else namespace_command()
    shell = [SHELL, "--noprofile", "--norc", str(seen_path(sandbox, path))]
    with open(sandbox.log, "ab") as log:
        return subprocess.run(
            [*sealed, *isolation, *conditions.wrapper, *shell],
            env=env,
            cwd=sandbox.root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            umask=0o022,
            pass_fds=step.keep_open,
        ).returncode


def script_prologue(workdir: Path, build_environment: tuple[tuple[str, str], ...]) -> list[str]:
    return ["set -euo pipefail", *export_lines(build_environment), f"cd {shell_quote(workdir)}"]


def _tail(log: str) -> str:
    lines = log.splitlines()
    shown = lines[-TAIL_LINES:]
    return "\n".join(
        [
            "(last lines of the build output)" if len(lines) > TAIL_LINES else "(build output)",
            *shown,
        ]
    )
