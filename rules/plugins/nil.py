"""nil: builds nothing; a part made only of its override-build script, or of nothing at all."""
from __future__ import annotations

from ..workspace import Part


def default_build(part: Part) -> tuple[str, ...]:
    return ()
