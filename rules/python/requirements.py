"""What a python part asks for, read from its files: the files whose change means it must be
resolved again, and the hashes its requirements files pin."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from rules.workspace import PART_SRC_PREFIX, Part, Workspace

from .errors import PythonError

DEFAULT_BUILD_REQUIRES = ["setuptools>=40.8.0"]  # what PEP 517 frontends assume without a table
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")  # the files that declare a project
TOOL_LOCKS = {"uv": ("uv.lock",), "poetry": ("poetry.lock",)}  # a plugin's lock in the source
# pip options that name files, read from a part's build-environment (uv gets them as flags)
FILE_VARIABLES = ("PIP_CONSTRAINT", "PIP_REQUIREMENT")


def has_project(source: Path | None) -> bool:
    return source is not None and any(
        (source / name).is_file() for name in ("pyproject.toml", "setup.py")
    )


def declaration_files(workspace: Workspace, part: Part) -> list[Path]:
    """The files whose change means the part must be resolved again (not the project's code):
    the project's files and the requirements files, with those they include (-r, -c)."""
    source = workspace.project_dir(part)
    if source is None:
        return []
    names = (*PROJECT_FILES, *TOOL_LOCKS.get(part.plugin, ()))
    found: list[Path] = [source / name for name in names if (source / name).is_file()]
    pending = [source / name for name in (*part.python_requirements, *part.python_constraints)]
    pending += _environment_files(part, source)
    while pending:
        path = pending.pop(0)
        if path in found or not path.is_file():
            continue
        found.append(path)
        pending += [path.parent / included for included in _included(path, part.name)]
    return found


def _environment_files(part: Part, source: Path) -> list[Path]:
    """The files a part's build-environment points pip at: inputs like the keys' files."""
    files = []
    for name, value in part.build_environment:
        if name in FILE_VARIABLES:
            for word in value.split():
                word = PART_SRC_PREFIX.sub("", word)
                files.append(Path(word) if os.path.isabs(word) else source / word)
    return files


INCLUDE = re.compile(r"^\s*(?:-r|--requirement|-c|--constraint)[\s=]\s*(\S+)")
# Where the installer looks is the workspace's `python:` settings alone; a file may not widen it.
WHERE_OPTIONS = re.compile(
    r"^\s*(-i|--index-url|--extra-index-url|-f|--find-links|--no-index|--trusted-host)\b"
)


def _included(path: Path, part: str) -> list[str]:
    included = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if WHERE_OPTIONS.match(line):
            raise PythonError(
                f"{path}:{number}: part {part!r}: {line.strip()!r}: "
                "where pip or uv looks is set by the workspace",
                resolution="Remove the line and set python: index-url / find-links "
                "in the workspace file.",
            )
        match = INCLUDE.match(line)
        if match:
            included.append(match[1])
    return included


NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
HASH = re.compile(r"--hash[=\s]+sha256:([0-9a-fA-F]{64})")


def pinned_hashes(files: list[Path]) -> dict[str, set[str]]:
    """name -> the sha256 values a requirements file allows for it (`--hash=sha256:...`)."""
    hashes: dict[str, set[str]] = {}
    for path in files:
        if path.name in PROJECT_FILES:
            continue
        text = re.sub(r"\\\n", " ", path.read_text(errors="replace"))  # joined continuation lines
        for line in text.splitlines():
            found, name = HASH.findall(line), NAME.match(line)
            if found and name:
                key = re.sub(r"[-_.]+", "-", name[1]).lower()
                hashes.setdefault(key, set()).update(value.lower() for value in found)
    return hashes


def build_requirements(source: Path) -> list[str]:
    """The project's static build requirements (`build-system.requires`)."""
    pyproject = source / "pyproject.toml"
    if not pyproject.is_file():
        return DEFAULT_BUILD_REQUIRES
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PythonError(
            f"{pyproject}: not valid TOML: {err}", resolution="Fix the file and run again."
        ) from None
    system = data.get("build-system", {})
    requires = system.get("requires", DEFAULT_BUILD_REQUIRES) if isinstance(system, dict) else None
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise PythonError(f"{pyproject}: build-system.requires must be a list of strings")
    return requires
