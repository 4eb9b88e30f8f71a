"""A build in layers: what its step wrote over the read-only layer below its install folder.

overlayfs records in its upper folder what a step did to the layer: new and changed files as
themselves, a removed entry as a whiteout (a character device 0:0), a folder removed and made
again as opaque, a folder renamed as a redirect (both `*.overlay.*` extended attributes), a
folder replaced by a file or symlink as that entry alone. Only the first can be added to the
layer's Tree without reading the layer: an upper folder that holds any of the others is
refused, and the part is built again without layers (rules/build/layers.py), so what it
outputs is always what a build in one piece outputs.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from rules.core import PartsmithError

# what overlayfs marks (trusted.overlay.* as root, user.overlay.* in a user namespace) when a step
# removes or renames an entry of the layer; `origin` and `impure` only say a folder was copied up
REFUSED = ("opaque", "redirect", "metacopy", "whiteout", "whiteouts")


class LayerRefused(PartsmithError):
    """The step removed or renamed something of the layer: the build is made again whole."""


def check_upper(upper: Path, layer: Path) -> None:
    """Raise LayerRefused when `upper` says the step removed, renamed or replaced a folder of
    `layer`, or holds a folder it cannot list (a marker inside could not be seen)."""

    def unlisted(error: OSError) -> None:
        raise LayerRefused(f"{error.filename}: a folder the check cannot list")

    for top, folders, files in os.walk(upper, onerror=unlisted):
        for name in (*folders, *files):
            path = os.path.join(top, name)
            info = os.lstat(path)
            if stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
                raise LayerRefused(f"{path}: removed from the layer")
            if not stat.S_ISLNK(info.st_mode) and _overlay_attributes(path):
                raise LayerRefused(f"{path}: made again or renamed over the layer")
            if not stat.S_ISDIR(info.st_mode) and _is_folder(layer / os.path.relpath(path, upper)):
                # a symlink or file in place of a folder of the layer: what the layer holds below
                # it is gone in a build made whole, with no whiteout to say so
                raise LayerRefused(f"{path}: replaces a folder of the layer")


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _overlay_attributes(path: str) -> list[str]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:  # a file system without extended attributes holds none
        return []
    return [name for name in names if name.rpartition(".overlay.")[2] in REFUSED]
