"""A folder as an REAPI input root: the Merkle tree of Directory messages (canonical: entries
sorted by name, every file by sha256 and size, executable or not, symlinks as written), and the
blobs that make it. A sealed action's sandbox goes in at /partsmith, beside the links a merged-/usr
system has at its top (/bin -> usr/bin...): the worker gives /usr and /etc, nothing else."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from rules.cache import Blob
from rules.cache.remote import reapi_exec  # loaded only by a run with an executor
from rules.tree import hash_file

Named = tuple[str, int]
# a merged-/usr worker's top-level links, the same in every action whatever this machine has
WORKER_LINKS = (
    ("bin", "usr/bin"),
    ("lib", "usr/lib"),
    ("lib64", "usr/lib64"),
    ("sbin", "usr/sbin"),
)


@dataclass
class InputRoot:
    digest: Named = ("", 0)
    blobs: dict[Named, Blob] = field(default_factory=dict)

    def add(self, data: bytes) -> Named:
        """A message or a small file held in memory: its digest."""
        named = (hashlib.sha256(data).hexdigest(), len(data))
        self.blobs[named] = Blob(len(data), lambda: data)
        return named


def sandbox_root(sandbox: Path, skip: frozenset[str]) -> InputRoot:
    """The input root holding `sandbox` at partsmith/ (the paths in `skip`, relative to it,
    left out)."""
    root = InputRoot()
    inside = _directory(sandbox, root, skip)
    top = reapi_exec.Directory(directories=(("partsmith", inside),), symlinks=WORKER_LINKS)
    root.digest = root.add(reapi_exec.encode_directory(top))
    return root


def _directory(folder: Path, root: InputRoot, skip: frozenset[str], prefix: str = "") -> Named:
    files, directories, symlinks = [], [], []
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if prefix + entry.name in skip:
                continue
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                symlinks.append((entry.name, os.readlink(entry.path)))
            elif stat.S_ISDIR(info.st_mode):
                inner = _directory(Path(entry.path), root, skip, f"{prefix}{entry.name}/")
                directories.append((entry.name, inner))
            elif stat.S_ISREG(info.st_mode):
                files.append(_file(Path(entry.path), info.st_mode, entry.name, root))
    message = reapi_exec.Directory(tuple(files), tuple(directories), tuple(symlinks))
    return root.add(reapi_exec.encode_directory(message))


def _file(path: Path, mode: int, name: str, root: InputRoot) -> reapi_exec.FileNode:
    sha256, size, _ = hash_file(path)
    root.blobs[(sha256, size)] = Blob(size, path.read_bytes)
    return reapi_exec.FileNode(name, (sha256, size), bool(mode & 0o111))
