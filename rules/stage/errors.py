"""The stage package's errors."""

from __future__ import annotations

from rules.core import BuildError


class StageError(BuildError):
    """Stage or prime cannot be laid out."""
