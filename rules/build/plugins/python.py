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


def _find_links(up: str, group: str, wheels: tuple[Wheel, ...]) -> list[str]:
    folders = sorted({wheel_input(group, wheel).rsplit("/", 1)[0] for wheel in wheels})
    return [arg for folder in folders for arg in ("--find-links", f"{up}../{folder}")]


def default_build(part: Part, context: BuildContext) -> tuple[str, ...]:
    # relative to the folder the build runs in: $CRAFT_PART_BUILD, or its source-subdir
    up = "../" * len(PurePosixPath(part.source_subdir).parts) if part.source_subdir else ""
    pulled = context.pulled
    wheels, build_wheels = (pulled.wheels, pulled.build_wheels) if pulled else ((), ())
    commands = [
        # pull chose the files (and where to look) by the part's PIP_*/UV_*; the build installs
        # what pull recorded, whatever they say
        f"unset {' '.join(CHOSEN_AT_PULL)}",
        shlex.join([str(context.interpreter), "-m", "venv", "--without-pip", "--clear"])
        + ' "$CRAFT_PART_INSTALL"',
    ]
    if context.project:
        commands.append("echo 'partsmith: building the project'")
        build = uv_command(("build", "--wheel", "-q"), context.interpreter, context.uv)
        links = _find_links(up, "build-wheels", build_wheels)
        commands.append(shlex.join([*build, *OFFLINE, *links, "--out-dir", f"{up}../dist", "."]))
    if wheels or context.project:
        commands.append(f"echo 'partsmith: installing {len(wheels) + context.project} wheels'")
        install = [
            *context.uv,
            "pip",
            "install",
            "-q",
            "--python",
            "$CRAFT_PART_INSTALL/bin/python",
            *OFFLINE,
            "--link-mode",
            "copy",
            *_find_links(up, "wheels", wheels),
            *(wheel.pin for wheel in wheels),
        ]
        line = shlex.join(install).replace(
            "'$CRAFT_PART_INSTALL/bin/python'", '"$CRAFT_PART_INSTALL/bin/python"'
        )
        commands.append(line + (f" {up}../dist/*.whl" if context.project else ""))
    return tuple(commands)
