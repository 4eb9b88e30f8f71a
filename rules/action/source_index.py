"""A part's source as an input: a manifest of every entry, hashed through a stat cache.

Like git's index, the cache maps each file's path to (size, mtime_ns, ctime_ns, inode) and its
sha256; a file is re-hashed only when one of those changed, so an unchanged source costs one
lstat per file. The build root is never part of a source, even when it lies inside it.

With a watchman daemon (rules/core/watchman.py) not even that: the manifest is kept with the
clock it was made at, and the next run looks only at the names watchman says changed since;
without a clock, or on any doubt, the folder is walked as above.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
from pathlib import Path

from rules.core import cache_root, digest, write_atomic
from rules.core.watchman import changes_since, watching
from rules.tree import hash_file

from .errors import ActionError


class Manifest(dict[str, tuple]):
    """relpath -> ("file", sha256, executable) | ("link", target) | ("dir",). Its digest (what a
    key holds of it) is computed once, and kept with a watchman clock: a no-op neither walks the
    source nor encodes its manifest again."""

    def __init__(self, entries: dict[str, tuple] | None = None, known: str | None = None) -> None:
        super().__init__(entries or {})
        self._digest = known
        self.listed = True  # False: only the digest is known (a source whose files are elsewhere)

    @staticmethod
    def of_digest(known: str) -> Manifest:
        """A manifest known by its digest alone (a pulled source kept in the store)."""
        manifest = Manifest(None, known)
        manifest.listed = False
        return manifest

    def digest(self) -> str:
        if self._digest is None:
            self._digest = digest(sorted(self.items()))
        return self._digest


def source_manifest(source: Path, skip: Path | tuple[Path, ...], cache_file: Path) -> Manifest:
    """`skip`: folders that are not part of the source (the build root, `.git`)."""
    skips = frozenset(str(path) for path in (skip if isinstance(skip, tuple) else (skip,)))
    if not watching():
        return _looked_at(source, skips, cache_file, None, None)
    kept_file = _watch_file(cache_file, skips)
    kept = _load(kept_file)  # {"clock", "manifest", "digest"} from the last run with watchman
    changes = changes_since(source, kept.get("clock"), _below(source, skips))
    known = kept.get("manifest") if isinstance(kept.get("manifest"), dict) else None
    names = changes.names if changes is not None and known is not None else None
    if known is not None and names == frozenset():
        return Manifest(known, kept.get("digest"))  # nothing changed since the clock kept
    manifest = _looked_at(source, skips, cache_file, known, names)
    if changes is not None:
        kept = {"clock": changes.clock, "manifest": dict(manifest), "digest": manifest.digest()}
        _save(kept_file, kept)
    return manifest


def _looked_at(
    source: Path,
    skips: frozenset[str],
    cache_file: Path,
    known: dict[str, tuple] | None,
    names: frozenset[str] | None,
) -> Manifest:
    """`known` with `names` looked at again, or (without them, or when they do not fit) a walk;
    the stat cache decides which files are hashed."""
    cached = _load(cache_file)
    fresh: dict[str, tuple] = dict(cached)
    special: list[str] = []
    found = None
    if known is not None and names is not None:
        inside = _below(source, skips)
        found = _patched(str(source), skips, inside, known, names, fresh, special)
    if found is None:
        fresh, special, found = {}, [], {}
        _walk(str(source), "", skips, cached, fresh, found, special)
    if special:
        raise ActionError(
            f"source {source} holds {len(special)} "
            f"entr{'y' if len(special) == 1 else 'ies'} that are not "
            "files, folders or symlinks (sockets, fifos, devices): " + ", ".join(special[:5]),
            resolution="Move them out of the source folder.",
        )
    if fresh != cached:
        _save(cache_file, fresh)
    return _with_digest(found, cache_file)


def _with_digest(found: dict[str, tuple], cache_file: Path) -> Manifest:
    """The manifest with its digest taken from the last run's when it is the same manifest: a
    sha256 of its marshal bytes tells (marshal is lossless; bytes that differ for the same
    manifest only cost encoding its JSON again), at a tenth of the JSON's cost."""
    memo_file = cache_file.with_name(cache_file.name + ".digest")
    fingerprint = hashlib.sha256(marshal.dumps(found)).hexdigest()
    memo = _load(memo_file)
    if memo.get("fingerprint") == fingerprint:
        return Manifest(found, memo.get("digest"))
    manifest = Manifest(found)
    _save(memo_file, {"fingerprint": fingerprint, "digest": manifest.digest()})
    return manifest


def _below(source: Path, skips: frozenset[str]) -> tuple[str, ...]:
    """The skipped folders inside the source, relative to it (watchman leaves them out)."""
    inside = (Path(s) for s in skips if Path(s).is_relative_to(source) and Path(s) != source)
    return tuple(sorted(path.relative_to(source).as_posix() for path in inside))


def _patched(
    source: str,
    skip: frozenset[str],
    inside: tuple[str, ...],
    kept: dict[str, tuple],
    names: frozenset[str],
    fresh: dict,
    special: list,
) -> dict[str, tuple] | None:
    """`kept` with each name watchman reported looked at again (parents before children);
    None when the names do not fit it (walk instead). `inside`: the skipped folders below the
    source, relative to it (a skipped folder above it, as the build root is above a pulled
    source, skips nothing here)."""
    manifest = dict(kept)
    for rel in sorted(names):
        if any(rel == s or rel.startswith(s + "/") for s in inside):
            continue
        path = f"{source}/{rel}"
        parent = rel.rpartition("/")[0]
        try:
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):  # gone, or a folder became a file
            _drop(manifest, fresh, rel)
            continue
        if parent and manifest.get(parent) != ("dir",):
            return None  # an entry whose folder is not known: the names do not fit
        if stat.S_ISDIR(info.st_mode):
            if manifest.get(rel) != ("dir",):  # a new folder: all of it, whatever was reported
                _drop(manifest, fresh, rel)
                manifest[rel] = ("dir",)
                _walk(path, rel + "/", skip, {}, fresh, manifest, special)
            continue
        if manifest.get(rel) == ("dir",):
            _drop(manifest, fresh, rel)
        _look(path, rel, info, fresh.get(rel), fresh, manifest, special)
    return dict(sorted(manifest.items()))


def _drop(manifest: dict[str, tuple], fresh: dict, rel: str) -> None:
    """`rel` and, when it was a folder, everything below it."""
    if manifest.pop(rel, None) == ("dir",):
        below = rel + "/"
        for gone in [name for name in manifest if name.startswith(below)]:
            del manifest[gone]
            fresh.pop(gone, None)
    fresh.pop(rel, None)


def _walk(
    folder: str,
    prefix: str,
    skip: frozenset[str],
    cached: dict,
    fresh: dict,
    manifest: dict[str, tuple],
    special: list,
) -> None:
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=_name)
    for entry in entries:
        rel = prefix + entry.name
        if entry.path in skip:
            continue
        info = entry.stat(follow_symlinks=False)
        mode = info.st_mode
        if stat.S_ISREG(mode):  # _look's case, inline: the walk's hot loop
            key = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
            known = cached.get(rel)
            sha = known[1] if known is not None and known[0] == key else hash_file(entry.path)[0]
            fresh[rel] = (key, sha)
            manifest[rel] = ("file", sha, bool(mode & 0o111))
        elif stat.S_ISDIR(mode):
            manifest[rel] = ("dir",)
            _walk(entry.path, rel + "/", skip, cached, fresh, manifest, special)
        else:
            _look(entry.path, rel, info, None, fresh, manifest, special)


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _look(
    path: str,
    rel: str,
    info: os.stat_result,
    known: tuple | None,
    fresh: dict,
    manifest: dict[str, tuple],
    special: list,
) -> None:
    """One entry that is not a folder; a file is hashed unless `known` has its stat data."""
    if stat.S_ISLNK(info.st_mode):
        manifest[rel] = ("link", os.readlink(path))
    elif stat.S_ISREG(info.st_mode):
        key = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
        sha = known[1] if known is not None and known[0] == key else hash_file(path)[0]
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


def _watch_file(cache_file: Path, skips: frozenset[str]) -> Path:
    """Beside the stat cache, one kept manifest for each set of skipped folders."""
    named = hashlib.sha256("\0".join(sorted(skips)).encode()).hexdigest()[:16]
    return cache_file.with_name(f"{cache_file.name}.{named}.watch")


def stat_cache(source: Path) -> Path:
    """The stat cache of one source folder lives in the cache, not the build root: a wiped build
    root (or another workspace with the same source) does not cost re-hashing every file."""
    return cache_root() / "stat" / hashlib.sha256(str(source).encode()).hexdigest()
