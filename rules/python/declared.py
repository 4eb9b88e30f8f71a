"""A python part's pulled source restored from the store in part: only the files its pull reads
(its project's declarations, its tool's lock, its requirements files and those they include),
written to Layout.declared_source while the whole source stays in the store until a build needs it.

What the pull keeps with the source (`kept_declarations`, made while the whole folder is there):
those paths, and a check: a digest of the declarations its pull record holds and of the part's
settings that decide which files those are. A pull that finds its source restored in part makes
the check again from the declared folder (`check_declared`); on any difference (a file the list
missed, settings changed since the source was kept, the folder gone) it writes the whole source
first. doit's up-to-date check of the pull and `doit lock check=1` ask the same
(`declared_suffice`). So the pull's key is always the one the whole source gives.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from rules.core import digest
from rules.workspace import Layout, Part, Workspace

from .records import declarations
from .requirements import declaration_files


def kept_declarations(workspace: Workspace, part: Part) -> dict:
    """What a pulled source is kept with, for a restore that writes only what the pull reads."""
    return {"paths": _paths(workspace, part), "check": _check(workspace, part)}


def declared_suffice(workspace: Workspace, name: str) -> bool:
    """Whether the part's pull may read its project where it is: a whole source (or none pulled),
    or one restored in part whose check is the one kept with it."""
    layout = Layout(workspace.build_root)
    if layout.pulled_source(name).is_dir():
        return True
    try:
        data = json.loads(layout.pulled_source_record(name).read_text())
    except (OSError, ValueError):
        return True  # not a pulled source, or not pulled yet: nothing restored in part
    kept = data.get("declared") if isinstance(data, dict) else None
    return isinstance(kept, dict) and kept.get("check") == _check(workspace, workspace.parts[name])


def check_declared(workspace: Workspace, name: str, whole: Callable[[], object]) -> None:
    """`whole()` (the whole source written) unless the part's pull may read what it has."""
    if not declared_suffice(workspace, name):
        whole()


def _check(workspace: Workspace, part: Part) -> str:
    settings = {
        "plugin": part.plugin,
        "source-subdir": part.source_subdir,
        "python-requirements": list(part.python_requirements),
        "python-constraints": list(part.python_constraints),
        "build-environment": [list(pair) for pair in part.build_environment],
    }
    found = declarations(workspace.project_dir(part), declaration_files(workspace, part))
    return digest({"declarations": found, "settings": settings})


def _paths(workspace: Workspace, part: Part) -> list[str]:
    """The declaration files inside the source, relative to it and normalized (`reqs/../x` is
    `x`), with the files their links lead to inside it."""
    root = workspace.source_dir(part)
    if root is None:
        return []
    paths: set[str] = set()
    for file in declaration_files(workspace, part):
        path = Path(os.path.normpath(file))
        while path.is_relative_to(root) and str(path.relative_to(root)) not in paths:
            paths.add(str(path.relative_to(root)))
            if not path.is_symlink():
                break
            path = Path(os.path.normpath(path.parent / os.readlink(path)))
    return sorted(paths)
