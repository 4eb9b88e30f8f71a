"""What partsmith takes from snapcraft.yaml beyond its own workspace keys.

A snapcraft.yaml is a workspace as it stands: its parts use the keys partsmith shares with
snapcraft; the snap's metadata (apps, confinement, plugs, ...) is accepted and named once as not
used for building; the plugins partsmith does not have are refused before anything runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .yaml_nodes import Entries, Reader, is_string

# Top-level keys of snapcraft.yaml that describe the snap, not how its parts are built.
SNAP_METADATA = (
    "adopt-info",
    "apps",
    "architectures",
    "assumes",
    "base",
    "build-base",
    "components",
    "compression",
    "confinement",
    "contact",
    "description",
    "donation",
    "environment",
    "epoch",
    "grade",
    "hooks",
    "icon",
    "issues",
    "layout",
    "license",
    "lint",
    "package-repositories",
    "passthrough",
    "platforms",
    "plugs",
    "provenance",
    "slots",
    "source-code",
    "summary",
    "system-usernames",
    "title",
    "type",
    "ua-services",
    "version",
    "website",
)
# Read by partsmith: `base` picks the names its error messages use, `adopt-info` names the part
# whose `craftctl set version=...` is the project's version.
USED_METADATA = ("adopt-info", "base")

# snapcraft plugins partsmith does not build: craft-parts' (its PluginGroup.DEFAULT), snapcraft's
# own (colcon, conda, flutter, initrd, kernel) and core20's that snapcraft still documents.
FOREIGN_PLUGINS = (
    "ant",
    "bazel",
    "cargo-use",
    "catkin",
    "catkin-tools",
    "colcon",
    "conda",
    "crystal",
    "dotnet",
    "flutter",
    "go",
    "go-use",
    "gradle",
    "gradle-use",
    "initrd",
    "jlink",
    "kernel",
    "maven",
    "maven-use",
    "npm",
    "npm-use",
    "qmake",
    "ruby",
    "rust",
    "scons",
)
# The keys of a foreign plugin start with its name, but a `-use` plugin takes its family's
# (gradle-use: gradle-parameters, npm-use: npm-node-version) and the ROS plugins share ros-*.
FOREIGN_KEY_PREFIXES = {"catkin": ("ros-",), "catkin-tools": ("ros-",), "colcon": ("ros-",)}

# poetry-pip-extra-args that change nothing partsmith installs: it installs exactly what
# poetry.lock lists (never resolving more: pip's --no-deps) and no pip runs to print or cache.
QUIET_PIP_ARGS = (
    "--no-deps",
    "--no-cache-dir",
    "--disable-pip-version-check",
    "--no-input",
    "--no-warn-script-location",
    "-q",
    "--quiet",
    "-v",
    "--verbose",
)

# Part keys of snapcraft that partsmith does not implement: refused by name, never ignored,
# because each changes what a part contains.
UNSUPPORTED_PART_KEYS = (
    "stage-snaps",
    "parse-info",
)

# Part keys of snapcraft that say nothing about how a part is built: accepted, named as not used.
UNUSED_PART_KEYS = ("build-attributes",)

# Part names: snapcraft takes any name without '/' (craft-application's PartName); partsmith
# names folders after a part and puts them on PATH and in compiler flags (-ffile-prefix-map=),
# so it takes the characters those keep whole.
PART_NAME = re.compile(r"[A-Za-z0-9_+-]+")
PART_NAME_REASONS = {
    "/": "'/' would make it a path of folders (snapcraft refuses it too, from core26 on)",
    ".": "'.' separates a part's name from its step in partsmith's folders (sandbox/<part>.pull)",
}

# The older spellings (core18, core20) of the python plugin's keys, accepted in every base.
OLD_PYTHON_KEYS = {"requirements": "python-requirements", "constraints": "python-constraints"}
OLD_BASES = ("core", "core18", "core20")

# What a snapcraft python part installs into its venv when it names no python-packages.
DEFAULT_PYTHON_PACKAGES = ("pip", "setuptools", "wheel")

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
SOURCE_TYPES = ("local", "git", "tar", "file")


def is_snapcraft_file(path: Path) -> bool:
    return path.name in ("snapcraft.yaml", ".snapcraft.yaml")


def project_dir(path: Path) -> Path:
    """The folder relative paths of a snapcraft.yaml are resolved against, as snapcraft does:
    the folder above `snap/` (or above `build-aux/snap/`), else the file's own folder."""
    folder = path.parent
    if folder.name == "snap":
        above = folder.parent
        return above.parent if above.name == "build-aux" else above
    return folder


def part_name_problem(name: str) -> str | None:
    """Why partsmith cannot build a part of this name from a snapcraft.yaml, or None."""
    if PART_NAME.fullmatch(name):
        return None
    bad = next((char for char in name if not PART_NAME.fullmatch(char)), None)
    reason = (
        "a part needs a name"
        if bad is None
        else PART_NAME_REASONS.get(
            bad,
            f"{bad!r} would split or need quoting where partsmith writes the part's folders "
            "(PATH, CFLAGS) and its doit task (doit reads NAME=VALUE as a variable)",
        )
    )
    return f"{name!r} cannot name a part in partsmith: {reason}; use letters, digits, '-', '_', '+'"


def era_keys(keys: tuple[str, ...], base: str | None) -> tuple[str, ...]:
    """`keys` without the other era's spellings of the python keys: what a near miss is
    compared with, so `requirement:` suggests `requirements` on core20 and
    `python-requirements` later (both spellings are accepted everywhere)."""
    other = set(OLD_PYTHON_KEYS.values()) if base in OLD_BASES else set(OLD_PYTHON_KEYS)
    return tuple(key for key in keys if key not in other)


def check_part_keys(reader: Reader, entries: Entries, key: str) -> None:
    """Refuse the part keys partsmith does not implement; note the ones it does not need."""
    for unsupported in UNSUPPORTED_PART_KEYS:
        if unsupported in entries:
            reader.problem(
                entries[unsupported][0],
                f"{key}.{unsupported}",
                "not supported by partsmith: remove it (see README, Coming from snapcraft)",
            )
    reader.unused += [f"{key}.{name}" for name in UNUSED_PART_KEYS if name in entries]


def foreign_plugin_keys(part: yaml.Node) -> tuple[str, ...]:
    """The keys a part has for its snapcraft plugin that partsmith refuses (go-buildtags for
    plugin: go; snapcraft names every plugin key after its plugin): that plugin's refusal says
    all there is to fix, an "unknown key" for each of them would only repeat it."""
    if not isinstance(part, yaml.MappingNode):
        return ()
    plugin = next(
        (
            value.value
            for key, value in part.value
            if is_string(key) and key.value == "plugin" and is_string(value)
        ),
        None,
    )
    if plugin not in FOREIGN_PLUGINS:
        return ()
    prefixes = (plugin.removesuffix("-use") + "-", *FOREIGN_KEY_PREFIXES.get(plugin, ()))
    return tuple(
        key.value for key, _ in part.value if is_string(key) and key.value.startswith(prefixes)
    )


def pip_extra_args(reader: Reader, node: yaml.Node, key: str) -> None:
    """poetry-pip-extra-args: no pip runs (uv installs poetry.lock's files), so an option that
    would change what is installed (an index, --no-binary, --pre) is refused, naming what
    partsmith follows instead; the others are accepted and named as not used for building."""
    items = reader.string_list(node, key)
    refused = [
        (item, value)
        for index, (item, value) in enumerate(items)
        if value not in QUIET_PIP_ARGS
        # the value of an option refused just before (--index-url URL) is not named again
        and (value.startswith("-") or not index or items[index - 1][1] in QUIET_PIP_ARGS)
    ]
    for item, value in refused:
        reader.problem(
            item,
            key,
            f"{value!r}: no pip runs: partsmith installs exactly what poetry.lock lists, with uv "
            "(as --no-deps), from python: index-url and find-links; "
            f"it accepts only {', '.join(QUIET_PIP_ARGS)}, which change nothing it installs",
        )
    if isinstance(node, yaml.SequenceNode) and not refused:
        reader.unused.append(key)
