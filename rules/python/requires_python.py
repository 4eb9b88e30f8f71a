"""A project's `requires-python` checked against the interpreter at pull, before anything is
resolved or fetched: a project that excludes the interpreter would otherwise fail late, in build.

Only the release numbers of PEP 440 specifiers are compared (`>=3.9`, `<4`, `~=3.10`, `==3.11.*`,
`!=3.8.*`): what requires-python says in practice. A specifier this does not read (a local
version, a pre-release) refuses nothing: uv's own checks still apply in build.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from .errors import PythonError

SPECIFIER = re.compile(r"\s*(~=|===|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)(\.\*)?\s*")

Release = tuple[int, ...]


def check_requires_python(part: str, source: Path | None, version: str, name: str) -> None:
    """Refuse a project whose requires-python excludes the interpreter `name` at `version`."""
    wanted = _requires_python(source)
    if wanted is None or _allows(wanted, _release(version)) is not False:
        return
    raise PythonError(
        f"part {part!r}: the project needs Python {wanted} (requires-python in its "
        f"pyproject.toml) and the interpreter is {name} {version}",
        resolution="Set the workspace's python.interpreter to one the project accepts, "
        "or widen its requires-python.",
    )


def _requires_python(source: Path | None) -> str | None:
    if source is None or not (source / "pyproject.toml").is_file():
        return None
    try:
        project = tomllib.loads((source / "pyproject.toml").read_text()).get("project", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None  # uv says what is wrong with the file when it reads it
    wanted = project.get("requires-python") if isinstance(project, dict) else None
    return wanted if isinstance(wanted, str) and wanted.strip() else None


def _allows(specifiers: str, version: Release) -> bool | None:
    """Whether every specifier allows `version`; None when one cannot be read."""
    for text in specifiers.split(","):
        match = SPECIFIER.fullmatch(text)
        if match is None:
            return None
        operator, release, wildcard = match.group(1), _release(match.group(2)), match.group(3)
        if not _one_allows(operator, release, bool(wildcard), version):
            return False
    return True


def _one_allows(operator: str, release: Release, wildcard: bool, version: Release) -> bool:
    if wildcard:  # ==3.11.* / !=3.8.*: the prefix decides
        same = version[: len(release)] == release
        return same if operator == "==" else not same if operator == "!=" else True
    padded = _padded(version, len(release))
    if operator == "~=":  # ~=3.10 means >=3.10, ==3.*
        return padded >= release and version[: len(release) - 1] == release[:-1]
    comparisons = {
        "==": padded == release,
        "===": padded == release,
        "!=": padded != release,
        "<=": padded <= release,
        ">=": padded >= release,
        "<": padded < release,
        ">": padded > release,
    }
    return comparisons[operator]


def _padded(version: Release, length: int) -> Release:
    return (version + (0,) * length)[: max(length, len(version))]


def _release(text: str) -> Release:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])
