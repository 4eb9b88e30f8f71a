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
        found = sorted(glob.glob(glob.escape(str(install)) + "/" + source, recursive=True))
        if not found:
            raise BuildError(
                f"part {part!r}: organize: nothing matches {source!r} in the part's install folder",
                resolution=f"Fix parts.{part}.organize; what the build installed is in {install}",
            )
        for path in found:
            into_folder = target.endswith("/") or len(found) > 1
            dest = install / target / os.path.basename(path) if into_folder else install / target
            if os.path.lexists(dest):
                raise BuildError(
                    f"part {part!r}: organize: {os.path.relpath(path, install)!r} -> "
                    f"{os.path.relpath(dest, install)!r}: the destination already exists",
                    resolution="Organize it to a free path, or remove the other file first in override-build.",
                )
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, dest)
