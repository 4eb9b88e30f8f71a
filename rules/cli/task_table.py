"""Turn a workspace into doit tasks: pull:<part>, build:<part>, stage, prime, explain:<part>,
cache, cache-trim.

doit decides what runs and in what order. pull and build are up to date when the key of their
current record is the key of what they last produced (computed when doit asks, after the tasks
they depend on ran); their actions then restore from the store or run. stage and prime use doit's
own checks: file_dep on the parts' Trees, config_changed on filesets and the epoch. Task actions
return doit's TaskFailed for user mistakes, so they print a short message, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from doit import get_initial_workdir, get_var
from doit.exceptions import InvalidDodoFile, TaskFailed
from doit.tools import config_changed

from rules.action import interpreter
from rules.build import (
    build_is_current,
    build_part,
    explain,
    needs_pull,
    pull_is_current,
    pull_part,
    pulled_things,
    restore_written_through,
)
from rules.cache import executor_from_environment, remote_from_environment
from rules.core import PartsmithError, remove_tree
from rules.stage import farm_is_intact, prime_parts, stage_parts
from rules.workspace import Layout, Workspace, load_workspace

from . import cache_command as cache
from .doit_checker import StatChecker
from .reporter import shown, summary_reporter


def doit_globals(workspace_arg: str | None, default: str, verify_part: str | None = None) -> dict:
    """What a dodo.py exposes: DOIT_CONFIG and task_* functions for the chosen workspace.

    `workspace=` is relative to the folder doit was started from; the default is relative to the
    dodo.py folder (doit's working folder). A broken workspace stops doit before any task runs.
    """
    base = get_initial_workdir() if workspace_arg else os.getcwd()
    path = Path(base or os.getcwd(), workspace_arg or default)
    workspace = _prepared(path)
    layout = Layout(workspace.build_root)
    return {
        "DOIT_CONFIG": {
            "dep_file": str(layout.doit_db),
            "backend": "sqlite3",  # one file per build root, safe for several processes
            "check_file_uptodate": StatChecker,
            "default_tasks": ["stage"],
            "verbosity": 2,
            "reporter": summary_reporter(workspace),
        },
        "task_pull": lambda: _pull_tasks(workspace),
        "task_build": lambda: _build_tasks(workspace),
        "task_explain": lambda: _explain_tasks(workspace),
        "task_cache": _cache_tasks,
        "task_stage": lambda: _stage_task(workspace),
        "task_prime": lambda: _prime_task(workspace),
        "task_pack": lambda: _pack_task(workspace),
        "task_verify": lambda: _verify_task(workspace, verify_part),
        "task_lock": lambda: _lock_task(workspace, verify_part),
    }


def _prepared(path: Path) -> Workspace:
    """The workspace, checked with what the tasks will need, and its build root made: a broken
    one stops doit before any task runs."""
    try:
        workspace = load_workspace(path)
        interpreter(workspace)  # a missing python.interpreter stops doit here, before any task
        if os.environ.get("PARTSMITH_CACHE_MAX_SIZE"):
            cache.parse_size(os.environ["PARTSMITH_CACHE_MAX_SIZE"])
        remote_from_environment()  # a malformed PARTSMITH_REMOTE_CACHE stops doit here
        executor_from_environment()  # and so does a malformed PARTSMITH_REMOTE_EXECUTOR
        Layout(workspace.build_root).root.mkdir(parents=True, exist_ok=True)
    except (PartsmithError, ValueError) as err:
        raise InvalidDodoFile(str(err)) from None
    except OSError as err:
        raise InvalidDodoFile(f"cannot prepare the build root of {path}: {err}") from None
    if workspace.unused:  # snap metadata: said once, so nobody expects partsmith to act on it
        unused = ", ".join(workspace.unused)
        print(
            f"partsmith: {shown(workspace.path)}: not used for building: {unused}", file=sys.stderr
        )
    return workspace


def _outcome(work: Callable[[], str | tuple[str, dict]]) -> Callable[[], TaskFailed | dict | None]:
    """A doit python-action that prints `work`'s message (and hands doit its values, which the
    summary reads), or fails with the error's text."""

    def action() -> TaskFailed | dict | None:
        try:
            done = work()
            message, values = done if isinstance(done, tuple) else (done, None)
            print(message)
            return values
        except PartsmithError as err:
            return TaskFailed(str(err))
        except OSError as err:  # the machine, not partsmith: a full disk, a permission, a lost file
            return TaskFailed(
                f"{err.strerror or err}: {err.filename or ''}\nCheck the path and run again."
            )
        except KeyboardInterrupt:
            return TaskFailed("interrupted: nothing of this task was kept; run again to finish")

    return action


def _pull_tasks(workspace: Workspace) -> Iterator[dict]:
    yield {
        "basename": "pull",
        "name": None,
        "doc": "fetch what parts need (the only step that may use the network)",
    }
    layout = Layout(workspace.build_root)
    for name, part in workspace.parts.items():
        if not needs_pull(part):
            yield {
                "name": name,
                "actions": None,
                "doc": f"fetch what part {name} needs (nothing to fetch)",
            }
            continue
        yield {
            "name": name,
            "doc": f"fetch what part {name} needs: {', '.join(pulled_things(part))}",
            "actions": [_outcome(partial(pull_part, workspace, name))],
            "uptodate": [lambda task, values, name=name: pull_is_current(workspace, name)],
            # records first: a clean cut short leaves nothing that counts as pulled
            "clean": [(Path.unlink, [layout.pulled_source_record(name), True])]
            + [
                (remove_tree, [path])
                for path in (
                    layout.pulled(name),
                    layout.pulled_verified(name),
                    layout.pulled_source(name),
                    layout.declared_source(name),
                    layout.debs(name),
                )
            ],
        }


def _build_tasks(workspace: Workspace) -> Iterator[dict]:
    yield {
        "basename": "build",
        "name": None,
        "doc": "build every part as a hermetic action (or restore it from the cache)",
    }
    layout = Layout(workspace.build_root)
    for name, part in workspace.parts.items():
        yield {
            "name": name,
            "doc": f"build part {name} ({part.plugin})",
            "actions": [_outcome(partial(_built, workspace, name))],
            "task_dep": [f"pull:{name}"] + [f"build:{dep}" for dep in part.after],
            # the part's key decides, computed when doit asks (after the parts it is after ran)
            "uptodate": [lambda task, values, name=name: build_is_current(workspace, name)],
            "targets": [str(layout.manifest(name)), str(layout.install(name))],
            "clean": [(remove_tree, [layout.part_dir(name)])],
        }


def _built(workspace: Workspace, name: str) -> tuple[str, dict]:
    done = build_part(workspace, name)
    where = shown(Layout(workspace.build_root).install(name))
    said = "".join(f", {key} {value}" for key, value in sorted(done.values.items()))  # craftctl set
    return f"build:{name}: {done.outcome}, {_entries(done.entries)} in {where}{said}", {
        "outcome": done.outcome
    }


def _explain_tasks(workspace: Workspace) -> Iterator[dict]:
    yield {
        "basename": "explain",
        "name": None,
        "doc": "say why a part would rebuild, or that it is up to date",
    }
    for name in workspace.parts:
        yield {
            "name": name,
            "doc": f"why part {name} would rebuild",
            "actions": [_outcome(partial(explain, workspace, name))],
        }


def _cache_tasks() -> Iterator[dict]:
    yield {
        "basename": "cache",
        "doc": "show the cache's size, entries and last run ($PARTSMITH_CACHE_DIR)",
        "actions": [_outcome(cache.show)],
        "uptodate": [False],
    }
    yield {
        "basename": "cache-trim",
        "doc": "evict least recently used entries down to $PARTSMITH_CACHE_MAX_SIZE",
        "actions": [_outcome(cache.trim)],
        "uptodate": [False],
    }


def _stage_task(workspace: Workspace) -> dict:
    layout = Layout(workspace.build_root)
    return {
        "doc": "merge every part's staged files into <build-root>/stage (fails on divergent files)",
        "actions": [_outcome(lambda: _staged(workspace))],
        "task_dep": [f"build:{name}" for name in workspace.parts],
        "file_dep": [str(layout.manifest(name)) for name in workspace.parts],
        "uptodate": [
            config_changed(
                {
                    "epoch": workspace.source_date_epoch,
                    "stage": {n: list(p.stage) for n, p in workspace.parts.items()},
                }
            ),
            lambda task, values: farm_is_intact(
                layout.stage, workspace.source_date_epoch, _linked_from(workspace, "stage")
            ),
        ],
        "targets": [str(layout.stage)],
        "clean": [(remove_tree, [path]) for path in (layout.stage, layout.stage_records)]
        + [(Path.unlink, [layout.stage_record, True])],
    }


def _linked_from(workspace: Workspace, step: str) -> list[Path] | None:
    """Every folder holding links to the inodes stage's and prime's entries are: the parts'
    install folders, and the other farm (a write through a link in prime is a write in stage);
    None with an override-prime (its output is made anew each run: not watched)."""
    if any(p.override_prime is not None for p in workspace.parts.values()):
        return None
    layout = Layout(workspace.build_root)
    other = layout.prime if step == "stage" else layout.stage
    return [layout.install(name) for name in workspace.parts] + [other]


def _staged(workspace: Workspace) -> str:
    count = stage_parts(workspace, lambda part: restore_written_through(workspace, part))
    where = shown(Layout(workspace.build_root).stage)
    return f"stage: {_entries(count)} from {len(workspace.parts)} parts in {where}"


def _prime_task(workspace: Workspace) -> dict:
    layout = Layout(workspace.build_root)
    return {
        "doc": "select each part's prime fileset into <build-root>/prime",
        "actions": [_outcome(lambda: _primed(workspace))],
        "task_dep": ["stage"],
        "file_dep": [str(layout.manifest(name)) for name in workspace.parts],
        "uptodate": [
            config_changed(
                {
                    "epoch": workspace.source_date_epoch,
                    "filesets": {
                        n: [list(p.stage), list(p.prime)] for n, p in workspace.parts.items()
                    },
                }
            ),
            lambda task, values: farm_is_intact(
                layout.prime, workspace.source_date_epoch, _linked_from(workspace, "prime")
            ),
        ],
        "targets": [str(layout.prime)],
        "clean": [(remove_tree, [path]) for path in (layout.prime, layout.prime_records)]
        + [(Path.unlink, [layout.prime_record, True])],
    }


def _primed(workspace: Workspace) -> str:
    count = prime_parts(workspace, lambda part: restore_written_through(workspace, part))
    return f"prime: {_entries(count)} in {shown(Layout(workspace.build_root).prime)}"


def _pack_task(workspace: Workspace) -> dict:
    layout = Layout(workspace.build_root)
    archive = layout.root / "dist" / f"{workspace.name}.tar.gz"
    return {
        "doc": "prime as a reproducible <build-root>/dist/<name>.tar.gz and its .sha256",
        "actions": [_outcome(lambda: _packed(workspace))],
        "task_dep": ["prime"],
        "file_dep": [str(layout.prime_record)],
        "uptodate": [
            config_changed({"name": workspace.name, "epoch": workspace.source_date_epoch}),
            lambda task, values: _intact(archive),
        ],
        "targets": [str(archive), str(archive) + ".sha256"],
        "clean": [(remove_tree, [layout.root / "dist"])],
    }


def _verify_task(workspace: Workspace, only: str | None) -> dict:
    names = list(workspace.parts) if only is None else [only] if only in workspace.parts else []
    return {
        "doc": "build every part again elsewhere, under varied conditions, and compare "
        "(part=NAME for one)",
        "actions": [_outcome(lambda: _verified(workspace, only))],
        "task_dep": [f"build:{name}" for name in names],
        "uptodate": [False],
    }


def _lock_task(workspace: Workspace, only: str | None) -> dict:
    return {
        "doc": "resolve the python parts into parts.lock/pylock.<part>.toml "
        "(part=NAME, upgrade=PKG, check=1)",
        "actions": [_outcome(lambda: _locked(workspace, only))],
        "uptodate": [False],
    }


def _locked(workspace: Workspace, only: str | None) -> str:
    from . import lock_command as locking

    if get_var("check"):
        return locking.check(workspace, only)
    return locking.lock(workspace, only, get_var("upgrade"))


# pack and verify (with tarfile, zipfile, difflib) are imported when their task runs, not on
# every doit start-up: a no-op `doit stage` should cost little more than doit itself.
def _packed(workspace: Workspace) -> str:
    from rules.release import pack

    return pack(workspace)


def _intact(archive: Path) -> bool:
    from rules.release import archive_is_intact

    return archive_is_intact(archive)


def _verified(workspace: Workspace, only: str | None) -> str:
    from rules.release import verify

    return verify(workspace, only)


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"
