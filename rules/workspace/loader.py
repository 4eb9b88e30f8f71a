"""Load a workspace file into a frozen, validated model (model.py).

YAML is only composed (never constructed with arbitrary tags), so a `!!python/...` tag is reported
and never run (yamlnodes.py). Every key of SPEC.md is checked: the top-level keys here, a part's
keys from the table in partkeys.py (the project's build-packages and build-snaps, which go into
every part, in project_keys.py); all problems are collected and raised at once, each with
file:line and the dotted key, so a user fixes a broken file in one pass.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import MappingProxyType

import yaml

from rules.core import PartsmithError

from . import part_schema as partkeys
from . import project_keys, snapcraft
from .errors import Problem, WorkspaceError
from .model import PLUGINS, Fetch, Part, PluginName, PythonSettings, Workspace
from .python_schema import PART_SRC_PREFIX, read_settings
from .sandbox_schema import read_platform, read_sandbox
from .yaml_nodes import Entries, Reader, entry, suggestion

__all__ = [
    "MIN_SOURCE_DATE_EPOCH",
    "PART_SRC_PREFIX",
    "PLUGINS",
    "Fetch",
    "Part",
    "PluginName",
    "PythonSettings",
    "Workspace",
    "load_workspace",
]

MIN_SOURCE_DATE_EPOCH = 315532800  # 1980-01-01, the earliest time a zip file can hold
MAX_SOURCE_DATE_EPOCH = 4294967295  # 2106-02-07: the largest time every archive format can hold
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
TOP_KEYS = (
    "name",
    "source-date-epoch",
    "build-root",
    "python",
    "sandbox",
    "execution-platform",
    *project_keys.KEYS,
    "parts",
)


def load_workspace(path: Path) -> Workspace:
    path = Path(os.path.realpath(path))  # one workspace, one identity, however it is reached
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PartsmithError(
            f"workspace file {path} does not exist",
            resolution="Pass an existing file with workspace=PATH (default: workspace/parts.yaml).",
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise PartsmithError(f"cannot read workspace file {path}: {err}") from None
    is_snapcraft = snapcraft.is_snapcraft_file(path)
    reader = Reader(
        path, snapcraft.project_dir(path) if is_snapcraft else path.parent, is_snapcraft
    )
    root = reader.compose(text)
    workspace = _workspace(reader, root) if root is not None else None
    if reader.problems or workspace is None:
        raise WorkspaceError(str(path), sorted(reader.problems, key=lambda p: p.line))
    return workspace


def _workspace(reader: Reader, root: yaml.Node) -> Workspace | None:
    entries = reader.mapping(
        root, "", TOP_KEYS + snapcraft.SNAP_METADATA if reader.snapcraft else TOP_KEYS
    )
    if not isinstance(root, yaml.MappingNode):
        return None
    reader.base = reader.optional(entries, "base", reader.string, "base")
    reader.unused = sorted(
        k for k in entries if k in snapcraft.SNAP_METADATA and k not in snapcraft.USED_METADATA
    )
    name, epoch, build_root, python = _top_values(reader, root, entries)
    parts, part_entries = _parts(reader, entries)
    parts = project_keys.with_project_keys(reader, entries, parts)
    folder = Path(os.path.realpath(reader.top / (build_root or "build")))
    _check_build_root(
        reader,
        folder,
        entries["build-root"][1] if "build-root" in entries else None,
        parts,
        part_entries,
    )
    adopt_info = _adopt_info(reader, entries, parts, part_entries)
    if name is None:
        return None
    return Workspace(
        path=reader.path,
        name=name,
        source_date_epoch=epoch if epoch is not None else MIN_SOURCE_DATE_EPOCH,
        build_root=folder,
        python=python,
        parts=MappingProxyType(parts),
        project=reader.top,
        unused=tuple(reader.unused),
        adopt_info=adopt_info,
        **_sandbox_keys(reader, entries),
    )


def _sandbox_keys(reader: Reader, entries: Entries) -> dict:
    """`sandbox: extra-paths` and `execution-platform`, as Workspace fields."""
    paths = reader.optional(entries, "sandbox", lambda n, k: read_sandbox(reader, n, k), "sandbox")
    platform = reader.optional(
        entries,
        "execution-platform",
        lambda n, k: read_platform(reader, n, k),
        "execution-platform",
    )
    return {"extra_sandbox_paths": paths or (), "execution_platform": platform or ()}


def _top_values(
    reader: Reader, root: yaml.Node, entries: Entries
) -> tuple[str | None, int | None, str | None, PythonSettings]:
    """name, source-date-epoch, build-root and python, each checked where it is written."""
    name = reader.optional(entries, "name", lambda n, k: _name(reader, n, k), "name")
    if "name" not in entries:
        reader.problem(root, "name", "required key is missing (e.g. name: my-app)")
    epoch = reader.optional(
        entries, "source-date-epoch", lambda n, k: _epoch(reader, n, k), "source-date-epoch"
    )
    build_root = reader.optional(
        entries, "build-root", lambda n, k: _build_root(reader, n, k), "build-root"
    )
    python = (
        reader.optional(entries, "python", lambda n, k: read_settings(reader, n, k), "python")
        or PythonSettings()
    )
    return name, epoch, build_root, python


def _adopt_info(
    reader: Reader, entries: Entries, parts: dict[str, Part], part_entries: Entries
) -> str | None:
    adopt_info = reader.optional(entries, "adopt-info", reader.string, "adopt-info")
    if adopt_info is not None and adopt_info not in parts and adopt_info in part_entries:
        return None  # the part itself is broken, and reported
    if adopt_info is not None and adopt_info not in parts:
        reader.problem(
            entries["adopt-info"][1],
            "adopt-info",
            f"no part named {adopt_info!r}" + suggestion(adopt_info, tuple(parts)),
        )
    return adopt_info


def _check_build_root(
    reader: Reader,
    root: Path,
    node: yaml.Node | None,
    parts: dict[str, Part],
    part_entries: Entries,
) -> None:
    """The build root holds outputs only: never the workspace, never a part's source."""
    top = reader.top
    if top == root or top.is_relative_to(root):
        reader.problem(
            node,
            "build-root",
            f"{root} holds the workspace folder: choose a folder inside or beside it",
        )
    for part in parts.values():
        source = Path(os.path.realpath(top / part.source)) if part.source else None
        if source is not None and (source == root or source.is_relative_to(root)):
            reader.problem(
                entry(part_entries[part.name][1], "source")[1],
                f"parts.{part.name}.source",
                f"{part.source!r} lies in the build root {root}, "
                "where partsmith writes: move it out",
            )


def _name(reader: Reader, node: yaml.Node, key: str) -> str | None:
    value = reader.string(node, key)
    if value is not None and not NAME_PATTERN.fullmatch(value):
        reader.problem(
            node,
            key,
            f"{value!r} is not a valid name: use lowercase letters, digits and '-', "
            "starting with a letter or digit",
        )
        return None
    return value


def _part_name(reader: Reader, node: yaml.Node, name: str) -> bool:
    """A workspace file's part names are its project name's; a snapcraft.yaml's are snapcraft's,
    but for what partsmith cannot make folders of (snapcraft.part_name_problem)."""
    if not reader.snapcraft:
        return _name(reader, node, f"parts.{name}") is not None
    problem = snapcraft.part_name_problem(name)
    if problem is not None:
        reader.problem(node, f"parts.{name}", problem)
    return problem is None


def _epoch(reader: Reader, node: yaml.Node, key: str) -> int | None:
    value = reader.integer(node, key, "an integer number of seconds since 1970")
    if value is None:
        return None
    if value < MIN_SOURCE_DATE_EPOCH:
        reader.problem(
            node, key, f"{value} is before 1980-01-01: use a value >= {MIN_SOURCE_DATE_EPOCH}"
        )
        return None
    if value > MAX_SOURCE_DATE_EPOCH:
        reader.problem(node, key, f"{value} is after 2106: use a value <= {MAX_SOURCE_DATE_EPOCH}")
        return None
    return value


def _build_root(reader: Reader, node: yaml.Node, key: str) -> str | None:
    value = reader.string(node, key)
    if value is not None and os.path.normpath(value) in (".", ""):
        reader.problem(
            node, key, "must be a folder below the workspace, not the workspace folder itself"
        )
        return None
    return value


def _parts(reader: Reader, entries: Entries) -> tuple[dict[str, Part], Entries]:
    """The parts that could be read, and the entries of every part written."""
    if "parts" not in entries:
        reader.problems.append(
            Problem(
                reader.path.name, 1, "parts", "required key is missing: declare at least one part"
            )
        )
        return {}, {}
    key_node, node = entries["parts"]
    part_entries = reader.mapping(node, "parts", None)
    if isinstance(node, yaml.MappingNode) and not part_entries and not node.value:
        reader.problem(key_node, "parts", "declare at least one part")
    parts: dict[str, Part] = {}
    for name, (name_node, part_node) in part_entries.items():
        if not _part_name(reader, name_node, name):
            continue
        part = partkeys.read_part(reader, name, part_node)
        if part is not None:
            parts[name] = part
    _check_after(reader, parts, part_entries)
    return parts, part_entries


def _check_after(reader: Reader, parts: dict[str, Part], entries: Entries) -> None:
    after_nodes = {
        name: entry(entries[name][1], "after") for name, part in parts.items() if part.after
    }
    for part in parts.values():
        if not part.after:
            continue
        list_node = after_nodes[part.name][1]
        items = {item.value: item for item in list_node.value if isinstance(item, yaml.ScalarNode)}
        for dep in sorted(set(part.after), key=part.after.index):
            if dep == part.name:
                reader.problem(
                    items[dep], f"parts.{part.name}.after", "a part cannot be after itself"
                )
            elif dep not in entries:
                reader.problem(
                    items[dep],
                    f"parts.{part.name}.after",
                    f"no part named {dep!r}" + suggestion(dep, tuple(entries)),
                )
    cycle = _find_cycle(
        {name: [d for d in p.after if d in parts and d != name] for name, p in parts.items()}
    )
    if cycle:
        reader.problem(
            after_nodes[cycle[0]][0],
            f"parts.{cycle[0]}.after",
            "cycle: " + " -> ".join(cycle + [cycle[0]]),
        )


def _find_cycle(graph: dict[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path[path.index(dep) :]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []
