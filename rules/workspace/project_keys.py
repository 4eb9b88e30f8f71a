"""snapcraft's project-level `build-packages` and `build-snaps`: what snapcraft installs on the
build host before any part is built. partsmith gives every build only what its part declares (a
build key holds the tools it saw), so each goes into every part's own list, first. Both take the
advanced grammar (on/to/else), as in snapcraft."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import yaml

from . import advanced_grammar as grammar
from .model import Part
from .part_schema import read_debs, read_snaps
from .yaml_nodes import Entries, Reader

KEYS = ("build-packages", "build-snaps")

Read = Callable[[Reader, yaml.Node, str], tuple[str, ...]]


def with_project_keys(reader: Reader, entries: Entries, parts: dict[str, Part]) -> dict[str, Part]:
    """`parts` with the project's build-packages and build-snaps before each part's own (each
    pull checks them, and their versions are in each build key)."""
    packages = _read(reader, entries, "build-packages", read_debs)
    snaps = _read(reader, entries, "build-snaps", read_snaps)
    if not packages and not snaps:
        return parts
    return {
        name: dataclasses.replace(
            part,
            build_packages=_first(packages, part.build_packages),
            build_snaps=_first(snaps, part.build_snaps),
        )
        for name, part in parts.items()
    }


def _read(reader: Reader, entries: Entries, name: str, read: Read) -> tuple[str, ...]:
    if name not in entries:
        return ()
    node = grammar.resolved(reader, entries[name][1], name, "list")
    return read(reader, node, name) if node is not None else ()


def _first(project: tuple[str, ...], own: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*project, *own)))
