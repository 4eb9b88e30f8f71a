"""What an executed action sends back, written into the sandbox: its output folders from their
REAPI Trees (every file read by digest and checked), its stdout and stderr into the log.

A server's answer is untrusted: every name is one path component, a name appears once per
folder, folders are made new (never through a symlink), files are created exclusively without
following links, and symlinks come last, so nothing can be written outside the folder. The
outputs are written beside the sandbox's folders and swapped in only when all of them are whole:
a failure leaves the sandbox as the local build would find it."""

from __future__ import annotations

import os
from pathlib import Path

from rules.cache import Unavailable

# the executor's modules, not through rules.cache: only a run with an executor loads them
from rules.cache.remote import reapi_exec
from rules.cache.remote.execution import Executor
from rules.core import remove_tree

Named = tuple[str, int]


def write_outputs(
    executor: Executor, trees: dict[str, Named], root: Path, wanted: tuple[str, ...]
) -> None:
    """Each of `wanted` (paths below `root`) replaced by its Tree in `trees`, or removed when the
    action left none (an install folder a script deleted is then refused as a local one is)."""
    fresh = root / ".remote-outputs"
    remove_tree(fresh)
    for path in wanted:
        if path in trees:
            write_tree(executor, trees[path], fresh / path)
    for path in wanted:
        remove_tree(root / path)
        if (fresh / path).exists():
            os.replace(fresh / path, root / path)
    remove_tree(fresh)


def write_tree(executor: Executor, tree: Named, dest: Path) -> None:
    """The Tree `tree` as the new folder `dest`."""
    try:
        data = executor.read({tree})[tree[0]]
        root, children = reapi_exec.decode_tree(data)
    except ValueError as err:
        raise Unavailable(f"its output tree cannot be read: {err}") from None
    wanted = {node.digest for d in (root, *children.values()) for node in d.files}
    blobs = executor.read({named for named in wanted if named[1]})
    dest.parent.mkdir(parents=True, exist_ok=True)
    _write(root, children, blobs, dest)


def _write(
    directory: reapi_exec.Directory,
    children: dict[Named, reapi_exec.Directory],
    blobs: dict[str, bytes],
    dest: Path,
) -> None:
    _check_names(directory)
    dest.mkdir()  # new: never an existing folder, never through a link
    for node in directory.files:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open(dest / node.name, flags, 0o755 if node.executable else 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(blobs.get(node.digest[0], b""))
    for name, digest in directory.directories:
        if digest not in children:
            raise Unavailable(f"its output tree lacks the folder {name!r}")
        _write(children[digest], children, blobs, dest / name)
    for name, target in directory.symlinks:  # last: nothing is written through them
        os.symlink(target, dest / name)


def _check_names(directory: reapi_exec.Directory) -> None:
    names = [node.name for node in directory.files]
    names += [name for name, _ in (*directory.directories, *directory.symlinks)]
    for name in names:
        if not name or name in (".", "..") or "/" in name or "\0" in name:
            raise Unavailable(f"it named an output {name!r}")
    if len(set(names)) != len(names):
        raise Unavailable("it named one output twice in a folder")


def stream_text(executor: Executor, stream: Named | bytes) -> bytes:
    """stdout or stderr of the action, inlined or by digest."""
    if isinstance(stream, bytes):
        return stream
    return executor.read({stream})[stream[0]] if stream[1] else b""
