"""The copy of a part's source that an action gets.

The build root may lie inside a source folder (`source: .` is common in snapcraft projects); it is
never an input and is never copied into a sandbox, or a build would contain itself.
"""
from __future__ import annotations

import shutil
from pathlib import Path


def copy_source(source: Path, dest: Path, skip: Path) -> None:
    def ignored(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if Path(folder, name) == skip]

    shutil.copytree(source, dest, symlinks=True, ignore=ignored)
