"""pull:<part> for python parts: resolve and fetch wheels; the only step that may use the network.

pip runs as a hermetic action in its own sandbox and looks only where the workspace's `python:`
says. It downloads the wheels of `python-packages`, of the `python-requirements` files (hash
checking applies when they carry hashes) and of the dependencies of the part's own project, builds
sdists to wheels, and downloads the project's build requirements so `build` can build the project
offline. The result is recorded as the part's pulled inputs: name, version and sha256 of each wheel.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import action, remote
from .cachedir import cache_root
from .digest import digest
from .env import Sandbox
from .fsutil import remove_tree
from .errors import BuildError, PartsmithError
from .installer import QUIET, index_options, pip_command
from .key import pull_record
from .layout import Layout
from .locks import action_lock
from .sources import copy_source
from .store import Store
from .toolchain import interpreter
from .tree import Tree, capture, hash_file
from .workspace import PART_SRC_PREFIX, Part, Workspace

DEFAULT_BUILD_REQUIRES = ["setuptools>=40.8.0"]  # what pip assumes for a project without one
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")  # the files that declare a project


@dataclass(frozen=True)
class Wheel:
    name: str  # normalized (PEP 503)
    version: str
    file: str
    sha256: str

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Pulled:
    folder: Path
    wheels: tuple[Wheel, ...]  # what the part installs
    build_wheels: tuple[Wheel, ...]  # what building the part's own project needs


def has_project(source: Path | None) -> bool:
    return source is not None and any((source / name).is_file() for name in ("pyproject.toml", "setup.py"))


def declaration_files(workspace: Workspace, part: Part) -> list[Path]:
    """The files whose change means pull must resolve again (not the project's code): the
    project's files and the requirements files, with those they include (-r, -c)."""
    source = workspace.source_dir(part)
    if source is None:
        return []
    found: list[Path] = [source / name for name in PROJECT_FILES if (source / name).is_file()]
    pending = [source / name for name in (*part.python_requirements, *part.python_constraints)]
    pending += _environment_files(part, source)
    while pending:
        path = pending.pop(0)
        if path in found or not path.is_file():
            continue
        found.append(path)
        pending += [path.parent / included for included in _included(path, part.name)]
    return found


# pip options that name files, read by pip from a part's build-environment
FILE_VARIABLES = ("PIP_CONSTRAINT", "PIP_REQUIREMENT")


def _environment_files(part: Part, source: Path) -> list[Path]:
    """The files a part's build-environment points pip at: inputs of the pull like the keys'."""
    files = []
    for name, value in part.build_environment:
        if name in FILE_VARIABLES:
            for word in value.split():
                word = PART_SRC_PREFIX.sub("", word)
                files.append(Path(word) if os.path.isabs(word) else source / word)
    return files


INCLUDE = re.compile(r"^\s*(?:-r|--requirement|-c|--constraint)[\s=]\s*(\S+)")
# Where pip looks is the workspace's `python:` settings alone; a requirements file may not widen it.
WHERE_OPTIONS = re.compile(r"^\s*(-i|--index-url|--extra-index-url|-f|--find-links|--no-index|--trusted-host)\b")


def _included(path: Path, part: str) -> list[str]:
    included = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if WHERE_OPTIONS.match(line):
            raise PartsmithError(
                f"{path}:{number}: part {part!r}: {line.strip()!r}: where pip looks is set by the workspace",
                resolution="Remove the line and set python: index-url / find-links in the workspace file.",
            )
        match = INCLUDE.match(line)
        if match:
            included.append(match[1])
    return included


def pull(workspace: Workspace, name: str) -> tuple[str, Pulled]:
    """Restore the part's pulled wheels from the store, or fetch them; returns what happened."""
    part = workspace.parts[name]
    layout = Layout(workspace.build_root)
    store = Store(cache_root())
    record = pull_record(workspace, name, declaration_files(workspace, part))
    key = digest(record)
    with action_lock(layout.lock(f"{name}.pull"), f"pull:{name}") as lock:
        if is_current(workspace, name):  # another doit pulled it while this one waited
            return "up to date", load_pulled(layout, name)
        layout.pull_result(name).unlink(missing_ok=True)
        cached = store.get(key)
        if cached is None and remote.fetch(store, key):
            cached = store.get(key)
        if cached is not None and _restored(store, cached.tree, layout.pulled(name), workspace.source_date_epoch):
            outcome = "restored"
        else:
            outcome = "fetched"
            folder = _fetched(workspace, name, layout, lock).folder
            tree = capture(folder, workspace.source_date_epoch).tree
            store.put(key, record, tree, folder)
            remote.upload(store, key, record, tree)
        layout.pull_result(name).write_text(json.dumps({"key": key, "record": record}, sort_keys=True))
        return outcome, load_pulled(layout, name)


def is_current(workspace: Workspace, name: str) -> bool:
    """doit's up-to-date check: what was pulled is what the current record asks for."""
    layout = Layout(workspace.build_root)
    try:
        previous = json.loads(layout.pull_result(name).read_text())["key"]
        record = pull_record(workspace, name, declaration_files(workspace, workspace.parts[name]))
        return (layout.pulled(name) / "pulled.json").is_file() and digest(record) == previous
    except (PartsmithError, OSError, ValueError, KeyError):
        return False


def _restored(store: Store, tree: Tree, folder: Path, epoch: int) -> bool:
    fresh = folder.with_name("pulled.restore")
    remove_tree(fresh)
    if not store.restore(tree, fresh, epoch):
        remove_tree(fresh)
        return False
    remove_tree(folder)
    os.rename(fresh, folder)
    return True


def _fetched(workspace: Workspace, name: str, layout: Layout, lock: int) -> Pulled:
    part = workspace.parts[name]
    sandbox = layout.pull_sandbox(name)
    source = workspace.source_dir(part)
    script = _script(workspace, part, source)
    action.prepare_sandbox(sandbox)
    with action.caller_umask_ignored():  # $CRAFT_PART_SRC holds the source (PIP_CONSTRAINT may name it); pip runs in a copy
        if source is not None:
            copy_source(source, sandbox.src, skip=workspace.build_root)
        else:
            sandbox.src.mkdir()
        copy_source(sandbox.src, sandbox.build, skip=workspace.build_root, link=True)
    status = action.execute(sandbox, workspace.source_date_epoch, name, part.build_environment, script,
                            interpreter(workspace).parent, keep_open=(lock,))
    if status != 0:
        raise _pip_error(name, sandbox)
    return _record(layout, name, sandbox)


def _record(layout: Layout, name: str, sandbox: Sandbox) -> Pulled:
    out = sandbox.root / "out"
    project_wheels = {p.name for p in (out / "project").glob("*.whl")}
    for file in project_wheels:  # built again from the current source by `build`, offline
        (out / "wheels" / file).unlink(missing_ok=True)
    pulled = Pulled(layout.pulled(name), _recorded(out / "wheels"), _recorded(out / "build-wheels"))
    _publish(out, pulled)
    remove_tree(sandbox.root)
    return pulled


def _script(workspace: Workspace, part: Part, source: Path | None) -> str:
    # --python: resolve for the interpreter the part's venv is made with, not for doit's
    pip = [*pip_command(), "--python", str(interpreter(workspace)), *QUIET]
    where = [*index_options(workspace.python), "--retries", "2", "--timeout", "30",
             "--cache-dir", str(cache_root() / "pip")]
    lines = ["mkdir -p ../out/wheels ../out/build-wheels ../out/project"]  # runs in a copy of the source
    project = has_project(source)
    if project:
        requires = build_requirements(source)
        if requires:
            lines.append(shlex.join([*pip, "download", *where, "--only-binary", ":all:", "-d", "../out/build-wheels", *requires]))
        lines.append(shlex.join([*pip, "wheel", *where, "--no-deps", "-w", "../out/project", "."]))
    wanted = [*part.python_packages, *[arg for req in part.python_requirements for arg in ("-r", req)]]
    if project:
        wanted.append(".")
    if wanted:
        constraints = [arg for file in part.python_constraints for arg in ("-c", file)]
        lines.append(shlex.join([*pip, "wheel", *where, "-w", "../out/wheels", *constraints, *wanted]))
    return "\n".join(lines)


def build_requirements(source: Path) -> list[str]:
    pyproject = source / "pyproject.toml"
    if not pyproject.is_file():
        return DEFAULT_BUILD_REQUIRES
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PartsmithError(f"{pyproject}: not valid TOML: {err}", resolution="Fix the file and run again.") from None
    system = data.get("build-system", {})
    requires = system.get("requires", DEFAULT_BUILD_REQUIRES) if isinstance(system, dict) else None
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise PartsmithError(f"{pyproject}: build-system.requires must be a list of strings")
    return requires


UNREACHABLE = ("NewConnectionError", "Failed to establish a new connection", "Connection refused",
               "Temporary failure in name resolution", "Name or service not known", "timed out")


def _pip_error(name: str, sandbox: Sandbox) -> BuildError:
    lines = sandbox.log.read_text(errors="replace").splitlines()
    errors = _error_blocks(lines) or lines[-10:]
    brief = f"part {name!r}: pull failed: pip could not fetch what the part needs"
    if any(marker in line for line in lines for marker in UNREACHABLE):
        brief = f"part {name!r}: pull failed: the package index could not be reached"
        errors.insert(0, next(line.strip() for line in lines if any(m in line for m in UNREACHABLE)))
    return BuildError(
        brief,
        "\n".join(errors),
        "Check the package names, versions and hashes, and the workspace's python: index-url and "
        f"find-links; the full pip log is {sandbox.log}",
    )


def _error_blocks(lines: list[str]) -> list[str]:
    """pip's `ERROR:` lines with the indented lines that explain them."""
    kept: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("ERROR:") or line.startswith("error:"):
            inside = True
        elif not line.startswith((" ", "\t", "╰", "│")):
            inside = False
        if inside:
            kept.append(line)
    return kept[:40]


WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-")


def _recorded(folder: Path) -> tuple[Wheel, ...]:
    wheels = []
    for path in sorted(folder.glob("*.whl")):
        match = WHEEL_NAME.match(path.name)
        if match is None:
            raise BuildError(f"pull produced a file that is not a wheel: {path.name}")
        digest, _, _ = hash_file(path)
        name = re.sub(r"[-_.]+", "-", match["name"]).lower()
        wheels.append(Wheel(name, match["version"], path.name, digest))
    return tuple(sorted(wheels, key=lambda wheel: wheel.name))


def _publish(out: Path, pulled: Pulled) -> None:
    """Replace the part's pulled folder; the record is written last, as the mark of completeness."""
    record = pulled.folder / "pulled.json"
    record.unlink(missing_ok=True)
    if pulled.folder.exists():
        remove_tree(pulled.folder)
    pulled.folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(out, pulled.folder)
    remove_tree(pulled.folder / "project")
    data = {"wheels": [w.__dict__ for w in pulled.wheels], "build-wheels": [w.__dict__ for w in pulled.build_wheels]}
    temp = record.with_suffix(".tmp")
    temp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(temp, record)


def load_pulled(layout: Layout, name: str) -> Pulled:
    """The part's pulled wheels, each checked against the digest pull recorded."""
    folder = layout.pulled(name)
    try:
        data = json.loads((folder / "pulled.json").read_text())
        wheels = tuple(Wheel(**w) for w in data["wheels"])
        build_wheels = tuple(Wheel(**w) for w in data["build-wheels"])
    except FileNotFoundError:
        raise BuildError(f"part {name!r} has not been pulled", resolution=f"Run `doit pull:{name}` (or `doit stage`).") from None
    except (ValueError, KeyError, TypeError):
        raise BuildError(f"part {name!r}: {folder / 'pulled.json'} is damaged",
                         resolution=f"Run `doit clean pull:{name}`, then run again.") from None
    for sub, group in (("wheels", wheels), ("build-wheels", build_wheels)):
        for wheel in group:
            path = folder / sub / wheel.file
            if not path.is_file() or hash_file(path)[0] != wheel.sha256:
                raise BuildError(
                    f"part {name!r}: pulled wheel {wheel.file} is missing or changed since it was pulled",
                    resolution=f"Run `doit clean pull:{name}`, then run again: it comes back from the cache or the index.",
                )
    return Pulled(folder, wheels, build_wheels)
