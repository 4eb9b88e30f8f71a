"""A locked sdist becomes a wheel in a hermetic action, normalized, and cached by the sdist's
sha256 (with the toolchain): two machines with the same toolchain build the same bytes, and a
machine builds it once. `uv build --wheel` builds it, in an isolated environment of its
build requirements from where the workspace's `python:` says (pull may use the network).

Normalized: members in sorted order (RECORD last), every time SOURCE_DATE_EPOCH, modes 0644 or
0755, so the wheel's bytes depend on what the backend wrote, not when or by whom.
"""

from __future__ import annotations

import shlex
import tarfile
import time
import zipfile
from pathlib import Path

from rules.action import (
    caller_umask_ignored,
    execute,
    interpreter,
    part_step,
    prepare_sandbox,
    seen,
)
from rules.cache import Store
from rules.core import RULES_VERSION, atomic_file, digest, remove_tree, uv_cache
from rules.tree import capture
from rules.workspace import Layout, Sandbox, Workspace

from .errors import PythonError
from .pylock import LockedPackage
from .records import toolchain_record
from .resolution import PIP_VARIABLES, build_hint, explaining_lines
from .uv import index_options, uv_command


def built_wheel(
    workspace: Workspace,
    part: str,
    package: LockedPackage,
    store: Store,
    keep_open: tuple[int, ...] = (),
) -> tuple[str, str]:
    """(file name, sha256) of the wheel built from `package`'s sdist, which is in the store."""
    record = {
        "rule": "sdist-wheel",
        "rules-version": RULES_VERSION,
        "sdist": package.file.sha256,
        "package": package.pin,
        "source-date-epoch": workspace.source_date_epoch,
        "toolchain": toolchain_record(workspace),
        "index-url": workspace.python.index_url or "",
        "built": "unpacked at a fixed path, mapped out of what compiles",
    }
    key = digest(record)
    cached = store.get(key)
    if cached is not None and len(cached.tree) == 1:
        ((name, entry),) = cached.tree.items()
        if store.blob(entry.digest).is_file():
            return name, entry.digest
    out = _build(workspace, part, package, store, keep_open)
    tree = capture(out, workspace.source_date_epoch).tree
    store.put(key, record, tree, out)
    remove_tree(out.parent)
    ((name, entry),) = tree.items()
    return name, entry.digest


def _build(
    workspace: Workspace,
    part: str,
    package: LockedPackage,
    store: Store,
    keep_open: tuple[int, ...],
) -> Path:
    sandbox = Sandbox(Layout(workspace.build_root).root / "sandbox" / f"{part}.sdist")
    prepare_sandbox(sandbox)
    with caller_umask_ignored():
        sandbox.build.mkdir(parents=True)
        tree = _unpacked(store.blob(package.file.sha256), package, sandbox.build, part)
        (sandbox.root / "out").mkdir()
    command = [
        *uv_command(("build", "--wheel"), interpreter(workspace)),
        *index_options(workspace.python),
        "--out-dir",
        "../out",
        tree,
    ]
    status = execute(
        part_step(workspace, part, sandbox, keep_open, network=True),
        "\n".join([PIP_VARIABLES, *_mapped_out(seen(sandbox).root), shlex.join(command)])
        + ' "${uv_args[@]}"',
    )
    wheels = sorted((sandbox.root / "out").glob("*.whl"))
    if status != 0 or len(wheels) != 1:
        lines = sandbox.log.read_text(errors="replace").splitlines()
        raise PythonError(
            f"part {part!r}: package {package.pin}: its sdist {package.file.name} failed to build",
            "\n".join(explaining_lines(lines)),
            f"{_capitalized(build_hint(lines))} The full log is {sandbox.log}",
        )
    normalize_wheel(wheels[0], workspace.source_date_epoch)
    for path in (sandbox.root / "out").iterdir():
        if path not in wheels:
            remove_tree(path) if path.is_dir() else path.unlink()
    return sandbox.root / "out"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _unpacked(archive: Path, package: LockedPackage, folder: Path, part: str) -> str:
    """The sdist unpacked into `folder` (no absolute paths, no links out); returns its tree's
    name. Built from there, not by uv from a temporary folder of random name, the sources lie at
    the same path in every build."""
    name = package.file.name
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as unzip:
                unzip.extractall(folder)
        else:
            with tarfile.open(archive) as untar:
                untar.extractall(folder, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as err:
        raise PythonError(
            f"part {part!r}: package {package.pin}: {name} cannot be unpacked: {err}"
        ) from None
    trees = [entry.name for entry in folder.iterdir() if entry.is_dir()]
    if len(trees) != 1:
        raise PythonError(
            f"part {part!r}: package {package.pin}: {name} is not an sdist: "
            "it holds no single top folder"
        )
    return trees[0]


def _mapped_out(root: Path) -> list[str]:
    """Compilers record where they ran (debug information, __FILE__): the sandbox's path is
    mapped to /build, and uv's cache (where the isolated build environment and its headers
    lie) to /uv-cache, in what C, C++ and Fortran sources compile, as reproducible Debian builds
    do, after whatever flags the part's build-environment set."""
    maps = (
        f"-ffile-prefix-map={root}=/build",
        f"-ffile-prefix-map={uv_cache()}=/uv-cache",
    )
    option = shlex.quote(" ".join(maps))
    return [
        f'export {flags}="${{{flags}:-}} "{option}'
        for flags in ("CFLAGS", "CXXFLAGS", "FFLAGS", "FCFLAGS")
    ]


def normalize_wheel(path: Path, epoch: int) -> None:
    """Rewrite the wheel with sorted members, fixed times and modes (its RECORD stays valid)."""
    when = _zip_time(epoch)
    with (
        zipfile.ZipFile(path) as source,
        atomic_file(path) as fresh,
        zipfile.ZipFile(fresh, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        members = sorted(
            source.infolist(),
            key=lambda info: (info.filename.endswith(".dist-info/RECORD"), info.filename),
        )
        for info in members:
            if info.is_dir():
                continue
            fixed = zipfile.ZipInfo(info.filename, when)
            executable = (info.external_attr >> 16) & 0o111
            fixed.external_attr = (0o100755 if executable else 0o100644) << 16
            fixed.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(fixed, source.read(info))


def _zip_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    moment = time.gmtime(max(epoch, 315532800))  # zip cannot hold a time before 1980
    return (
        moment.tm_year,
        moment.tm_mon,
        moment.tm_mday,
        moment.tm_hour,
        moment.tm_min,
        moment.tm_sec - moment.tm_sec % 2,
    )
