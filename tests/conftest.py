"""Shared helpers: tests build their workspaces in tmp_path and run doit as a user does."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DODO = REPO / "dodo.py"


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


def doit(
    *args: str, cwd: Path, env: dict[str, str] | None = None, umask: int | None = None
) -> subprocess.CompletedProcess:
    """Run `doit -f <repo>/dodo.py ARGS` from `cwd`, as a user would from another folder."""
    return subprocess.run(
        [sys.executable, "-m", "doit", "-f", str(DODO), *args],
        cwd=cwd,
        env=env if env is not None else os.environ.copy(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        umask=-1 if umask is None else umask,
    )


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


@pytest.fixture
def run_doit():
    return doit


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own partsmith cache: nothing leaks between tests or into ~/.cache."""
    monkeypatch.setenv("PARTSMITH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
