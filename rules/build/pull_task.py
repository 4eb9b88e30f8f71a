"""pull:<part>, composed: build-packages present, the pulled source made (fetched, override-pull
run), stage-packages downloaded, python wheels pulled, in that order (wheels are resolved from the
pulled source). Each piece is current or redone on its own; the task is current when all are.
"""

from __future__ import annotations

from functools import partial

from rules import pull, python
from rules.cache import Store
from rules.core import PartsmithError, Progress, action_lock, cache_root
from rules.workspace import Layout, Part, Workspace

from .build_snaps import say_snaps, snaps_are_said


def pulled_things(part: Part) -> list[str]:
    """What pull:<part> fetches or checks, in the order it does."""
    pieces = {
        "build-packages": bool(part.build_packages),
        "build-snaps": bool(part.build_snaps),
        "source": pull.needs_source_pull(part),
        "stage-packages": bool(part.stage_packages),
        "wheels": part.installs_python,
    }
    return [piece for piece, needed in pieces.items() if needed]


def needs_pull(part: Part) -> bool:
    return bool(pulled_things(part))


def pull_is_current(workspace: Workspace, name: str) -> bool:
    """doit's up-to-date check; whatever goes wrong here, the action runs and reports it."""
    part = workspace.parts[name]
    layout = Layout(workspace.build_root)
    try:
        return (
            all(
                version is not None
                for version in pull.installed_versions(part.build_packages).values()
            )
            and (not part.build_snaps or snaps_are_said(layout, part))
            and (not pull.needs_source_pull(part) or pull.source_is_current(workspace, name))
            and (not part.stage_packages or pull.debs_are_current(layout, part))
            and (not part.installs_python or python.python_pull_is_current(workspace, name))
        )
    except (PartsmithError, OSError):
        return False


def pull_part(workspace: Workspace, name: str) -> tuple[str, dict]:
    """Do what is not current; returns doit's message and values (the summary reads `outcome`)."""
    part = workspace.parts[name]
    layout = Layout(workspace.build_root)
    said: list[str] = []
    installed = pull.ensure_build_packages(part)
    if installed:
        said.append(installed)
    if part.build_snaps and not snaps_are_said(layout, part):
        layout.part_dir(name).mkdir(parents=True, exist_ok=True)
        said.append(say_snaps(layout, part))
    if pull.needs_source_pull(part) and not pull.source_is_current(workspace, name):
        # a python part's pull reads its declaration files: kept with the source, so that a
        # restore from the store writes only those
        declared = (
            partial(python.kept_declarations, workspace, part) if part.installs_python else None
        )
        said.append(pull.pull_source(workspace, name, declared))
    if part.stage_packages and not pull.debs_are_current(layout, part):
        with action_lock(layout.lock(f"{name}.debs"), f"pull:{name}"):
            if not pull.debs_are_current(
                layout, part
            ):  # another doit may have downloaded them meanwhile
                got, stored = pull.download_debs(layout, part, Store(cache_root()))
                said.append(
                    f"downloaded {len(got)} stage-packages "
                    f"({', '.join(f'{d.name}={d.version}' for d in got)})"
                    + (f", {stored} of them from the store" if stored else "")
                )
    outcome = "fetched"
    if part.installs_python:
        whole = partial(pull.materialize_source, layout, name, workspace.source_date_epoch)
        outcome, pulled, note = python.pull_python(workspace, name, Progress(f"pull:{name}"), whole)
        said.append(
            f"{outcome} {len(pulled.wheels)} wheel{'s' * (len(pulled.wheels) != 1)} "
            f"({', '.join(w.pin for w in pulled.wheels)})" + (f"; {note}" if note else "")
        )
    return f"pull:{name}: {'; '.join(said) or 'up to date'}", {"outcome": outcome}
