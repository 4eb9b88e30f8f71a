"""A python part built in two cached layers, as container images are built.

The lower layer is the part's venv with its locked wheels installed, fixed and compiled: an action
of its own, keyed by what decides it alone (key_record.layer_record: the wheels, the interpreter
and toolchain, the epoch, the build-environment), built without the part's source. It is kept
at parts/<part>/layer and in the store. The part's own build then installs only its project, in
a sandbox where that folder is mounted read-only under the install folder (overlayfs, by
bubblewrap): what the build writes lands in an upper folder, which alone is fixed, compiled and
captured; the part's Tree is the layer's with the upper folder's entries over it. An edit of the
project's code therefore installs, compiles, hashes and stores the project alone, and the install
folder is updated in place, so stage and prime relink only what changed.

Only a build whose output is the same either way is layered: a sealed python-plugin build with
its default script and a project of its own (no override-build, override-stage, organize,
stage-packages, build-snaps or git stand-in), on a machine whose bubblewrap can mount the layer.
An upper folder that removed, renamed or replaced anything of the layer, or wrote the venv's own
files, is refused, and the part is built whole, as `doit verify` builds it
(`PARTSMITH_LAYERS=0` does so always). The layer is trusted only while every entry has the stat
data it had when it was made (parts/<part>/layer.json); a layer that moved is restored from the
store, or built again. A first build has no install folder to update: it makes one from the
layer itself, which the next build restores.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from rules.action import Action, LayerRefused, overlays_here, run_action
from rules.cache import CachedAction, Produced, Spool, Store, check_tree, run_cached
from rules.core import Progress, digest, remove_tree, swap_in, write_atomic
from rules.python import PYTHON_VENV, PYTHON_VENV_TOP
from rules.tree import (
    Entry,
    Placement,
    Take,
    Tree,
    copied_from,
    moved_from,
    read_manifest,
    update_in_place,
    write_manifest,
)
from rules.workspace import Layout, Workspace

from .errors import PartBuildError
from .key_record import layer_record
from .plugins.context import BuildContext
from .plugins.python import dependencies_build, is_locked_wheel, project_build

OPT_OUT = "PARTSMITH_LAYERS"  # "0": every part is built whole


@dataclass(frozen=True)
class Layer:
    """The part's layer: its folder, Tree and key, and whether layer.json vouches for it yet."""

    folder: Path
    tree: Tree
    key: str
    noted: bool


@dataclass(frozen=True)
class Layered:
    """A part built in layers: its whole Tree, its layer, and what the build wrote over it."""

    tree: dict[str, Entry]
    values: dict[str, str]
    layer: Layer
    upper: Path
    upper_tree: Tree

    def take(self, epoch: int) -> Take:
        """Each entry from the upper folder (moved: it is removed next), else the layer's copy."""
        moved, copied = moved_from(str(self.upper)), copied_from(str(self.layer.folder), epoch)

        def take(path: str, target: str) -> None:
            (moved if path in self.upper_tree else copied)(path, target)

        return take


@dataclass(frozen=True)
class Builder:
    """What a build in layers runs with: the part's action as planned for a whole build, and
    the part's lock (its descriptor, which every step holds) and the store's spool."""

    workspace: Workspace
    name: str
    planned: Action
    context: BuildContext
    lock: int
    store: Store
    spool: Spool


def layered(workspace: Workspace, name: str, planned: Action, context: BuildContext) -> bool:
    """Whether part `name`, planned whole as `planned`, is built in layers (see above)."""
    part = workspace.parts[name]
    return (
        os.environ.get(OPT_OUT, "1") != "0"
        and context.project
        and planned.fix_output is PYTHON_VENV
        and part.override_build is None
        and part.override_stage is None
        and not (planned.organize or planned.debs or part.build_snaps)
        and planned.git is None
        and overlays_here(Layout(workspace.build_root).root / "sandbox")
    )


def build_in_layers(builder: Builder, visible: Placement) -> Layered | None:
    """Build the part over its layer; None when the build could not be layered (the caller then
    builds it whole). A refusal is remembered in layer.json for the layer's key: the next
    builds go whole at once, until the part's wheels change or `doit clean build:<part>`."""
    layout, name = Layout(builder.workspace.build_root), builder.name
    record = layer_record(builder.workspace, name)
    key = digest(record)
    if _recorded(layout, name).get("refused") == key:
        return None
    layer = _layer(builder, layout, record, key)
    script = project_build(builder.workspace.parts[name], builder.context)
    top = replace(
        builder.planned,
        script="\n".join(script),
        default_build=script,
        layer=layer.folder,
        fix_output=PYTHON_VENV_TOP,
    )
    try:
        result = run_action(top, layout.sandbox(name), visible, keep_open=(builder.lock,))
        tree = _merged(layer.tree, result.tree)
    except LayerRefused as refused:
        print(f"partsmith: build:{name}: built whole ({refused.brief})")
        remove_tree(layer.folder)
        write_atomic(layout.layer_record(name), json.dumps({"refused": key}))
        return None
    return Layered(tree, result.values, layer, result.folder, result.tree)


def _merged(lower: Tree, upper: Tree) -> dict[str, Entry]:
    """The layer's Tree with the upper folder's entries over it: one a capture could have made
    (every parent a folder, every link inside), else the build is made whole. The layer's own
    entries were checked when it was captured: only the upper folder's are, unless it brings a
    link (which may change where a link of the layer leads), and then the whole Tree is."""
    tree = dict(sorted({**lower, **upper}.items()))
    # a link brought, or one of the layer's replaced: where the layer's links lead may change
    linked = any(
        entry.kind == "symlink" or (path in lower and lower[path].kind == "symlink")
        for path, entry in upper.items()
    )
    try:
        check_tree(tree if linked else dict(upper))  # the upper folder holds its own parents
    except ValueError as err:
        raise LayerRefused(f"over the layer: {err}") from None
    for path, entry in upper.items():
        if entry.kind != "dir" and path in lower and lower[path].kind == "dir":
            raise LayerRefused(f"over the layer: {path} replaces a folder of the layer")
    return tree


def keep_layer(layout: Layout, name: str, layered: Layered) -> None:
    """The install folder was updated in place from `layered`: its layer stays for the next
    build, vouched for by layer.json (its Tree, and the stat data of every entry)."""
    layer = layered.layer
    if not layer.noted:
        write_manifest(layer.tree, layout.layer_tree(name))
        stat = _stat_digest(layer.folder, layer.tree)
        write_atomic(layout.layer_record(name), json.dumps({"key": layer.key, "stat": stat}))


def whole_folder(layout: Layout, name: str, layered: Layered, epoch: int) -> Path:
    """The part's complete install folder, made from the layer itself (which is then gone: the
    next build over it restores it from the store) with the upper folder's entries moved in."""
    layer = layered.layer
    if layer.noted and _recorded(layout, name).get("stat") != _stat_digest(
        layer.folder, layer.tree
    ):
        layout.layer_record(name).unlink(missing_ok=True)
        raise PartBuildError(
            f"part {name!r}: its layer (parts/{name}/layer) was changed while it was built over",
            resolution="Run again: the layer is made anew.",
        )
    layout.layer_record(name).unlink(missing_ok=True)
    fresh = layout.install(name).with_name("install.new")
    remove_tree(fresh)
    os.rename(layer.folder, fresh)
    # the layer is as it was made (or checked, when kept): only the upper folder's entries move
    moved = moved_from(str(layered.upper))
    update_in_place(fresh, layer.tree, layered.tree, moved, epoch, checked=False)
    return fresh


# -- the layer -------------------------------------------------------------------------------------


def _layer(builder: Builder, layout: Layout, record: dict, key: str) -> Layer:
    """The part's layer for its current wheels: the one kept, when it is intact; else restored
    from the store, or built."""
    name = builder.name
    kept = _kept(layout, name, key)
    if kept is not None:
        return Layer(layout.layer(name), kept, key, noted=True)
    layout.layer_record(name).unlink(missing_ok=True)
    ran = run_cached(
        CachedAction(
            f"build:{name} (its layer)",
            builder.store,
            key,
            record,
            layout.layer(name),
            builder.workspace.source_date_epoch,
            produce=lambda: _built(builder, layout),
            publish=lambda folder, _tree: swap_in(folder, layout.layer(name)),
            made="built",
            spool=builder.spool,
        )
    )
    return Layer(layout.layer(name), ran.tree, key, noted=False)


def _built(builder: Builder, layout: Layout) -> Produced:
    script = dependencies_build(builder.workspace.parts[builder.name], builder.context)
    lower = replace(
        builder.planned,
        source=None,
        subdir=None,
        script="\n".join(script),
        default_build=script,
        inputs=tuple(pair for pair in builder.planned.inputs if is_locked_wheel(pair[0])),
        values=(),
    )
    sandbox = layout.layer_sandbox(builder.name)
    # the part's own progress line follows its sandbox's log, which is silent meanwhile
    with Progress(f"build:{builder.name}").following(sandbox.log):
        result = run_action(lower, sandbox, {}, keep_open=(builder.lock,))
    swap_in(result.folder, layout.layer(builder.name))
    remove_tree(sandbox.root)
    return Produced(layout.layer(builder.name), result.tree, result.values)


def _recorded(layout: Layout, name: str) -> dict:
    try:
        record = json.loads(layout.layer_record(name).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _kept(layout: Layout, name: str, key: str) -> Tree | None:
    """The kept layer's Tree, when it is the one `key` names and no entry moved since."""
    record = _recorded(layout, name)
    if record.get("key") != key:
        return None
    try:
        tree = read_manifest(layout.layer_tree(name))
        if _stat_digest(layout.layer(name), tree) == record.get("stat"):
            return tree
    except (OSError, ValueError, KeyError):
        pass
    return None


def _stat_digest(folder: Path, tree: Tree) -> str:
    """A digest of every entry's stat data: a write, a removal or an entry added by hand moves
    the ctime (or the mtime) of the entry or of its folder."""
    root = str(folder)
    summary = hashlib.sha256()
    for path in ("", *tree):
        info = os.lstat(f"{root}/{path}" if path else root)
        summary.update(
            f"{path}\0{info.st_ino}\0{info.st_mode}\0{info.st_size}\0{info.st_mtime_ns}\0"
            f"{info.st_ctime_ns}\n".encode()
        )
    return summary.hexdigest()
