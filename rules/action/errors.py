"""The action package's errors."""

from __future__ import annotations

from rules.core import BuildError


class ActionError(BuildError):
    """A build script failed or made an output partsmith refuses."""
