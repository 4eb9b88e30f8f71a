"""A pulled source kept in the store under its pull record, as Bazel's --remote_download_minimal
keeps outputs: after `rm -rf build`, pull finds its record's result in the store and writes only
src.json (what the build key needs: the folder's manifest digest, what the source resolved to,
what override-pull said). Nothing is fetched, override-pull does not run again, and no file of the
source is written until a build must really run (`materialize_source`).

A folder holding `.git` (a git source) is not kept: a build that asks git for a version asks
that repository, which the store does not hold. Nor is a source holding a link that leaves it
(the store refuses such Trees). Either pulls again after a wipe, as before.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from rules.action import Manifest, sandbox_record, source_manifest, stat_cache
from rules.cache import Store
from rules.core import RULES_VERSION, action_lock, cache_root, digest, remove_tree
from rules.tree import Entry, link_escapes, with_parents
from rules.workspace import Layout, Workspace

from .errors import PullError


def kept_record(workspace: Workspace, pulled_by: dict) -> dict:
    """What the store key of a pulled source is the digest of: the pull's record, and what the
    sandbox let the pull see (an unsealed pull's source is never served to a sealed one)."""
    extra = list(workspace.extra_sandbox_paths)
    sandbox = {**sandbox_record(), **({"extra-paths": extra} if extra else {})}
    return {
        "rule": "pull-source",
        "rules-version": RULES_VERSION,
        "record": pulled_by,
        "sandbox": sandbox,
    }


def kept_key(workspace: Workspace, pulled_by: dict) -> str:
    return digest(kept_record(workspace, pulled_by))


def keep_source(workspace: Workspace, folder: Path, pulled_by: dict, said: dict) -> str | None:
    """Put the pulled `folder` in the store; `said`: what src.json holds besides the record.
    Returns its key; None when it is not kept: a folder with `.git` (a git source: its
    repository answers `git describe` for a build asking git, and is not stored) or a link
    leaving it."""
    if (folder / ".git").exists():
        return None
    manifest = source_manifest(folder, (workspace.build_root, folder / ".git"), stat_cache(folder))
    tree = {path: _entry(folder, path, row) for path, row in manifest.items()}
    if any(entry.kind == "symlink" and link_escapes(tree, path) for path, entry in tree.items()):
        return None
    values = {name: json.dumps(value, sort_keys=True) for name, value in said.items()}
    key = kept_key(workspace, pulled_by)
    try:
        Store(cache_root()).put(key, kept_record(workspace, pulled_by), tree, folder, values)
    except OSError as err:  # a store that cannot take it (a full disk): a warning, not the pull
        print(f"partsmith: warning: {folder} was not kept in the cache: {err.strerror or err}")
        return None
    return key


def kept_said(key: str) -> dict | None:
    """What src.json held when the source under `key` was kept; None when the store has none."""
    result = Store(cache_root()).get(key)
    if result is None:
        return None
    try:
        return {name: json.loads(value) for name, value in result.values.items()}
    except ValueError:
        return None


def is_kept(key: str) -> bool:
    return Store(cache_root()).result_path(key).is_file()


def kept_manifest(layout: Layout, name: str) -> Manifest | None:
    """The build key's view of a pulled source whose files are only in the store: its digest,
    without entries (None when the folder is here, or was not restored that way)."""
    if layout.pulled_source(name).is_dir():
        return None
    try:
        data = json.loads(layout.pulled_source_record(name).read_text())
    except (OSError, ValueError):
        return None
    return Manifest.of_digest(data["manifest"]) if data.get("kept") else None


def materialize_source(layout: Layout, name: str, epoch: int) -> bool:
    """The part's pulled source, written from the store when pull left only its record (a build
    must run); True when it was. Under the pull's lock: a build and a verify may ask at once."""
    with action_lock(layout.lock(f"{name}.source"), f"pull:{name}"):
        return restored_source(layout, name, epoch)


def restored_source(layout: Layout, name: str, epoch: int) -> bool:
    """`materialize_source` for a caller holding the pull's lock."""
    dest = layout.pulled_source(name)
    key = _kept_key(layout, name)
    if dest.is_dir() or key is None:
        return False  # here already, or not pulled (the build says so)
    _restore(layout, name, key, None, dest, epoch)
    return True  # a declared folder stays: a pull reading it now reads it whole; src/ wins


def restore_declared(layout: Layout, name: str, paths: list[str], epoch: int) -> int:
    """The files of `paths` (relative to the kept source: what a python part's pull reads)
    written to the part's declared folder, from the store; the others stay there until a build
    needs them. Returns how many there were."""
    key = _kept_key(layout, name)
    if key is None:
        return 0
    return _restore(layout, name, key, set(paths), layout.declared_source(name), epoch)


def _kept_key(layout: Layout, name: str) -> str | None:
    try:
        data = json.loads(layout.pulled_source_record(name).read_text())
    except (OSError, ValueError):
        return None
    kept = data.get("kept") if isinstance(data, dict) else None
    return kept if isinstance(kept, str) else None


def _restore(
    layout: Layout, name: str, key: str, only: set[str] | None, dest: Path, epoch: int
) -> int:
    """The kept source under `key` (or its entries in `only`, with their folders) written to
    `dest`; returns how many of `only` it held. A store that lost it forgets it, so the next run
    pulls again."""
    store = Store(cache_root())
    result = store.get(key)
    tree = result.tree if result is not None else {}
    held = {path for path in only or () if path in tree}
    if only is not None:
        tree = with_parents(tree, held)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix="src.") as temp:
        made = Path(temp, "restored")
        if result is None or not store.restore(tree, made, epoch):
            # the next run pulls again, and keeps the source anew
            layout.pulled_source_record(name).unlink(missing_ok=True)
            store.result_path(key).unlink(missing_ok=True)
            raise PullError(
                f"part {name!r}: the store no longer holds its pulled source, which its pull "
                "left there for the build",
                resolution="Run again: the part is pulled again.",
            )
        os.rename(made, dest)
    return len(held)


def forget_folder(dest: Path) -> None:
    """An older pull's folder, gone before only the record of a kept one is written."""
    if dest.is_dir():
        remove_tree(dest)


def _entry(folder: Path, path: str, row: tuple) -> Entry:
    if row[0] == "file":
        return Entry("file", row[1], os.lstat(folder / path).st_size, row[2])
    return Entry("symlink", target=row[1]) if row[0] == "link" else Entry("dir")
