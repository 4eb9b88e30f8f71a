"""Writing Trees out: files copied while hashed (one read: a copy proves its bytes), a Tree laid
out as a folder, a placement materialized from several folders, a source copied and captured."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ChangedSince
from .reading import BlobSink, Feed, capture_sink, read_through
from .tree import Capture, Entry, Tree, link_escapes


def copy_captured(
    source: Path,
    dest: Path,
    skip: frozenset[str],
    epoch: int,
    forbidden: tuple[bytes, ...] = (),
    reverse: bool = False,
) -> Capture:
    """Copy `source` into the new folder `dest` as a captured output: modes 0644/0755, mtimes
    `epoch`, each file hashed (and searched for `forbidden`) while it is copied: the copy and its
    Tree in one read, one creation per file (and, inside `captured_into`, each file also written
    to its sink in that read). `skip`: paths (as strings) left out; `reverse`: entries created in
    reverse name order (a `verify` variation)."""
    result = Capture()
    os.mkdir(dest, 0o755)
    os.chmod(dest, 0o755)
    rules = _CopyRules(skip, epoch, forbidden, reverse, capture_sink())
    _copy_dir(str(source), str(dest), "", rules, result)
    result.escaping_links += [
        f"{path} -> {entry.target}"
        for path, entry in result.tree.items()
        if entry.kind == "symlink" and link_escapes(result.tree, path)
    ]
    os.utime(dest, (epoch, epoch))
    return result


@dataclass(frozen=True)
class _CopyRules:
    """What every entry of one `copy_captured` is copied by."""

    skip: frozenset[str]
    epoch: int
    forbidden: tuple[bytes, ...]
    reverse: bool
    sink: BlobSink | None


def _copy_dir(source: str, dest: str, prefix: str, rules: _CopyRules, result: Capture) -> None:
    with os.scandir(source) as listing:
        entries = sorted(listing, key=lambda entry: entry.name, reverse=rules.reverse)
    for entry in entries:
        if entry.path not in rules.skip:
            _copy_entry(entry, f"{dest}/{entry.name}", prefix + entry.name, rules, result)


def _copy_entry(
    entry: os.DirEntry[str], target: str, rel: str, rules: _CopyRules, result: Capture
) -> None:
    info = entry.stat(follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode):
        link = os.readlink(entry.path)
        os.symlink(link, target)
        result.tree[rel] = Entry("symlink", target=link)
        if any(f.decode() in link for f in rules.forbidden):
            result.escaping_links.append(f"{rel} -> {link}")
    elif stat.S_ISDIR(info.st_mode):
        os.mkdir(target, 0o755)
        os.chmod(target, 0o755)
        _copy_dir(entry.path, target, rel + "/", rules, result)
        result.tree[rel] = Entry("dir")
    elif stat.S_ISREG(info.st_mode):
        executable = bool(info.st_mode & 0o111)
        mode = 0o755 if executable else 0o644
        digest, size, leaked = copy_hashed(
            entry.path, target, mode, rules.epoch, rules.forbidden, rules.sink
        )
        result.tree[rel] = Entry("file", digest, size, executable)
        if leaked:
            result.leaks.append(rel)
        return  # its mtime is set already
    else:
        result.unsupported.append(rel)
        return
    os.utime(target, (rules.epoch, rules.epoch), follow_symlinks=False)


Placement = Mapping[str, tuple[Entry, Path]]  # path -> (entry, the folder holding its bytes)


def copy_checked(
    source: Path | str, target: Path | str, mode: int, mtime: int | None = None
) -> str:
    """Copy `source` to the new file `target` with `mode` (and `mtime`); returns the sha256 of
    what was copied."""
    return copy_hashed(source, target, mode, mtime)[0]


def copy_hashed(
    source: Path | str,
    target: Path | str,
    mode: int,
    mtime: int | None = None,
    forbidden: tuple[bytes, ...] = (),
    sink: BlobSink | None = None,
) -> tuple[str, int, bool]:
    """`copy_checked`, also returning the size and whether any `forbidden` bytes occur; the bytes
    also go to `sink`, in the same read.

    Descriptors rather than file objects, fchmod and futimens rather than chmod and utime: file
    creation is the cost of restoring and copying, and this keeps the Python around each small."""
    reader = os.open(source, os.O_RDONLY)
    try:
        return copy_hashed_from(reader, target, mode, mtime, forbidden, sink)
    finally:
        os.close(reader)


def copy_hashed_from(
    reader: int,
    target: Path | str,
    mode: int,
    mtime: int | None = None,
    forbidden: tuple[bytes, ...] = (),
    sink: BlobSink | None = None,
) -> tuple[str, int, bool]:
    """`copy_hashed` from the open descriptor `reader` (read from where it stands)."""
    feed = Feed(sink) if sink is not None else None
    try:
        writer = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            digest, size, found = read_through(reader, forbidden, feed, writer)
            os.fchmod(writer, mode)
            if mtime is not None:
                os.utime(writer, (mtime, mtime))
        finally:
            os.close(writer)
    except BaseException:
        if feed is not None:
            feed.drop()
        raise
    if feed is not None:
        feed.done(digest)
    return digest, size, found


def copy_known(reader: int, target: str, mode: int, mtime: int, size: int) -> None:
    """Copy the open file `reader`, `size` bytes, to the new file `target` with `mode` and
    `mtime`, in the kernel (copy_file_range, else sendfile), never through Python: for bytes the
    caller already knows are right (it checks afterwards that the file did not change meanwhile).
    (For a file of 2 KB, a read and a write cost the same, 9-10 µs with its creation on tmpfs.)"""
    writer = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _kernel_copy(reader, writer, size)
        os.fchmod(writer, mode)
        os.utime(writer, (mtime, mtime))
    finally:
        os.close(writer)


_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}


def _kernel_copy(reader: int, writer: int, size: int) -> None:
    offset = 0
    try:
        while offset < size and (
            copied := os.copy_file_range(reader, writer, size - offset, offset)
        ):
            offset += copied
        return
    except OSError as err:  # across filesystems on older kernels, or a filesystem without it
        if err.errno not in _NO_KERNEL_COPY or offset:
            raise
    while offset < size and (copied := os.sendfile(writer, reader, offset, size - offset)):
        offset += copied


FileWriter = Callable[
    [str, Entry, str], bool
]  # (path in the Tree, its entry, where it goes) -> written


def write_tree(
    tree: Tree,
    dest: Path,
    epoch: int,
    write_file: FileWriter,
    finish: Callable[[], bool] | None = None,
) -> bool:
    """Create the new folder `dest` holding every entry of `tree`, modes 0644/0755 and mtimes
    `epoch` as a capture leaves them; `write_file` creates each file (with its mode and mtime),
    or queues it for `finish`, called once every folder exists (before their mtimes are set).
    False as soon as either returns False: `dest` is then incomplete, for the caller to remove."""
    # plain strings, not Paths: this loop runs once per file, and pathlib's joins cost as much
    # as the copy of a small file
    dest.mkdir(parents=True)
    os.chmod(dest, 0o755)  # not the caller's umask
    root = str(dest)
    for path in sorted(tree):
        entry = tree[path]
        target = f"{root}/{path}"
        if entry.kind == "dir":
            _make_folder(target)
        elif entry.kind == "symlink":
            os.symlink(entry.target, target)
            os.utime(target, (epoch, epoch), follow_symlinks=False)
        elif not write_file(path, entry, target):
            return False
    if finish is not None and not finish():
        return False
    for path in sorted(tree, reverse=True):  # children first: creating them touched their parents
        if tree[path].kind == "dir":
            os.utime(f"{root}/{path}", (epoch, epoch))
    os.utime(root, (epoch, epoch))
    return True


def _make_folder(path: str) -> None:
    """A folder of the Tree; one there already is taken as it is, as materialize always did (a
    Tree the store checked never lists one twice)."""
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
    os.chmod(path, 0o755)


def file_mode(entry: Entry) -> int:
    return 0o755 if entry.executable else 0o644


def materialize(placement: Placement, dest: Path, epoch: int) -> None:
    """Create `dest` holding every entry of `placement`, each file copied from its folder and
    checked against its digest in the same read: bytes changed since capture never spread."""

    def copy(path: str, entry: Entry, target: str) -> bool:
        source = f"{placement[path][1]}/{path}"
        if copy_checked(source, target, file_mode(entry), epoch) != entry.digest:
            os.unlink(target)
            raise ChangedSince(Path(source))
        return True

    write_tree({path: entry for path, (entry, _) in placement.items()}, dest, epoch, copy)
