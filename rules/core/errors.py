"""The one exception root: every user mistake is a PartsmithError with brief, details, resolution.

The CLI prints these three fields and exits non-zero; tests assert on the fields. Anything that
is not a PartsmithError is a bug in partsmith and may show a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class Problem:
    """One mistake found in a workspace file: where it is and what is wrong."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class WorkspaceError(PartsmithError):
    """A workspace file that cannot be loaded; lists every problem at once."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        super().__init__(
            f"cannot load workspace {path}: {count} problem{'s' if count != 1 else ''}",
            "\n".join(str(p) for p in problems),
            f"Fix {'these' if count != 1 else 'this'} in {path} and run again.",
        )


class BuildError(PartsmithError):
    """A part's action failed or produced an output partsmith refuses."""


@dataclass(frozen=True)
class Conflict:
    """Two parts ship the same path with different contents."""

    path: str
    part_a: str
    part_b: str
    difference: str

    def __str__(self) -> str:
        return f"{self.path}: {self.part_a} vs {self.part_b}: {self.difference}"


class StageConflictError(PartsmithError):
    def __init__(self, step: str, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        paths = len({c.path for c in conflicts})
        super().__init__(
            f"{step} failed: {paths} path{'s differ' if paths != 1 else ' differs'} between parts",
            "\n".join(str(c) for c in conflicts),
            "Keep one copy: exclude the path from all but one part with a `stage` fileset "
            "(e.g. stage: ['*', '-the/path']) or move it with `organize`.",
        )
