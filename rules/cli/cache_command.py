"""Seeing and bounding the local store: `doit cache`, `doit cache-trim`,
$PARTSMITH_CACHE_MAX_SIZE."""

from __future__ import annotations

import json
import os
import re

from rules.cache import Store
from rules.core import cache_root, write_atomic

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
    lines = [
        f"cache {root}: {_size(stats['bytes'])} in {stats['results']} results "
        f"and {stats['blobs']} blobs"
    ]
    limit = os.environ.get("PARTSMITH_CACHE_MAX_SIZE")
    lines.append(
        f"limit: {limit} ($PARTSMITH_CACHE_MAX_SIZE)"
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
    evicted = Store(cache_root()).trim(parse_size(limit))
    return f"cache-trim: evicted {evicted} results; " + show().splitlines()[0]


def trim_if_bounded() -> str:
    """After a stage: keep the store within $PARTSMITH_CACHE_MAX_SIZE when it is set."""
    limit = os.environ.get("PARTSMITH_CACHE_MAX_SIZE")
    if not limit:
        return ""
    evicted = Store(cache_root()).trim(parse_size(limit))
    return (
        f"partsmith: cache: evicted {evicted} least recently used results (limit {limit})"
        if evicted
        else ""
    )


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
