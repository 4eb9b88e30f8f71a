"""The line doit prints after a run: parts built, restored and up to date, entries staged, time."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from doit import get_initial_workdir
from doit.reporter import ConsoleReporter

from rules.core import PartsmithError, unsealed
from rules.python import lock_path
from rules.workspace import Layout, Workspace

from . import cache_command as cache


def shown(path: Path) -> str:
    """A path as the user would type it: relative to where doit was started when below it."""
    start = get_initial_workdir() or os.getcwd()
    rel = os.path.relpath(path, start)
    return rel if not rel.startswith("..") else str(path)


def summary_reporter(workspace: Workspace) -> type[ConsoleReporter]:
    """doit's console output, plus a summary line when the run touched builds or the stage."""
    return type("SummaryReporter", (SummaryReporter,), {"workspace": workspace})


class SummaryReporter(ConsoleReporter):
    """Counts what the build tasks did; `summary_reporter` gives it the workspace."""

    workspace: Workspace

    def __init__(self, outstream: Any, options: Any) -> None:
        super().__init__(outstream, options)
        self.started = time.monotonic()
        self.outcomes: dict[str, int] = {"built": 0, "restored": 0, "up to date": 0}
        self.stage_seen = False

    def add_success(self, task: Any) -> None:
        super().add_success(task)
        self._note(task, task.values.get("outcome") if isinstance(task.values, dict) else None)

    def skip_uptodate(self, task: Any) -> None:
        super().skip_uptodate(task)
        self._note(task, "up to date")

    def _note(self, task: Any, outcome: str | None) -> None:
        if task.name.startswith("build:") and outcome in self.outcomes:
            self.outcomes[outcome] += 1
        self.stage_seen |= task.name == "stage"

    def complete_run(self) -> None:
        super().complete_run()
        if sum(self.outcomes.values()) == 0 and not self.stage_seen:
            return
        parts = ", ".join(f"{count} {what}" for what, count in self.outcomes.items())
        staged = _staged(self.workspace) if self.stage_seen else ""
        seconds = time.monotonic() - self.started
        said = f"{parts}{staged}{_version(self.workspace)}{_unlocked(self.workspace)}"
        sealing = "; unsealed (PARTSMITH_UNSEALED=1: nothing uploaded)" if unsealed() else ""
        self.write(f"partsmith: parts {said}; {seconds:.2f} s{sealing}\n")
        cache.record_run(self.outcomes["restored"], self.outcomes["built"])
        try:
            trimmed = cache.trim_if_bounded()
        except PartsmithError as err:
            trimmed = f"partsmith: cache not trimmed: {err}"
        if trimmed:
            self.write(trimmed + "\n")


def _staged(workspace: Workspace) -> str:
    stage_record = Layout(workspace.build_root).stage_record
    if not stage_record.is_file():
        return ""
    return f"; {json.loads(stage_record.read_text())['entries']} entries staged"


def _version(workspace: Workspace) -> str:
    """snapcraft's adopt-info: the version that part's scripts set with `craftctl set`."""
    if workspace.adopt_info is None:
        return ""
    said = Layout(workspace.build_root).built_values(workspace.adopt_info).get("version")
    return f"; version {said} (adopt-info {workspace.adopt_info})" if said else ""


def _unlocked(workspace: Workspace) -> str:
    """Python parts without a committed lock: their nightly builds follow the index's day."""
    names = [
        name
        for name, part in workspace.parts.items()
        if part.plugin == "python" and not lock_path(workspace.path, name).is_file()
    ]
    return f"; not locked: {', '.join(names)} (`doit lock` pins them)" if names else ""
