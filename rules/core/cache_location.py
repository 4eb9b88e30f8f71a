"""Where partsmith keeps what outlives a build root (SPEC.md, "Where things go")."""

from __future__ import annotations

import os
from pathlib import Path

from doit import get_initial_workdir


def cache_root() -> Path:
    # doit runs in the dodo.py folder: a relative setting means the folder doit was started from
    start = get_initial_workdir() or os.getcwd()
    if os.environ.get("PARTSMITH_CACHE_DIR"):
        return Path(start, os.environ["PARTSMITH_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(start, os.environ["XDG_CACHE_HOME"]) / "partsmith"
    return Path.home() / ".cache" / "partsmith"


def uv_cache() -> Path:
    """uv's cache, partsmith's own: wheels uv unpacked, and the isolated build environments
    (the one cache folder a sealed build may write: uv locks what it writes there)."""
    return cache_root() / "uv"
