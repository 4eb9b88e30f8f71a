"""Which parts ask git for their version, and what their source's git says (action/git_version)."""

from __future__ import annotations

from rules.action import GitVersion, asks_git, git_version
from rules.workspace import Part, Workspace


def asked_git_version(workspace: Workspace, part: Part) -> GitVersion | None:
    """The git facts of a part whose project or scripts ask git for a version."""
    source = workspace.source_dir(part)
    scripts = (part.override_pull, part.override_build, part.override_stage, part.override_prime)
    if source is None or not asks_git(source, scripts):
        return None
    return git_version(source)
