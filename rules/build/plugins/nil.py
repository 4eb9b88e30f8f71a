"""nil: builds nothing; a part made only of its override-build script, or of nothing at all."""

from __future__ import annotations

from rules.workspace import Part

from .context import BuildContext


def default_build(part: Part, context: BuildContext) -> tuple[str, ...]:
    return ()
