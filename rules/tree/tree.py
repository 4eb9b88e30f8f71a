"""Trees: the manifest of a part's output, captured once and used by stage, prime and the cache.

`capture` walks an output folder once: it normalizes modes and mtimes, hashes each file while
reading it (and, in the same read, looks for the sandbox path that must not leak into outputs),
checks symlinks, and returns the manifest. Nobody re-reads a file to compare it afterwards.
Each file is read once, by reading.py, which also hands its bytes to the store's spool.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

from rules.core import Digest, write_atomic

from .reading import BlobSink, capture_sink, hash_file

EntryKind = Literal["file", "dir", "symlink"]


class Entry(NamedTuple):
    """One path of a Tree. A NamedTuple, not a frozen dataclass: stage reads and merges every
    entry of every part on each run, and a tuple is made three times faster."""

    kind: EntryKind
    digest: str = ""  # sha256 of a file's bytes
    size: int = 0
    executable: bool = False
    target: str = ""  # a symlink's target, as written

    def to_json(self) -> dict:
        if self.kind == "file":
            return {
                "kind": "file",
                "sha256": self.digest,
                "size": self.size,
                "executable": self.executable,
            }
        if self.kind == "symlink":
            return {"kind": "symlink", "target": self.target}
        return {"kind": "dir"}

    @staticmethod
    def from_json(data: dict) -> Entry:
        # tuple.__new__ with the fields in order: Trees of 100k entries are read on every restore
        kind = data["kind"]
        if kind == "file":
            return _new(
                Entry,
                (
                    "file",
                    data.get("sha256", ""),
                    data.get("size", 0),
                    data.get("executable", False),
                    "",
                ),
            )
        return _new(Entry, (kind, "", 0, False, data.get("target", "")))

    def describe(self) -> str:
        if self.kind == "file":
            mode = "executable" if self.executable else "regular"
            return f"{mode} file, {self.size} bytes, sha256 {self.digest[:12]}"
        if self.kind == "symlink":
            return f"symlink to {self.target}"
        return "directory"


_new = tuple.__new__

Tree = Mapping[str, Entry]  # relative POSIX path -> entry; the root itself is not listed


@dataclass
class Capture:
    """What capturing an output found: its Tree and the problems partsmith refuses."""

    tree: dict[str, Entry] = field(default_factory=dict)
    leaks: list[str] = field(default_factory=list)  # files holding the sandbox path
    escaping_links: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # sockets, fifos, devices


class Deferred(Protocol):
    """A writer still at work inside an output while it is captured, only ever in folders of one
    name (the python rule's bytecode compile: `__pycache__`). The capture walks past them, then
    captures each as the writer reports it written: the two overlap instead of following each
    other."""

    name: str

    def finished(self) -> Iterator[str]:
        """Each folder (its path in the output, ending in /) whose folder of that name is
        written, as it is; ends once the writer has ended, and raises if it failed."""


class _Walk(NamedTuple):
    forbidden: tuple[bytes, ...]
    sink: BlobSink | None
    later: str | None  # the name of folders a Deferred writes: passed by
    folders: list[tuple[str, str]]  # every folder walked and its prefix: where `later` may appear


def capture(
    root: Path,
    epoch: int,
    forbidden: tuple[bytes, ...] = (),
    sink: BlobSink | None = None,
    deferred: Deferred | None = None,
) -> Capture:
    """Normalize `root` in place (modes 0644/0755, mtimes = epoch) and return its manifest; each
    file's bytes also go to `sink` (by default the one `captured_into` set) in the same read.
    What `deferred` writes is captured once it is done."""
    result = Capture()
    os.chmod(root, 0o755)
    sink = sink if sink is not None else capture_sink()
    walk = _Walk(forbidden, sink, deferred.name if deferred else None, [])
    _capture_dir(str(root), "", epoch, walk, result)
    if deferred is not None:
        _capture_deferred(deferred, epoch, walk, result)
    result.escaping_links += [
        f"{path} -> {entry.target}"
        for path, entry in result.tree.items()
        if entry.kind == "symlink" and link_escapes(result.tree, path)
    ]
    os.utime(root, (epoch, epoch))
    return result


def _capture_deferred(deferred: Deferred, epoch: int, walk: _Walk, result: Capture) -> None:
    """Each folder of the deferred name, wherever the walk passed: those the writer reports
    written as it does, the others (a folder it had nothing to write in) once it has ended; then
    every folder's mtime set again (the writer may have made, or removed, an entry of that name
    after the walk set it)."""
    name, now = str(walk.later), walk._replace(later=None, folders=[])
    waiting = {prefix: folder for folder, prefix in walk.folders}

    def take(prefix: str) -> None:
        path = f"{waiting.pop(prefix)}/{name}"
        if os.path.lexists(path):
            _capture_entry(path, prefix + name, epoch, now, result)

    for prefix in deferred.finished():
        if prefix in waiting:  # a folder the walk did not pass (below a link) is not the output's
            take(prefix)
    for prefix in list(waiting):
        take(prefix)
    for folder, _ in walk.folders:
        os.utime(folder, (epoch, epoch))


def _capture_dir(folder: str, prefix: str, epoch: int, walk: _Walk, result: Capture) -> None:
    if walk.later is not None:
        walk.folders.append((folder, prefix))
    with os.scandir(folder) as listing:
        names = sorted(entry.name for entry in listing)
    for name in names:
        if name != walk.later:
            # strings, not Paths: this runs once per output file
            _capture_entry(f"{folder}/{name}", f"{prefix}{name}", epoch, walk, result)


def _capture_entry(path: str, rel: str, epoch: int, walk: _Walk, result: Capture) -> None:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path)
        result.tree[rel] = Entry("symlink", target=target)
        if any(f.decode() in target for f in walk.forbidden):
            result.escaping_links.append(f"{rel} -> {target}")
    elif stat.S_ISDIR(info.st_mode):
        if stat.S_IMODE(info.st_mode) != 0o755:  # a chmod costs as much as the lstat
            os.chmod(path, 0o755)
        _capture_dir(path, rel + "/", epoch, walk, result)
        result.tree[rel] = Entry("dir")
    elif stat.S_ISREG(info.st_mode):
        if info.st_nlink > 1:
            _own_copy(Path(path))  # a hard link shares its inode with a file outside the output
        executable = bool(info.st_mode & 0o111)
        if stat.S_IMODE(info.st_mode) != (0o755 if executable else 0o644):
            os.chmod(path, 0o755 if executable else 0o644)
        digest, size, leaked = hash_file(path, walk.forbidden, walk.sink)
        result.tree[rel] = Entry("file", digest, size, executable)
        if leaked:
            result.leaks.append(rel)
    else:
        result.unsupported.append(rel)
        return
    os.utime(path, (epoch, epoch), follow_symlinks=False)


def _own_copy(path: Path) -> None:
    """Replace a hard link by a copy, so normalizing it cannot touch the other name's file."""
    temp = path.with_name(path.name + ".partsmith-copy")
    shutil.copy2(path, temp)
    os.replace(temp, path)


def normalize_modes(root: Path, epoch: int) -> None:
    """What capture does to modes and mtimes, without hashing: for an action's copy of a source."""
    for folder, dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                os.chmod(path, 0o755 if info.st_mode & 0o111 else 0o644)
            os.utime(path, (epoch, epoch), follow_symlinks=False)
        for name in dirs:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)
    for folder, dirs, _ in os.walk(root, topdown=False):
        for name in dirs:
            os.utime(os.path.join(folder, name), (epoch, epoch), follow_symlinks=False)
    os.chmod(root, 0o755)
    os.utime(root, (epoch, epoch))


def link_escapes(tree: Tree, link: str) -> bool:
    """Whether the relative symlink `link` of `tree` resolves outside it, following the Tree's
    own links on the way; an absolute link names a path of the system the output runs on and is
    kept as written. Works on the manifest alone, so a capture and a download are judged alike."""
    pending, resolved, hops = link.split("/"), list[str](), 0
    while pending:
        name = pending.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            if not resolved:
                return True
            resolved.pop()
            continue
        resolved.append(name)
        entry = tree.get("/".join(resolved))
        if entry is not None and entry.kind == "symlink":
            hops += 1
            if posixpath.isabs(entry.target):
                return False
            if hops > 40:  # a loop never resolves: refuse it too
                return True
            resolved.pop()
            pending = entry.target.split("/") + pending
    return False


def to_json(tree: Tree) -> str:
    # no indent: json's C encoder, several times faster than its Python one on 40k entries
    return json.dumps(
        {path: entry.to_json() for path, entry in tree.items()},
        sort_keys=True,
        separators=(",", ":"),
    )


def from_json(text: str) -> dict[str, Entry]:
    return from_data(json.loads(text))


def from_data(data: dict) -> dict[str, Entry]:
    """A Tree from its parsed JSON (a store's or a remote's record holds it); ValueError for
    anything else (a file damaged or edited by hand), as for JSON that does not parse."""
    try:
        return {path: Entry.from_json(entry) for path, entry in data.items()}
    except (AttributeError, TypeError, KeyError) as err:
        raise ValueError(f"not a Tree: {err!r}") from None


def tree_digest(tree: Tree) -> Digest:
    return Digest(hashlib.sha256(to_json(tree).encode()).hexdigest())


# manifests this process wrote or read, by path: (device, inode, size, mtime, ctime) and the
# Tree. A build writes its part's manifest and the stage (then prime) of the same `doit` run reads
# it: parsing 17k entries again costs 60 ms each time. Atomic writes give a new inode, so any
# other writer's manifest misses.
_KNOWN: dict[str, tuple[tuple[int, ...], dict[str, Entry]]] = {}


def write_manifest(tree: Tree, path: Path) -> None:
    """Write the manifest atomically: a reader sees the old one or the new one, never half."""
    write_atomic(path, to_json(tree) + "\n")
    _KNOWN[str(path)] = (_identity(os.stat(path)), dict(tree))


def read_manifest(path: Path) -> dict[str, Entry]:
    with open(path, "rb") as manifest:
        identity = _identity(os.fstat(manifest.fileno()))
        known = _KNOWN.get(str(path))
        if known is not None and known[0] == identity:
            return dict(known[1])
        tree = from_json(manifest.read().decode())
    _KNOWN[str(path)] = (identity, tree)
    return dict(tree)


def _identity(info: os.stat_result) -> tuple[int, ...]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def with_parents(tree: Tree, selected: set[str]) -> dict[str, Entry]:
    """`selected` paths of `tree` plus every directory above them, in path order."""
    wanted = set(selected)
    for path in selected:
        parent = posixpath.dirname(path)
        while parent and parent not in wanted:
            wanted.add(parent)
            parent = posixpath.dirname(parent)
    return {path: tree[path] for path in sorted(wanted) if path in tree}
