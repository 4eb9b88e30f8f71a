"""uv's pylock.toml output (a resolution, or a uv.lock exported for every platform) read into the
packages of a Lock: one file per package, the one this interpreter installs."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from rules.action import interpreter, interpreter_facts
from rules.workspace import Workspace

from .errors import PythonError
from .pylock import LockedFile, LockedPackage, normalized
from .wheel_choice import Target


@dataclass(frozen=True)
class Choice:
    """What decides a package's file: the interpreter, and which packages must be sdists."""

    target: Target
    sdist_wanted: Callable[[str], bool] = lambda _: False


def read_pylock(
    path: Path,
    workspace: Workspace,
    lock_folder: Path,
    pinned: dict[str, set[str]],
    choice: Choice,
) -> tuple[LockedPackage, ...]:
    """A pylock.toml (uv's resolution, or a uv.lock exported for every platform), reduced to what
    the interpreter installs: the packages whose marker holds, each with the one file pull
    fetches: its best wheel for the interpreter (among those a requirements file pins), else its
    sdist; the sdist when the part's variables refuse the package's wheels."""
    if not path.is_file():
        return ()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    packages = []
    for entry in data.get("packages", []):
        name = normalized(entry["name"])
        if not choice.target.includes(name, entry.get("marker")):
            continue
        _check_from_index(name, entry)
        if choice.sdist_wanted(name) and entry.get("sdist"):
            file, kind = entry["sdist"], "sdist"
        else:
            file, kind = _best_file(name, entry, choice.target, pinned, workspace)
        packages.append(
            LockedPackage(name, entry["version"], _file(file, kind, workspace, lock_folder))
        )
    return tuple(sorted(packages, key=lambda p: p.name))


def _best_file(
    name: str, entry: dict, target: Target, pinned: dict[str, set[str]], workspace: Workspace
) -> tuple[dict, str]:
    """The wheel the interpreter prefers (among those a requirements file pins), else the sdist."""
    wheels = entry.get("wheels") or []
    allowed = [w for w in wheels if _sha256_of(w) in pinned.get(name, ())] or wheels
    best = target.best_wheel([str(w.get("url") or w.get("path") or w.get("name")) for w in allowed])
    if best is not None:
        return allowed[best], "wheel"
    if not entry.get("sdist"):
        raise _no_file_fits(name, entry["version"], workspace)
    return entry["sdist"], "sdist"


def _check_from_index(name: str, entry: dict) -> None:
    if "version" not in entry or not (entry.get("wheels") or entry.get("sdist")):
        where = next((k for k in ("directory", "vcs", "archive") if k in entry), "no index file")
        raise PythonError(
            f"package {name!r} comes from a {where}: a lock holds files of an index or find-links",
            resolution="Publish it as a wheel into a find-links folder, "
            "or make it a part of its own.",
        )


def _no_file_fits(name: str, version: str, workspace: Workspace) -> PythonError:
    facts = interpreter_facts(str(interpreter(workspace)))
    return PythonError(
        f"package {name}=={version} has no wheel for {facts['implementation']} "
        f"{facts['version']} on {facts['platform']}, and no sdist",
        resolution="Pick a version that publishes a wheel for this interpreter (or an sdist), "
        "or build with an interpreter it has wheels for.",
    )


def _file(entry: dict, kind: str, workspace: Workspace, lock_folder: Path) -> LockedFile:
    url, local = entry.get("url"), entry.get("path")
    if isinstance(url, str) and url.startswith("file:"):
        url, local = None, unquote(urlparse(url).path)
    size = entry.get("size")
    path_text = None
    if local is not None:
        absolute = Path(local) if Path(local).is_absolute() else lock_folder / local
        size = size if size is not None else absolute.stat().st_size
        inside = absolute.resolve().is_relative_to(workspace.directory)
        path_text = os.path.relpath(absolute.resolve(), lock_folder) if inside else str(absolute)
    name = entry.get("name") or unquote((url or path_text or "").rsplit("/", 1)[-1])
    sha256 = _sha256_of(entry)
    if sha256 is None:
        raise PythonError(
            f"{name}: the resolver gave no sha256 for it, and a lock must pin every file",
            resolution="Serve it from an index or find-links folder that lists hashes.",
        )
    return LockedFile(kind, name, url, path_text, size, sha256)  # type: ignore[arg-type]


def _sha256_of(entry: dict) -> str | None:
    hashes = entry.get("hashes")
    return hashes.get("sha256") if isinstance(hashes, dict) else None


def check_pinned_hashes(
    name: str, packages: tuple[LockedPackage, ...], pinned: dict[str, set[str]]
) -> None:
    """A requirements file's `--hash` values bind the lock: a file outside them is refused."""
    for package in packages:
        allowed = pinned.get(package.name)
        if allowed and package.file.sha256 not in allowed:
            raise PythonError(
                f"part {name!r}: package {package.pin}: "
                f"the file {package.file.name} (sha256 {package.file.sha256[:12]})"
                " is not among the hashes its requirements file (or uv.lock, poetry.lock) pins",
                resolution="Pin the version whose hashes the file lists, or update the hashes "
                "(for a tool's lock: lock again with the tool).",
            )
