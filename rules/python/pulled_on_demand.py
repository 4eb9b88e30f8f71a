"""A python part's pull restored without its files, as Bazel's --remote_download_minimal: when
the store holds the pull's result and every wheel it names, only `pulled.json` (names, versions,
sha256) is written. That is all the build's key needs; a build whose key is cached never reads a
wheel, so a restore after `rm -rf build` copies nothing of pull. When a build must really run,
its wheels are copied from the store first (each checked as it is copied)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rules.cache import Store
from rules.core import action_lock, cache_root, remove_tree, write_atomic
from rules.tree import copy_checked
from rules.workspace import Layout

from .errors import PythonError

GROUPS = ("wheels", "build-wheels")


def record_only(store: Store, key: str, folder: Path) -> bool:
    """`folder` made anew holding only the stored pull's pulled.json, when the store holds the
    result under `key` and every wheel it names; False (nothing written) otherwise."""
    cached = store.get(key)
    entry = cached.tree.get("pulled.json") if cached is not None else None
    if entry is None or not entry.digest or not store.blob(entry.digest).is_file():
        return False
    text = store.blob(entry.digest).read_text()
    try:
        data = json.loads(text)
        digests = [wheel["sha256"] for group in GROUPS for wheel in data[group]]
    except (ValueError, KeyError, TypeError):
        return False
    if not all(store.blob(digest).is_file() for digest in digests):
        return False
    remove_tree(folder)
    folder.mkdir(parents=True)
    write_atomic(folder / "pulled.json", text)
    return True


def materialize_pulled(layout: Layout, name: str) -> None:
    """The part's pulled wheels that are not in its folder yet, copied from the store, under the
    part's pull lock (a build and a verify of one part may ask at once)."""
    folder = layout.pulled(name)
    with action_lock(layout.lock(f"{name}.pull"), f"pull:{name}"):
        try:
            data = json.loads((folder / "pulled.json").read_text())
        except (OSError, ValueError):
            return  # no pull yet, or a damaged one: load_pulled says so
        store = Store(cache_root())
        for group in GROUPS:
            for wheel in data.get(group, []):
                _copied_in(layout, name, store, folder / group / wheel["file"], wheel["sha256"])


def _copied_in(layout: Layout, name: str, store: Store, target: Path, sha256: str) -> None:
    """One wheel, copied to a temporary name, checked, renamed: a kill never leaves a
    truncated wheel that a later build would take for the pulled one."""
    if target.is_file():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".partsmith-tmp")
    temp.unlink(missing_ok=True)
    blob = store.blob(sha256)
    if blob.is_file() and copy_checked(blob, temp, 0o644) == sha256:
        os.replace(temp, target)
        return
    temp.unlink(missing_ok=True)
    layout.pull_result(name).unlink(missing_ok=True)  # the next run pulls again
    raise PythonError(
        f"part {name!r}: the store no longer holds {target.name}, which its pull left there "
        "for the build",
        resolution="Run again: the part is pulled again.",
    )
