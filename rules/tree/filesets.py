"""snapcraft's `stage`/`prime` filesets (applied to Trees) and `organize` (applied to a folder).

Fileset semantics follow craft-parts: entries are globs relative to the part's install folder,
`-` marks an exclude, a list of excludes only means "everything but", an included directory brings
everything below it, an excluded directory takes everything below it away, and the parents of
every kept path are kept. `**` matches any number of folders. Unlike Python's glob, `*` also
matches names starting with a dot, so a part's hidden files are staged by default.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from .errors import TreeError
from .tree import Entry, Tree, with_parents


def select(tree: Tree, fileset: tuple[str, ...]) -> dict[str, Entry]:
    if tuple(fileset) == ("*",):  # the default: everything, parents included already
        return dict(tree)
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
    return (
        bool(names)
        and fnmatch.fnmatchcase(names[0], parts[0])
        and _match_parts(names[1:], parts[1:])
    )


def organize(install: Path, mapping: tuple[tuple[str, str], ...], part: str) -> None:
    """Move files inside `install` as snapcraft's `organize` does; refuse to overwrite.

    Matching is done on the install folder's own entries: a symlinked folder is an entry, never a
    way in, so organize never reads or writes outside the part."""
    for source, target in mapping:
        found = _outermost([rel for rel in _entries(install) if matches(rel, source)])
        into_folder = target.endswith("/") or len(found) > 1
        folder = install / target
        # a glob may match the target folder itself: that is not a move
        found = [rel for rel in found if not (into_folder and install / rel == folder)]
        if not found:  # craft-parts ignores it too: real projects list what only some builds make
            print(f"part {part!r}: organize: nothing matches {source!r}: that entry moves nothing")
            continue
        if (
            into_folder
            and os.path.lexists(folder)
            and not (folder.is_dir() and not folder.is_symlink())
        ):
            _organize_error(
                part, f"{target!r} is not a folder, so nothing can be moved into it", install
            )
        for rel in found:
            path = install / rel
            dest = folder / path.name if into_folder else folder
            _check_destination(install, path, dest, part)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, dest)


def _entries(install: Path) -> list[str]:
    """Every path below `install`, relative, without entering symlinked folders."""
    found = []
    for folder, dirs, files in os.walk(install):
        for name in dirs + files:
            found.append(os.path.relpath(os.path.join(folder, name), install))
    return sorted(found)


def _outermost(paths: list[str]) -> list[str]:
    """Drop paths that lie inside another matched path: moving the folder moves them."""
    kept: list[str] = []
    for path in sorted(paths):
        if not any(path.startswith(parent + "/") for parent in kept):
            kept.append(path)
    return kept


def _check_destination(install: Path, path: Path, dest: Path, part: str) -> None:
    rel = _rel(dest, install)
    if os.path.lexists(dest):
        _organize_error(
            part, f"{_rel(path, install)!r} -> {rel!r}: the destination already exists", install
        )
    if dest.is_relative_to(path):
        _organize_error(part, f"{_rel(path, install)!r} cannot move into itself", install)
    for parent in dest.relative_to(install).parents:
        step = install / parent
        if parent != Path(".") and step.is_symlink():
            _organize_error(
                part,
                f"{rel!r} would be written through the symlink {_rel(step, install)!r}",
                install,
            )
        if parent != Path(".") and os.path.lexists(step) and not step.is_dir():
            _organize_error(
                part, f"{rel!r}: {_rel(step, install)!r} is a file, not a folder", install
            )


def _organize_error(part: str, problem: str, install: Path) -> None:
    raise TreeError(
        f"part {part!r}: organize: {problem}",
        resolution=f"Fix parts.{part}.organize (it never overwrites); "
        f"what the build installed is in {install}",
    )


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)
