"""Which Python interpreter actions see: its folder goes on the action's PATH."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from .errors import PartsmithError
from .workspace import Workspace


def interpreter(workspace: Workspace) -> Path:
    """The workspace's `python.interpreter`, else the real interpreter behind the running Python."""
    wanted = workspace.python.interpreter
    if wanted is None:
        # sys._base_executable is the interpreter a virtualenv was made from: the same for every
        # venv of one Python, so it does not tie outputs or keys to the caller's venv.
        return Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    found = shutil.which(wanted)
    if found is None:
        raise PartsmithError(
            f"{workspace.path.name}: python.interpreter: {wanted!r} is not an executable on PATH",
            resolution="Install it, or name an interpreter that exists (e.g. python3).",
        )
    return Path(os.path.realpath(found))
