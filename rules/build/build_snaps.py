"""A part's `build-snaps`, resolved to tools partsmith can give a build: snapd cannot run inside
one. `astral-uv` is partsmith's own pinned uv (put on the build's PATH); any other snap is the
host's command of the same name on the action's PATH (`go`, `node`, `cmake`, ...). What each
resolved to, tool and version, is in the build key and said at pull; a snap that resolves to
nothing stops pull and build, naming the snap and what to install."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rules.action import SYSTEM_PATH
from rules.core import write_atomic
from rules.python import uv_binary, uv_version
from rules.workspace import Layout, Part

from .errors import PartBuildError

PINNED = {"astral-uv": "uv"}  # snaps partsmith provides itself: the command they give


@dataclass(frozen=True)
class SnapTool:
    snap: str  # as the part names it, channel included
    command: str
    path: Path
    version: str
    pinned: bool  # partsmith's own: linked into the build's tools folder

    def said(self) -> str:
        whose = "partsmith's pinned" if self.pinned else "the host's"
        return f"{self.snap} -> {whose} {self.command} ({self.version})"


def resolve_snaps(part: Part) -> tuple[SnapTool, ...]:
    return tuple(_resolved(part.name, snap) for snap in part.build_snaps)


def snaps_record(part: Part) -> dict[str, str]:
    """What the build key records: each snap's tool and version."""
    return {tool.snap: f"{tool.command} {tool.version}" for tool in resolve_snaps(part)}


def snap_inputs(part: Part) -> tuple[tuple[str, Path], ...]:
    """The pinned tools, linked into the sandbox's tools folder (first on the build's PATH)."""
    return tuple((f"tools/{t.command}", t.path) for t in resolve_snaps(part) if t.pinned)


def snap_folders(part: Part) -> tuple[Path, ...]:
    """Where the host tools a part's snaps resolved to really lie, when not below /usr (a
    /usr/local/bin/node linking to /opt/node/bin/node): the sealed build sees that prefix, read-only
    (the tool's version is in the key)."""
    real = (Path(os.path.realpath(t.path)) for t in resolve_snaps(part) if not t.pinned)
    # <prefix>/bin/<tool> gives its prefix; a tool elsewhere, its folder; never / itself
    prefixes = (p.parents[1] if p.parent.name == "bin" else p.parent for p in real)
    return tuple(p for p in prefixes if p != Path("/") and not p.is_relative_to("/usr"))


def snaps_are_said(layout: Layout, part: Part) -> bool:
    """pull said what the part's snaps resolve to now (it says it again when that changes)."""
    try:
        return bool(json.loads(_said_file(layout, part).read_text()) == snaps_record(part))
    except (OSError, ValueError):
        return False


def say_snaps(layout: Layout, part: Part) -> str:
    """The line pull prints, once, and the record of having printed it."""
    line = "build-snaps: " + "; ".join(tool.said() for tool in resolve_snaps(part))
    write_atomic(_said_file(layout, part), json.dumps(snaps_record(part), sort_keys=True))
    return line


def _said_file(layout: Layout, part: Part) -> Path:
    return layout.part_dir(part.name) / "snaps.json"


def _resolved(part: str, snap: str) -> SnapTool:
    name = snap.split("/")[0]
    if name in PINNED:
        return SnapTool(snap, PINNED[name], Path(uv_binary()), uv_version(), pinned=True)
    found = shutil.which(name, path=":".join(SYSTEM_PATH))
    if found is None:
        raise PartBuildError(
            f"part {part!r}: build-snaps: {snap!r} cannot run inside a build (snapd does not), "
            f"and this machine has no command {name!r} in {':'.join(SYSTEM_PATH)}",
            resolution=f"Install {name} on the host (e.g. name its Debian package in "
            "build-packages), or remove the snap from build-snaps.",
        )
    return SnapTool(snap, name, Path(found), _version(found), pinned=False)


@functools.cache
def _version(command: str) -> str:
    """The first line the tool prints of its version (`go` answers `go version`)."""
    for args in (["--version"], ["version"]):
        try:
            done = subprocess.run(
                [command, *args],
                capture_output=True,
                text=True,
                timeout=30,
                env={"PATH": ":".join(SYSTEM_PATH)},
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        lines = (done.stdout or done.stderr).strip().splitlines()
        if done.returncode == 0 and lines:
            return lines[0].strip()
    return "version unknown"
