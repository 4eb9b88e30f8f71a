"""Files and folders written safely: one atomic writer for every file a reader may see half
written, and removal of the folders that builds leave behind, read-only ones included."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def write_atomic(
    path: Path, data: str | bytes, *, durable: bool = False, mode: int | None = None
) -> None:
    """Replace `path` by `data` so that a reader, or the next run after a crash, sees the old
    file or the new one, never half of one (see `atomic_file`)."""
    with atomic_file(path, durable=durable, mode=mode) as out:
        out.write(data.encode("utf-8") if isinstance(data, str) else data)


@contextmanager
def atomic_file(
    path: Path, *, durable: bool = False, mode: int | None = None
) -> Iterator[BinaryIO]:
    """A binary file to write that becomes `path` when the block ends without error; on an
    error it is removed and `path` stays as it was.

    The temp file lies in `path`'s folder because a rename is atomic only within one file
    system; its name is unique per writer (processes of `doit -n N` write the same names) and
    ends in `.tmp`, which `cache-trim` sweeps when a writer died. `durable`: fsync before the
    rename, so a crash cannot leave the new name on bytes never written (the store's results,
    downloaded blobs). `mode`: the file's mode (e.g. 0o444 for a blob); else the umask's."""
    temp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as out:
            yield out
            if durable:
                out.flush()
                os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def swap_in(fresh: Path, dest: Path, marks: tuple[Path, ...] = ()) -> None:
    """Make the complete folder `fresh` the folder `dest`; the previous `dest` stays (aside, as
    `<dest>.old`) until the new one is in place. `marks`: the files that say `dest` is complete;
    they go first, so a crash from here until the caller writes them again leaves an output that
    counts as not made, never a half-swapped one that counts as made."""
    for mark in marks:
        mark.unlink(missing_ok=True)
    old = dest.with_name(f"{dest.name}.old")
    remove_tree(old)  # a crash's leftover
    if os.path.lexists(dest):
        os.rename(dest, old)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.rename(fresh, dest)
    remove_tree(old)


def remove_tree(path: Path) -> None:
    """rmtree that also removes what sits in read-only folders (a chmod 555 in a source, Go's
    module cache under $HOME): such a folder is made writable, then the removal is retried."""

    def unlock_and_retry(function: Callable[..., object], failed: str, error: object) -> None:
        parent = os.path.dirname(failed)
        os.chmod(parent, stat.S_IMODE(os.lstat(parent).st_mode) | stat.S_IRWXU)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, stat.S_IMODE(os.lstat(failed).st_mode) | stat.S_IRWXU)
        if function not in (os.open, os.scandir, os.listdir):
            function(failed)
        elif os.access(failed, os.R_OK | os.X_OK):  # a folder that could not be listed now can
            shutil.rmtree(failed, onerror=unlock_and_retry)
        else:
            raise error[1] if isinstance(error, tuple) else OSError(f"cannot list {failed}")

    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.lexists(path):
        shutil.rmtree(path, onerror=unlock_and_retry)
