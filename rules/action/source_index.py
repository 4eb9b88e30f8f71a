"""A part's source as an input: a manifest of every entry, hashed through a stat cache.

Like git's index, the cache maps each file's path to (size, mtime_ns, ctime_ns, inode) and its
sha256; a file is re-hashed only when one of those changed, so an unchanged source costs one
lstat per file. The build root is never part of a source, even when it lies inside it.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
from pathlib import Path

from rules.core import cache_root, write_atomic
from rules.tree import hash_file

from .errors import ActionError

# relpath -> ("file", sha256, executable) | ("link", target) | ("dir",)
Manifest = dict[str, tuple]


def source_manifest(source: Path, skip: Path | tuple[Path, ...], cache_file: Path) -> Manifest:
    """`skip`: folders that are not part of the source (the build root, `.git`)."""
    cached = _load(cache_file)
    fresh: dict[str, tuple] = {}
    manifest: Manifest = {}
    special: list[str] = []
    skips = frozenset(str(path) for path in (skip if isinstance(skip, tuple) else (skip,)))
    _walk(str(source), "", skips, cached, fresh, manifest, special)
    if special:
        raise ActionError(
            f"source {source} holds {len(special)} "
            f"entr{'y' if len(special) == 1 else 'ies'} that are not "
            "files, folders or symlinks (sockets, fifos, devices): " + ", ".join(special[:5]),
            resolution="Move them out of the source folder.",
        )
    if fresh != cached:
        _save(cache_file, fresh)
    return manifest


def _walk(
    folder: str,
    prefix: str,
    skip: frozenset[str],
    cached: dict,
    fresh: dict,
    manifest: Manifest,
    special: list,
) -> None:
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        rel = prefix + entry.name
        if entry.path in skip:
            continue
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            manifest[rel] = ("link", os.readlink(entry.path))
        elif stat.S_ISDIR(info.st_mode):
            manifest[rel] = ("dir",)
            _walk(entry.path, rel + "/", skip, cached, fresh, manifest, special)
        elif stat.S_ISREG(info.st_mode):
            key = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
            known = cached.get(rel)
            sha = known[1] if known is not None and known[0] == key else hash_file(entry.path)[0]
            fresh[rel] = (key, sha)
            manifest[rel] = ("file", sha, bool(info.st_mode & 0o111))
        else:
            special.append(rel)


def _load(cache_file: Path) -> dict:
    try:
        data = marshal.loads(cache_file.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}  # no cache, or a torn one: everything is hashed again
    return data if isinstance(data, dict) else {}


def _save(cache_file: Path, data: dict) -> None:
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(cache_file, marshal.dumps(data))


def stat_cache(source: Path) -> Path:
    """The stat cache of one source folder lives in the cache, not the build root: a wiped build
    root (or another workspace with the same source) does not cost re-hashing every file."""
    return cache_root() / "stat" / hashlib.sha256(str(source).encode()).hexdigest()
