"""Which parts ask git for their version, and what their source's git says (action/git_version)."""

from __future__ import annotations

from rules.action import GitVersion, asks_git, git_version
from rules.workspace import Part, Workspace


def asked_git_version(workspace: Workspace, part: Part) -> GitVersion | None:
    """The git facts of a part whose project or scripts ask git for a version."""
    source = workspace.source_dir(part)
    # override-pull sees the checkout's .git itself: only the steps after it need the stand-in
    scripts = (part.override_build, part.override_stage, part.override_prime)
    if source is None or not asks_git(workspace.project_dir(part), scripts):
        return None
    pulled = part.fetch is not None or part.override_pull is not None
    # a pulled source lies in the build root, inside the project's own repository: only a
    # repository of its own (a git source) says its version
    return git_version(source, top_only=pulled)
