"""The cli package's errors."""

from __future__ import annotations

from rules.core import PartsmithError


class CommandError(PartsmithError):
    """A command given wrong arguments or a wrong environment variable."""
