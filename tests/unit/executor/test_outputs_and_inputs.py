"""What a remote build sends and takes back (rules/executor): the input root is the same for the
same sandbox wherever it lies and whatever partsmith runs it; an answer cannot write outside the
sandbox, and a failed one leaves the sandbox as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rules.cache import Unavailable
from rules.cache.remote import reapi_exec
from rules.cache.remote.execution import Executor
from rules.executor.input_root import sandbox_root
from rules.executor.outputs import write_outputs
from rules.executor.remote_step import LOCAL_ONLY


class Served:
    """An executor whose CAS holds `blobs` (GrpcRemote's read_blobs, nothing else)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.down = self.announce = False
        self.url, self.instance = "grpc://served", ""

    def add(self, data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return digest, len(data)

    def read_blobs(self, sizes):
        return {digest: self.blobs[digest] for digest in sizes if digest in self.blobs}


def sandbox(folder: Path, partsmith: str) -> Path:
    (folder / "tools").mkdir(parents=True)
    (folder / "src").mkdir()
    (folder / "src/a.txt").write_text("a\n")
    (folder / "tools/build.sh").write_text("make\n")
    (folder / "tools/craftctl-stage.py").write_text(f"sys.path.insert(0, {partsmith!r})\n")
    (folder / "build.log").write_text(f"a log of {folder}\n")
    return folder


def test_the_input_root_is_the_same_for_any_sandbox_path_and_partsmith(tmp_path):
    first = sandbox_root(sandbox(tmp_path / "a", "/work/partsmith"), LOCAL_ONLY)
    second = sandbox_root(sandbox(tmp_path / "b/deeper", "/opt/other"), LOCAL_ONLY)
    assert first.digest == second.digest
    texts = b"".join(blob.load() for blob in first.blobs.values())
    assert b"partsmith" in texts and b"make" in texts  # the folder's name, the build script
    assert b"/work/partsmith" not in texts and b"a log of" not in texts


def tree(served: Served, directory: reapi_exec.Directory) -> tuple[str, int]:
    from rules.cache.remote.reapi import _bytes

    return served.add(_bytes(1, reapi_exec.encode_directory(directory)))  # Tree { root = 1 }


def test_an_answer_cannot_write_through_a_symlink_it_made(tmp_path):
    served = Served()
    outside = tmp_path / "outside"
    outside.mkdir()
    inner = reapi_exec.Directory(files=(reapi_exec.FileNode("pwned", served.add(b"x")),))
    inner_digest = served.add(reapi_exec.encode_directory(inner))
    evil = reapi_exec.Directory(directories=(("x", inner_digest),), symlinks=(("x", str(outside)),))
    root = tmp_path / "sandbox"
    (root / "install").mkdir(parents=True)
    (root / "install/kept").write_text("before\n")
    with pytest.raises(Unavailable, match="twice"):
        write_outputs(Executor(served), {"install": tree(served, evil)}, root, ("install",))  # type: ignore[arg-type]
    assert not list(outside.iterdir())
    assert (root / "install/kept").read_text() == "before\n"  # a failed answer changes nothing


def test_outputs_replace_the_sandbox_folders_and_a_missing_one_is_left_absent(tmp_path):
    served = Served()
    made = reapi_exec.Directory(
        files=(reapi_exec.FileNode("run", served.add(b"#!/bin/sh\n"), executable=True),),
        symlinks=(("link", "run"),),
    )
    root = tmp_path / "sandbox"
    (root / "install").mkdir(parents=True)
    (root / "install/stale").write_text("from before\n")
    (root / "tools/values").mkdir(parents=True)
    trees = {"install": tree(served, made)}
    write_outputs(Executor(served), trees, root, ("install", "tools/values"))  # type: ignore[arg-type]
    assert sorted(p.name for p in (root / "install").iterdir()) == ["link", "run"]
    assert (root / "install/run").stat().st_mode & 0o100
    assert not (root / "tools/values").exists()  # the action left none
