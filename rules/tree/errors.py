"""What goes wrong with Trees: parts that ship one path with different contents, and a file
whose bytes are no longer the ones its Tree recorded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rules.core import BuildError


class TreeError(BuildError):
    """The base of the tree package's errors."""


@dataclass(frozen=True)
class Conflict:
    """Two parts ship the same path with different contents."""

    path: str
    part_a: str
    part_b: str
    difference: str

    def __str__(self) -> str:
        return f"{self.path}: {self.part_a} vs {self.part_b}: {self.difference}"


class StageConflictError(TreeError):
    def __init__(self, step: str, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        paths = len({c.path for c in conflicts})
        super().__init__(
            f"{step} failed: {paths} path{'s differ' if paths != 1 else ' differs'} between parts",
            "\n".join(str(c) for c in conflicts),
            "Keep one copy: exclude the path from all but one part with a `stage` fileset "
            "(e.g. stage: ['*', '-the/path']) or move it with `organize`.",
        )


class ChangedSince(TreeError):
    """A file's bytes are not the ones its Tree recorded (a part's install edited by hand)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} changed since its Tree was written")
        self.path = path
