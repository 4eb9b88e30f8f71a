"""The locks of uv and poetry parts. A uv.lock is exported by uv as a universal pylock.toml
(every file, every marker) and read as the part's lock, never resolved again. A poetry.lock,
which names files but not their URLs, becomes pinned requirements with hashes that pull resolves
for the interpreter, exactly those versions, as for a python part."""

from __future__ import annotations

import shlex
from pathlib import Path

from rules.workspace import Part, Sandbox, Workspace

from .errors import PythonError
from .poetry_hash import check_poetry_lock_fresh
from .poetry_lock import poetry_requirements
from .uv import index_options, uv_command

TOOL_PINS = "tool-pins.txt"  # a poetry part's lock as requirements, beside the sandbox
UV_EXPORT = "pylock.packages.toml"  # a uv part's uv.lock as pylock.toml, in the sandbox's out/


def uv_export(workspace: Workspace, part: Part, python: Path) -> str:
    """The packages of the part's uv.lock that `uv sync --no-dev --no-editable` would install
    (its extras and groups), without the project itself, as a universal pylock.toml: every file
    of every platform, each package with its marker (wheel_choice narrows it to the interpreter).
    --locked fails on a stale uv.lock. A current one proves itself without the network, so the
    export runs offline first, and online only when that failed (a stale lock, or a project whose
    metadata must be built)."""
    export = ("export", "--format", "pylock.toml", "--locked", "--no-dev", "--no-editable")
    command = [
        *uv_command((*export, "--no-emit-project", "--no-header", "-q"), python),
        *index_options(workspace.python),
        *(arg for extra in part.uv_extras for arg in ("--extra", extra)),
        *(arg for group in part.uv_groups for arg in ("--group", group)),
        "-o",
        f"../out/{UV_EXPORT}",
    ]
    return f"{shlex.join([*command, '--offline'])} 2>/dev/null || {shlex.join(command)}"


def poetry_pins(part: Part, source: Path | None) -> str:
    """The part's poetry.lock as pinned requirements; a missing or stale lock stops pull, as
    `poetry install` stops (checked first: a stale lock's other faults are beside the point)."""
    lock = (source or Path("/nonexistent")) / "poetry.lock"
    if not lock.is_file():
        raise PythonError(
            f"part {part.name!r}: plugin: poetry installs what the source's poetry.lock says, "
            "and there is none",
            resolution="Run `poetry lock` in the part's source and commit poetry.lock.",
        )
    check_poetry_lock_fresh(part.name, lock)
    return poetry_requirements(part.name, lock, part.poetry_with, part.poetry_export_extra_args)


def tool_pins(sandbox: Sandbox) -> list[Path]:
    """The uv or poetry lock's pins, when the part has one: their hashes are the lock's."""
    path = sandbox.root / TOOL_PINS
    return [path] if path.is_file() else []


def stale_uv_lock(name: str, sandbox: Sandbox) -> PythonError | None:
    if "needs to be updated" not in sandbox.log.read_text(errors="replace"):
        return None
    return PythonError(
        f"part {name!r}: its uv.lock no longer matches its pyproject.toml",
        resolution="Run `uv lock` in the part's source and commit uv.lock.",
    )
