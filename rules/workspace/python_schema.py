"""The python keys: a python part's packages, requirements and constraints files (under
either era's snapcraft names), and the workspace's `python:` settings (where pull may look)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import yaml

from . import snapcraft
from .model import PythonSettings
from .yaml_nodes import Entries, Reader

PART_KEYS = (
    "python-packages",
    "python-requirements",
    "python-constraints",
    *snapcraft.OLD_PYTHON_KEYS,
)
SETTINGS_KEYS = ("index-url", "find-links", "interpreter")
# `python-packages: [.]` names the part's own project (its source), which a python part installs
# whenever its source has one: nothing to add
OWN_PROJECT = (".", "./")
# A requirements or constraints file may be written as snapcraft projects do, below the part's
# source.
PART_SRC_PREFIX = re.compile(r"^\$\{?(?:SNAPCRAFT|CRAFT)_PART_SRC\}?/")


def read_part_keys(
    reader: Reader, entries: Entries, key: str, plugin: str, source: str | None
) -> dict:
    """The Part fields python_packages, python_requirements and python_constraints. Files in a
    local source are checked now; in a pulled one (fetched, or made by override-pull), by pip."""
    local = source if plugin == "python" and "override-pull" not in entries else None
    requirements = _files(reader, entries, "python-requirements", key, local)
    constraints = _files(reader, entries, "python-constraints", key, local)
    packages: Sequence[str] = _packages(reader, entries, key)
    if plugin == "python" and reader.snapcraft and "python-packages" not in entries:
        packages = snapcraft.DEFAULT_PYTHON_PACKAGES  # snapcraft's python plugin default
    return {
        "python_packages": tuple(packages),
        "python_requirements": tuple(requirements),
        "python_constraints": tuple(constraints),
    }


def _files(reader: Reader, entries: Entries, name: str, key: str, source: str | None) -> list[str]:
    """python-requirements or python-constraints, under either era's name (not both): paths
    relative to the part's source, `$CRAFT_PART_SRC/` (or snapcraft's spelling) allowed."""
    old = next(o for o, new in snapcraft.OLD_PYTHON_KEYS.items() if new == name)
    if name in entries and old in entries:
        reader.problem(
            entries[old][0], f"{key}.{old}", f"the same key as {name} (its core20 name): keep one"
        )
    spelled = name if name in entries or old not in entries else old
    items = reader.optional(entries, spelled, reader.string_list, f"{key}.{spelled}") or []
    paths = [
        reader.relative_path(node, f"{key}.{spelled}", PART_SRC_PREFIX.sub("", value))
        for node, value in items
    ]
    files = [p for p in paths if p is not None]
    if files and "source" not in entries:
        reader.problem(
            entries[spelled][1],
            f"{key}.{spelled}",
            "needs the part's source: the files are relative to it",
        )
    elif files and source is not None:
        for file in files:
            if not (reader.top / source / file).is_file():
                reader.problem(
                    entries[spelled][1], f"{key}.{spelled}", f"{file!r} is not a file in {source!r}"
                )
    return files


def _packages(reader: Reader, entries: Entries, key: str) -> list[str]:
    items = (
        reader.optional(entries, "python-packages", reader.string_list, f"{key}.python-packages")
        or []
    )
    for node, value in items:
        if value.strip().startswith("-"):
            reader.problem(
                node,
                f"{key}.python-packages",
                f"{value!r} is a pip option, not a package: "
                "where pip looks is set by python: index-url and find-links",
            )
    return [
        value
        for _, value in items
        if not value.strip().startswith("-") and value.strip() not in OWN_PROJECT
    ]


def read_settings(reader: Reader, node: yaml.Node, key: str) -> PythonSettings:
    """The workspace's `python:` mapping."""
    entries = reader.mapping(node, key, SETTINGS_KEYS)
    index_url = reader.optional(entries, "index-url", reader.string, f"{key}.index-url")
    links = reader.optional(entries, "find-links", reader.string_list, f"{key}.find-links") or []
    interpreter = reader.optional(entries, "interpreter", reader.string, f"{key}.interpreter")
    return PythonSettings(
        index_url=index_url,
        find_links=tuple(_find_link(reader, value) for _, value in links),
        interpreter=interpreter,
    )


def _find_link(reader: Reader, value: str) -> str:
    if "://" in value or os.path.isabs(value):
        return value
    return os.path.normpath(reader.top / value)
