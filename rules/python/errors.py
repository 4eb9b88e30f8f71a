"""The python package's errors."""

from __future__ import annotations

from rules.core import BuildError


class PythonError(BuildError):
    """A python part cannot be resolved, fetched or built: a lock, a wheel, an sdist, uv."""
