"""The build package's errors."""

from __future__ import annotations

from rules.core import BuildError


class PartBuildError(BuildError):
    """A part's build cannot be planned or published."""
