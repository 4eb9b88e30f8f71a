"""Workspaces built in tmp_path, and snapshots of what a build leaves on disk."""

from __future__ import annotations

import hashlib
import os
import textwrap
from pathlib import Path


def write_files(root: Path, files: dict[str, str]) -> None:
    """Create files below root; a value starting with '->' makes a symlink to what follows."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content.startswith("->"):
            os.symlink(content[2:].strip(), path)
        else:
            path.write_text(content)


def make_workspace(root: Path, parts_yaml: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_files(root, files or {})
    workspace = root / "parts.yaml"
    workspace.write_text(textwrap.dedent(parts_yaml))
    return workspace


def snap_project(root: Path, snapcraft_yaml: str) -> Path:
    """A snapcraft project: `snap/snapcraft.yaml` below root."""
    (root / "snap").mkdir(parents=True, exist_ok=True)
    path = root / "snap" / "snapcraft.yaml"
    path.write_text(textwrap.dedent(snapcraft_yaml))
    return path


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry below root with what stage promises to keep: kind, bytes, mode, target, mtime."""
    result = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = os.lstat(path)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                result[rel] = ("link", os.readlink(path), info.st_mtime_ns)
            elif path.is_dir():
                result[rel] = ("dir", oct(info.st_mode), info.st_mtime_ns)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                result[rel] = ("file", digest, oct(info.st_mode), info.st_mtime_ns)
    return result
