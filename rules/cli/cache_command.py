"""Seeing and bounding the local cache, the store and the pyc cache: `doit cache`,
`doit cache-trim`, $PARTSMITH_CACHE_MAX_SIZE.

One budget for both, spent on one timeline of last use: what was used least recently goes first,
an action result or a compiled module alike. The store orders its results by mtime (a hit touches
it), the pyc cache its entries by mtime (a copy touches one, at most every TOUCH_EVERY, so an
entry counts as used TOUCH_EVERY after its mtime: one used after a result never goes before it).
Store.trim takes a size, not a time: when over the budget, the two are walked together, counting a
result as Store.trim does, to find the pyc entries that go; then the store is trimmed to what the
pyc cache keeps, which evicts the results the walk met. Not "pyc first": under a bound the store
grows by a result with every edit, and evicting every pyc entry before any result would empty the
pyc cache for good, though an entry costs little and saves a compile on every venv rebuild."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

from rules.cache import Store
from rules.core import cache_root, write_atomic
from rules.python.pyc_cache import TOUCH_EVERY, PycEntry, evict_pyc, pyc_cache, pyc_entries

from .errors import CommandError

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
LAST_RUN = "last-run.json"


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if match is None:
        raise CommandError(
            f"PARTSMITH_CACHE_MAX_SIZE={text!r} is not a size",
            resolution="Write a number of bytes with an optional K, M, G or T suffix, e.g. 2G.",
        )
    return int(match[1]) * UNITS[match[2].upper()]


def show() -> str:
    root = cache_root()
    stats = Store(root).stats()
    pyc = pyc_entries()
    pyc_bytes = sum(entry.size for entry in pyc)
    lines = [
        f"cache {root}: {_size(stats['bytes'])} in {stats['results']} results "
        f"and {stats['blobs']} blobs",
        f"pyc cache {pyc_cache()}: {_size(pyc_bytes)} in {len(pyc)} entries (compiled modules)",
    ]
    limit = os.environ.get("PARTSMITH_CACHE_MAX_SIZE")
    lines.append(
        f"limit: {limit} ($PARTSMITH_CACHE_MAX_SIZE, for both: "
        f"{_size(stats['bytes'] + pyc_bytes)} used)"
        if limit
        else "limit: none (set $PARTSMITH_CACHE_MAX_SIZE)"
    )
    try:
        last = json.loads((root / LAST_RUN).read_text())
        total = last["hits"] + last["misses"]
        rate = f"{100 * last['hits'] / total:.0f}%" if total else "n/a"
        lines.append(f"last run: {last['hits']} restored, {last['misses']} built (hit rate {rate})")
    except (OSError, ValueError, KeyError):
        lines.append("last run: none recorded")
    return "\n".join(lines)


def trim() -> str:
    limit = os.environ.get("PARTSMITH_CACHE_MAX_SIZE")
    if not limit:
        raise CommandError(
            "no size limit to trim to", resolution="Set PARTSMITH_CACHE_MAX_SIZE, e.g. 2G."
        )
    results, modules = trim_both(parse_size(limit))
    now = show().splitlines()
    return f"cache-trim: evicted {results} results and {modules} pyc entries\n{now[0]}\n{now[1]}"


def trim_if_bounded() -> str:
    """After a stage: keep the store and the pyc cache within $PARTSMITH_CACHE_MAX_SIZE when it
    is set."""
    limit = os.environ.get("PARTSMITH_CACHE_MAX_SIZE")
    if not limit:
        return ""
    results, modules = trim_both(parse_size(limit))
    return (
        f"partsmith: cache: evicted {results} least recently used results and {modules} "
        f"pyc entries (limit {limit})"
        if results or modules
        else ""
    )


def trim_both(max_bytes: int) -> tuple[int, int]:
    """The store and the pyc cache within `max_bytes` together, least recently used first (see
    the module's docstring); returns how many results and pyc entries went."""
    store = Store(cache_root())
    pyc = pyc_entries(sweep=True)
    results = sorted(_results(store))
    over = store.stats()["bytes"] + sum(entry.size for entry in pyc) - max_bytes
    gone = _pyc_before(results, pyc, over) if over > 0 else []
    evict_pyc(gone)
    kept = pyc[len(gone) :]  # pyc is oldest first: what goes is a prefix
    evicted = store.trim(max(max_bytes - sum(entry.size for entry in kept), 0))
    last = 0
    if evicted >= len(results):  # the store may not fit its share: no results left to evict,
        over = store.stats()["bytes"] + sum(entry.size for entry in kept) - max_bytes
        while last < len(kept) and over > 0:  # only young blobs: the pyc cache gives way
            over -= kept[last].size
            last += 1
        evict_pyc(kept[:last])
    return evicted, len(gone) + last


def _pyc_before(
    results: list[tuple[float, Path]], pyc: list[PycEntry], over: int
) -> list[PycEntry]:
    """Walk the store's results and the pyc entries together, least recently used first, until
    `over` bytes would be freed, counting a result as Store.trim does (its file, and the blobs no
    other result names); returns the pyc entries met on the way. An entry's mtime may be up to
    TOUCH_EVERY before its last use: it counts as used that much later."""
    uses = {path: _blobs(path) for _, path in results}
    count = Counter(digest for blobs in uses.values() for digest in blobs)
    gone: list[PycEntry] = []
    done = 0
    while over > 0 and (len(gone) < len(pyc) or done < len(results)):
        entry = pyc[len(gone)] if len(gone) < len(pyc) else None
        if entry and (done == len(results) or entry.mtime + TOUCH_EVERY < results[done][0]):
            gone.append(entry)
            over -= entry.size
            continue
        path = results[done][1]
        over -= uses[path].pop("", 0)
        for digest, size in uses[path].items():
            count[digest] -= 1
            over -= size if count[digest] == 0 else 0
        done += 1
    return gone


def _results(store: Store) -> list[tuple[float, Path]]:
    """Every action result with its last use (a hit touches it), as Store.trim orders them."""
    found = []
    for path in store.ac.glob("*.json") if store.ac.is_dir() else []:
        try:
            found.append((path.stat().st_mtime, path))
        except FileNotFoundError:
            continue  # evicted by another trim meanwhile
    return found


def _blobs(result: Path) -> dict[str, int]:
    """The blobs an action result names, by digest, with its own size under ""."""
    try:
        data = result.read_bytes()
        tree = json.loads(data)["tree"]
        blobs = {e["sha256"]: e["size"] for e in tree.values() if e["kind"] == "file"}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # damaged: Store.trim frees its file only; counting nothing is on the safe side
    return {**blobs, "": len(data)}


def record_run(hits: int, misses: int) -> None:
    root = cache_root()
    if not root.is_dir():
        return
    write_atomic(root / LAST_RUN, json.dumps({"hits": hits, "misses": misses}))


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} B"
