"""Reading a workspace file's composed YAML nodes: composing it safely (tags reported, never
constructed; merge keys applied as PyYAML does) and the typed accessors every key reader uses,
each of which reports a problem with file:line and the dotted key instead of raising, so a user
fixes a broken file in one pass."""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import TypeGuard, TypeVar

import yaml

from .errors import Problem

SAFE_TAGS = {
    f"tag:yaml.org,2002:{kind}"
    for kind in ("null", "bool", "int", "float", "str", "seq", "map", "timestamp", "merge")
}
STR_TAG = "tag:yaml.org,2002:str"

T = TypeVar("T")
Entries = dict[
    str, tuple[yaml.Node, yaml.Node]
]  # a mapping's entries: key -> (key node, value node)


class Reader:
    """The nodes of one workspace file, and every problem found in them so far.

    `top` is the folder relative paths are resolved against, `snapcraft` whether the file is a
    snapcraft.yaml, `base` its snapcraft base once read (which era's key names messages use)."""

    def __init__(self, path: Path, top: Path, snapcraft: bool) -> None:
        self.path = path
        self.top = top
        self.snapcraft = snapcraft
        self.base: str | None = None
        self.problems: list[Problem] = []
        self.unused: list[str] = []  # keys accepted (snap metadata) but not used for building

    def problem(self, node: yaml.Node | None, key: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.path.name, line, key, message))

    def compose(self, text: str) -> yaml.Node | None:
        """The file's root node, or None (reported) when it is not YAML or empty."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            reason = getattr(err, "problem", None) or str(err)
            self.problems.append(Problem(self.path.name, line, "", f"invalid YAML: {reason}"))
            return None
        if root is None:
            self.problems.append(Problem(self.path.name, 1, "", "the file is empty"))
            return None
        self.tags_are_safe(root)  # reported, never constructed; the rest is still checked
        merge_keys(root)
        return root

    def tags_are_safe(self, node: yaml.Node, seen: set[int] | None = None) -> bool:
        seen = set() if seen is None else seen
        if id(node) in seen:  # an alias: already checked, and a recursive anchor must not loop
            return True
        seen.add(id(node))
        ok = True
        if node.tag not in SAFE_TAGS:
            self.problem(
                node, "", f"tag {node.tag!r} is not allowed: workspace files are plain data"
            )
            ok = False
        checked = [self.tags_are_safe(child, seen) for child in children(node)]  # each reported
        return all(checked) and ok

    def mapping(
        self,
        node: yaml.Node,
        key: str,
        known: tuple[str, ...] | None,
        hints: tuple[str, ...] | None = None,
    ) -> Entries:
        """A mapping's entries by key; unknown keys (when `known` is given) are reported, with
        the closest of `hints` (default: `known`) as a suggestion."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, key, f"expected a mapping, got {kind(node)}")
            return {}
        entries: Entries = {}
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = f"{key}.{name}" if key else str(name)
            if not isinstance(name, str) or key_node.tag != STR_TAG:
                self.problem(key_node, key, f"keys must be strings, got {kind(key_node)}")
            elif name in entries:
                self.problem(key_node, where, "duplicate key")
            elif known is not None and name not in known:
                self.problem(key_node, where, "unknown key" + suggestion(name, hints or known))
            else:
                entries[name] = (key_node, value_node)
        return entries

    def scalar(self, node: yaml.Node, key: str, tag: str, noun: str) -> str | None:
        if node.tag not in SAFE_TAGS:
            return None  # reported once by tags_are_safe
        if isinstance(node, yaml.ScalarNode) and node.tag == f"tag:yaml.org,2002:{tag}":
            text: str = node.value  # a scalar node's value is its text
            return text
        self.problem(node, key, f"expected {noun}, got {kind(node)}")
        return None

    def integer(self, node: yaml.Node, key: str, noun: str) -> int | None:
        if self.scalar(node, key, "int", noun) is None:
            return None
        number: int = yaml.SafeLoader("").construct_object(node)  # an int-tagged scalar
        return number

    def string(self, node: yaml.Node, key: str) -> str | None:
        return self.scalar(node, key, "str", "a string")

    def string_list(self, node: yaml.Node, key: str) -> list[tuple[yaml.Node, str]]:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, key, f"expected a list of strings, got {kind(node)}")
            return []
        items = [(item, self.string(item, f"{key}[{i}]")) for i, item in enumerate(node.value)]
        return [(item, value) for item, value in items if value is not None]

    def optional(
        self, entries: Entries, name: str, read: Callable[[yaml.Node, str], T], key: str
    ) -> T | None:
        if name not in entries:
            return None
        return read(entries[name][1], key)

    def relative_path(self, node: yaml.Node, key: str, text: str | None = None) -> str | None:
        """A path that must stay inside its folder: relative, without climbing out with '..'."""
        value = text if text is not None else self.string(node, key)
        if value is None:
            return None
        normal = posixpath.normpath(value.rstrip("/") or "/")
        if not value or posixpath.isabs(value) or normal == ".." or normal.startswith("../"):
            self.problem(
                node, key, f"{value!r} must be a relative path that stays inside its folder"
            )
            return None
        return normal


def children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        items: list[yaml.Node] = node.value
        return items
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def merge_keys(node: yaml.Node, seen: set[int] | None = None) -> None:
    """Apply YAML merge keys (`<<: *common`) as PyYAML's own loader does, in every mapping."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        own = [pair for pair in node.value if pair[0].tag != "tag:yaml.org,2002:merge"]
        yaml.SafeLoader("").flatten_mapping(node)
        # explicit keys override merged ones, and the first merged source wins, as in PyYAML
        taken = {_key_name(key) for key, _ in own}
        merged = []
        for pair in node.value:
            if not any(pair is mine for mine in own) and _key_name(pair[0]) not in taken:
                taken.add(_key_name(pair[0]))
                merged.append(pair)
        node.value = merged + own
    for child in children(node):
        merge_keys(child, seen)


def _key_name(key: yaml.Node) -> object:
    return key.value if isinstance(key, yaml.ScalarNode) else id(key)  # a list key is its own key


def entry(mapping: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node]:
    return next(
        (k, v) for k, v in mapping.value if isinstance(k, yaml.ScalarNode) and k.value == key
    )


def is_string(node: yaml.Node | None) -> TypeGuard[yaml.ScalarNode]:
    return isinstance(node, yaml.ScalarNode) and node.tag == STR_TAG


def suggestion(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    name = node.tag.rsplit(":", 1)[-1]
    return {
        "str": "a string",
        "int": "an integer",
        "bool": "a boolean",
        "null": "nothing",
        "float": "a number",
    }.get(name, name) + f" ({node.value!r})"
