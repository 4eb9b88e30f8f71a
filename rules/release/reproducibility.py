"""`doit verify`: build every part a second time, bypassing the cache, in another sandbox path and
under varied conditions, and compare the two Trees (like `nix-build --check`, with reprotest's
variations). What differs is printed file by file; the exit status says whether all parts are
reproducible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rules.action import Conditions, run_action, sealed
from rules.build import plan
from rules.core import BuildError, action_lock, remove_tree
from rules.pull import materialize_source
from rules.python import materialize_pulled
from rules.stage import placement, reported_if_changed_by_hand, staged
from rules.tree import Tree, merge, read_manifest
from rules.workspace import Layout, Sandbox, Workspace

from .errors import ReleaseError
from .file_diff import describe

# What a caller might have set: none of it may reach a build (the first build ran without it).
HOSTILE_CALLER = {
    "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
    "PIP_REQUIRE_VIRTUALENV": "1",
    "PIP_NO_COMPILE": "1",
    "UV_INDEX_URL": "http://127.0.0.1:9/simple",
    "UV_LINK_MODE": "symlink",
    "UV_COMPILE_BYTECODE": "1",
    "UV_CACHE_DIR": "/nonexistent-uv-cache",
    "UV_NO_CACHE": "1",
    "PYTHONPATH": "/nonexistent",
    "PYTHONHASHSEED": "12345",
    "PYTHONDONTWRITEBYTECODE": "1",
    "LANG": "fr_FR.UTF-8",
    "LC_ALL": "fr_FR.UTF-8",
    "TZ": "Pacific/Kiritimati",
    "HOME": "/nonexistent-home",
}
HOSTNAME = "partsmith-verify"
FAKETIME = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
)


def conditions() -> tuple[Conditions, list[str]]:
    """The variations this machine allows, and how to name them in the summary."""
    wrapper: list[str] = []
    named = [
        "a sandbox outside the checkout",
        "a hostile caller (umask 077, TZ, locale, HOME, hash seed, PIP_*, UV_*, PYTHON*)",
        "source entries created in reverse order",
    ]
    cpus = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") and len(cpus) > 1:
        wrapper += ["taskset", "-c", str(cpus[-1])]
        named.append("one CPU")
    hostname = ["unshare", "--uts", "/bin/sh", "-c", f'hostname {HOSTNAME} && exec "$@"', "sh"]
    if sealed():  # bubblewrap gives the step a hostname of its own (it has no capability to)
        named.append("another hostname")
    elif shutil.which("unshare") and _works([*hostname, "true"]):
        wrapper += hostname
        named.append("another hostname")
    extra: tuple[tuple[str, str], ...] = ()
    library = next((lib for lib in FAKETIME if os.path.exists(lib)), None)
    if library:
        extra = (("LD_PRELOAD", library), ("FAKETIME", "+397d"), ("DONT_FAKE_MONOTONIC", "1"))
        named.append("the clock 397 days on")
    else:
        named.append("a later second (install faketime to move the clock further)")
    return Conditions(tuple(wrapper), extra, reverse_source=True, hostname=HOSTNAME), named


def _works(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def verify(workspace: Workspace, only: str | None) -> str:
    if only is not None and only not in workspace.parts:
        raise ReleaseError(
            f"verify: no part named {only!r}",
            resolution=f"Choose one of {', '.join(workspace.parts)}.",
        )
    names = [only] if only else workspace.build_order()
    varied, named = conditions()
    problems: list[str] = []
    compared = 0
    # another path, outside the checkout (and its git repository), removed whatever happens
    elsewhere = Path(tempfile.mkdtemp(prefix="partsmith-verify-"))
    try:
        for name in names:
            found, count = _check(workspace, name, varied, elsewhere / "second" / name)
            problems += found
            compared += count
    finally:
        remove_tree(elsewhere)
    if problems:
        bad = sum(1 for line in problems if line.startswith("part "))
        raise ReleaseError(
            f"verify: {bad} of {len(names)} part{'s' if len(names) != 1 else ''} not reproducible",
            "\n".join(problems),
            "Make each listed file independent of the time, randomness, the process, "
            "the host and the build path (SOURCE_DATE_EPOCH, fixed seeds, relative paths), "
            "then run verify again.",
        )
    return (
        f"verify: {len(names)} part{'s' if len(names) != 1 else ''} reproducible, "
        f"{compared} entries identical in two builds (varied: {', '.join(named)})"
    )


def _check(
    workspace: Workspace, name: str, varied: Conditions, place: Path
) -> tuple[list[str], int]:
    layout = Layout(workspace.build_root)
    try:
        first = read_manifest(layout.manifest(name))
    except FileNotFoundError:
        raise ReleaseError(
            f"verify: part {name!r} is not built", resolution="Run `doit stage` first."
        ) from None
    sandbox = Sandbox(place)
    if not dict(varied.extra_env).get("FAKETIME"):
        time.sleep(1 - time.time() % 1)  # at least a later second than the first build's
    if workspace.parts[name].installs_python:  # before the hostile caller moves $HOME (the store)
        materialize_pulled(layout, name)  # a pull restored without its files: they come now
    materialize_source(layout, name, workspace.source_date_epoch)  # the same, for a source
    with action_lock(layout.lock(name), f"verify:{name}") as lock, _hostile_caller():
        deps = [staged(workspace, dep) for dep in workspace.dependencies(name)]
        visible = placement(merge(f"staging the parts {name!r} is after", deps))
        try:
            with reported_if_changed_by_hand(layout):
                second = run_action(
                    plan(workspace, name), sandbox, visible, keep_open=(lock,), conditions=varied
                )
        except BuildError as err:
            return [
                f"part {name!r}: the second build failed: {err.brief}",
                *err.details.splitlines(),
            ], 0
    found = compare(first, layout.install(name), second.capture.tree, second.folder)
    if found:
        paths = sum(1 for line in found if not line.startswith("  "))
        return [
            f"part {name!r}: {paths} path{'s' if paths != 1 else ''} differ between two builds:",
            *[f"  {line}" for line in found],
        ], len(first)
    return [], len(first)


def compare(first: Tree, first_root: Path, second: Tree, second_root: Path) -> list[str]:
    lines: list[str] = []
    for path in sorted(set(first) | set(second)):
        if path not in second:
            lines.append(f"{path}: only in the first build")
        elif path not in first:
            lines.append(f"{path}: only in the second build")
        elif first[path] != second[path]:
            lines += describe(
                path, first[path], second[path], first_root / path, second_root / path
            )
    return lines


@contextmanager
def _hostile_caller() -> Iterator[None]:
    """The caller's environment and umask during the second build, as unfriendly as can be."""
    saved = {name: os.environ.get(name) for name in HOSTILE_CALLER}
    previous_umask = os.umask(0o077)
    os.environ.update(HOSTILE_CALLER)
    try:
        yield
    finally:
        os.umask(previous_umask)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
