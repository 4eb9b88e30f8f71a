"""A workspace file that cannot be loaded (exit 3, nothing ran): every problem, with file:line."""

from __future__ import annotations

from dataclasses import dataclass

from rules.core import PartsmithError


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
