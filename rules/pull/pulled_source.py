"""A part's pulled source: what `pull:<part>` makes of the part's `source` when a build cannot use
the folder as written: a git repository or tar archive fetched, and/or override-pull run on a
copy (as in craft-parts, where override-pull changes $CRAFT_PART_SRC before anything else runs).

It lives in <build-root>/parts/<part>/src, with src.json written last: the digest of the record it
was made from, what the source resolved to, what override-pull said with `craftctl set`, and the
digest of the folder's manifest. Each time doit asks, the record is made again (a moved tag is a
new record) and the folder is checked against its manifest, so a folder changed by hand or half
removed is pulled again, never built. The folder is also kept in the store under the record's
digest (kept_source.py): a wiped build root gets it back without a fetch or override-pull.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path

from rules.action import interpreter, pulled_by_script, source_manifest, stat_cache
from rules.core import action_lock, digest, remove_tree, swap_in, write_atomic
from rules.workspace import Layout, Part, Workspace

from . import source_fetch as fetch
from .errors import Unreachable
from .kept_source import (
    forget_folder,
    is_kept,
    keep_source,
    kept_key,
    kept_said,
    restore_declared,
    restored_source,
)


def needs_source_pull(part: Part) -> bool:
    return part.fetch is not None or part.override_pull is not None


def source_is_current(
    workspace: Workspace, name: str, record: Callable[[], dict] | None = None
) -> bool:
    """`record` makes the part's pull record when the caller keeps it (making it walks every
    file of a local source)."""
    layout = Layout(workspace.build_root)
    try:
        previous = json.loads(layout.pulled_source_record(name).read_text())
        folder = layout.pulled_source(name)
        if folder.is_dir():
            if previous["manifest"] != folder_digest(workspace, folder):
                return False
        elif not (previous.get("kept") and is_kept(previous["kept"])):
            return False  # neither the folder nor the store's copy of it
    except (OSError, ValueError, KeyError, TypeError):
        return False
    try:
        made = (record or partial(_record, workspace, name))()
        current: bool = previous["record"] == digest(made)
        return current
    except Unreachable as err:
        print(
            f"partsmith: warning: {err.brief}; "
            f"building the source fetched before ({previous['resolved'][:12]})"
        )
        return True


def pull_source(workspace: Workspace, name: str, declared: Callable[[], dict] | None = None) -> str:
    """Make the part's pulled source; returns what happened, for doit's output. `declared`: what
    a python part's pull reads (`paths`, relative to the source, and the `check` its pull makes
    of them), kept with the source so that a restore from the store writes only those."""
    layout = Layout(workspace.build_root)
    dest = layout.pulled_source(name)
    with action_lock(layout.lock(f"{name}.source"), f"pull:{name}") as lock:
        record = cache(partial(_record, workspace, name))  # made once, if needed
        if source_is_current(workspace, name, record):  # another doit made it meanwhile
            return "source up to date"
        made_from = record()  # before the pull: what the new folder is made from
        key = kept_key(workspace, made_from)
        if (stored := kept_said(key)) is not None:
            return _from_store(workspace, name, digest(made_from), key, stored)
        resolved, said, values = _made(workspace, name, dest, lock)
        remove_tree(layout.declared_source(name))  # an older restore's: the folder is here now
        kept = {"resolved": resolved, "values": values, "manifest": folder_digest(workspace, dest)}
        if declared is not None:
            kept["declared"] = declared()
        written = {"record": digest(made_from), **kept}
        if kept_as := keep_source(workspace, dest, made_from, kept):
            written["kept"] = kept_as
        write_atomic(layout.pulled_source_record(name), json.dumps(written, sort_keys=True))
    return "; ".join(said)


def _made(workspace: Workspace, name: str, dest: Path, lock: int) -> tuple[str, list[str], dict]:
    """The source fetched and/or changed by override-pull, swapped in at `dest` (untrusted until
    recorded); returns what it resolved to, what to say and what override-pull said."""
    part = workspace.parts[name]
    dest.parent.mkdir(parents=True, exist_ok=True)
    resolved, said, values = "", [], {}
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix="src.") as temp:
        made = Path(temp, "pulled")  # the old source stays trusted until this one is complete
        if part.fetch is not None:
            resolved = fetch.fetch_into(part, _empty(Path(temp, "fetched")))
            said.append(f"fetched {part.fetch.kind} source {resolved[:12]}")
            source = Path(temp, "fetched")
        else:
            source = workspace.local_source(part) or _empty(Path(temp, "empty"))
        if part.override_pull is not None:
            values = pulled_by_script(workspace, name, source, made, keep_open=(lock,))
            said.append(
                "ran override-pull" + "".join(f", {k} {v}" for k, v in sorted(values.items()))
            )
        else:
            os.rename(source, made)
        marks = (Layout(workspace.build_root).pulled_source_record(name),)
        swap_in(made, dest, marks=marks)
    return resolved, said, values


def _from_store(workspace: Workspace, name: str, made_from: str, key: str, said: dict) -> str:
    """The pull the store kept under this record: only its record is written, and for a python
    part the files its pull reads (those that declare its project and requirements; a source
    kept without their list is written whole)."""
    layout = Layout(workspace.build_root)
    layout.pulled_source_record(name).unlink(missing_ok=True)  # the old folder is not trusted
    forget_folder(layout.pulled_source(name))
    remove_tree(layout.declared_source(name))
    layout.part_dir(name).mkdir(parents=True, exist_ok=True)
    written = {"record": made_from, **said, "kept": key}
    write_atomic(layout.pulled_source_record(name), json.dumps(written, sort_keys=True))
    later = "its files come when a build runs"
    if not workspace.parts[name].installs_python:
        return f"source restored from the cache ({later})"
    declared = said.get("declared")
    if isinstance(declared, dict) and isinstance(declared.get("paths"), list):
        count = restore_declared(layout, name, declared["paths"], workspace.source_date_epoch)
        return f"source restored from the cache ({count} declaration files now, {later})"
    restored_source(layout, name, workspace.source_date_epoch)
    return "source restored from the cache"


def pulled_source_record(layout: Layout, part: Part) -> dict | None:
    """What the build key takes from the pulled source: what it resolved to and what
    override-pull said (its files enter the key through the folder's manifest)."""
    if not needs_source_pull(part):
        return None
    data = json.loads(layout.pulled_source_record(part.name).read_text())
    return {"resolved": data["resolved"], "values": data["values"]}


def folder_digest(workspace: Workspace, folder: Path) -> str:
    """The folder as a build sees it: without `.git`, whose bytes differ between clones."""
    manifest = source_manifest(folder, (workspace.build_root, folder / ".git"), stat_cache(folder))
    return manifest.digest()


def _record(workspace: Workspace, name: str) -> dict:
    part = workspace.parts[name]
    record: dict = {
        "override-pull": part.override_pull,
        "build-environment": [list(p) for p in part.build_environment],
        "source-date-epoch": workspace.source_date_epoch,
        "interpreter": str(interpreter(workspace)),
    }
    if part.fetch is not None:
        record["fetch"] = {
            **part.fetch.config(),
            "url": part.fetch.url,
            "resolved": fetch.resolve_ref(part),
        }
    elif (local := workspace.local_source(part)) is not None:
        record["source"] = folder_digest(workspace, local)
        record["git"] = _git_facts(
            local
        )  # override-pull may ask git (a version from `git describe`)
    return record


def _git_facts(folder: Path) -> list[str]:
    """HEAD and `git describe` of a source that is a git checkout: what an override-pull asking
    git can see, without the bytes of `.git` (a `git status` rewrites its index)."""
    if not (folder / ".git").exists():
        return []
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C.UTF-8",
        "GIT_OPTIONAL_LOCKS": "0",
    }  # asking must not write to the user's repository
    facts = []
    for args in (["rev-parse", "HEAD"], ["describe", "--tags", "--always"]):
        result = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, env=env
        )
        facts.append(result.stdout.strip())
    return facts


def _empty(folder: Path) -> Path:
    folder.mkdir()
    return folder
