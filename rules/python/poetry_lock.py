"""A poetry part's poetry.lock, read without poetry: the packages `poetry install --only main`
(plus the part's `poetry-with` groups and extras) would install, as pinned requirements with
their hashes and markers, which pull resolves for the interpreter exactly as a python part's.

poetry.lock lists every package with its version, its files' hashes, the groups it belongs to
(`groups`, lock format 2.1; `category` before) and whether only an extra asks for it
(`optional`, with `[extras]` naming the packages of each extra)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import PythonError


def poetry_requirements(
    part: str, lock: Path, groups: tuple[str, ...], extra_args: tuple[str, ...]
) -> str:
    """requirements.txt lines for the packages the part installs from `lock`."""
    try:
        data = tomllib.loads(lock.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PythonError(
            f"part {part!r}: {lock.name} cannot be read: {err}",
            resolution="Run `poetry lock` in the part's source and commit poetry.lock.",
        ) from None
    packages = data.get("package", [])
    if not all(isinstance(p, dict) and {"name", "version"} <= p.keys() for p in packages):
        raise PythonError(f"part {part!r}: {lock.name}: a [[package]] without a name or version")
    if any("groups" not in p and "category" not in p for p in packages):
        version = data.get("metadata", {}).get("lock-version")
        raise PythonError(
            f"part {part!r}: {lock.name} (lock-version {version}) does not say which group each "
            "package belongs to",
            resolution="Lock again with poetry 2 (lock-version 2.1), which records the groups.",
        )
    wanted_groups = {"main", *groups}
    extras = _extras(data, extra_args)
    return "".join(
        _line(part, p, wanted_groups) for p in packages if _installed(p, wanted_groups, extras)
    )


def _extras(data: dict[str, Any], args: tuple[str, ...]) -> set[str]:
    """The packages the extras asked for (`--extras a`, `-E a`, `--extras=a,b`, --all-extras)."""
    table: dict[str, list[str]] = data.get("extras", {})
    names: set[str] = set(table) if "--all-extras" in args else set()
    for index, arg in enumerate(args):
        if arg.startswith("--extras="):
            names |= set(arg.removeprefix("--extras=").replace(",", " ").split())
        elif index and args[index - 1] in ("-E", "--extras"):
            names |= set(arg.replace(",", " ").split())
    return {_name(req) for name in names for req in table.get(name, [])}


def _installed(package: dict[str, Any], groups: set[str], extras: set[str]) -> bool:
    member = set(package.get("groups", [package.get("category", "main")]))
    if not member & groups:
        return False
    return not package.get("optional", False) or _name(package["name"]) in extras


def _line(part: str, package: dict[str, Any], groups: set[str]) -> str:
    source = package.get("source", {})
    if isinstance(source, dict) and source.get("type") in ("git", "directory", "file", "url"):
        raise PythonError(
            f"part {part!r}: package {package['name']} comes from a {source['type']} source in "
            "poetry.lock: partsmith fetches the packages of an index or find-links",
            resolution="Publish it to an index or a find-links folder, or make it a part.",
        )
    markers = package.get("markers")
    if isinstance(markers, dict):  # per group (lock 2.1): the groups installed here
        chosen = [f"({m})" for group, m in sorted(markers.items()) if group in groups and m]
        markers = (
            " or ".join(chosen)
            if len(chosen) == len(set(package.get("groups", [])) & groups)
            else ""
        )
    marker = f" ; {markers}" if isinstance(markers, str) and markers else ""
    hashes = [f["hash"] for f in package.get("files", []) if isinstance(f, dict) and "hash" in f]
    pin = f"{package['name']}=={package['version']}{marker}"
    return " \\\n    ".join([pin, *(f"--hash={h}" for h in hashes)]) + "\n"


def _name(requirement: str) -> str:
    """The normalized name a requirement starts with (PEP 503)."""
    word = requirement.strip().split()[0] if requirement.strip() else ""
    for stop in "[<>=!~;(":
        word = word.split(stop)[0]
    return word.lower().replace("_", "-").replace(".", "-")
