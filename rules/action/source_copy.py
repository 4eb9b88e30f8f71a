"""The copy of a part's source that an action gets.

The build root may lie inside a source folder (`source: .` is common in snapcraft projects); it is
never an input and is never copied into a sandbox, or a build would contain itself.

A source may hold 100,000 files, and a build copies it more than once (pull's resolution, the
build's $CRAFT_PART_SRC, its links in $CRAFT_PART_BUILD), so the copy is one pass of a few system
calls per entry: no path objects per name, no second walk to normalize modes and mtimes (a
normalized copy gets them as each entry is written), no extended attributes (never an input: a
source's manifest does not hold them, so a build must not see them).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import ActionError

CHUNK = 1 << 20
# where copy_file_range cannot copy (another file system on older kernels, some FUSE ones)
NO_RANGE_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


def copy_source(
    source: Path,
    dest: Path,
    skip: Path | tuple[Path, ...],
    reverse: bool = False,
    link: bool = False,
    epoch: int | None = None,
) -> None:
    """Copy `source` (symlinks as symlinks; files hard-linked when `link`) to the new folder
    `dest`, leaving out the folders in `skip`; `reverse` creates each folder's entries in reverse
    name order (a `verify` variation: it changes the order a build lists them in on file systems
    that list in creation order). Modes and times are the source's (as `cp -a`), unless `epoch`
    is given: then every file is 0644, or 0755 when any x bit is set, every folder 0755, and
    every entry's times `epoch` (what capture does to an output)."""
    skips = skip if isinstance(skip, tuple) else (skip,)
    copier = _Copier(frozenset(str(path) for path in skips), reverse, link, epoch)
    copier.folder(str(source), str(dest), os.stat(source))


class _Copier:
    def __init__(self, skips: frozenset[str], reverse: bool, link: bool, epoch: int | None):
        self.skips, self.reverse, self.link = skips, reverse, link
        self.times = None if epoch is None else (epoch * 10**9, epoch * 10**9)

    def folder(self, source: str, dest: str, info: os.stat_result) -> None:
        os.mkdir(dest, 0o700)  # opened up by _finish, once it holds every entry
        with os.scandir(source) as listing:
            entries = sorted(listing, key=lambda entry: entry.name, reverse=self.reverse)
        for entry in entries:
            if entry.path in self.skips:
                continue
            target = f"{dest}/{entry.name}"
            entry_info = entry.stat(follow_symlinks=False)
            kind = stat.S_IFMT(entry_info.st_mode)
            if kind == stat.S_IFDIR:
                self.folder(entry.path, target, entry_info)
            elif kind == stat.S_IFLNK:
                os.symlink(os.readlink(entry.path), target)
                os.utime(target, ns=self._times(entry_info), follow_symlinks=False)
            elif kind != stat.S_IFREG:
                raise ActionError(
                    f"{entry.path} is not a file, folder or symlink (a socket, fifo or device)",
                    resolution="Move it out of the part's source.",
                )
            elif self.link:
                os.link(entry.path, target, follow_symlinks=False)
            else:
                self.file(entry.path, target, entry_info)
        self._finish(dest, info, 0o755)

    def file(self, source: str, dest: str, info: os.stat_result) -> None:
        mode = (0o755 if info.st_mode & 0o111 else 0o644) if self.times else info.st_mode
        reader = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            writer = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                _copy_bytes(reader, writer)
                os.fchmod(writer, stat.S_IMODE(mode))
                os.utime(writer, ns=self._times(info))
            finally:
                os.close(writer)
        finally:
            os.close(reader)

    def _finish(self, dest: str, info: os.stat_result, normal_mode: int) -> None:
        os.chmod(dest, normal_mode if self.times else stat.S_IMODE(info.st_mode))
        os.utime(dest, ns=self._times(info))

    def _times(self, info: os.stat_result) -> tuple[int, int]:
        return self.times or (info.st_atime_ns, info.st_mtime_ns)


def _copy_bytes(reader: int, writer: int) -> None:
    """Every byte up to the end of `reader` (not its size when listed: as `cp`), in the kernel
    where it can."""
    try:
        while os.copy_file_range(reader, writer, CHUNK):
            pass
        return
    except OSError as err:
        if err.errno not in NO_RANGE_COPY:
            raise
    os.lseek(reader, 0, os.SEEK_SET)
    os.lseek(writer, 0, os.SEEK_SET)
    os.ftruncate(writer, 0)
    while chunk := os.read(reader, CHUNK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(writer, view) :]
