"""python: a virtual environment at $CRAFT_PART_INSTALL, installed offline from the pulled wheels.

The venv is made without pip (no ensurepip: seconds per part, and a pip of its own per part);
the one pinned pip installs into it from outside with --python. Every pulled wheel is named
explicitly, so each part marks the same packages REQUESTED whether it asked for them or got them
as a dependency; with --no-index pip still checks that every dependency is among them, so a
project whose dependencies changed without its pyproject.toml fails here instead of shipping
without them. The part's own project is built to a wheel first (offline, with
the pulled build requirements), never installed from its folder. normalize.py runs afterwards.
"""
from __future__ import annotations

import shlex

from ..installer import QUIET
from ..workspace import Part
from .context import BuildContext

WHEELS = "../inputs/wheels"  # relative to $CRAFT_PART_BUILD, where default builds run
BUILD_WHEELS = "../inputs/build-wheels"
PROJECT_DIST = "../dist"


def default_build(part: Part, context: BuildContext) -> tuple[str, ...]:
    pip = [*context.installer, *QUIET]
    commands = [
        # pull looked where a part's PIP_* said; the build installs only what pull recorded
        "unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL",
        shlex.join([str(context.interpreter), "-m", "venv", "--without-pip", "--clear"]) + ' "$CRAFT_PART_INSTALL"',
    ]
    wanted = [wheel.pin for wheel in context.pulled.wheels] if context.pulled else []
    if context.project:
        commands.append(shlex.join([*pip, "wheel", "--no-index", "--find-links", BUILD_WHEELS, "--no-deps",
                                    "--wheel-dir", PROJECT_DIST, "."]))
    if wanted or context.project:
        install = [*pip, "--python", "$CRAFT_PART_INSTALL/bin/python", "install", "--no-index",
                   "--no-compile", "--find-links", WHEELS, *wanted]
        line = shlex.join(install).replace("'$CRAFT_PART_INSTALL/bin/python'", '"$CRAFT_PART_INSTALL/bin/python"')
        commands.append(line + (f" {PROJECT_DIST}/*.whl" if context.project else ""))
    return tuple(commands)
