"""Make a python part's virtual environment the same bytes wherever it was built.

What differs between two venvs holding the same packages (measured, see the python issue): console
script shebangs name the venv's python, RECORD hashes those scripts, pyvenv.cfg's `command =` and
the activate scripts hold the venv path, direct_url.json of a project installed from a built wheel
holds that wheel's path, and .pyc files hold the source path and mtime. Each is fixed here; .pyc
files are compiled with checked-hash invalidation and paths relative to the venv root, which
Python validates and uses at run time, whatever folder the venv ends up in.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
from pathlib import Path

from rules.action import LayerRefused, OutputFix

from .compiling import Compiling, compile_venv

SHEBANG = b"#!/usr/bin/env python3\n"
ACTIVATE_SCRIPTS = ("activate", "activate.csh", "activate.fish", "Activate.ps1")
# what `venv` puts in bin/: a top layer that writes one replaced the venv (layers.py)
VENV_BIN = re.compile(r"python(\d+(\.\d+)?)?|activate(\.csh|\.fish)?|Activate\.ps1")


def python_venv(
    install: Path,
    sandbox_root: Path,
    interpreter: Path,
    env: dict[str, str],
    keep_open: tuple[int, ...] = (),
) -> Compiling | None:
    """The fixes, then the bytecode compile by the venv's python, which must be the part's
    `interpreter`, left running (holding `keep_open`) while the venv is captured."""
    if not (install / "pyvenv.cfg").is_file():
        return None  # an override-build that made no venv: nothing of a venv to fix
    changed: set[Path] = set()
    for name in ACTIVATE_SCRIPTS:
        if (install / "bin" / name).is_file():
            (install / "bin" / name).unlink()
            changed.add(install / "bin" / name)
    _drop_command_line(install / "pyvenv.cfg")
    _fix_installed(install, sandbox_root, changed)
    # every module compiled, or copied from the pyc cache
    return compile_venv(install, interpreter, env, keep_open)


def python_venv_top(
    upper: Path,
    sandbox_root: Path,
    interpreter: Path,
    env: dict[str, str],
    keep_open: tuple[int, ...] = (),
) -> Compiling:
    """The same for what a build in layers wrote over its venv (rules/build/layers.py): the
    venv itself, its python and pyvenv.cfg are the layer's, fixed when it was built. An upper
    folder that holds any of them is refused, and the part is built whole."""
    bins = sorted((upper / "bin").iterdir()) if (upper / "bin").is_dir() else []
    made = [upper / "pyvenv.cfg"] if os.path.lexists(upper / "pyvenv.cfg") else []
    made += [path for path in bins if VENV_BIN.fullmatch(path.name)]
    if made:
        raise LayerRefused(f"{made[0]}: the venv itself was written over its layer")
    _fix_installed(upper, sandbox_root, set())
    return compile_venv(upper, interpreter, env, keep_open, python=interpreter)


def _fix_installed(install: Path, sandbox_root: Path, changed: set[Path]) -> None:
    """What installing wrote that names the sandbox, and every RECORD listing a changed file."""
    if (install / ".lock").is_file() and not (install / ".lock").stat().st_size:
        (install / ".lock").unlink()  # uv's lock file for installing into the venv: nothing to ship
    changed |= _fix_shebangs(install / "bin", str(sandbox_root).encode())
    changed |= _drop_sandbox_direct_urls(install, str(sandbox_root))
    changed |= _drop_uv_cache_records(install)
    _rewrite_records(install, changed)


def _drop_command_line(config: Path) -> None:
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(line for line in lines if not line.startswith("command =")))


def _fix_shebangs(bin_dir: Path, sandbox: bytes) -> set[Path]:
    """`#!/sandbox/.../python` (or pip's /bin/sh trampoline for long paths) -> env python3."""
    fixed = set()
    for path in sorted(bin_dir.iterdir()) if bin_dir.is_dir() else []:
        if path.is_symlink() or not path.is_file():
            continue
        with open(path, "rb") as stream:
            head = stream.read(2048).split(b"\n")
        # the venv's python by its sandbox path (sealed: /partsmith/..., a prefix of other paths)
        trampoline = head[0] == b"#!/bin/sh" and len(head) > 2 and head[1].startswith(b"'''exec'")
        if not (head[0].startswith(b"#!" + sandbox + b"/") or trampoline and sandbox in head[1]):
            continue
        lines = path.read_bytes().split(b"\n")
        if trampoline:
            body = b"\n".join(lines[3:])  # pip's trampoline: #!/bin/sh, '''exec' ..., ' '''
        else:
            body = b"\n".join(lines[1:])
        path.write_bytes(SHEBANG + body)
        fixed.add(path)
    return fixed


def _drop_sandbox_direct_urls(install: Path, sandbox: str) -> set[Path]:
    """A file: direct_url.json can only name the project's wheel built in the sandbox (pulled
    wheels are installed by name): it says only where the build ran, however it is quoted."""
    dropped = set()
    for path in install.glob("lib/python*/site-packages/*.dist-info/direct_url.json"):
        if '"file:' in path.read_text(errors="replace"):
            path.unlink()
            dropped.add(path)
    return dropped


def _drop_uv_cache_records(install: Path) -> set[Path]:
    """uv writes `uv_cache.json` beside a wheel installed from a file: the file's mtime and cache
    facts of this machine, nothing Python reads."""
    dropped = set()
    for path in install.glob("lib/python*/site-packages/*.dist-info/uv_cache.json"):
        path.unlink()
        dropped.add(path)
    return dropped


def _rewrite_records(install: Path, changed: set[Path]) -> None:
    """Keep every RECORD consistent with the files it lists after the fixes above. Only a RECORD
    naming a changed file by its base name is parsed (a venv of 50 packages has 15k rows, and
    only the few that list a console script or a dropped file change)."""
    if not changed:
        return
    names = {path.name for path in changed}
    targets = {os.path.normpath(path) for path in changed}
    for record in install.glob("lib/python*/site-packages/*.dist-info/RECORD"):
        text = record.read_text()
        if not any(name in text for name in names):
            continue
        site = str(record.parent.parent)
        rows = list(csv.reader(io.StringIO(text)))
        kept = []
        for row in rows:
            target = os.path.normpath(os.path.join(site, row[0])) if row else None
            if target in targets and not os.path.exists(target):
                continue
            if target in targets:
                row = [row[0], _record_hash(Path(target)), str(os.path.getsize(target))]
            kept.append(row)
        if kept != rows:
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(kept)
            record.write_text(out.getvalue())


def _record_hash(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


PYTHON_VENV = OutputFix("compiling bytecode", python_venv)
PYTHON_VENV_TOP = OutputFix("compiling bytecode (over the layer)", python_venv_top)
