"""What a plugin may use besides the part: facts gathered by the executor, never looked up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.python import Pulled


@dataclass(frozen=True)
class BuildContext:
    interpreter: Path  # the real path of the workspace's python interpreter
    uv: tuple[str, ...]  # the pinned uv with its fixed options, as a command
    pulled: Pulled | None = None  # what pull fetched, for plugins that fetch
    project: bool = False  # the part's source is a python project (pyproject.toml or setup.py)
