"""The records whose digests are the cache keys of pull and build actions.

A record holds everything that decides an action's output and nothing else: no checkout path
(paths inside the workspace are written relative, the sandbox as a placeholder), no caller
environment, no mtime. The record is kept beside the result, so `explain` can say which field
changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from rules.action import Manifest, action_environment, source_manifest, stat_cache
from rules.core import RULES_VERSION
from rules.pull import build_packages_record, debs_record, kept_manifest, pulled_source_record
from rules.python import toolchain_record
from rules.stage import staged
from rules.tree import tree_digest
from rules.workspace import Layout, Sandbox, Workspace

from .asked_git import asked_git_version
from .build_snaps import snaps_record

SANDBOX = Path("/SANDBOX")  # stands for wherever an action's sandbox happens to be


def _environment(name: str, epoch: int) -> dict:
    return action_environment(Sandbox(SANDBOX), name, epoch, Path("/INTERPRETER_DIR"))


def build_record(workspace: Workspace, name: str) -> tuple[dict, Manifest]:
    """The build's record and the source manifest it was computed from (for `explain`)."""
    part = workspace.parts[name]
    layout = Layout(workspace.build_root)
    manifest = _source(workspace, layout, name)
    keyed = _keyed_name(workspace, name)
    record = {
        "rule": "build",
        "rules-version": RULES_VERSION,
        "part": {**part.config(), "name": keyed},
        "source-date-epoch": workspace.source_date_epoch,
        "source": manifest.digest(),
        "pulled": _pulled(layout, name) if part.installs_python else [],
        "after": {
            dep: tree_digest(staged(workspace, dep).tree) for dep in workspace.dependencies(name)
        },
        "toolchain": toolchain_record(workspace),
        "environment": _environment(keyed, workspace.source_date_epoch),
    }
    extra = {  # only when used, so other parts keep the keys they had before these existed
        "pulled-source": pulled_source_record(layout, part),
        "build-packages": build_packages_record(part),
        "stage-packages": debs_record(layout, part),
        "build-snaps": snaps_record(part),
        "git": git.record() if (git := asked_git_version(workspace, part)) else None,
        # what override-stage's `craftctl default` stages changed (the install folder as it is
        # when called, not before the script): results cached before must not come back
        "stage-default": "install-when-called" if part.override_stage is not None else None,
    }
    return {**record, **{k: v for k, v in extra.items() if v}}, manifest


def layer_record(workspace: Workspace, name: str) -> dict:
    """The record of a python part's lower layer (layers.py): its venv and locked wheels, built
    without its source, its project or the parts it is after, so only what decides them is
    here; two parts (or workspaces) that lock the same wheels share it."""
    part = workspace.parts[name]
    keyed = _keyed_name(workspace, name)
    return {
        "rule": "build-layer",
        "layer": "python-dependencies",
        "rules-version": RULES_VERSION,
        "build-environment": [list(pair) for pair in part.build_environment],
        "source-date-epoch": workspace.source_date_epoch,
        "wheels": _pulled(Layout(workspace.build_root), name, ("wheels",)),
        "toolchain": toolchain_record(workspace),
        "environment": _environment(keyed, workspace.source_date_epoch),
    }


def _source(workspace: Workspace, layout: Layout, name: str) -> Manifest:
    """The source as the build sees it: without the build root, and without .git (never copied
    into a build); a pulled source whose files are only in the store, by its digest."""
    source = workspace.source_dir(workspace.parts[name])
    if source is None:
        return Manifest()
    if source == layout.pulled_source(name):
        kept = kept_manifest(layout, name)  # its digest alone (an empty dict: test for None)
        if kept is not None:
            return kept
    return source_manifest(source, (workspace.build_root, source / ".git"), stat_cache(source))


ANY_PART = "$PART"


def _keyed_name(workspace: Workspace, name: str) -> str:
    """The part's name as its key sees it. Only a script can read it ($CRAFT_PART_NAME, or a
    build-environment value naming it): a plugin's default build makes the same bytes under any
    name (the sandbox path is never in an output), so two parts that ask for the same build share
    one cached result, as Bazel shares identical actions."""
    part = workspace.parts[name]
    scripted = (
        part.override_build is not None
        or part.override_stage is not None
        or part.override_pull is not None
    )
    if scripted or any("PART_NAME" in value for _, value in part.build_environment):
        return name
    return ANY_PART


def _pulled(
    layout: Layout, name: str, groups: tuple[str, ...] = ("wheels", "build-wheels")
) -> list:
    data = json.loads((layout.pulled(name) / "pulled.json").read_text())
    return [[w["file"], w["sha256"]] for group in groups for w in data[group]]
