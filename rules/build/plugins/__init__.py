"""Plugins return data: the shell commands of a part's default build. One executor runs them."""

from __future__ import annotations

from collections.abc import Callable

from rules.workspace import Part

from . import dump, native, nil, python
from .context import BuildContext

DefaultBuild = Callable[[Part, BuildContext], tuple[str, ...]]
PLUGINS: dict[str, DefaultBuild] = {
    "dump": dump.default_build,
    "nil": nil.default_build,
    "python": python.default_build,
    "poetry": python.default_build,  # its poetry.lock: pull made it wheels
    "uv": python.default_build,  # the part's uv.lock is its lock: pull made it wheels
    "make": native.make,
    "autotools": native.autotools,
    "cmake": native.cmake,
    "meson": native.meson,
}


def default_build(part: Part, context: BuildContext) -> tuple[str, ...]:
    return PLUGINS[part.plugin](part, context)
