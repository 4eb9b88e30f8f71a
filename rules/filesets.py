"""snapcraft's `stage`/`prime` filesets (applied to Trees) and `organize` (applied to a folder).

Fileset semantics follow craft-parts: entries are globs relative to the part's install folder,
`-` marks an exclude, a list of excludes only means "everything but", an included directory brings
everything below it, an excluded directory takes everything below it away, and the parents of
every kept path are kept. `**` matches any number of folders. Unlike Python's glob, `*` also
matches names starting with a dot, so a part's hidden files are staged by default.
"""
from __future__ import annotations

import fnmatch
import glob
import os
import shutil
from pathlib import Path

from .errors import BuildError
from .tree import Entry, Tree, with_parents


def select(tree: Tree, fileset: tuple[str, ...]) -> dict[str, Entry]:
    includes = [entry for entry in fileset if not entry.startswith("-")] or ["*"]
    excludes = [entry[1:] for entry in fileset if entry.startswith("-")]
    kept = _expand(tree, includes) - _expand(tree, excludes)
    return with_parents(tree, kept)


def _expand(tree: Tree, patterns: list[str]) -> set[str]:
    """Paths matching any pattern, and everything below a matching (real) directory."""
    matched = {path for path in tree if any(matches(path, pattern) for pattern in patterns)}
    folders = tuple(path + "/" for path in matched if tree[path].kind == "dir")
    if folders:
        matched |= {path for path in tree if path.startswith(folders)}
    return matched


def matches(path: str, pattern: str) -> bool:
    return _match_parts(path.split("/"), pattern.strip("/").split("/"))


def _match_parts(names: list[str], parts: list[str]) -> bool:
    if not parts:
        return not names
    if parts[0] == "**":
        return any(_match_parts(names[i:], parts[1:]) for i in range(len(names) + 1))
    return bool(names) and fnmatch.fnmatchcase(names[0], parts[0]) and _match_parts(names[1:], parts[1:])


def organize(install: Path, mapping: tuple[tuple[str, str], ...], part: str) -> None:
    """Move files inside `install` as snapcraft's `organize` does; refuse to overwrite."""
    for source, target in mapping:
        found = [Path(p) for p in sorted(glob.glob(glob.escape(str(install)) + "/" + source, recursive=True))]
        into_folder = target.endswith("/") or len(found) > 1
        folder = install / target
        # a glob may match the target folder itself (or, with **, the install folder): not a move
        found = [path for path in found if path != install and not (into_folder and path == folder)]
        if not found:
            _organize_error(part, f"nothing matches {source!r} in the part's install folder", install)
        if into_folder and folder.exists() and not folder.is_dir():
            _organize_error(part, f"{target!r} is a file, so nothing can be moved into it", install)
        for path in found:
            dest = folder / path.name if into_folder else folder
            if os.path.lexists(dest):
                _organize_error(part, f"{_rel(path, install)!r} -> {_rel(dest, install)!r}: the destination "
                                      "already exists", install)
            if dest.is_relative_to(path):
                _organize_error(part, f"{_rel(path, install)!r} cannot move into itself", install)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, dest)


def _organize_error(part: str, problem: str, install: Path) -> None:
    raise BuildError(
        f"part {part!r}: organize: {problem}",
        resolution=f"Fix parts.{part}.organize (it never overwrites); what the build installed is in {install}",
    )


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)
