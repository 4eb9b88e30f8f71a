"""A part's source folder as inputs: which files doit watches, and the copy the action gets.

The build root may lie inside a source folder (`source: .` is common in snapcraft projects); it is
never an input and is never copied into a sandbox, or a build would contain itself.
"""
from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PartsmithError


@dataclass
class SourceListing:
    files: list[str] = field(default_factory=list)  # absolute paths of regular files
    shape: list[list[str]] = field(default_factory=list)  # [relpath, "dir"] or [relpath, "link", target]


def list_source(source: Path, skip: Path) -> SourceListing:
    """Walk `source` once (not following links), leaving out `skip` and everything below it."""
    listing = SourceListing()
    special = []
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if Path(folder, d) != skip)
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, source)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                listing.shape.append([rel, "link", os.readlink(path)])
            elif stat.S_ISREG(info.st_mode):
                listing.files.append(path)
                if info.st_mode & 0o111:
                    listing.shape.append([rel, "executable"])  # a mode change rebuilds
            else:
                special.append(rel)
        if not dirs and not files:
            listing.shape.append([os.path.relpath(folder, source), "dir"])
    if special:
        raise PartsmithError(
            f"source {source} holds {len(special)} entr{'y' if len(special) == 1 else 'ies'} that are not "
            "files, folders or symlinks (sockets, fifos, devices): " + ", ".join(special[:5]),
            resolution="Move them out of the source folder.",
        )
    return listing


def copy_source(source: Path, dest: Path, skip: Path) -> None:
    def ignored(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if Path(folder, name) == skip]

    shutil.copytree(source, dest, symlinks=True, ignore=ignored)
