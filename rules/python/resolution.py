"""Resolve a python part's requirements into a Lock, with uv, as a hermetic action.

`uv pip compile --format pylock.toml` resolves for the workspace's interpreter, looking only where
the workspace's `python:` (and pip variables the part declares) say. The part's own project
contributes its dependencies (uv reads them, building only its metadata when they are dynamic),
and its build requirements are locked too: the static `build-system.requires` plus what the
backend asks for at build time (`get_requires_for_build_wheel`, e.g. `wheel` for setuptools older
than 70.1), asked of the backend itself in an environment holding the static ones. A previous
lock's versions are preferences, so locking again moves nothing unless asked (`upgrade=`).
"""

from __future__ import annotations

import hashlib
import os
import shlex
from pathlib import Path

from rules.action import (
    caller_umask_ignored,
    copy_source,
    execute,
    interpreter,
    interpreter_facts,
    part_step,
    prepare_sandbox,
)
from rules.core import remove_tree
from rules.workspace import Layout, Part, Sandbox, Workspace

from .errors import PythonError
from .pylock import Lock, LockedPackage, lock_path
from .pylock_reading import Choice, check_pinned_hashes, read_pylock
from .records import tool_lock_options
from .requirements import build_requirements, declaration_files, has_project, pinned_hashes
from .tool_locks import TOOL_PINS, poetry_pins, stale_uv_lock, tool_pins, uv_export
from .uv import index_options, uv_command
from .wheel_choice import sdist_wanted, target

# pip's variables a part declares, in uv's words (uv reads no PIP_*): they are the part's inputs
PIP_VARIABLES = r"""uv_args=()
for c in ${PIP_CONSTRAINT:-}; do uv_args+=(-c "${c#\$CRAFT_PART_SRC/}"); done
for r in ${PIP_REQUIREMENT:-}; do uv_args+=("${r#\$CRAFT_PART_SRC/}"); done
if [ -n "${PIP_INDEX_URL:-}" ]; then uv_args+=(--index-url "$PIP_INDEX_URL"); fi
for u in ${PIP_EXTRA_INDEX_URL:-}; do uv_args+=(--extra-index-url "$u"); done
for f in ${PIP_FIND_LINKS:-}; do uv_args+=(--find-links "$f"); done
case "${PIP_NO_INDEX:-}" in 1|true|yes|on) uv_args+=(--no-index) ;; esac"""

# Asks the project's backend what else it needs to build a wheel (PEP 517), run in its folder.
HOOK = """import importlib, os, sys, tomllib
answer = os.path.abspath(sys.argv[1])
system = tomllib.load(open("pyproject.toml", "rb")).get("build-system", {}) \
if os.path.exists("pyproject.toml") else {}
sys.path[:0] = [os.path.abspath(p) for p in system.get("backend-path", [])]
module, _, attrs = system.get("build-backend", "setuptools.build_meta:__legacy__").partition(":")
backend = importlib.import_module(module)
for attr in filter(None, attrs.split(".")):
    backend = getattr(backend, attr)
hook = getattr(backend, "get_requires_for_build_wheel", None)
requires = sorted(hook(None)) if hook else []  # a backend may print: the answer goes to a file
open(answer, "w").write("".join(f"{r}\\n" for r in requires))
"""


def lock_inputs(workspace: Workspace, name: str) -> dict:
    """What a part's resolution depends on, as the lock records it (no checkout path)."""
    part = workspace.parts[name]
    source = workspace.project_dir(part)
    facts = interpreter_facts(str(interpreter(workspace)))
    return {
        "python": f"{facts['implementation']} {facts['version']} {facts['platform']}",
        "python-packages": list(part.python_packages),
        "python-requirements": list(part.python_requirements),
        "python-constraints": list(part.python_constraints),
        "files": {
            str(path.relative_to(source))
            if source and path.is_relative_to(source)
            else str(path): _sha256(path)
            for path in declaration_files(workspace, part)
        },
        "index-url": workspace.python.index_url or "",
        "find-links": [_relative(link, workspace) for link in workspace.python.find_links],
        "pip-environment": [
            f"{k}={v}" for k, v in part.build_environment if k.startswith(("PIP_", "UV_"))
        ],
        **tool_lock_options(part),
    }


def resolve_lock(
    workspace: Workspace,
    name: str,
    previous: Lock | None = None,
    upgrade: str | None = None,
    keep_open: tuple[int, ...] = (),
    step: str = "lock",
) -> Lock:
    part = workspace.parts[name]
    sandbox = Sandbox(Layout(workspace.build_root).root / "sandbox" / f"{name}.lock")
    source = workspace.project_dir(part)
    _prepare(sandbox, workspace, part, source, previous)
    script = _script(workspace, part, source, upgrade)
    status = execute(part_step(workspace, name, sandbox, keep_open, network=True), script)
    if status != 0:
        raise stale_uv_lock(name, sandbox) or resolve_error(name, sandbox, workspace, step)
    folder = lock_path(workspace.path, name).parent
    out = sandbox.root / "out"
    pinned = pinned_hashes([*declaration_files(workspace, part), *tool_pins(sandbox)])
    wanted = Choice(target(interpreter(workspace)), sdist_wanted(part.build_environment))
    packages = read_pylock(out / "pylock.packages.toml", workspace, folder, pinned, wanted)
    build = read_pylock(out / "pylock.build.toml", workspace, folder, {}, Choice(wanted.target))
    check_pinned_hashes(name, packages, pinned)
    remove_tree(sandbox.root)
    return Lock(packages, build, lock_inputs(workspace, name))


def _prepare(
    sandbox: Sandbox, workspace: Workspace, part: Part, source: Path | None, previous: Lock | None
) -> None:
    prepare_sandbox(sandbox)
    with caller_umask_ignored():  # uv may write a project's metadata: it works in a copy
        if source is not None:
            copy_source(source, sandbox.build, skip=(workspace.build_root, source / ".git"))
        else:
            sandbox.build.mkdir()
        # one copy, which uv's steps run in, also at $CRAFT_PART_SRC (a file a part's variables
        # name there): nothing of this sandbox but out/ is kept, so they need not be two
        sandbox.src.symlink_to(sandbox.build.name)
        out = sandbox.root / "out"
        out.mkdir()
        (sandbox.root / "requirements.in").write_text(
            "".join(f"{p}\n" for p in part.python_packages)
        )
        (sandbox.root / "hook.py").write_text(HOOK)
        if part.plugin == "poetry":
            (sandbox.root / TOOL_PINS).write_text(poetry_pins(part, source))
        if previous is not None:  # uv prefers the versions an existing output file names
            (out / "pylock.packages.toml").write_text(_preferences(previous.packages))
            (out / "pylock.build.toml").write_text(_preferences(previous.build))


def _preferences(packages: tuple[LockedPackage, ...]) -> str:
    return 'lock-version = "1.0"\ncreated-by = "partsmith"\n' + "".join(
        f'\n[[packages]]\nname = "{p.name}"\nversion = "{p.version}"\n' for p in packages
    )


def _script(workspace: Workspace, part: Part, source: Path | None, upgrade: str | None) -> str:
    python = interpreter(workspace)
    where = index_options(workspace.python)
    moved = ["--upgrade-package", upgrade] if upgrade else []
    compile_ = [
        *uv_command(("pip", "compile", "-q"), python),
        "--format",
        "pylock.toml",
        *where,
        *moved,
    ]
    wanted = list(part.python_requirements)  # uv pip compile reads requirements files as arguments
    wanted += ["../requirements.in"] if part.python_packages else []
    project = has_project(source)
    if project:
        assert source is not None  # has_project says it is a folder
        wanted.append("pyproject.toml" if (source / "pyproject.toml").is_file() else "setup.py")
    constraints = [arg for file in part.python_constraints for arg in ("-c", file)]
    lines = [PIP_VARIABLES]
    if part.plugin == "poetry":  # the tool's lock, as pinned requirements with hashes
        wanted.insert(0, f"../{TOOL_PINS}")
    if part.plugin == "uv":  # its uv.lock is the lock: read, never resolved again
        lines.append(uv_export(workspace, part, python))
    elif wanted:
        lines.append(
            shlex.join([*compile_, "-o", "../out/pylock.packages.toml", *constraints, *wanted])
            + ' "${uv_args[@]}"'
        )
    else:
        lines.append("rm -f ../out/pylock.packages.toml")
    if project:
        assert source is not None
        lines += _build_requirement_lines(compile_, build_requirements(source), python, where)
    else:
        lines.append("rm -f ../out/pylock.build.toml")
    return "\n".join(lines)


def _build_requirement_lines(
    compile_: list[str], static: list[str], python: Path, where: list[str]
) -> list[str]:
    """Lock what building the project needs: the static requirements, then what the backend
    asks for once they are installed (in a throwaway venv)."""
    venv = "../build-env"
    lines = [shlex.join([*uv_command(("venv", "-q"), python), venv])]
    if static:
        install = [
            *uv_command(("pip", "install", "-q"), Path(f"{venv}/bin/python")),
            *where,
            *static,
        ]
        lines.append(shlex.join(install) + ' "${uv_args[@]}"')
    lines.append(f"printf '%s\\n' {shlex.join(static) if static else ''} > ../out/build.in")
    lines.append(
        f"{venv}/bin/python ../hook.py ../out/dynamic.in "
        "&& cat ../out/dynamic.in >> ../out/build.in"
    )
    lines.append(
        "if grep -q . ../out/build.in; then "
        + shlex.join([*compile_, "-o", "../out/pylock.build.toml", "../out/build.in"])
        + ' "${uv_args[@]}"; else rm -f ../out/pylock.build.toml; fi'
    )
    return lines


UNREACHABLE = (
    "dns error",
    "Connection refused",
    "error sending request",
    "failed to lookup address",
    "Name or service not known",
    "timed out",
    "Could not connect",
)


def resolve_error(name: str, sandbox: Sandbox, workspace: Workspace, step: str) -> PythonError:
    lines = sandbox.log.read_text(errors="replace").splitlines()
    said = explaining_lines(lines)
    facts = interpreter_facts(str(interpreter(workspace)))
    brief = (
        f"part {name!r}: {step} failed: no set of packages satisfies the part's requirements for "
        f"{facts['implementation']} {facts['version']} on {facts['platform']}"
    )
    if any(marker in line for line in lines for marker in UNREACHABLE):
        brief = f"part {name!r}: {step} failed: the package index could not be reached"
    resolution = (
        "Check the package names, versions and hashes, and the workspace's python: index-url and "
        f"find-links; the full log is {sandbox.log}"
    )
    if any("Failed to build" in line or "build backend" in line for line in lines):
        resolution = (
            f"A package's sdist did not build: the lines above say why; {build_hint(lines)} "
            + resolution
        )
    return PythonError(brief, "\n".join(said), resolution)


# What a build that asks git for its version says when it finds no repository (setuptools-scm,
# hatch-vcs, versioneer, a `git describe` in setup.py)
NO_VERSION_FROM_GIT = (
    "unable to detect version",
    "setuptools-scm was unable",
    "unable to compute version",
    "fatal: not a git repository",
)


def build_hint(lines: list[str]) -> str:
    """Where a failed build's fix goes, judged from its log."""
    if any(marker in line for line in lines for marker in NO_VERSION_FROM_GIT):
        return (
            "the project takes its version from git, which the build does not see: give it in "
            "the part's build-environment (e.g. SETUPTOOLS_SCM_PRETEND_VERSION: 1.2.3)."
        )
    return "a missing system library or tool goes into the part's build-packages."


def explaining_lines(lines: list[str]) -> list[str]:
    """uv's error block, and the lines of a failed build that say what was missing."""
    kept = [
        line
        for line in lines
        if line.lstrip().startswith(("×", "╰─▶", "├─▶", "│", "error:", "cause:", "help:", "hint:"))
    ]
    causes = [
        line.strip()
        for line in lines
        if any(
            marker in line
            for marker in (
                "configure: error",
                "fatal error:",
                "error: command",
                "ModuleNotFoundError",
                *NO_VERSION_FROM_GIT,
                "No such file or directory",
                "not found",
            )
        )
        and line.strip() not in kept
    ]
    return (causes[:5] + kept[:30]) or lines[-10:]


def _relative(path: str, workspace: Workspace) -> str:
    if "://" in path or not Path(path).is_relative_to(workspace.directory):
        return path
    return "$WORKSPACE/" + _relpath(Path(path), workspace.directory)


def _relpath(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
