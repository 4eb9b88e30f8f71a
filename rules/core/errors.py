"""The one exception root: every user mistake is a PartsmithError with brief, details, resolution.

The CLI prints these three fields and exits non-zero; tests assert on the fields. Anything that
is not a PartsmithError is a bug in partsmith and may show a traceback.
"""

from __future__ import annotations


class PartsmithError(Exception):
    def __init__(self, brief: str, details: str = "", resolution: str = "") -> None:
        super().__init__(brief)
        self.brief = brief
        self.details = details
        self.resolution = resolution

    def __str__(self) -> str:
        lines = [self.brief]
        if self.details:
            lines += ["  " + line for line in self.details.splitlines()]
        if self.resolution:
            lines.append(self.resolution)
        return "\n".join(lines)


class BuildError(PartsmithError):
    """A task failed (exit 1): a build script, a refused output, a download. Each package's own
    error base derives from it: ActionError, PythonError, PullError, TreeError, ReleaseError."""
