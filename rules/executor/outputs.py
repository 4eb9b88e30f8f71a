"""What an executed action sends back, written into the sandbox: an output folder from its REAPI
Tree (every file read by digest and checked), the script's stdout and stderr into the log."""

from __future__ import annotations

import os
from pathlib import Path

from rules.cache import Executor, reapi_exec

Named = tuple[str, int]


def write_tree(executor: Executor, tree: Named, dest: Path) -> None:
    """The Tree `tree` as the folder `dest` (made; what was there is kept)."""
    data = executor.read({tree})[tree[0]]
    root, children = reapi_exec.decode_tree(data)
    wanted = {node.digest for d in (root, *children.values()) for node in d.files}
    blobs = executor.read({named for named in wanted if named[1]})
    _write(root, children, blobs, dest)


def _write(
    directory: reapi_exec.Directory,
    children: dict[Named, reapi_exec.Directory],
    blobs: dict[str, bytes],
    dest: Path,
) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for node in directory.files:
        path = dest / _name(node.name)
        path.write_bytes(blobs.get(node.digest[0], b""))
        path.chmod(0o755 if node.executable else 0o644)
    for name, target in directory.symlinks:
        os.symlink(target, dest / _name(name))
    for name, digest in directory.directories:
        if digest not in children:
            raise ValueError(f"the executor's output tree lacks the folder {name!r}")
        _write(children[digest], children, blobs, dest / _name(name))


def _name(name: str) -> str:
    """A name from the server is one path component, never a way out of `dest`."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"the executor named an output {name!r}")
    return name


def stream_text(executor: Executor, stream: Named | bytes) -> bytes:
    """stdout or stderr of the action, inlined or by digest."""
    if isinstance(stream, bytes):
        return stream
    return executor.read({stream})[stream[0]] if stream[1] else b""
