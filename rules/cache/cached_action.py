"""One cached action: its output comes from the local store, else from the remote cache, else it
is produced; a produced output goes into the store and to the remote cache.

The caller holds the action's lock and writes its own record of the result afterwards (the mark
that the output folder is what this key made). Whatever `produce` and `publish` replace, the
previous output stays until the new one is complete: a restore is written into a scratch folder
beside the output and swapped in only once every blob was there and good.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rules.core import remove_tree
from rules.tree import Tree

from .remote import fetch_from_remote, upload_to_remote
from .spool import Spool
from .store import Result, Store

Made = Literal[
    "built", "fetched"
]  # built: a build ran; fetched: a pull downloaded (or found) the files


@dataclass(frozen=True)
class Produced:
    """An output made here: the folder it now lives in (already swapped in), its Tree, and what
    the action said with `craftctl set`."""

    folder: Path
    tree: Tree
    values: dict[str, str] = field(default_factory=dict)
    note: str = ""  # for the user, on how it was made (pull: where its files came from)


@dataclass(frozen=True)
class CachedAction:
    task: str  # the doit task, for messages: "build:app"
    store: Store
    key: str
    record: dict  # what the key is the digest of; stored beside the result
    output: Path  # the folder the action fills
    epoch: int
    produce: Callable[[], Produced]  # run the action and swap its output in
    publish: Callable[[Path, Tree], None]  # swap a complete restored folder in as `output`
    made: Made  # the outcome when the action ran
    # what `produce` captured its output into (rules.tree.captured_into): the put reads nothing
    spool: Spool | None = None


@dataclass(frozen=True)
class Ran:
    outcome: Literal["restored"] | Made
    tree: Tree
    values: dict[str, str]
    note: str = ""


def run_cached(action: CachedAction) -> Ran:
    """The action's output in `action.output`, restored when a cache holds it, else produced."""
    cached = _cached(action.store, action.key)
    if cached is not None and _restored(action, cached.tree):
        return Ran("restored", cached.tree, cached.values)
    produced = action.produce()
    if _kept(action, produced):
        upload_to_remote(action.store, action.key, action.record, produced.tree, produced.values)
    return Ran(action.made, produced.tree, produced.values, produced.note)


def _cached(store: Store, key: str) -> Result | None:
    cached = store.get(key)
    if cached is None and fetch_from_remote(store, key):
        cached = store.get(key)
    return cached


def _restored(action: CachedAction, tree: Tree) -> bool:
    fresh = action.output.with_name(f"{action.output.name}.restore")
    remove_tree(fresh)
    if not action.store.restore(tree, fresh, action.epoch):
        remove_tree(fresh)
        return False  # a blob was missing or corrupt: produce, which stores good bytes again
    action.publish(fresh, tree)
    return True


def _kept(action: CachedAction, produced: Produced) -> bool:
    """Store a fresh result; a store that cannot take it (a full disk) costs a warning only."""
    store = action.store
    try:
        store.put(
            action.key, action.record, produced.tree, produced.folder, produced.values, action.spool
        )
    except OSError as err:
        print(
            f"partsmith: warning: {action.task} was not cached: "
            f"{err.strerror or err}: {err.filename or store.root}"
        )
        return False
    return True
