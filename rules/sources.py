"""A part's source folder as inputs: which files doit watches, and the copy the action gets.

The build root may lie inside a source folder (`source: .` is common in snapcraft projects); it is
never an input and is never copied into a sandbox, or a build would contain itself.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SourceListing:
    files: list[str] = field(default_factory=list)  # absolute paths of regular files
    shape: list[list[str]] = field(default_factory=list)  # [relpath, "dir"] or [relpath, "link", target]


def list_source(source: Path, skip: Path) -> SourceListing:
    """Walk `source` once (not following links), leaving out `skip` and everything below it."""
    listing = SourceListing()
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if Path(folder, d) != skip)
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, source)
            if os.path.islink(path):
                listing.shape.append([rel, "link", os.readlink(path)])
            else:
                listing.files.append(path)
        if not dirs and not files:
            listing.shape.append([os.path.relpath(folder, source), "dir"])
    return listing


def copy_source(source: Path, dest: Path, skip: Path) -> None:
    def ignored(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if Path(folder, name) == skip]

    shutil.copytree(source, dest, symlinks=True, ignore=ignored)
