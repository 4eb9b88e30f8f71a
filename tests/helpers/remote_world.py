"""The world the remote cache tests share, whatever the server: a workspace of two parts (one
that counts its runs) and doit run against a remote with its own local cache."""

from __future__ import annotations

import os
from pathlib import Path

from helpers.doit_runner import doit
from helpers.workspaces import make_workspace

WORKSPACE = """\
name: remote
source-date-epoch: 1591640328
parts:
  files: {plugin: dump, source: files}
  made:
    plugin: nil
    after: [files]
    build-environment: [{COUNTER: "COUNTER_PATH"}]
    override-build: |
      echo run >> "$COUNTER"
      cp "$CRAFT_STAGE/data.txt" "$CRAFT_PART_INSTALL/copy.txt"
      ln -s copy.txt "$CRAFT_PART_INSTALL/link"
      craftctl set version=4.2
"""


def workspace(root: Path, counter: Path, extra: dict[str, str] | None = None) -> Path:
    files = {f"files/many/f{i}": f"{i}\n" for i in range(40)}
    return make_workspace(
        root,
        WORKSPACE.replace("COUNTER_PATH", str(counter)),
        {"files/data.txt": "data\n", **files, **(extra or {})},
    )


def run(ws: Path, cache: Path, url: str, upload: bool, *options: str, **extra: str):
    """`doit [options] stage` with the remote at `url`, the local cache in `cache`."""
    env = {
        **os.environ,
        "PARTSMITH_CACHE_DIR": str(cache),
        "PARTSMITH_REMOTE_CACHE": url,
        "PARTSMITH_REMOTE_UPLOAD": "1" if upload else "0",
        **extra,
    }
    return doit(*options, "stage", f"workspace={ws}", cwd=ws.parent, env=env)


def runs(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0
