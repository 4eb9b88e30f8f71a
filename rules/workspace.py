"""Load a workspace file into a frozen, validated model.

YAML is only composed (never constructed with arbitrary tags), so a `!!python/...` tag is reported
and never run. Every key of SPEC.md is checked; all problems are collected and raised at once, each
with file:line and the dotted key, so a user fixes a broken file in one pass.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Literal, Mapping, TypeVar, get_args

import yaml

from . import snapcraft
from .errors import PartsmithError, Problem, WorkspaceError
from .layout import Layout

PluginName = Literal["python", "dump", "nil"]
PLUGINS: tuple[str, ...] = get_args(PluginName)
MIN_SOURCE_DATE_EPOCH = 315532800  # 1980-01-01, the earliest time a zip file can hold
MAX_SOURCE_DATE_EPOCH = 4294967295  # 2106-02-07: the largest time every archive format can hold
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

TOP_KEYS = ("name", "source-date-epoch", "build-root", "python", "parts")
PYTHON_KEYS = ("index-url", "find-links", "interpreter")
SOURCE_KEYS = ("source-type", "source-tag", "source-branch", "source-commit", "source-depth", "source-checksum")
PART_KEYS = (
    "plugin", "source", *SOURCE_KEYS, "python-packages", "python-requirements", "python-constraints",
    *snapcraft.OLD_PYTHON_KEYS, "build-environment", "build-packages", "stage-packages", "build-attributes",
    "after", "override-pull", "override-build", "override-stage", "override-prime", "organize", "stage", "prime",
)
PYTHON_ONLY_KEYS = ("python-packages", "python-requirements", "python-constraints", *snapcraft.OLD_PYTHON_KEYS)
# A requirements or constraints file may be written as snapcraft projects do, below the part's source.
PART_SRC_PREFIX = re.compile(r"^\$\{?(?:SNAPCRAFT|CRAFT)_PART_SRC\}?/")
DEB_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")  # no :arch, no version: apt and dpkg must agree on the name
# source-checksum algorithms: those with a digest of fixed length, and that length in hex digits
HEX_LENGTHS = {name: hashlib.new(name).digest_size * 2 for name in hashlib.algorithms_guaranteed
               if not name.startswith("shake_")}
SAFE_TAGS = {
    f"tag:yaml.org,2002:{kind}"
    for kind in ("null", "bool", "int", "float", "str", "seq", "map", "timestamp", "merge")
}


@dataclass(frozen=True)
class PythonSettings:
    index_url: str | None = None  # None: pip's default index; "none": no index at all
    find_links: tuple[str, ...] = ()  # absolute folders or URLs
    interpreter: str | None = None


@dataclass(frozen=True)
class Fetch:
    """A source that `pull` fetches (the network is used there only): a git repository at a
    tag, branch or commit, or a tar archive checked against its checksum."""

    kind: Literal["git", "tar"]
    url: str  # a URL, or an absolute path (a relative one is resolved against the project folder)
    tag: str | None = None
    branch: str | None = None
    commit: str | None = None
    depth: int | None = None
    checksum: str | None = None  # "<algorithm>/<hex digest>", e.g. sha256/...

    def config(self) -> dict:
        return {"kind": self.kind, "tag": self.tag, "branch": self.branch, "commit": self.commit,
                "depth": self.depth, "checksum": self.checksum}


@dataclass(frozen=True)
class Part:
    name: str
    plugin: PluginName
    source: str | None = None  # a local folder, relative to the project folder, normalized
    fetch: Fetch | None = None  # or a source that pull fetches into the build root
    python_packages: tuple[str, ...] = ()
    python_requirements: tuple[str, ...] = ()
    python_constraints: tuple[str, ...] = ()
    build_environment: tuple[tuple[str, str], ...] = ()
    build_packages: tuple[str, ...] = ()
    stage_packages: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    override_pull: str | None = None
    override_build: str | None = None
    override_stage: str | None = None
    override_prime: str | None = None
    organize: tuple[tuple[str, str], ...] = ()
    stage: tuple[str, ...] = ("*",)
    prime: tuple[str, ...] = ("*",)

    def config(self) -> dict:
        """The part's settings as plain data: what a cache key and `explain` compare. The stage
        fileset is an input of the build only when override-stage runs inside it."""
        config = {
            "name": self.name,
            "plugin": self.plugin,
            "source": self.source,
            "python-packages": list(self.python_packages),
            "python-requirements": list(self.python_requirements),
            "build-environment": [list(pair) for pair in self.build_environment],
            "after": list(self.after),
            "override-build": self.override_build,
            "organize": [list(pair) for pair in self.organize],
        }
        optional = {
            "fetch": self.fetch.config() if self.fetch else None,
            "python-constraints": list(self.python_constraints),
            "build-packages": list(self.build_packages),
            "stage-packages": list(self.stage_packages),
            "override-pull": self.override_pull,
            "override-stage": self.override_stage,
            "stage": list(self.stage) if self.override_stage is not None else None,
        }
        # absent when unused, so parts without them keep the keys they had before these existed
        return {**config, **{key: value for key, value in optional.items() if value}}


@dataclass(frozen=True)
class Workspace:
    path: Path  # the workspace file, absolute
    name: str
    source_date_epoch: int
    build_root: Path  # absolute
    python: PythonSettings
    parts: Mapping[str, Part] = field(default_factory=dict)
    project: Path | None = None  # what relative paths are against; None: the file's folder
    unused: tuple[str, ...] = ()  # keys accepted (snap metadata) but not used for building
    adopt_info: str | None = None  # the part whose `craftctl set version=` is the version

    @property
    def directory(self) -> Path:
        return self.project or self.path.parent

    def source_dir(self, part: Part) -> Path | None:
        """The folder a build copies: the pulled source when pull makes one (a fetched source,
        an override-pull), else the part's local `source`."""
        if part.fetch is not None or part.override_pull is not None:
            return Layout(self.build_root).pulled_source(part.name)
        return self.local_source(part)

    def local_source(self, part: Part) -> Path | None:
        return self.directory / part.source if part.source else None

    def build_order(self) -> list[str]:
        """Parts in dependency order, ties broken by name, so every run walks them alike."""
        order: list[str] = []
        done: set[str] = set()

        def visit(name: str) -> None:
            if name in done:
                return
            done.add(name)
            for dep in sorted(self.parts[name].after):
                visit(dep)
            order.append(name)

        for name in sorted(self.parts):
            visit(name)
        return order

    def dependencies(self, name: str) -> list[str]:
        """Every part `name` is after, directly or not, in build order."""
        wanted: set[str] = set()
        stack = list(self.parts[name].after)
        while stack:
            dep = stack.pop()
            if dep not in wanted:
                wanted.add(dep)
                stack.extend(self.parts[dep].after)
        return [p for p in self.build_order() if p in wanted]


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
    reader = _Reader(path)
    workspace = reader.workspace(text)
    if reader.problems or workspace is None:
        raise WorkspaceError(str(path), sorted(reader.problems, key=lambda p: p.line))
    return workspace


T = TypeVar("T")


class _Reader:
    """Walks composed YAML nodes, building the model and collecting problems."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.snapcraft = snapcraft.is_snapcraft_file(path)
        self.top = snapcraft.project_dir(path) if self.snapcraft else path.parent
        self.base: str | None = None  # snapcraft's base: the era of the key names in messages
        self.unused: list[str] = []
        self.problems: list[Problem] = []
        self.source_nodes: dict[str, yaml.Node] = {}  # where each part's source is written

    def problem(self, node: yaml.Node | None, key: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.path.name, line, key, message))

    # -- YAML structure ------------------------------------------------------------------------

    def workspace(self, text: str) -> Workspace | None:
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
        _merge_keys(root)
        return self.top_level(root)

    def tags_are_safe(self, node: yaml.Node, seen: set[int] | None = None) -> bool:
        seen = set() if seen is None else seen
        if id(node) in seen:  # an alias: already checked, and a recursive anchor must not loop
            return True
        seen.add(id(node))
        ok = True
        if node.tag not in SAFE_TAGS:
            self.problem(node, "", f"tag {node.tag!r} is not allowed: workspace files are plain data")
            ok = False
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        return all([self.tags_are_safe(child, seen) for child in children]) and ok

    def mapping(self, node: yaml.Node, key: str, known: tuple[str, ...] | None,
                hints: tuple[str, ...] | None = None) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping's entries by key; unknown keys (when `known` is given) are reported, with
        the closest of `hints` (default: `known`) as a suggestion."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, key, f"expected a mapping, got {_kind(node)}")
            return {}
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = f"{key}.{name}" if key else str(name)
            if not isinstance(name, str) or key_node.tag != "tag:yaml.org,2002:str":
                self.problem(key_node, key, f"keys must be strings, got {_kind(key_node)}")
            elif name in entries:
                self.problem(key_node, where, "duplicate key")
            elif known is not None and name not in known:
                self.problem(key_node, where, "unknown key" + _suggestion(name, hints or known))
            else:
                entries[name] = (key_node, value_node)
        return entries

    def scalar(self, node: yaml.Node, key: str, tag: str, noun: str) -> str | None:
        if node.tag not in SAFE_TAGS:
            return None  # reported once by tags_are_safe
        if isinstance(node, yaml.ScalarNode) and node.tag == f"tag:yaml.org,2002:{tag}":
            return node.value
        self.problem(node, key, f"expected {noun}, got {_kind(node)}")
        return None

    def string(self, node: yaml.Node, key: str) -> str | None:
        return self.scalar(node, key, "str", "a string")

    def string_list(self, node: yaml.Node, key: str) -> list[tuple[yaml.Node, str]]:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, key, f"expected a list of strings, got {_kind(node)}")
            return []
        items = [(item, self.string(item, f"{key}[{i}]")) for i, item in enumerate(node.value)]
        return [(item, value) for item, value in items if value is not None]

    def optional(self, entries: dict, name: str, read: Callable[[yaml.Node, str], T], key: str) -> T | None:
        if name not in entries:
            return None
        return read(entries[name][1], key)

    # -- top level -------------------------------------------------------------------------------

    def top_level(self, root: yaml.Node) -> Workspace | None:
        entries = self.mapping(root, "", TOP_KEYS + snapcraft.SNAP_METADATA if self.snapcraft else TOP_KEYS)
        if not isinstance(root, yaml.MappingNode):
            return None
        self.base = self.optional(entries, "base", self.string, "base")
        self.unused = sorted(k for k in entries if k in snapcraft.SNAP_METADATA and k not in snapcraft.USED_METADATA)
        name = self.optional(entries, "name", self.part_name, "name")
        if "name" not in entries:
            self.problem(root, "name", "required key is missing (e.g. name: my-app)")
        epoch = self.optional(entries, "source-date-epoch", self.epoch, "source-date-epoch")
        build_root = self.optional(entries, "build-root", self.build_root, "build-root")
        python = self.optional(entries, "python", self.python, "python") or PythonSettings()
        parts = self.parts(entries)
        root = Path(os.path.realpath(self.top / (build_root or "build")))
        self.check_build_root(root, entries["build-root"][1] if "build-root" in entries else None, parts)
        adopt_info = self.optional(entries, "adopt-info", self.string, "adopt-info")
        if adopt_info is not None and adopt_info not in parts and adopt_info in self.part_names(entries):
            adopt_info = None  # the part itself is broken, and reported
        elif adopt_info is not None and adopt_info not in parts:
            self.problem(entries["adopt-info"][1], "adopt-info", f"no part named {adopt_info!r}"
                         + _suggestion(adopt_info, tuple(parts)))
        if name is None:
            return None
        return Workspace(
            path=self.path,
            name=name,
            source_date_epoch=epoch if epoch is not None else MIN_SOURCE_DATE_EPOCH,
            build_root=root,
            python=python,
            parts=MappingProxyType(parts),
            project=self.top,
            unused=tuple(self.unused),
            adopt_info=adopt_info,
        )

    def part_names(self, entries: dict) -> list[str]:
        node = entries["parts"][1] if "parts" in entries else None
        if not isinstance(node, yaml.MappingNode):
            return []
        return [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]

    def check_build_root(self, root: Path, node: yaml.Node | None, parts: dict[str, Part]) -> None:
        """The build root holds outputs only: never the workspace, never a part's source."""
        top = self.top
        if top == root or top.is_relative_to(root):
            self.problem(node, "build-root", f"{root} holds the workspace folder: choose a folder inside or beside it")
        for part in parts.values():
            source = Path(os.path.realpath(top / part.source)) if part.source else None
            if source is not None and (source == root or source.is_relative_to(root)):
                self.problem(self.source_nodes.get(part.name), f"parts.{part.name}.source",
                             f"{part.source!r} lies in the build root {root}, where partsmith writes: move it out")

    def part_name(self, node: yaml.Node, key: str) -> str | None:
        value = self.string(node, key)
        if value is not None and not NAME_PATTERN.fullmatch(value):
            self.problem(node, key, f"{value!r} is not a valid name: use lowercase letters, digits and '-', starting with a letter or digit")
            return None
        return value

    def epoch(self, node: yaml.Node, key: str) -> int | None:
        text = self.scalar(node, key, "int", "an integer number of seconds since 1970")
        if text is None:
            return None
        value = yaml.SafeLoader("").construct_object(node)
        if value < MIN_SOURCE_DATE_EPOCH:
            self.problem(node, key, f"{value} is before 1980-01-01: use a value >= {MIN_SOURCE_DATE_EPOCH}")
            return None
        if value > MAX_SOURCE_DATE_EPOCH:
            self.problem(node, key, f"{value} is after 2106: use a value <= {MAX_SOURCE_DATE_EPOCH}")
            return None
        return value

    def build_root(self, node: yaml.Node, key: str) -> str | None:
        value = self.string(node, key)
        if value is not None and os.path.normpath(value) in (".", ""):
            self.problem(node, key, "must be a folder below the workspace, not the workspace folder itself")
            return None
        return value

    def python(self, node: yaml.Node, key: str) -> PythonSettings:
        entries = self.mapping(node, key, PYTHON_KEYS)
        index_url = self.optional(entries, "index-url", self.string, f"{key}.index-url")
        links = self.optional(entries, "find-links", self.string_list, f"{key}.find-links") or []
        interpreter = self.optional(entries, "interpreter", self.string, f"{key}.interpreter")
        return PythonSettings(
            index_url=index_url,
            find_links=tuple(self.find_link(value) for _, value in links),
            interpreter=interpreter,
        )

    def find_link(self, value: str) -> str:
        if "://" in value or os.path.isabs(value):
            return value
        return os.path.normpath(self.top / value)

    # -- parts -----------------------------------------------------------------------------------

    def parts(self, entries: dict) -> dict[str, Part]:
        if "parts" not in entries:
            self.problems.append(Problem(self.path.name, 1, "parts", "required key is missing: declare at least one part"))
            return {}
        key_node, node = entries["parts"]
        part_entries = self.mapping(node, "parts", None)
        if isinstance(node, yaml.MappingNode) and not part_entries and not node.value:
            self.problem(key_node, "parts", "declare at least one part")
        parts: dict[str, Part] = {}
        for name, (name_node, part_node) in part_entries.items():
            if self.part_name(name_node, f"parts.{name}") is None:
                continue
            part = self.part(name, part_node)
            if part is not None:
                parts[name] = part
        self.check_after(parts, part_entries)
        return parts

    def part(self, name: str, node: yaml.Node) -> Part | None:
        key = f"parts.{name}"
        entries = self.mapping(node, key, PART_KEYS + snapcraft.UNSUPPORTED_PART_KEYS,
                               hints=snapcraft.era_keys(PART_KEYS, self.base))
        if not isinstance(node, yaml.MappingNode):
            return None
        for unsupported in snapcraft.UNSUPPORTED_PART_KEYS:
            if unsupported in entries:
                self.problem(entries[unsupported][0], f"{key}.{unsupported}", "not supported by partsmith: "
                             "remove it (see README, Coming from snapcraft)")
        if "build-attributes" in entries:
            self.unused.append(f"{key}.build-attributes")
        plugin = self.optional(entries, "plugin", self.plugin, f"{key}.plugin")
        if "plugin" not in entries:
            self.problem(node, f"{key}.plugin", f"required key is missing: choose one of {', '.join(PLUGINS)}")
        fetch = self.fetch(entries, key)
        source = None if fetch is not None else self.optional(entries, "source", self.source, f"{key}.source")
        if "source" in entries:
            self.source_nodes[name] = entries["source"][1]
        if plugin == "dump" and "source" not in entries:
            self.problem(node, f"{key}.source", "required for plugin: dump (the folder to copy)")
        if plugin is not None and plugin != "python":
            for python_key in PYTHON_ONLY_KEYS:
                if python_key in entries:
                    self.problem(entries[python_key][0], f"{key}.{python_key}", f"only valid for plugin: python, not {plugin}")
        if plugin is None:
            return None
        # files in a local source are checked now; in a pulled one (fetched, or made by override-pull), by pip
        local = source if plugin == "python" and "override-pull" not in entries else None
        requirements = self.python_files(entries, "python-requirements", key, local)
        constraints = self.python_files(entries, "python-constraints", key, local)
        packages = self.packages(entries, key)
        if plugin == "python" and self.snapcraft and "python-packages" not in entries:
            packages = list(snapcraft.DEFAULT_PYTHON_PACKAGES)  # snapcraft's python plugin default
        return Part(
            name=name,
            plugin=plugin,
            source=source,
            fetch=fetch,
            python_packages=tuple(packages),
            python_requirements=tuple(requirements),
            python_constraints=tuple(constraints),
            build_environment=tuple(self.optional(entries, "build-environment", self.environment, f"{key}.build-environment") or ()),
            build_packages=tuple(self.deb_names(entries, "build-packages", key)),
            stage_packages=tuple(self.deb_names(entries, "stage-packages", key)),
            after=tuple(v for _, v in self.optional(entries, "after", self.string_list, f"{key}.after") or []),
            override_pull=self.optional(entries, "override-pull", self.string, f"{key}.override-pull"),
            override_build=self.optional(entries, "override-build", self.string, f"{key}.override-build"),
            override_stage=self.optional(entries, "override-stage", self.string, f"{key}.override-stage"),
            override_prime=self.optional(entries, "override-prime", self.string, f"{key}.override-prime"),
            organize=tuple(self.optional(entries, "organize", self.organize, f"{key}.organize") or ()),
            stage=tuple(self.fileset(entries, "stage", key)),
            prime=tuple(self.fileset(entries, "prime", key)),
        )

    def python_files(self, entries: dict, name: str, key: str, source: str | None) -> list[str]:
        """python-requirements or python-constraints, under either era's name (not both): paths
        relative to the part's source, `$CRAFT_PART_SRC/` (or snapcraft's spelling) allowed."""
        old = next(o for o, new in snapcraft.OLD_PYTHON_KEYS.items() if new == name)
        if name in entries and old in entries:
            self.problem(entries[old][0], f"{key}.{old}", f"the same key as {name} (its core20 name): keep one")
        spelled = name if name in entries or old not in entries else old
        items = self.optional(entries, spelled, self.string_list, f"{key}.{spelled}") or []
        paths = [self.relative_path(node, f"{key}.{spelled}", PART_SRC_PREFIX.sub("", value)) for node, value in items]
        files = [p for p in paths if p is not None]
        if files and "source" not in entries:
            self.problem(entries[spelled][1], f"{key}.{spelled}", "needs the part's source: the files are relative to it")
        elif files and source is not None:
            for file in files:
                if not (self.top / source / file).is_file():
                    self.problem(entries[spelled][1], f"{key}.{spelled}", f"{file!r} is not a file in {source!r}")
        return files

    def deb_names(self, entries: dict, name: str, key: str) -> list[str]:
        items = self.optional(entries, name, self.string_list, f"{key}.{name}") or []
        for node, value in items:
            if not DEB_NAME.fullmatch(value):
                self.problem(node, f"{key}.{name}", f"{value!r} is not a Debian package name "
                             "(versions, architectures and alternatives are not supported: name the package)")
        return [value for _, value in items if DEB_NAME.fullmatch(value)]

    def fetch(self, entries: dict, key: str) -> Fetch | None:
        """A git or tar source, or None for a local folder (or a broken entry, reported)."""
        node = entries["source"][1] if "source" in entries else None
        text = node.value if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str" else None
        kind = self.source_type(entries, key, text)
        if not self.source_keys_fit(entries, key, kind) or kind is None:
            return None
        if text is None:
            self.problem(entries["source-type"][0], f"{key}.source", f"required for source-type: {kind}")
            return None

        def read(name: str, check: Callable[[yaml.Node, str], T]) -> T | None:
            return self.optional(entries, name, check, f"{key}.{name}")

        return Fetch(kind, self.fetch_url(node, f"{key}.source", text, kind),
                     tag=read("source-tag", self.string), branch=read("source-branch", self.string),
                     commit=read("source-commit", self.commit), depth=read("source-depth", self.depth),
                     checksum=read("source-checksum", self.checksum))

    def source_type(self, entries: dict, key: str, text: str | None) -> str | None:
        """git or tar; None for a local folder (or an unsupported source-type, reported)."""
        kind = self.optional(entries, "source-type", self.string, f"{key}.source-type")
        if kind is not None and kind not in snapcraft.SOURCE_TYPES:
            self.problem(entries["source-type"][1], f"{key}.source-type", f"source-type {kind!r} is not supported: "
                         f"use one of {', '.join(snapcraft.SOURCE_TYPES)}" + _suggestion(kind, snapcraft.SOURCE_TYPES))
            return None
        kind = kind or (_guess_source_type(text) if text is not None else None)
        if kind in (None, "local") and text is not None and "://" in text:
            self.problem(entries["source"][1], f"{key}.source", f"cannot tell what {text!r} is: set source-type: git or tar")
        return None if kind == "local" else kind

    def source_keys_fit(self, entries: dict, key: str, kind: str | None) -> bool:
        """source-tag/-branch/-commit/-depth only for git, source-checksum only for tar, one ref."""
        allowed = {"git": ("source-tag", "source-branch", "source-commit", "source-depth"),
                   "tar": ("source-checksum",)}.get(kind or "", ())
        fit = True
        for extra in (k for k in SOURCE_KEYS if k in entries and k != "source-type" and k not in allowed):
            message = f"not valid for a {kind} source" if kind else "only valid for a git or tar source"
            self.problem(entries[extra][0], f"{key}.{extra}", message)
            fit = False
        refs = [k for k in ("source-tag", "source-branch", "source-commit") if k in entries]
        if len(refs) > 1:
            self.problem(entries[refs[1]][0], f"{key}.{refs[1]}", f"give one of {', '.join(refs)}, not several")
        return fit

    def fetch_url(self, node: yaml.Node, key: str, text: str, kind: str) -> str:
        """A URL as written; a path resolved against the project folder (a local archive must exist)."""
        if "://" in text or text.startswith("git@"):
            return text
        path = self.top / text
        if kind == "tar" and not path.is_file():
            self.problem(node, key, f"{text!r} is not an archive file in {self.top}")
        return str(path)

    def depth(self, node: yaml.Node, key: str) -> int | None:
        if self.scalar(node, key, "int", "a number of commits") is None:
            return None
        value = yaml.SafeLoader("").construct_object(node)
        if value < 1:
            self.problem(node, key, f"{value} commits: give 1 or more (or leave source-depth out for the whole history)")
            return None
        return value

    def checksum(self, node: yaml.Node, key: str) -> str | None:
        text = self.string(node, key)
        algorithm, _, value = (text or "").partition("/")
        length = HEX_LENGTHS.get(algorithm)
        if text is not None and (length is None or not re.fullmatch(f"[0-9a-f]{{{length}}}", value)):
            self.problem(node, key, f"{text!r} is not <algorithm>/<hex digest>: one of "
                         f"{', '.join(sorted(HEX_LENGTHS))} with its full digest (e.g. sha256/ and 64 hex digits)")
            return None
        return text

    def commit(self, node: yaml.Node, key: str) -> str | None:
        text = self.string(node, key)
        if text is not None and not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", text):
            self.problem(node, key, f"{text!r} is not a full commit id (40 hex digits)")
            return None
        return text

    def packages(self, entries: dict, key: str) -> list[str]:
        items = self.optional(entries, "python-packages", self.string_list, f"{key}.python-packages") or []
        for node, value in items:
            if value.strip().startswith("-"):
                self.problem(node, f"{key}.python-packages", f"{value!r} is a pip option, not a package: "
                             "where pip looks is set by python: index-url and find-links")
        return [value for _, value in items if not value.strip().startswith("-")]

    def plugin(self, node: yaml.Node, key: str) -> PluginName | None:
        value = self.string(node, key)
        if value in snapcraft.FOREIGN_PLUGINS:
            self.problem(node, key, f"plugin {value!r} is a snapcraft plugin partsmith does not support: "
                         f"partsmith builds {', '.join(PLUGINS)} parts (see README, Coming from snapcraft)")
            return None
        if value is not None and value not in PLUGINS:
            self.problem(node, key, f"unknown plugin {value!r}: choose one of {', '.join(PLUGINS)}" + _suggestion(value, PLUGINS))
            return None
        return value  # type: ignore[return-value]

    def source(self, node: yaml.Node, key: str) -> str | None:
        value = self.relative_path(node, key)
        if value is None:
            return None
        folder = self.top / value
        if not folder.is_dir():
            where = f"in the project folder {self.top}" if self.snapcraft else f"next to {self.path.name}"
            self.problem(node, key, f"{value!r} is not a folder {where}: create it or fix the path")
            return None
        real_top = os.path.realpath(self.top)
        if os.path.commonpath([real_top, os.path.realpath(folder)]) != real_top:
            self.problem(node, key, f"{value!r} leads outside the workspace folder through a symbolic link")
            return None
        return value

    def relative_path(self, node: yaml.Node, key: str, text: str | None = None) -> str | None:
        """A path that must stay inside its folder: relative, without climbing out with '..'."""
        value = text if text is not None else self.string(node, key)
        if value is None:
            return None
        normal = posixpath.normpath(value.rstrip("/") or "/")
        if not value or posixpath.isabs(value) or normal == ".." or normal.startswith("../"):
            self.problem(node, key, f"{value!r} must be a relative path that stays inside its folder")
            return None
        return normal

    def fileset(self, entries: dict, name: str, key: str) -> list[str]:
        if name not in entries:
            return ["*"]
        items = self.optional(entries, name, self.string_list, f"{key}.{name}") or []
        kept = []
        for node, value in items:
            if value == "-":
                self.problem(node, f"{key}.{name}", "'-' excludes nothing: write the path to exclude after the dash")
                continue
            exclude = value.startswith("-")
            path = self.relative_path(node, f"{key}.{name}", value[1:] if exclude else value)
            if path is not None:
                kept.append(("-" if exclude else "") + path)
        return kept

    def organize(self, node: yaml.Node, key: str) -> list[tuple[str, str]]:
        pairs = []
        for name, (key_node, value_node) in self.mapping(node, key, None).items():
            source = self.relative_path(key_node, f"{key}.{name}", name)
            target_text = self.string(value_node, f"{key}.{name}")
            target = self.relative_path(value_node, f"{key}.{name}", target_text) if target_text is not None else None
            if source is not None and target is not None:
                pairs.append((source, target + ("/" if target_text.endswith("/") else "")))
        return pairs

    def environment(self, node: yaml.Node, key: str) -> list[tuple[str, str]]:
        """snapcraft's list of single-entry maps, or a plain mapping; values kept as written."""
        maps = node.value if isinstance(node, yaml.SequenceNode) else [node]
        pairs = []
        for item in maps:
            for name, (name_node, value_node) in self.mapping(item, key, None).items():
                if not ENV_NAME_PATTERN.fullmatch(name):
                    self.problem(name_node, f"{key}.{name}", "not a valid environment variable name")
                elif not isinstance(value_node, yaml.ScalarNode) or value_node.tag == "tag:yaml.org,2002:null":
                    self.problem(value_node, f"{key}.{name}", f"expected a string value, got {_kind(value_node)}")
                else:
                    pairs.append((name, value_node.value))
        return pairs

    def check_after(self, parts: dict[str, Part], entries: dict) -> None:
        after_nodes = {name: _entry(entries[name][1], "after") for name, part in parts.items() if part.after}
        for part in parts.values():
            if not part.after:
                continue
            list_node = after_nodes[part.name][1]
            items = {item.value: item for item in list_node.value if isinstance(item, yaml.ScalarNode)}
            for dep in sorted(set(part.after), key=part.after.index):
                if dep == part.name:
                    self.problem(items[dep], f"parts.{part.name}.after", "a part cannot be after itself")
                elif dep not in entries:
                    self.problem(items[dep], f"parts.{part.name}.after", f"no part named {dep!r}" + _suggestion(dep, tuple(entries)))
        cycle = _find_cycle({name: [d for d in p.after if d in parts and d != name] for name, p in parts.items()})
        if cycle:
            self.problem(after_nodes[cycle[0]][0], f"parts.{cycle[0]}.after", "cycle: " + " -> ".join(cycle + [cycle[0]]))


def _merge_keys(node: yaml.Node, seen: set[int] | None = None) -> None:
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
        children = [item for pair in node.value for item in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    else:
        return
    for child in children:
        _merge_keys(child, seen)


def _key_name(key: yaml.Node) -> object:
    return key.value if isinstance(key, yaml.ScalarNode) else id(key)  # a list key is its own key


def _entry(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node]:
    return next((k, v) for k, v in mapping.value if isinstance(k, yaml.ScalarNode) and k.value == key)


def _find_cycle(graph: dict[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path[path.index(dep):]
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


def _guess_source_type(text: str) -> str:
    """As snapcraft: a `.git` URL or a git@/git:// address is git; an archive name is tar."""
    if text.endswith(".git") or text.startswith(("git@", "git://", "git+")):
        return "git"
    if text.endswith(snapcraft.TAR_SUFFIXES):
        return "tar"
    return "local"


def _suggestion(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    kind = node.tag.rsplit(":", 1)[-1]
    return {"str": "a string", "int": "an integer", "bool": "a boolean", "null": "nothing",
            "float": "a number"}.get(kind, kind) + f" ({node.value!r})"
