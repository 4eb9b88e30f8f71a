"""The pull package's errors."""

from __future__ import annotations

from rules.core import BuildError


class PullError(BuildError):
    """A source or a Debian package cannot be pulled."""


class Unreachable(PullError):
    """The repository or archive could not be reached."""
