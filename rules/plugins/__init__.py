"""Plugins return data: the shell commands of a part's default build. One executor runs them."""
from __future__ import annotations

from typing import Callable

from ..errors import PartsmithError
from ..workspace import Part
from . import dump, nil

DefaultBuild = Callable[[Part], tuple[str, ...]]

# Plugins whose build exists today; "python" is a valid workspace value that arrives with the
# python rule, so a part that asks for it is refused with a clear message instead of mis-built.
AVAILABLE: dict[str, DefaultBuild] = {"dump": dump.default_build, "nil": nil.default_build}


def default_build(part: Part) -> tuple[str, ...]:
    try:
        plugin = AVAILABLE[part.plugin]
    except KeyError:
        raise PartsmithError(
            f"part {part.name!r}: plugin {part.plugin!r} is not available in this version of partsmith",
            resolution=f"Use one of {', '.join(sorted(AVAILABLE))} for now.",
        ) from None
    return plugin(part)
