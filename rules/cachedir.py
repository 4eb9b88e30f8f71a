"""Where partsmith keeps what outlives a build root (SPEC.md, "Where things go")."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    if os.environ.get("PARTSMITH_CACHE_DIR"):
        return Path(os.environ["PARTSMITH_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "partsmith"
    return Path.home() / ".cache" / "partsmith"
