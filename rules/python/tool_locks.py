"""The locks of uv and poetry parts (uv.lock, poetry.lock), as pinned requirements with hashes:
what pull resolves for the interpreter, exactly those versions, as for a python part."""

from __future__ import annotations

from pathlib import Path

from rules.workspace import Part, Sandbox, Workspace

from .errors import PythonError
from .poetry_lock import poetry_requirements
from .uv import index_options, uv_command

TOOL_PINS = "tool-pins.txt"  # a uv or poetry part's lock as requirements, beside the sandbox


def uv_export(workspace: Workspace, part: Part, python: Path) -> list[str]:
    """The packages of the part's uv.lock that `uv sync --no-dev --no-editable` would install
    (its extras and groups), without the project itself; --locked fails on a stale uv.lock."""
    export = ("export", "--format", "requirements.txt", "--locked", "--no-dev", "--no-editable")
    return [
        *uv_command((*export, "--no-emit-project", "--no-header"), python),
        *index_options(workspace.python),
        *(arg for extra in part.uv_extras for arg in ("--extra", extra)),
        *(arg for group in part.uv_groups for arg in ("--group", group)),
        "-o",
        f"../{TOOL_PINS}",
    ]


def poetry_pins(part: Part, source: Path | None) -> str:
    lock = (source or Path("/nonexistent")) / "poetry.lock"
    if not lock.is_file():
        raise PythonError(
            f"part {part.name!r}: plugin: poetry installs what the source's poetry.lock says, "
            "and there is none",
            resolution="Run `poetry lock` in the part's source and commit poetry.lock.",
        )
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
