"""The copy of a part's source that an action gets.

The build root may lie inside a source folder (`source: .` is common in snapcraft projects); it is
never an input and is never copied into a sandbox, or a build would contain itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def copy_source(
    source: Path,
    dest: Path,
    skip: Path | tuple[Path, ...],
    reverse: bool = False,
    link: bool = False,
) -> None:
    """Copy `source` (symlinks as symlinks; files hard-linked when `link`) to the new folder
    `dest`, leaving out the folders in `skip`; `reverse` creates each folder's entries in reverse
    name order (a `verify` variation: it changes the order a build lists them in on file systems
    that list in creation order)."""
    skips = skip if isinstance(skip, tuple) else (skip,)

    def ignored(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if Path(folder, name) in skips]

    if not reverse:
        shutil.copytree(
            source,
            dest,
            symlinks=True,
            ignore=ignored,
            copy_function=os.link if link else shutil.copy2,
        )
        return
    dest.mkdir()
    for name in sorted(os.listdir(source), reverse=True):
        path = source / name
        if path in skips:
            continue
        if path.is_dir() and not path.is_symlink():
            copy_source(path, dest / name, skips, reverse=True, link=link)
        elif path.is_symlink():
            os.symlink(os.readlink(path), dest / name)
        elif link:
            os.link(path, dest / name)
        else:
            shutil.copy2(path, dest / name)
    shutil.copystat(source, dest)
