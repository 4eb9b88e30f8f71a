"""Build one part: plan its action, give it the staged files of its `after` parts, run it in its
sandbox, and publish the result to parts/<part>/install with its Tree beside it.

The previous install folder is replaced only after the new one was captured without error, so a
failed build leaves what was built before exactly as it was.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import action, plugins, stage
from .fsutil import remove_tree
from .layout import Layout
from .locks import action_lock
from .installer import pip_command
from .plugins.context import BuildContext
from .pull import Pulled, has_project, load_pulled
from .toolchain import interpreter
from .tree import write_manifest
from .workspace import Workspace


def plan(workspace: Workspace, name: str) -> action.Action:
    part = workspace.parts[name]
    source = workspace.source_dir(part)
    pulled = load_pulled(Layout(workspace.build_root), name) if part.plugin == "python" else None
    context = BuildContext(interpreter(workspace), pip_command(), pulled, part.plugin == "python" and has_project(source))
    default_build = plugins.default_build(part, context)
    return action.Action(
        part=name,
        source=source,
        build_root=workspace.build_root,
        script=part.override_build if part.override_build is not None else "\n".join(default_build),
        default_build=default_build,
        build_environment=part.build_environment,
        organize=part.organize,
        epoch=workspace.source_date_epoch,
        interpreter_dir=context.interpreter.parent,
        inputs=_inputs(pulled),
        python_venv=part.plugin == "python",
    )


def _inputs(pulled: Pulled | None) -> tuple[tuple[str, Path], ...]:
    if pulled is None:
        return ()
    return tuple(
        [(f"inputs/wheels/{w.file}", pulled.folder / "wheels" / w.file) for w in pulled.wheels]
        + [(f"inputs/build-wheels/{w.file}", pulled.folder / "build-wheels" / w.file) for w in pulled.build_wheels]
    )


def build(workspace: Workspace, name: str) -> int:
    """Build part `name`; returns how many entries its output holds."""
    layout = Layout(workspace.build_root)
    with action_lock(layout.lock(name), f"build:{name}") as lock:
        deps = [stage.staged(workspace, dep) for dep in workspace.dependencies(name)]
        visible = stage.merge(f"staging the parts {name!r} is after", deps)
        sandbox = layout.sandbox(name)
        with stage.reported_if_changed_by_hand(layout):
            result = action.run(plan(workspace, name), sandbox, visible, keep_open=(lock,))
        _publish(layout, name, sandbox.install)
        write_manifest(result.tree, layout.manifest(name))
        remove_tree(sandbox.root)
    return len(result.tree)


def _publish(layout: Layout, name: str, built: os.PathLike) -> None:
    install = layout.install(name)
    old = install.with_name("install.old")
    if os.path.lexists(old):
        remove_tree(old)
    layout.manifest(name).unlink(missing_ok=True)  # no manifest: the part counts as not built
    if os.path.lexists(install):
        os.rename(install, old)
    install.parent.mkdir(parents=True, exist_ok=True)
    os.rename(built, install)
    if os.path.lexists(old):
        remove_tree(old)
