import os
import stat

import pytest

from rules.core import write_atomic
from rules.tree import tree as tree_module
from rules.tree.tree import (
    Entry,
    capture,
    from_json,
    read_manifest,
    to_json,
    tree_digest,
    write_manifest,
)
from rules.tree.writing import materialize

EPOCH = 1591640328


def test_capture_lists_every_entry_with_digest_size_mode_and_link(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "tool").write_text("#!/bin/sh\necho hi\n")
    os.chmod(tmp_path / "bin" / "tool", 0o700)
    (tmp_path / "data.txt").write_bytes(b"abc")
    os.symlink("bin/tool", tmp_path / "link")

    tree = capture(tmp_path, EPOCH).tree

    assert tree["bin"] == Entry("dir")
    assert tree["data.txt"] == Entry(
        "file", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3, False
    )
    assert tree["bin/tool"].executable and tree["bin/tool"].size == 18
    assert tree["link"] == Entry("symlink", target="bin/tool")
    assert set(tree) == {"bin", "bin/tool", "data.txt", "link"}


def test_capture_normalizes_modes_and_mtimes(tmp_path):
    (tmp_path / "d").mkdir(mode=0o700)
    (tmp_path / "d" / "secret").write_text("x")
    os.chmod(tmp_path / "d" / "secret", 0o600)
    (tmp_path / "run").write_text("x")
    os.chmod(tmp_path / "run", 0o744)

    capture(tmp_path, EPOCH)

    assert stat.S_IMODE(os.stat(tmp_path / "d").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(tmp_path / "d" / "secret").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "run").st_mode) == 0o755
    for path in (tmp_path, tmp_path / "d", tmp_path / "d" / "secret", tmp_path / "run"):
        assert os.stat(path).st_mtime == EPOCH


def test_capture_never_follows_symlinks_out_of_the_tree(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big").write_text("not ours")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(str(outside), root / "abs")
    os.symlink("../outside", root / "rel")

    result = capture(root, EPOCH)

    assert set(result.tree) == {"abs", "rel"}
    assert result.escaping_links == ["rel -> ../outside"]  # absolute links name the target system
    assert os.stat(outside / "big").st_mtime != EPOCH


def test_capture_finds_the_forbidden_path_even_across_read_chunks(tmp_path):
    needle = b"/sandbox/part-a"
    (tmp_path / "clean").write_bytes(b"x" * 100)
    # place the needle across the 1 MiB chunk boundary
    (tmp_path / "leaky").write_bytes(b"y" * ((1 << 20) - 5) + needle + b"z")
    os.symlink("/sandbox/part-a/lib", tmp_path / "link")

    result = capture(tmp_path, EPOCH, (needle,))

    assert result.leaks == ["leaky"]
    assert result.escaping_links == ["link -> /sandbox/part-a/lib"]


def test_manifest_round_trips_and_digest_ignores_insertion_order():
    tree = {
        "b": Entry("file", "00" * 32, 1, True),
        "a": Entry("dir"),
        "a/l": Entry("symlink", target="../b"),
    }
    again = dict(reversed(list(tree.items())))
    assert from_json(to_json(tree)) == tree
    assert tree_digest(tree) == tree_digest(again)
    assert tree_digest(tree) != tree_digest({**tree, "b": Entry("file", "00" * 32, 1, False)})


def test_materialize_recreates_the_captured_tree(tmp_path):
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f").write_text("hello")
    os.symlink("d/f", src / "l")
    tree = capture(src, EPOCH).tree

    old_umask = os.umask(0o077)
    try:
        materialize({path: (entry, src) for path, entry in tree.items()}, tmp_path / "out", EPOCH)
    finally:
        os.umask(old_umask)

    assert capture(tmp_path / "out", EPOCH).tree == tree
    assert stat.S_IMODE(os.stat(tmp_path / "out").st_mode) == 0o755
    assert os.stat(tmp_path / "out" / "d").st_mtime == EPOCH


@pytest.mark.parametrize(
    "path", ["/abs", "a//b", "a/", "./a", "a/./b", "../x", "a/..", "", ".", "a\0b"]
)
def test_a_stored_tree_with_a_path_no_capture_makes_is_refused(path):
    from rules.cache.store import check_tree

    good = {"a": Entry("dir"), "a/b": Entry("file", "00" * 32, 1)}
    check_tree(good)
    with pytest.raises(ValueError):
        check_tree({**good, path: Entry("file", "00" * 32, 1)})


class _Writer:
    """A Deferred that writes `__pycache__` folders as the bytecode compile does: one begun before
    the walk reaches it (a fifo stands for its half-written state: the walk must not take it),
    the rest after the walk set their parents' mtimes, each reported once written (and one
    never reported: the top's); a `__pycache__` link a build left is removed, and nothing made in
    its place. It notes whether each folder it reported was captured before it went on."""

    name = "__pycache__"

    def __init__(self, root, fail=False):
        self.root, self.fail, self.waited, self.taken_at_once = root, fail, False, []
        self._write(root / "pkg" / "early")
        os.mkfifo(root / "pkg" / "early" / "__pycache__" / "being-written")
        os.symlink("/nowhere", root / "pkg" / "__pycache__")  # a build's link: removed, not made

    def _write(self, folder):
        (folder / "__pycache__").mkdir()
        where = os.path.relpath(folder, self.root).encode()
        (folder / "__pycache__" / "m.pyc").write_bytes(b"compiled " + where)
        os.chmod(folder / "__pycache__", 0o700)

    def finished(self):
        self.waited = True
        if self.fail:
            raise RuntimeError("the writer failed")
        (self.root / "pkg" / "early" / "__pycache__" / "being-written").unlink(missing_ok=True)
        (self.root / "pkg" / "__pycache__").unlink(missing_ok=True)  # as the driver does
        for folder in ("pkg/late", "pkg/early/deep"):
            self._write(self.root / folder)
            yield folder + "/"
            pyc = self.root / folder / "__pycache__" / "m.pyc"
            self.taken_at_once.append(os.lstat(pyc).st_mtime == EPOCH)
        yield "not/walked/"  # a folder the capture never passed: nothing to take
        self._write(self.root)

    def wait(self):
        for _ in self.finished():
            pass


def _package(root):
    for folder in ("pkg/early/deep", "pkg/late"):
        (root / folder).mkdir(parents=True)
        (root / folder / "m.py").write_text(f"# {folder}\n")
    os.symlink("pkg", root / "link")


def test_a_deferred_writer_is_captured_as_it_goes_as_if_it_had_finished_first(tmp_path):
    """The walk passes every `__pycache__` by (one is there already, the others come later),
    then takes each as the writer reports it written, and the rest once it has ended: the Tree
    and every mtime (the parents' too, moved by the late folders' creation) are those of a
    capture made once the writer had finished."""
    overlapped, after = tmp_path / "overlapped", tmp_path / "after"
    for root in (overlapped, after):
        _package(root)
    _Writer(after).wait()
    expected = capture(after, EPOCH).tree

    writer = _Writer(overlapped)
    result = capture(overlapped, EPOCH, deferred=writer)

    assert writer.waited and writer.taken_at_once == [True, True]
    assert result.unsupported == []  # the half-written folder was passed by
    assert result.tree == expected
    assert {p for p in expected if p.endswith("__pycache__/m.pyc")} == {
        "__pycache__/m.pyc",
        "pkg/early/__pycache__/m.pyc",
        "pkg/early/deep/__pycache__/m.pyc",
        "pkg/late/__pycache__/m.pyc",
    }
    for folder, _, files in os.walk(overlapped):
        for path in (folder, *(os.path.join(folder, name) for name in files)):
            assert os.lstat(path).st_mtime == EPOCH, path
            assert stat.S_IMODE(os.lstat(path).st_mode) in (0o644, 0o755), path


def test_a_deferred_writer_that_fails_fails_the_capture(tmp_path):
    _package(tmp_path)
    with pytest.raises(RuntimeError, match="the writer failed"):
        capture(tmp_path, EPOCH, deferred=_Writer(tmp_path, fail=True))


def test_a_manifest_is_parsed_once_per_process_until_another_writer_replaces_it(
    tmp_path, monkeypatch
):
    """The stage reads the manifest the build of the same run just wrote: it is not parsed
    again, each reader gets its own dict, and a manifest another process wrote is read anew."""
    parsed = []
    monkeypatch.setattr(tree_module, "from_json", lambda text: parsed.append(1) or from_json(text))
    path = tmp_path / "tree.json"
    tree = {"a": Entry("file", "0" * 64, 1, False), "d": Entry("dir")}
    write_manifest(tree, path)
    first = read_manifest(path)
    first["mutated"] = Entry("dir")
    assert read_manifest(path) == tree and parsed == []

    other = {"b": Entry("symlink", target="a")}
    write_atomic(path, to_json(other) + "\n")  # another process's build of the part
    assert read_manifest(path) == other and parsed == [1]
    assert read_manifest(path) == other and parsed == [1]
