"""Layer 3: remote execution: a part's build script sent to an REAPI executor
(PARTSMITH_REMOTE_EXECUTOR) as the sealed action it is, its outputs written back into the sandbox.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.workspace import Workspace

    from .remote_step import RemoteRunner

__all__ = ["remote_runner"]


def remote_runner(workspace: Workspace) -> RemoteRunner | None:
    """The runner of the workspace's builds when PARTSMITH_REMOTE_EXECUTOR names an executor;
    the client and REAPI's messages are imported only then (doit loads this on every start)."""
    if not os.environ.get("PARTSMITH_REMOTE_EXECUTOR", "").strip():
        return None
    from .remote_step import remote_runner as made

    return made(workspace)
