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

from rules.python import uv_command
from rules.workspace import Part

from .context import BuildContext

INPUTS = ("inputs/wheels", "inputs/build-wheels", "dist")  # beside $CRAFT_PART_BUILD

OFFLINE = ("--offline", "--no-index")


def default_build(part: Part, context: BuildContext) -> tuple[str, ...]:
    # relative to the folder the build runs in: $CRAFT_PART_BUILD, or its source-subdir
    up = "../" * len(PurePosixPath(part.source_subdir).parts) if part.source_subdir else ""
    wheels, build_wheels, dist = (f"{up}../{name}" for name in INPUTS)
    commands = [
        # pull looked where a part's PIP_*/UV_* said; the build installs only what pull recorded
        "unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL "
        "UV_INDEX_URL UV_EXTRA_INDEX_URL UV_FIND_LINKS UV_INDEX UV_DEFAULT_INDEX",
        f"mkdir -p {wheels} {build_wheels}",  # uv refuses a --find-links folder that does not exist
        shlex.join([str(context.interpreter), "-m", "venv", "--without-pip", "--clear"])
        + ' "$CRAFT_PART_INSTALL"',
    ]
    wanted = [wheel.pin for wheel in context.pulled.wheels] if context.pulled else []
    if context.project:
        commands.append("echo 'partsmith: building the project'")
        build = uv_command(("build", "--wheel", "-q"), context.interpreter, context.uv)
        commands.append(
            shlex.join([*build, *OFFLINE, "--find-links", build_wheels, "--out-dir", dist, "."])
        )
    if wanted or context.project:
        commands.append(f"echo 'partsmith: installing {len(wanted) + context.project} wheels'")
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
            "--find-links",
            wheels,
            *wanted,
        ]
        line = shlex.join(install).replace(
            "'$CRAFT_PART_INSTALL/bin/python'", '"$CRAFT_PART_INSTALL/bin/python"'
        )
        commands.append(line + (f" {dist}/*.whl" if context.project else ""))
    return tuple(commands)
