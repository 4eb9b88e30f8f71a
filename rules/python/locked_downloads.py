"""Locked files into the store, by sha256: a file fetched once is never fetched again, for any
part or workspace of the user. Each is written to a temp file beside its blob while it is hashed
(fsutil.atomic_file), checked against the lock's sha256 (and size), flushed and renamed: a crash
leaves only a temp file, and a file whose bytes differ from the lock never lands.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from rules.cache import Store
from rules.core import Progress, atomic_file

from .errors import PythonError
from .pylock import LockedFile

ATTEMPTS = 3
TIMEOUT = 30  # seconds without an answer
CHUNK = 1 << 20


def ensure_in_store(
    store: Store, files: list[LockedFile], lock_folder: Path, progress: Progress
) -> int:
    """Fetch every file the store lacks; returns how many were fetched."""
    missing = list({f.sha256: f for f in files if not store.blob(f.sha256).is_file()}.values())
    if not missing:
        return 0
    total = sum(f.size or 0 for f in missing)
    progress.start_count("downloading", len(missing), total)
    with ThreadPoolExecutor(max_workers=min(8, len(missing))) as pool:
        for _ in pool.map(lambda f: _fetch(store, f, lock_folder, progress), missing):
            pass
    return len(missing)


def _fetch(store: Store, file: LockedFile, lock_folder: Path, progress: Progress) -> None:
    final = store.blob(file.sha256)
    final.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(ATTEMPTS):
        try:
            with atomic_file(final, durable=True, mode=0o444) as out:
                _copy_into(out, file, lock_folder, progress)
            break
        # OSError: ssl's and the socket's errors (URLError, TimeoutError, ConnectionError are too)
        except (OSError, http.client.HTTPException) as err:
            if (
                isinstance(err, urllib.error.HTTPError)
                and err.code < 500
                or attempt == ATTEMPTS - 1
            ):
                raise PythonError(
                    f"{file.name}: could not be fetched from {file.url}: {err}",
                    resolution="Check the network and the index, then run again.",
                ) from None
            time.sleep(0.5 * (attempt + 1))
    progress.add_done()


def _copy_into(out: BinaryIO, file: LockedFile, lock_folder: Path, progress: Progress) -> None:
    """Copy the file's bytes into `out`, refusing (before `out` is kept) bytes the lock does not
    name."""
    sha = hashlib.sha256()
    size = 0
    with _opened(file, lock_folder) as stream:
        while chunk := stream.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
            out.write(chunk)
            progress.add_bytes(len(chunk))
    if sha.hexdigest() != file.sha256 or (file.size is not None and size != file.size):
        raise PythonError(
            f"{file.name}: its bytes do not match the lock: "
            f"sha256 {sha.hexdigest()[:12]}, {size} bytes; "
            f"the lock says sha256 {file.sha256[:12]}, {file.size} bytes",
            f"from {file.url or file.path}",
            "Nothing was kept. If the file was republished or the lock edited by hand, "
            "run `doit lock`; "
            "otherwise the index or the download was tampered with.",
        )


def _opened(file: LockedFile, lock_folder: Path) -> BinaryIO:
    if file.url is not None:
        from .kept_connections import open_url  # only a pull that downloads pays for ssl

        return open_url(file.url, TIMEOUT)
    path = Path(file.path or "")
    path = (
        path if path.is_absolute() else Path(os.path.normpath(lock_folder / path))
    )  # the folder may not exist
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise PythonError(
            f"{file.name}: the locked file {path} does not exist",
            resolution="Put the file back, or run `doit lock` to lock what is there.",
        ) from None
