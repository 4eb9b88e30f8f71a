"""What partsmith takes from snapcraft.yaml beyond its own workspace keys.

A snapcraft.yaml is a workspace as it stands: its parts use the keys partsmith shares with
snapcraft; the snap's metadata (apps, confinement, plugs, ...) is accepted and named once as not
used for building; the plugins partsmith does not have are refused before anything runs.
"""

from __future__ import annotations

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
    "slots",
    "source-code",
    "summary",
    "system-usernames",
    "title",
    "type",
    "version",
    "website",
)
# Read by partsmith: `base` picks the names its error messages use, `adopt-info` names the part
# whose `craftctl set version=...` is the project's version.
USED_METADATA = ("adopt-info", "base")

# snapcraft plugins partsmith does not build (craft-parts' list and snapcraft's own).
FOREIGN_PLUGINS = (
    "ant",
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
    "kernel",
    "maven",
    "maven-use",
    "npm",
    "qmake",
    "ruby",
    "rust",
    "scons",
)

# Part keys of snapcraft that partsmith does not implement: refused by name, never ignored,
# because each changes what a part contains.
UNSUPPORTED_PART_KEYS = (
    "stage-snaps",
    "parse-info",
)

# Part keys of snapcraft that say nothing about how a part is built: accepted, named as not used.
UNUSED_PART_KEYS = ("build-attributes",)

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
    """The keys a part has for its snapcraft plugin that partsmith refuses (cmake-parameters
    for plugin: cmake; snapcraft names every plugin key after its plugin): that plugin's refusal
    says all there is to fix, an "unknown key" for each of them would only repeat it."""
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
    return tuple(
        key.value for key, _ in part.value if is_string(key) and key.value.startswith(f"{plugin}-")
    )
