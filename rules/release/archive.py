"""`doit pack`: prime as a reproducible archive, `<build-root>/dist/<name>.tar.gz` and its sha256.

Members sorted by path, folders included; owner 0/0 with empty names; every mtime the
SOURCE_DATE_EPOCH; modes 0644/0755 (links 0777); GNU tar headers (long names without PAX
records, so no times beyond the header's); gzip with mtime 0, no file name, level 9. The bytes
depend on the primed Tree and the epoch alone (and on zlib's output for level 9).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path
from typing import BinaryIO

from rules.core import atomic_file, write_atomic
from rules.stage import recorded_tree
from rules.tree import Entry, hash_file
from rules.workspace import Layout, Workspace

from .errors import ReleaseError

LEVEL = 9


def pack(workspace: Workspace) -> str:
    layout = Layout(workspace.build_root)
    tree = _primed_tree(layout)
    dist = layout.root / "dist"
    dist.mkdir(exist_ok=True)
    archive = dist / f"{workspace.name}.tar.gz"
    checksum = archive.with_name(archive.name + ".sha256")
    checksum.unlink(missing_ok=True)  # no checksum beside an archive it does not describe
    with atomic_file(archive) as raw:
        write_archive(raw, tree, layout.prime, workspace.source_date_epoch)
    digest = hash_file(archive)[0]
    write_atomic(checksum, f"{digest}  {archive.name}\n")
    return f"pack: {archive} sha256 {digest}"


def archive_is_intact(archive: Path) -> bool:
    """doit's up-to-date check: the archive is there and still has the sha256 written beside it."""
    try:
        recorded = archive.with_name(archive.name + ".sha256").read_text().split()[0]
        return hash_file(archive)[0] == recorded
    except (OSError, IndexError):
        return False


def _primed_tree(layout: Layout) -> dict[str, Entry]:
    try:
        return recorded_tree(layout.prime)
    except OSError:
        raise ReleaseError(
            "pack: nothing primed yet", resolution="Run `doit prime` (pack runs it for you)."
        ) from None


def write_archive(raw: BinaryIO, tree: dict[str, Entry], root: Path, epoch: int) -> None:
    with gzip.GzipFile(
        filename="", mode="wb", compresslevel=LEVEL, fileobj=raw, mtime=0
    ) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for path in sorted(tree):
                _add(tar, path, tree[path], root, epoch)


def _add(tar: tarfile.TarFile, path: str, entry: Entry, root: Path, epoch: int) -> None:
    info = tarfile.TarInfo(path)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = epoch
    if entry.kind == "dir":
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    elif entry.kind == "symlink":
        info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, entry.target
        tar.addfile(info)
    else:
        data = (root / path).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry.digest:
            raise ReleaseError(
                f"pack: {root / path} was changed since it was primed",
                resolution="Run `doit clean prime`, then `doit pack` again.",
            )
        info.mode, info.size = (0o755 if entry.executable else 0o644), len(data)
        tar.addfile(info, io.BytesIO(data))
