"""The workspace model: what a loaded workspace file is, frozen and validated (workspace.py
reads and checks the file; everything else reads only these types)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from .layout import Layout

PluginName = Literal["python", "dump", "nil", "uv", "poetry", "make", "autotools", "cmake", "meson"]
PLUGINS: tuple[str, ...] = get_args(PluginName)


@dataclass(frozen=True)
class PythonSettings:
    index_url: str | None = None  # None: pip's default index; "none": no index at all
    find_links: tuple[str, ...] = ()  # absolute folders or URLs
    interpreter: str | None = None


@dataclass(frozen=True)
class Fetch:
    """A source that `pull` fetches (the network is used there only): a git repository at a
    tag, branch or commit, or a tar archive checked against its checksum."""

    kind: Literal["git", "tar", "file"]
    url: str  # a URL, or an absolute path (a relative one is resolved against the project folder)
    tag: str | None = None
    branch: str | None = None
    commit: str | None = None
    depth: int | None = None
    checksum: str | None = None  # "<algorithm>/<hex digest>", e.g. sha256/...
    submodules: tuple[str, ...] | None = None  # git: the submodules to fetch; None: all of them

    def config(self) -> dict:
        config = {
            "kind": self.kind,
            "tag": self.tag,
            "branch": self.branch,
            "commit": self.commit,
            "depth": self.depth,
            "checksum": self.checksum,
        }
        # only when written, so git sources keep the keys they had before the key existed
        return config if self.submodules is None else {**config, "submodules": self.submodules}


@dataclass(frozen=True)
class Part:
    name: str
    plugin: PluginName
    source: str | None = None  # a local folder, relative to the project folder, normalized
    fetch: Fetch | None = None  # or a source that pull fetches into the build root
    source_subdir: str | None = None  # the folder of the source the build runs in
    python_packages: tuple[str, ...] = ()
    python_requirements: tuple[str, ...] = ()
    python_constraints: tuple[str, ...] = ()
    build_environment: tuple[tuple[str, str], ...] = ()
    build_packages: tuple[str, ...] = ()
    build_snaps: tuple[str, ...] = ()  # snap names, each resolved to a tool at build time
    uv_extras: tuple[str, ...] = ()  # plugin: uv
    uv_groups: tuple[str, ...] = ()
    poetry_with: tuple[str, ...] = ()  # plugin: poetry: its groups beyond main
    poetry_export_extra_args: tuple[str, ...] = ()  # --extras/-E NAME, --all-extras
    make_parameters: tuple[str, ...] = ()  # plugin: make
    autotools_configure_parameters: tuple[str, ...] = ()  # plugin: autotools
    autotools_bootstrap_parameters: tuple[str, ...] = ()  # given to ./bootstrap
    cmake_parameters: tuple[str, ...] = ()  # plugin: cmake
    cmake_generator: str | None = None  # plugin: cmake; None: "Unix Makefiles"
    meson_parameters: tuple[str, ...] = ()  # plugin: meson
    stage_packages: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    disable_parallel: bool = False  # autotools: `make` without -j, as craft-parts
    override_pull: str | None = None
    override_build: str | None = None
    override_stage: str | None = None
    override_prime: str | None = None
    organize: tuple[tuple[str, str], ...] = ()
    stage: tuple[str, ...] = ("*",)
    prime: tuple[str, ...] = ("*",)

    @property
    def installs_python(self) -> bool:
        """A virtual environment of locked wheels: python parts, and uv and poetry parts (their
        uv.lock or poetry.lock)."""
        return self.plugin in ("python", "uv", "poetry")

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
            "source-subdir": self.source_subdir,
            "python-constraints": list(self.python_constraints),
            "build-packages": list(self.build_packages),
            "build-snaps": list(self.build_snaps),
            "uv-extras": list(self.uv_extras),
            "uv-groups": list(self.uv_groups),
            "poetry-with": list(self.poetry_with),
            "poetry-export-extra-args": list(self.poetry_export_extra_args),
            "make-parameters": list(self.make_parameters),
            "autotools-configure-parameters": list(self.autotools_configure_parameters),
            "autotools-bootstrap-parameters": list(self.autotools_bootstrap_parameters),
            "disable-parallel": self.disable_parallel,
            "cmake-parameters": list(self.cmake_parameters),
            "cmake-generator": self.cmake_generator,
            "meson-parameters": list(self.meson_parameters),
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
    extra_sandbox_paths: tuple[str, ...] = ()  # `sandbox: extra-paths`: host paths builds read
    # `execution-platform:`, the REAPI platform properties a remote executor's worker must have
    execution_platform: tuple[tuple[str, str], ...] = ()

    @property
    def directory(self) -> Path:
        return self.project or self.path.parent

    def source_dir(self, part: Part) -> Path | None:
        """The folder a build copies: the pulled source when pull makes one (a fetched source,
        an override-pull), else the part's local `source`."""
        if part.fetch is not None or part.override_pull is not None:
            return Layout(self.build_root).pulled_source(part.name)
        return self.local_source(part)

    def project_dir(self, part: Part) -> Path | None:
        """Where a python part's project and requirement files are: its source, or the
        source-subdir of it (the folder the build runs in). A pulled source restored from the
        store without its files has them in its declared folder (Layout.declared_source)."""
        source = self.source_dir(part)
        layout = Layout(self.build_root)
        if source == layout.pulled_source(part.name) and not source.is_dir():
            declared = layout.declared_source(part.name)
            source = declared if declared.is_dir() else source
        if source is None or part.source_subdir is None:
            return source
        return source / part.source_subdir

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
