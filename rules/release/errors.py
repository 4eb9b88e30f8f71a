"""The release package's errors."""

from __future__ import annotations

from rules.core import BuildError


class ReleaseError(BuildError):
    """An archive cannot be packed, or a rebuild differs."""
