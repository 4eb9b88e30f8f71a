"""Build one part: compute its key; restore its output from the store on a hit, otherwise plan its
action, give it the staged files of its `after` parts, run it in its sandbox and store the result.
Either way the output is published to parts/<part>/install with its Tree and key beside it.

The previous install folder is replaced only after the new one is complete, so a failed build
leaves what was built before exactly as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rules.action import Action, Built, Manifest, interpreter, run_action, sandbox_paths
from rules.cache import CachedAction, Produced, Spool, Store, run_cached
from rules.core import (
    PartsmithError,
    Progress,
    action_lock,
    cache_root,
    digest,
    remove_tree,
    swap_in,
    write_atomic,
)
from rules.executor import remote_runner
from rules.pull import load_debs, materialize_source, pulled_source_record
from rules.python import (
    PYTHON_VENV,
    Pulled,
    has_project,
    load_pulled,
    materialize_pulled,
    uv_base,
    uv_binary,
)
from rules.stage import placement, reported_if_changed_by_hand, staged
from rules.tree import (
    Entry,
    Placement,
    Take,
    Tree,
    captured_into,
    holds_folders,
    merge,
    moved_from,
    read_manifest,
    update_in_place,
    write_manifest,
)
from rules.workspace import Layout, Workspace

from . import plugins
from .asked_git import asked_git_version
from .build_snaps import snap_folders, snap_inputs
from .errors import PartBuildError
from .key_record import build_record
from .layers import Builder, Layered, build_in_layers, keep_layer, layered, whole_folder
from .plugins.context import BuildContext
from .plugins.python import wheel_input

Outcome = Literal["built", "restored", "up to date"]


# uv as a remotely executed build finds it: an input of the action (as Bazel ships its tools),
# with a cache of the action's own
REMOTE_UV = (
    *("/partsmith/tools/uv", "--no-config", "--no-python-downloads"),
    *("--cache-dir", "/partsmith/tmp/uv-cache"),
)


def plan(workspace: Workspace, name: str, remote: bool = False) -> Action:
    """The part's build action; `remote`: for a remote executor, whose workers have only the
    operating system and the interpreter (the pinned uv travels in the action's tools)."""
    return _planned(workspace, name, remote)[0]


def _planned(workspace: Workspace, name: str, remote: bool) -> tuple[Action, BuildContext]:
    """`plan`'s action, with the facts its plugin's default build was made from."""
    part = workspace.parts[name]
    layout = Layout(workspace.build_root)
    source = workspace.source_dir(part)
    pulled = load_pulled(layout, name) if part.installs_python else None
    context = _context(workspace, name, pulled, remote)
    uv_input = (("tools/uv", Path(uv_binary())),) if remote and part.installs_python else ()
    default_build = plugins.default_build(part, context)
    action = Action(
        part=name,
        source=source,
        build_root=workspace.build_root,
        script=part.override_build if part.override_build is not None else "\n".join(default_build),
        default_build=default_build,
        build_environment=part.build_environment,
        organize=part.organize,
        epoch=workspace.source_date_epoch,
        interpreter=context.interpreter,
        inputs=_inputs(pulled) + snap_inputs(part) + uv_input,
        fix_output=PYTHON_VENV if part.installs_python else None,
        debs=tuple(deb.path for deb in load_debs(layout, part)),
        override_stage=part.override_stage,
        stage=part.stage,
        values=tuple(
            sorted(((pulled_source_record(layout, part) or {}).get("values") or {}).items())
        ),
        copies_source=part.plugin == "dump"
        and part.override_build is None
        and part.override_stage is None
        and part.source_subdir is None,
        subdir=part.source_subdir,
        git=asked_git_version(workspace, part),
        readable=sandbox_paths(workspace) + snap_folders(part),
    )
    return action, context


def _context(workspace: Workspace, name: str, pulled: Pulled | None, remote: bool) -> BuildContext:
    part = workspace.parts[name]
    return BuildContext(
        interpreter(workspace),
        REMOTE_UV if remote else uv_base(network=False),
        pulled,
        part.installs_python and has_project(workspace.project_dir(part)),
    )


def _inputs(pulled: Pulled | None) -> tuple[tuple[str, Path], ...]:
    if pulled is None:
        return ()
    return tuple(
        (wheel_input(group, wheel), pulled.folder / group / wheel.file)
        for group, wheels in (("wheels", pulled.wheels), ("build-wheels", pulled.build_wheels))
        for wheel in wheels
    )


def build_is_current(workspace: Workspace, name: str) -> bool:
    """doit's up-to-date check: the install folder is what the current key's build made."""
    layout = Layout(workspace.build_root)
    try:
        previous = json.loads(layout.result(name).read_text())["key"]
        if not (layout.manifest(name).is_file() and layout.install(name).is_dir()):
            return False
        current: bool = digest(build_record(workspace, name)[0]) == previous
        return current
    except (PartsmithError, OSError, ValueError, KeyError):
        return False  # the action runs and reports whatever is wrong


@dataclass(frozen=True)
class Done:
    outcome: Outcome
    entries: int
    values: dict[str, str]  # what the part's scripts said with `craftctl set`


def build_part(workspace: Workspace, name: str) -> Done:
    """Restore or build part `name`; returns what happened and what the part holds."""
    layout = Layout(workspace.build_root)
    store = Store(cache_root())
    with action_lock(layout.lock(name), f"build:{name}") as lock, store.spooling() as spool:
        record, manifest = build_record(workspace, name)
        key = digest(record)
        if _current_key(layout, name) == key:  # another doit made it while this one waited
            return Done(
                "up to date", len(read_manifest(layout.manifest(name))), layout.built_values(name)
            )
        ran = run_cached(
            CachedAction(
                f"build:{name}",
                store,
                key,
                record,
                layout.install(name),
                workspace.source_date_epoch,
                produce=lambda: _built(workspace, name, layout, lock, (store, spool), manifest),
                publish=lambda folder, tree: _publish(layout, name, folder, tree),
                made="built",
                spool=spool,
            )
        )
        if ran.outcome == "built" and not manifest.listed:  # a kept source, written for the build
            manifest = build_record(workspace, name)[1]  # explain lists its files
        _write_result(layout, name, key, record, manifest, ran.values)
    assert ran.outcome != "fetched"  # a build is made="built"
    return Done(ran.outcome, len(ran.tree), ran.values)


def restore_written_through(workspace: Workspace, name: str) -> Path:
    """The part's install folder was written through a link in stage/ or prime/: it is no longer
    what its key made, so it is restored from the store (or built) anew; returns the folder."""
    layout = Layout(workspace.build_root)
    layout.result(name).unlink(missing_ok=True)
    done = build_part(workspace, name)
    print(f"build:{name}: {done.outcome} again")
    return layout.install(name)


def _current_key(layout: Layout, name: str) -> str | None:
    try:
        key = json.loads(layout.result(name).read_text())["key"]
    except (OSError, ValueError, KeyError):
        return None
    return key if layout.manifest(name).is_file() and layout.install(name).is_dir() else None


def _built(
    workspace: Workspace,
    name: str,
    layout: Layout,
    lock: int,
    cache: tuple[Store, Spool],
    manifest: Manifest,
) -> Produced:
    """Run the part's action and publish its output, which is captured into the store's `spool`
    as it is hashed: storing it then reads nothing again."""
    deps = [staged(workspace, dep) for dep in workspace.dependencies(name)]
    visible = placement(merge(f"staging the parts {name!r} is after", deps))
    sandbox = layout.sandbox(name)
    if workspace.parts[name].installs_python:
        materialize_pulled(layout, name)  # a pull restored without its files: they come now
    if materialize_source(layout, name, workspace.source_date_epoch):  # the same, for a source
        manifest = _restored_as_keyed(workspace, name, manifest)
    with reported_if_changed_by_hand(layout), Progress(f"build:{name}").following(sandbox.log):
        with captured_into(cache[1]):
            output = _output(workspace, name, visible, lock, cache)
    if not output.copied(manifest) and build_record(workspace, name)[1] != manifest:
        raise PartBuildError(
            f"part {name!r}: its source changed while it was being built",
            resolution="Run again once the source is saved.",
        )
    try:
        _published(layout, name, output, workspace.source_date_epoch)
    except OSError as err:
        raise PartBuildError(
            f"part {name!r}: its install folder could not be written: "
            f"{err.strerror or err}: {err.filename or layout.install(name)}",
            resolution="Free some space (or fix the folder's permissions) and run again: the "
            "part counts as not built and is built again.",
        ) from None
    remove_tree(sandbox.root)
    return Produced(layout.install(name), output.tree, output.values)


@dataclass(frozen=True)
class _Output:
    """A finished build, before it is published: whole (one folder holds it all) or in layers."""

    planned: Action
    tree: Tree
    values: dict[str, str]
    built: Built | None = None
    layered: Layered | None = None

    def copied(self, manifest: Manifest) -> bool:
        return self.planned.copy_is_output and _is_copy_of(manifest, self.tree)

    def take(self, epoch: int) -> Take:
        if self.layered is not None:
            return self.layered.take(epoch)
        assert self.built is not None
        return moved_from(str(self.built.folder))

    def whole(self, layout: Layout, epoch: int) -> Path:
        if self.layered is not None:
            return whole_folder(layout, self.planned.part, self.layered, epoch)
        assert self.built is not None
        return self.built.folder


def _output(
    workspace: Workspace, name: str, visible: Placement, lock: int, cache: tuple[Store, Spool]
) -> _Output:
    """The part built in layers where it can be (layers.py), else whole."""
    runner = remote_runner(workspace)
    planned, context = _planned(workspace, name, remote=runner is not None)
    if runner is None and layered(workspace, name, planned, context):
        made = build_in_layers(Builder(workspace, name, planned, context, lock, *cache), visible)
        if made is not None:
            return _Output(planned, made.tree, made.values, layered=made)
    sandbox = Layout(workspace.build_root).sandbox(name)
    result = run_action(planned, sandbox, visible, keep_open=(lock,), runner=runner)
    return _Output(planned, result.tree, result.values, built=result)


def _restored_as_keyed(workspace: Workspace, name: str, keyed: Manifest) -> Manifest:
    """The manifest of a pulled source just written from the store: the one the key named."""
    manifest = build_record(workspace, name)[1]
    if manifest.digest() != keyed.digest():
        Layout(workspace.build_root).pulled_source_record(name).unlink()  # the next run pulls
        raise PartBuildError(
            f"part {name!r}: the pulled source restored from the store is not the one its key "
            "names",
            resolution="Run again: the part is pulled again.",
        )
    return manifest


def _is_copy_of(manifest: Manifest, tree: Tree) -> bool:
    """The key must name the bytes that were built, so the source is walked again after a build.
    dump's copy (no script runs) hashed each file as it copied it: when its Tree is the manifest,
    entry for entry, the bytes built are the keyed ones, whatever happened to the source
    meanwhile."""
    if len(manifest) != len(tree):
        return False
    for path, keyed in manifest.items():
        entry = tree.get(path)
        if entry is None or keyed != _as_manifest_entry(entry):
            return False
    return True


def _as_manifest_entry(entry: Entry) -> tuple:
    if entry.kind == "file":
        return ("file", entry.digest, entry.executable)
    return ("link", entry.target) if entry.kind == "symlink" else ("dir",)


def _publish(layout: Layout, name: str, built: Path, tree: Tree) -> None:
    """Swap `built` in as the part's install folder; its manifest is written last, as the mark
    that the folder is complete (a crash in between leaves a part that counts as not built)."""
    swap_in(built, layout.install(name), marks=(layout.result(name), layout.manifest(name)))
    write_manifest(tree, layout.manifest(name))


def _published(layout: Layout, name: str, output: _Output, epoch: int) -> None:
    """The install folder updated in place, else replaced whole; a layer used in place stays."""
    if _published_in_place(layout, name, output.take(epoch), output.tree, epoch):
        if output.layered is not None:
            keep_layer(layout, name, output.layered)
    else:
        _publish(layout, name, output.whole(layout, epoch), output.tree)


def _published_in_place(layout: Layout, name: str, take: Take, tree: Tree, epoch: int) -> bool:
    """Update the part's install folder in place when it is what the last build made (its marks
    say so): a file that did not change keeps its inode, so stage and prime keep their links to
    it. The marks go first, so a crash halfway leaves a part that counts as not built; False
    (nothing done) when there is no such folder."""
    if _current_key(layout, name) is None:
        return False
    try:
        old = read_manifest(layout.manifest(name))
    except (OSError, ValueError, KeyError):
        return False
    if not holds_folders(layout.install(name), old):
        return False  # a symlink made by hand in place of a folder: never written through
    for mark in (layout.result(name), layout.manifest(name)):
        mark.unlink()
    update_in_place(layout.install(name), old, tree, take, epoch)
    write_manifest(tree, layout.manifest(name))
    return True


def _write_result(
    layout: Layout, name: str, key: str, record: dict, manifest: Manifest, values: dict[str, str]
) -> None:
    """The record for explain first, then the result every no-op reads (the mark)."""
    explained = {"key": key, "record": record, "source": manifest}
    write_atomic(layout.record(name), json.dumps(explained, sort_keys=True))
    write_atomic(layout.result(name), json.dumps({"key": key, "values": values}, sort_keys=True))
