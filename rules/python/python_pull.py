"""pull:<part> for python parts: the part's lock followed, its files in the store; the only step
that may use the network.

A part with a committed lock (`parts.lock/pylock.<part>.toml`, written by `doit lock`) is never
resolved: pull checks that the lock still matches the part (like `uv sync --locked`), fetches
exactly the locked files it lacks into the store by sha256, builds locked sdists into wheels, and
lays out the part's pulled folder. A part without a lock is resolved first, the same way `doit
lock` would, under a pull key, so it too resolves once per set of inputs. What a build installs is
recorded in `pulled/pulled.json`: name, version, file and sha256 of each wheel.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rules.action import interpreter, interpreter_facts
from rules.cache import CachedAction, Produced, Store, Verified, run_cached
from rules.core import (
    SILENT,
    PartsmithError,
    Progress,
    action_lock,
    cache_root,
    digest,
    remove_tree,
    swap_in,
    write_atomic,
)
from rules.tree import capture, copy_checked, hash_file
from rules.workspace import Layout, Workspace

from . import sdists
from .declared import check_declared, declared_suffice
from .errors import PythonError
from .locked_downloads import ensure_in_store
from .pulled_on_demand import record_only
from .pylock import Lock, LockedFile, LockedPackage, load, lock_differences, lock_path
from .records import pull_record
from .requirements import declaration_files
from .requires_python import check_requires_python
from .resolution import lock_inputs, resolve_lock


@dataclass(frozen=True)
class Wheel:
    name: str  # normalized (PEP 503)
    version: str
    file: str
    sha256: str

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Pulled:
    folder: Path
    wheels: tuple[Wheel, ...]  # what the part installs
    build_wheels: tuple[Wheel, ...]  # what building the part's own project needs


def committed_lock(workspace: Workspace, name: str) -> Lock | None:
    """The part's lock, if one is committed; one that no longer matches the part stops here."""
    path = lock_path(workspace.path, name)
    if not path.is_file():
        return None
    lock = load(path)
    changed = lock_differences(lock.inputs, lock_inputs(workspace, name))
    if changed:
        raise PythonError(
            f"part {name!r}: {path} does not match the part any more",
            "\n".join(changed),
            f"Run `doit lock part={name}` (or `doit lock`) and commit the lock.",
        )
    return lock


def _record(workspace: Workspace, name: str, lock: Lock | None) -> dict:
    record = pull_record(workspace, name, declaration_files(workspace, workspace.parts[name]))
    return {**record, "lock": lock.contents()} if lock is not None else record


# writes a pulled source that the store restored in part (its declaration files) whole, before a
# resolution, which reads the whole project
Whole = Callable[[], object]


def _nothing() -> None:
    return None


def pull_python(
    workspace: Workspace, name: str, progress: Progress = SILENT, whole_source: Whole = _nothing
) -> tuple[str, Pulled, str]:
    """Restore the part's pulled wheels from the store, or fetch them; returns what happened,
    what the part now has, and a note on where its files came from. `whole_source`: see Whole."""
    check_declared(workspace, name, whole_source)  # restored in part: enough, or made whole
    layout = Layout(workspace.build_root)
    store = Store(cache_root())
    facts = interpreter_facts(str(interpreter(workspace)))
    source = workspace.project_dir(workspace.parts[name])
    check_requires_python(name, source, facts["version"], facts["implementation"])
    lock = committed_lock(workspace, name)
    record = _record(workspace, name, lock)
    key = digest(record)
    with action_lock(layout.lock(f"{name}.pull"), f"pull:{name}") as fd:
        if python_pull_is_current(workspace, name):  # another doit pulled it while this one waited
            # its wheels may be left in the store (a record-only pull): the build checks them
            return "up to date", load_pulled(layout, name, checked=False), ""
        layout.pull_result(name).unlink(missing_ok=True)
        folder = layout.pulled(name)
        if record_only(store, key, folder):  # the build copies the wheels if it must run
            _write_pull_result(layout, name, key, record)
            return "restored", load_pulled(layout, name, checked=False), LEFT_IN_STORE
        ran = run_cached(
            CachedAction(
                f"pull:{name}",
                store,
                key,
                record,
                folder,
                workspace.source_date_epoch,
                made="fetched",
                produce=lambda: _resolved_and_fetched(
                    workspace, name, lock, store, fd, progress, whole_source
                ),
                publish=lambda fresh, _tree: swap_in(fresh, folder),
            )
        )  # its pulled.json came with it
        _write_pull_result(layout, name, key, record)
        return ran.outcome, load_pulled(layout, name, checked=False), ran.note


LEFT_IN_STORE = "wheels left in the store until a build needs them"


def _write_pull_result(layout: Layout, name: str, key: str, record: dict) -> None:
    layout.pull_result(name).write_text(json.dumps({"key": key, "record": record}, sort_keys=True))


def python_pull_is_current(workspace: Workspace, name: str) -> bool:
    """doit's up-to-date check: what was pulled is what the current record asks for."""
    layout = Layout(workspace.build_root)
    try:
        previous = json.loads(layout.pull_result(name).read_text())["key"]
        if not declared_suffice(workspace, name):
            return False  # a source restored in part that would not give the whole one's key
        record = _record(workspace, name, committed_lock(workspace, name))
        return (layout.pulled(name) / "pulled.json").is_file() and digest(record) == previous
    except (PartsmithError, OSError, ValueError, KeyError):
        return False


def _resolved_and_fetched(
    workspace: Workspace,
    name: str,
    lock: Lock | None,
    store: Store,
    fd: int,
    progress: Progress,
    whole_source: Whole,
) -> Produced:
    """The part's pulled folder made here: resolved first when no lock is committed (from the
    whole project: a source the store restored in part is written whole first)."""
    if lock is None:
        whole_source()
        progress.phase("resolving")
        lock = resolve_lock(workspace, name, keep_open=(fd,), step="pull")
    fetched = _fetched(workspace, name, lock, store, (fd,), progress)
    note = (
        f"{fetched} file{'s' * (fetched != 1)} downloaded, the rest from the store"
        if fetched
        else "every file from the store"
    )
    if workspace.parts[name].plugin == "uv":
        note += "; the versions of its uv.lock"
    elif not lock_path(workspace.path, name).is_file():
        note += "; not locked: resolved now (`doit lock` pins it)"
    folder = Layout(workspace.build_root).pulled(name)
    return Produced(folder, capture(folder, workspace.source_date_epoch).tree, note=note)


def _fetched(
    workspace: Workspace,
    name: str,
    lock: Lock,
    store: Store,
    keep_open: tuple[int, ...],
    progress: Progress,
) -> int:
    """Every locked file into the store (fetched only when missing there), sdists built into
    wheels, then the part's pulled folder laid out from the store; returns how many were fetched."""
    folder = lock_path(workspace.path, name).parent
    fetched = ensure_in_store(
        store, [p.file for p in (*lock.packages, *lock.build)], folder, progress
    )
    wheels = tuple(_wheel(workspace, name, p, store, keep_open, progress) for p in lock.packages)
    build_wheels = tuple(_wheel(workspace, name, p, store, keep_open, progress) for p in lock.build)
    layout = Layout(workspace.build_root)
    out = layout.part_dir(name) / "pulled.new"
    remove_tree(out)
    locked = {p.file.sha256: p.file for p in (*lock.packages, *lock.build)}
    for sub, group in (("wheels", wheels), ("build-wheels", build_wheels)):
        (out / sub).mkdir(parents=True)
        for wheel in group:
            copy = _StoreCopy(store, wheel, out / sub / wheel.file, name)
            fetched += copy.lay_out(locked.get(wheel.sha256), folder, progress)
    _publish(out, Pulled(layout.pulled(name), wheels, build_wheels))
    progress.clear()
    return fetched


@dataclass(frozen=True)
class _StoreCopy:
    """One wheel of the store copied into the part's pulled folder, checked as it is copied."""

    store: Store
    wheel: Wheel
    target: Path
    part: str

    def lay_out(self, locked: LockedFile | None, lock_folder: Path, progress: Progress) -> int:
        """Copy the wheel; a damaged store copy of a locked file is fetched again (pull knows its
        URL and sha256): returns how many files that fetched."""
        if self._copied():
            return 0
        if locked is None:  # a wheel built from an sdist: the next pull builds it again
            raise PythonError(
                f"part {self.part!r}: the store's copy of {self.wheel.file} was damaged and is "
                "removed",
                resolution="Run again: it is built again.",
            )
        ensure_in_store(self.store, [locked], lock_folder, progress)
        if not self._copied():
            raise PythonError(
                f"part {self.part!r}: the store's copy of {self.wheel.file} is damaged again "
                "after it was fetched again",
                resolution=f"Check the disk holding {self.store.root}.",
            )
        return 1

    def _copied(self) -> bool:
        blob = self.store.blob(self.wheel.sha256)
        if copy_checked(blob, self.target, 0o644) == self.wheel.sha256:
            return True
        self.target.unlink()
        blob.unlink()
        return False


def _wheel(
    workspace: Workspace,
    name: str,
    package: LockedPackage,
    store: Store,
    keep_open: tuple[int, ...],
    progress: Progress,
) -> Wheel:
    if package.file.kind == "wheel":
        if not package.file.name.endswith(".whl"):
            raise PythonError(
                f"part {name!r}: package {package.pin}: "
                f"{package.file.name!r} is not a wheel file name"
            )
        return Wheel(package.name, package.version, package.file.name, package.file.sha256)
    progress.phase(f"building {package.pin} from its sdist")
    file, sha256 = sdists.built_wheel(workspace, name, package, store, keep_open)
    return Wheel(package.name, package.version, file, sha256)


def _publish(out: Path, pulled: Pulled) -> None:
    """Replace the part's pulled folder; the record is written last, as the mark of completeness."""
    record = pulled.folder / "pulled.json"
    swap_in(out, pulled.folder, marks=(record,))
    data = {
        "wheels": [w.__dict__ for w in pulled.wheels],
        "build-wheels": [w.__dict__ for w in pulled.build_wheels],
    }
    write_atomic(record, json.dumps(data, indent=1, sort_keys=True) + "\n")


def load_pulled(layout: Layout, name: str, checked: bool = True) -> Pulled:
    """The part's pulled wheels, each checked against the digest pull recorded (`checked`:
    pull has just written them with checked copies, so it does not read them again)."""
    folder = layout.pulled(name)
    try:
        data = json.loads((folder / "pulled.json").read_text())
        wheels = tuple(Wheel(**w) for w in data["wheels"])
        build_wheels = tuple(Wheel(**w) for w in data["build-wheels"])
    except FileNotFoundError:
        raise PythonError(
            f"part {name!r} has not been pulled",
            resolution=f"Run `doit pull:{name}` (or `doit stage`).",
        ) from None
    except (ValueError, KeyError, TypeError):
        raise PythonError(
            f"part {name!r}: {folder / 'pulled.json'} is damaged",
            resolution=f"Run `doit clean pull:{name}`, then run again.",
        ) from None
    if checked:
        _check_wheels(layout, name, {"wheels": wheels, "build-wheels": build_wheels})
    return Pulled(folder, wheels, build_wheels)


def _check_wheels(layout: Layout, name: str, groups: dict[str, tuple[Wheel, ...]]) -> None:
    """Each pulled wheel is the one its pull recorded: hashed, unless its stat is the one it had
    when last hashed right (as the store's blobs: a change of its bytes moves its ctime), so a
    rebuild does not read the part's wheels (115 MB for a large part) again."""
    known = Verified(layout.pulled_verified(name))
    since = time.time_ns()  # before every stat taken here
    for sub, group in groups.items():
        for wheel in group:
            path = layout.pulled(name) / sub / wheel.file
            # recorded by file and digest: one wheel in both groups is two files
            record = hashlib.sha256(f"{sub}/{wheel.file}\0{wheel.sha256}".encode()).hexdigest()
            try:
                info = os.stat(path)
            except OSError:
                info = None
            if info is not None and known.trusts(record, info):
                continue
            if info is None or hash_file(path)[0] != wheel.sha256:
                raise PythonError(
                    f"part {name!r}: pulled wheel {wheel.file} "
                    "is missing or changed since it was pulled",
                    resolution=f"Run `doit clean pull:{name}`, then run again: "
                    "it comes back from the cache or the index.",
                )
            known.record(record, info, since)
    known.save()
