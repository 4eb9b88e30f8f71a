"""The keys of a part, as one table: each key's name, how its value is read and which plugins it
is valid for. Adding a key is a row here (and its field in model.Part); the source keys and the
python keys, read together because they depend on each other, live in sourcekeys.py and
pythonkeys.py, the snapcraft-only ones in snapcraft.py."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from rules.core import DEB_ARCH

from . import advanced_grammar as grammar
from . import python_schema as pythonkeys
from . import snapcraft
from . import source_schema as sourcekeys
from .advanced_grammar import Shape
from .model import PLUGINS, Part, PluginName
from .yaml_nodes import Entries, Reader, kind, suggestion

ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEB_NAME = re.compile(
    r"[a-z0-9][a-z0-9+.-]+"
)  # no :arch, no version: apt and dpkg must agree on the name
# a snap name (lowercase letters, digits, dashes) and an optional channel: track/risk/branch
SNAP_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:/[A-Za-z0-9._-]+){0,3}")

ValueReader = Callable[[Reader, yaml.Node, str], object]
CMAKE_GENERATORS = ("Unix Makefiles", "Ninja")  # as craft-parts' cmake plugin


@dataclass(frozen=True)
class PartKey:
    """A key a part may have. `read` gives the value of its Part field (named like the key,
    `-` as `_`) or None when the value is refused (the problem is reported); keys without one
    are read with their group (plugin first, then the source keys, then the python keys).
    `grammar`: the key may use snapcraft's on/to/else (grammar.py), resolved before it is read."""

    name: str
    read: ValueReader | None = None
    plugins: tuple[str, ...] = PLUGINS  # a key of other plugins is refused for this one
    grammar: Shape | None = None

    @property
    def field(self) -> str:
        return self.name.replace("-", "_")


def _plugin(reader: Reader, node: yaml.Node, key: str) -> PluginName | None:
    value = reader.string(node, key)
    if value in snapcraft.FOREIGN_PLUGINS:
        reader.problem(
            node,
            key,
            f"plugin {value!r} is a snapcraft plugin partsmith does not support: "
            f"partsmith builds {', '.join(PLUGINS)} parts (see README, Coming from snapcraft)",
        )
        return None
    if value is not None and value not in PLUGINS:
        reader.problem(
            node,
            key,
            f"unknown plugin {value!r}: choose one of {', '.join(PLUGINS)}"
            + suggestion(value, PLUGINS),
        )
        return None
    return value  # type: ignore[return-value]


def _environment(reader: Reader, node: yaml.Node, key: str) -> tuple[tuple[str, str], ...]:
    """snapcraft's list of single-entry maps, or a plain mapping; values kept as written."""
    maps = node.value if isinstance(node, yaml.SequenceNode) else [node]
    pairs = []
    for item in maps:
        for name, (name_node, value_node) in reader.mapping(item, key, None).items():
            if not ENV_NAME_PATTERN.fullmatch(name):
                reader.problem(name_node, f"{key}.{name}", "not a valid environment variable name")
            elif (
                not isinstance(value_node, yaml.ScalarNode)
                or value_node.tag == "tag:yaml.org,2002:null"
            ):
                reader.problem(
                    value_node, f"{key}.{name}", f"expected a string value, got {kind(value_node)}"
                )
            else:
                pairs.append((name, value_node.value))
    return tuple(pairs)


def read_debs(reader: Reader, node: yaml.Node, key: str) -> tuple[str, ...]:
    items = reader.string_list(node, key)
    for item, value in items:
        if not DEB_NAME.fullmatch(value):
            reader.problem(
                item,
                key,
                f"{value!r} is not a Debian package name "
                "(versions, architectures and alternatives are not supported: name the package)",
            )
    return tuple(value for _, value in items if DEB_NAME.fullmatch(value))


def read_snaps(reader: Reader, node: yaml.Node, key: str) -> tuple[str, ...]:
    """Snap names, with a channel or not (`astral-uv`, `go/1.22/stable`)."""
    items = reader.string_list(node, key)
    for item, value in items:
        if not SNAP_NAME.fullmatch(value):
            reader.problem(
                item, key, f"{value!r} is not a snap name (e.g. astral-uv or go/1.22/stable)"
            )
    return tuple(value for _, value in items if SNAP_NAME.fullmatch(value))


def _poetry_args(reader: Reader, node: yaml.Node, key: str) -> tuple[str, ...]:
    """`poetry export` options partsmith follows: the extras to install."""
    items = reader.string_list(node, key)
    args = [value for _, value in items]
    for index, (item, value) in enumerate(items):
        known = value in ("--all-extras", "-E", "--extras") or value.startswith("--extras=")
        if not known and not (index and args[index - 1] in ("-E", "--extras")):
            reader.problem(
                item, key, f"{value!r}: partsmith follows --extras NAME, -E NAME and --all-extras"
            )
    return tuple(args)


def _cmake_generator(reader: Reader, node: yaml.Node, key: str) -> str | None:
    value = reader.string(node, key)
    if value is not None and value not in CMAKE_GENERATORS:
        reader.problem(node, key, f"{value!r}: choose {' or '.join(CMAKE_GENERATORS)}")
        return None
    return value


def _subdir(reader: Reader, node: yaml.Node, key: str) -> str | None:
    """A folder inside the source, relative, that the build runs in."""
    return reader.relative_path(node, key)


def _flag(reader: Reader, node: yaml.Node, key: str) -> bool | None:
    if reader.scalar(node, key, "bool", "true or false") is None:
        return None
    value: bool = yaml.SafeLoader("").construct_object(node)  # a bool-tagged scalar
    return value


def _names(reader: Reader, node: yaml.Node, key: str) -> tuple[str, ...]:
    return tuple(value for _, value in reader.string_list(node, key))


def _fileset(reader: Reader, node: yaml.Node, key: str) -> tuple[str, ...]:
    kept = []
    for item, value in reader.string_list(node, key):
        if value == "-":
            reader.problem(
                item, key, "'-' excludes nothing: write the path to exclude after the dash"
            )
            continue
        exclude = value.startswith("-")
        path = reader.relative_path(item, key, value[1:] if exclude else value)
        if path is not None:
            kept.append(("-" if exclude else "") + path)
    return tuple(kept)


def _organize(reader: Reader, node: yaml.Node, key: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for name, (key_node, value_node) in reader.mapping(node, key, None).items():
        source = reader.relative_path(key_node, f"{key}.{name}", name)
        target_text = reader.string(value_node, f"{key}.{name}")
        target = (
            reader.relative_path(value_node, f"{key}.{name}", target_text)
            if target_text is not None
            else None
        )
        if source is not None and target is not None:
            assert target_text is not None  # target was read from it
            pairs.append((source, target + ("/" if target_text.endswith("/") else "")))
    return tuple(pairs)


KEYS: tuple[PartKey, ...] = (
    PartKey("plugin", _plugin),
    PartKey("source", grammar="one"),
    *(PartKey(name) for name in sourcekeys.SOURCE_KEYS),
    PartKey("python-packages", plugins=("python",), grammar="list"),
    *(
        PartKey(name, plugins=("python",))
        for name in pythonkeys.PART_KEYS
        if name != "python-packages"
    ),
    PartKey("build-environment", _environment, grammar="maps"),
    PartKey("build-packages", read_debs, grammar="list"),
    PartKey("stage-packages", read_debs, grammar="list"),
    PartKey("build-snaps", read_snaps, grammar="list"),
    PartKey("source-subdir", _subdir),
    PartKey("uv-extras", _names, plugins=("uv",)),
    PartKey("uv-groups", _names, plugins=("uv",)),
    PartKey("poetry-with", _names, plugins=("poetry",)),
    PartKey("poetry-export-extra-args", _poetry_args, plugins=("poetry",)),
    PartKey("poetry-pip-extra-args", snapcraft.pip_extra_args, plugins=("poetry",)),
    PartKey("make-parameters", _names, plugins=("make",)),
    PartKey("autotools-configure-parameters", _names, plugins=("autotools",)),
    PartKey("autotools-bootstrap-parameters", _names, plugins=("autotools",)),
    PartKey("cmake-parameters", _names, plugins=("cmake",)),
    PartKey("cmake-generator", _cmake_generator, plugins=("cmake",)),
    PartKey("meson-parameters", _names, plugins=("meson",)),
    *(PartKey(name) for name in snapcraft.UNUSED_PART_KEYS),
    PartKey("after", _names),
    PartKey("disable-parallel", _flag),
    PartKey("override-pull", Reader.string),
    PartKey("override-build", Reader.string),
    PartKey("override-stage", Reader.string),
    PartKey("override-prime", Reader.string),
    PartKey("organize", _organize),
    PartKey("stage", _fileset),
    PartKey("prime", _fileset),
)
NAMES = tuple(key.name for key in KEYS)
_VALUE_KEYS = tuple(key for key in KEYS if key.read is not None and key.name != "plugin")


def read_part(reader: Reader, name: str, node: yaml.Node) -> Part | None:
    """The part `name`, or None when it is too broken to build (every problem is reported)."""
    key = f"parts.{name}"
    entries = reader.mapping(
        node,
        key,
        NAMES + snapcraft.UNSUPPORTED_PART_KEYS + snapcraft.foreign_plugin_keys(node),
        hints=snapcraft.era_keys(NAMES, reader.base),
    )
    if not isinstance(node, yaml.MappingNode):
        return None
    snapcraft.check_part_keys(reader, entries, key)
    entries = _grammar_resolved(reader, entries, key)
    plugin = reader.optional(entries, "plugin", lambda n, k: _plugin(reader, n, k), f"{key}.plugin")
    if "plugin" not in entries:
        reader.problem(
            node, f"{key}.plugin", f"required key is missing: choose one of {', '.join(PLUGINS)}"
        )
    fields = sourcekeys.read_source(reader, entries, key)
    if plugin == "dump" and "source" not in entries:
        reader.problem(node, f"{key}.source", "required for plugin: dump (the folder to copy)")
    _refuse_other_plugins_keys(reader, entries, key, plugin)
    if plugin is None:
        return None
    for part_key in _VALUE_KEYS:
        read = part_key.read
        assert read is not None  # _VALUE_KEYS holds the keys that have one
        value = reader.optional(
            entries,
            part_key.name,
            functools.partial(read, reader),
            f"{key}.{part_key.name}",
        )
        if value is not None:
            fields[part_key.field] = value
    _check_subdir(reader, entries, key, fields)
    fields |= _python_keys(reader, entries, key, plugin, fields)
    return Part(name=name, plugin=plugin, **fields)


def _python_keys(
    reader: Reader, entries: Entries, key: str, plugin: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """Requirements files are relative to the folder the build runs in (the source, or its
    source-subdir), as pip's `-r` in craft-parts' python plugin."""
    source, subdir = fields["source"], fields.get("source_subdir")
    project = f"{source}/{subdir}" if source and subdir else source
    return pythonkeys.read_part_keys(reader, entries, key, plugin, project)


def _check_subdir(reader: Reader, entries: Entries, key: str, fields: dict[str, Any]) -> None:
    """A local source's source-subdir must be one of its folders (a pulled one is checked by
    the build, which runs there)."""
    subdir, source = fields.get("source_subdir"), fields.get("source")
    if subdir is not None and source is not None and not (reader.top / source / subdir).is_dir():
        reader.problem(
            entries["source-subdir"][1],
            f"{key}.source-subdir",
            f"{subdir!r} is not a folder in the part's source {source!r}",
        )


def _grammar_resolved(reader: Reader, entries: Entries, key: str) -> Entries:
    """`entries` with the grammar of every key that allows it resolved for this machine; a key
    whose statements give nothing here is left out, as if it were not written."""
    resolved = dict(entries)
    for part_key in KEYS:
        if part_key.grammar is None or part_key.name not in entries:
            continue
        key_node, node = entries[part_key.name]
        if not grammar.uses_grammar(node, part_key.grammar):
            continue
        value = grammar.resolve_grammar(
            reader, node, f"{key}.{part_key.name}", DEB_ARCH, part_key.grammar
        )
        if value is None:
            del resolved[part_key.name]
        else:
            resolved[part_key.name] = (key_node, value)
    return resolved


def _refuse_other_plugins_keys(
    reader: Reader, entries: Entries, key: str, plugin: str | None
) -> None:
    if plugin is None:
        return
    for part_key in KEYS:
        if part_key.name in entries and plugin not in part_key.plugins:
            reader.problem(
                entries[part_key.name][0],
                f"{key}.{part_key.name}",
                f"only valid for plugin: {', '.join(part_key.plugins)}, not {plugin}",
            )
