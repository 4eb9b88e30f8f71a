"""The line doit prints after a run: parts built, restored and up to date, entries staged, time."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from doit import get_initial_workdir
from doit.reporter import ConsoleReporter

from rules.core import PartsmithError
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
    stage_record = Layout(workspace.build_root).stage_record

    def version() -> str:
        """snapcraft's adopt-info: the version that part's scripts set with `craftctl set`."""
        if workspace.adopt_info is None:
            return ""
        said = Layout(workspace.build_root).built_values(workspace.adopt_info).get("version")
        return f"; version {said} (adopt-info {workspace.adopt_info})" if said else ""

    def unlocked() -> str:
        """Python parts without a committed lock: their nightly builds follow the index's day."""
        names = [
            name
            for name, part in workspace.parts.items()
            if part.plugin == "python" and not lock_path(workspace.path, name).is_file()
        ]
        return f"; not locked: {', '.join(names)} (`doit lock` pins them)" if names else ""

    class SummaryReporter(ConsoleReporter):
        def __init__(self, outstream, options):
            super().__init__(outstream, options)
            self.started = time.monotonic()
            self.outcomes: dict[str, int] = {"built": 0, "restored": 0, "up to date": 0}
            self.stage_seen = False

        def add_success(self, task):
            super().add_success(task)
            self._note(task, task.values.get("outcome") if isinstance(task.values, dict) else None)

        def skip_uptodate(self, task):
            super().skip_uptodate(task)
            self._note(task, "up to date")

        def _note(self, task, outcome: str | None) -> None:
            if task.name.startswith("build:") and outcome in self.outcomes:
                self.outcomes[outcome] += 1
            self.stage_seen |= task.name == "stage"

        def complete_run(self):
            super().complete_run()
            if sum(self.outcomes.values()) == 0 and not self.stage_seen:
                return
            parts = ", ".join(f"{count} {what}" for what, count in self.outcomes.items())
            staged = ""
            if self.stage_seen and stage_record.is_file():
                staged = f"; {json.loads(stage_record.read_text())['entries']} entries staged"
            seconds = time.monotonic() - self.started
            self.write(
                f"partsmith: parts {parts}{staged}{version()}{unlocked()}; {seconds:.2f} s\n"
            )
            cache.record_run(self.outcomes["restored"], self.outcomes["built"])
            try:
                trimmed = cache.trim_if_bounded()
            except PartsmithError as err:
                trimmed = f"partsmith: cache not trimmed: {err}"
            if trimmed:
                self.write(trimmed + "\n")

    return SummaryReporter
