"""python: a virtual environment at $CRAFT_PART_INSTALL, installed offline from the pulled wheels.

The venv is made without pip (no ensurepip: seconds per part, and a pip of its own per part);
the one pinned uv installs into it from outside with --python. Every pulled wheel is named
explicitly, so each part marks the same packages REQUESTED whether it asked for them or got them
as a dependency; offline and with --no-index uv still checks that every dependency is among them,
so a project whose dependencies changed unseen by pull fails here instead of shipping without
them. The part's own project is built to a wheel first, once, offline, from the pulled (locked)
build requirements, dynamic ones included; never installed from its folder. uv copies files out
of its cache (--link-mode copy), so no install file is a link into it. normalize.py runs after.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from rules.python import Wheel, uv_command
from rules.workspace import Part

from .context import BuildContext

CHOSEN_AT_PULL = (
    *("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_BINARY"),
    *("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS", "UV_INDEX", "UV_DEFAULT_INDEX"),
    *("UV_NO_BINARY", "UV_NO_BINARY_PACKAGE", "UV_ONLY_BINARY", "UV_NO_BUILD"),
    "UV_NO_BUILD_PACKAGE",
)

OFFLINE = ("--offline", "--no-index")


def wheel_input(group: str, wheel: Wheel) -> str:
    """Where a pulled wheel lies in the sandbox: a folder of its own, named by its digest. uv
    keeps what it unpacked of a find-links wheel by the folder and the file's name and mtime
    (which normalization fixes): two wheels of one name (one built from an sdist, one from the
    index; a find-links wheel rebuilt) in one folder would come back from uv's cache as the
    first."""
    return f"inputs/{group}/{wheel.sha256[:16]}/{wheel.file}"


def is_locked_wheel(sandbox_path: str) -> bool:
    """Whether an input (its `wheel_input` path) is one of the locked wheels the part installs,
    not one of its project's build requirements."""
    return sandbox_path.startswith("inputs/wheels/")


def _find_links(up: str, group: str, wheels: tuple[Wheel, ...]) -> list[str]:
    folders = sorted({wheel_input(group, wheel).rsplit("/", 1)[0] for wheel in wheels})
    return [arg for folder in folders for arg in ("--find-links", f"{up}../{folder}")]


def default_build(part: Part, context: BuildContext) -> tuple[str, ...]:
    """The venv, the project's wheel, and every wheel installed in one uv run."""
    return _commands(part, context, venv=True, wheels=True, project=context.project)


def dependencies_build(part: Part, context: BuildContext) -> tuple[str, ...]:
    """A build in layers' lower layer: the venv and the locked wheels, no project (and no
    source: it runs in a build folder of its own)."""
    return _commands(part, context, venv=True, wheels=True, project=False)


def project_build(part: Part, context: BuildContext) -> tuple[str, ...]:
    """A build in layers' upper layer: the project's wheel, installed into the venv of the
    layer below, where uv finds every dependency already installed (offline, as above)."""
    return _commands(part, context, venv=False, wheels=False, project=True)


def _commands(
    part: Part, context: BuildContext, venv: bool, wheels: bool, project: bool
) -> tuple[str, ...]:
    # relative to the folder the build runs in: $CRAFT_PART_BUILD, or its source-subdir (a
    # lower layer runs in a build folder of its own, without the source)
    subdir = part.source_subdir if project else None
    up = "../" * len(PurePosixPath(subdir).parts) if subdir else ""
    pulled = context.pulled
    locked, build_wheels = (pulled.wheels, pulled.build_wheels) if pulled else ((), ())
    # pull chose the files (and where to look) by the part's PIP_*/UV_*; the build installs
    # what pull recorded, whatever they say
    commands = [f"unset {' '.join(CHOSEN_AT_PULL)}"]
    if venv:
        made = [str(context.interpreter), "-m", "venv", "--without-pip", "--clear"]
        commands.append(shlex.join(made) + ' "$CRAFT_PART_INSTALL"')
    if project:
        commands.append("echo 'partsmith: building the project'")
        build = uv_command(("build", "--wheel", "-q"), context.interpreter, context.uv)
        links = _find_links(up, "build-wheels", build_wheels)
        commands.append(shlex.join([*build, *OFFLINE, *links, "--out-dir", f"{up}../dist", "."]))
    named = locked if wheels else ()
    if named or project:
        commands.append(f"echo 'partsmith: installing {len(named) + project} wheels'")
        install = [
            *context.uv,
            *("pip", "install", "-q", "--python", "$CRAFT_PART_INSTALL/bin/python"),
            *OFFLINE,
            *("--link-mode", "copy"),
            *_find_links(up, "wheels", locked),
            *(wheel.pin for wheel in named),
        ]
        line = shlex.join(install).replace(
            "'$CRAFT_PART_INSTALL/bin/python'", '"$CRAFT_PART_INSTALL/bin/python"'
        )
        commands.append(line + (f" {up}../dist/*.whl" if project else ""))
    return tuple(commands)
