"""The scriptlets that run outside a part's build action, each in a sandbox of its own with the
environment of the part's build: override-pull (in `pull:<part>`, on a copy of the part's source,
before its wheels are resolved) and override-prime (in the prime step, on the files the part's
prime fileset selects)."""

from __future__ import annotations

import os
from pathlib import Path

from rules.core import remove_tree, uv_cache
from rules.tree import Tree
from rules.workspace import Layout, Sandbox, Workspace

from .craftctl import read_values, write_tools
from .run import copy_part_source, scripted_step
from .source_copy import copy_source
from .step import Step, caller_umask_ignored, prepare_sandbox
from .toolchain import declared_paths, interpreter, sandbox_paths


def part_step(
    workspace: Workspace,
    name: str,
    sandbox: Sandbox,
    keep_open: tuple[int, ...] = (),
    network: bool = False,
) -> Step:
    """A script of part `name` run outside its build action (a scriptlet, uv's lock and sdist
    builds), with the environment its build has; `network` for those of pull."""
    part = workspace.parts[name]
    return Step(
        sandbox,
        name,
        workspace.source_date_epoch,
        part.build_environment,
        interpreter(workspace).parent,
        keep_open,
        network=network,
        readable=sandbox_paths(workspace) + declared_paths(part.build_environment),
        writable=(uv_cache(),),
    )


def _sandbox(
    workspace: Workspace,
    name: str,
    step: str,
    values: dict[str, str],
    keep_open: tuple[int, ...] = (),
) -> Step:
    """A fresh sandbox for one scriptlet, its tools written and `craftctl get` primed with
    `values`."""
    # '.' is never in a part name; "override-" keeps it apart from the wheels pull's <part>.pull
    sandbox = Layout(workspace.build_root).sandbox(f"{name}.override-{step}")
    prepare_sandbox(sandbox)
    with caller_umask_ignored():
        for folder in (sandbox.build, sandbox.stage):
            folder.mkdir()
        write_tools(sandbox, workspace.parts[name].build_environment, (), values)
    return part_step(workspace, name, sandbox, keep_open, network=step == "pull")


def pulled_by_script(
    workspace: Workspace, name: str, source: Path, dest: Path, keep_open: tuple[int, ...]
) -> dict[str, str]:
    """Run override-pull in $CRAFT_PART_SRC, a copy of `source` (with its `.git`: the script may
    ask git for a version); what it leaves there becomes the new folder `dest`. Returns what the
    script said with `craftctl set`."""
    step = _sandbox(workspace, name, "pull", {}, keep_open)
    with caller_umask_ignored():
        copy_source(source, step.sandbox.src, skip=workspace.build_root)
    step.at("pull", step.sandbox.src).run(workspace.parts[name].override_pull or "")
    said = read_values(step.sandbox)
    remove_tree(dest)
    os.rename(step.sandbox.src, dest)
    remove_tree(step.sandbox.root)
    return said


def primed_by_script(workspace: Workspace, name: str, tree: Tree, root: Path) -> tuple[Tree, Path]:
    """override-prime, each time prime runs: `craftctl default` brings the part's staged files
    that its prime fileset selects. Not cached: it only selects and edits files the part already
    built (`tree`, its bytes in `root`). `craftctl get` answers what the build set; a `craftctl
    set` here changes nothing (the part's result is stored already). $CRAFT_PART_SRC holds the
    part's (pulled) source, as in its build. Returns the primed Tree and the folder holding it."""
    part = workspace.parts[name]
    step = _sandbox(workspace, name, "prime", Layout(workspace.build_root).built_values(name))
    with caller_umask_ignored():  # projects copy extras from it (httpie: man pages)
        copy_part_source(
            workspace.source_dir(part), workspace.build_root, step.sandbox.src, step.epoch
        )
    out = (
        step.sandbox.root / "primed"
    )  # the prime step copies from here: it stays until the next prime
    captured = scripted_step(step, "prime", part.override_prime or "", tree, root, part.prime, out)
    return captured.tree, out
