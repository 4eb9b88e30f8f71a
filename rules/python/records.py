"""The record whose digest is the key of a python part's pull, and the toolchain it names."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from rules.action import (
    interpreter,
    interpreter_facts,
    sandbox_record,
    source_manifest,
    stat_cache,
)
from rules.core import RULES_VERSION
from rules.workspace import Part, Workspace

from .uv import uv_version


def toolchain_record(workspace: Workspace) -> dict:
    path = str(interpreter(workspace))
    # what the sandbox lets in: its maker's version (or "unsealed"), and the extra host paths by
    # path (their contents are not in the key: README, "The sealed sandbox")
    extra, platform = list(workspace.extra_sandbox_paths), dict(workspace.execution_platform)
    sandbox = {
        **sandbox_record(),
        **({"extra-paths": extra} if extra else {}),
        **({"execution-platform": platform} if platform else {}),
    }
    return {"interpreter": path, **interpreter_facts(path), "uv": uv_version(), "sandbox": sandbox}


def _relative(path: str, workspace: Workspace) -> str:
    """A find-links folder inside the workspace, written so the key ignores the checkout path."""
    if "://" in path or not Path(path).is_relative_to(workspace.directory):
        return path
    return "$WORKSPACE/" + os.path.relpath(path, workspace.directory)


def tool_lock_options(part: Part) -> dict[str, list[str]]:
    """What a uv or poetry part takes from its tool's lock, when it says anything: absent
    otherwise, so other parts keep their keys."""
    options = {
        "uv-extras": list(part.uv_extras),
        "uv-groups": list(part.uv_groups),
        "poetry-with": list(part.poetry_with),
        "poetry-export-extra-args": list(part.poetry_export_extra_args),
    }
    return {key: value for key, value in options.items() if value}


def pull_record(workspace: Workspace, name: str, files: list[Path]) -> dict:
    part = workspace.parts[name]
    source = workspace.project_dir(part)
    return {
        "rule": "pull",
        "rules-version": RULES_VERSION,
        "python-packages": list(part.python_packages),
        "python-requirements": list(part.python_requirements),
        "declarations": declarations(source, files),
        "index-url": workspace.python.index_url,
        "find-links": {
            _relative(link, workspace): _folder_digest(link, workspace)
            for link in workspace.python.find_links
        },
        "build-environment": [list(pair) for pair in part.build_environment],
        "source-date-epoch": workspace.source_date_epoch,
        "toolchain": toolchain_record(workspace),
        **tool_lock_options(part),
        **(
            {"python-constraints": list(part.python_constraints)} if part.python_constraints else {}
        ),
    }


def _folder_digest(link: str, workspace: Workspace) -> str | None:
    """What a local find-links folder holds: a new or rebuilt wheel there is a new pull input."""
    if "://" in link or not Path(link).is_dir():
        return None
    return source_manifest(Path(link), workspace.build_root, stat_cache(Path(link))).digest()


def declarations(source: Path | None, files: list[Path]) -> dict[str, str]:
    """The part's declaration files as its pull record holds them: path (relative to its
    project) -> sha256."""
    return {os.path.relpath(f, source): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
