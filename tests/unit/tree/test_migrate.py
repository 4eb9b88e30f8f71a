"""Tests of rules.tree.migrate: what `craftctl default` does in override-stage, on real folders
(a fileset applied to a folder as it is now, then copied as craft-parts' migrate_files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rules.tree import TreeError, migrate, migrate_command
from rules.tree.migrate import listing
from rules.tree.tree import Entry


def make(root: Path, files: dict[str, str]) -> Path:
    """Files below root; '->target' makes a symlink, a name ending in '/' a folder."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith("/"):
            path.mkdir(exist_ok=True)
        elif content.startswith("->"):
            os.symlink(content[2:], path)
        else:
            path.write_text(content)
    return root


def names(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_listing_has_kinds_parents_first_and_never_enters_a_symlinked_folder(tmp_path):
    outside = make(tmp_path / "outside", {"secret": "s"})
    root = make(tmp_path / "root", {"a/b": "x", "a-b": "y", "link": f"->{outside}"})
    found = listing(root)
    assert list(found) == ["a", "a/b", "a-b", "link"]
    assert found["a"] == Entry("dir") and found["a/b"].kind == "file"
    assert found["link"] == Entry("symlink", target=str(outside))


def test_migrate_applies_the_fileset_with_select_semantics(tmp_path):
    source = make(
        tmp_path / "install",
        {"bin/tool": "t", "etc/conf": "c", "share/a.txt": "a", "share/b.tmp": "b", ".hidden": "h"},
    )
    dest = make(tmp_path / "stage", {})
    count = migrate(source, dest, ("*", "-etc", "-share/*.tmp"))
    assert names(dest) == [".hidden", "bin", "bin/tool", "share", "share/a.txt"]
    assert count == 5


def test_migrate_with_includes_only_brings_their_parents(tmp_path):
    source = make(tmp_path / "install", {"lib/x/y.so": "y", "lib/x/z.a": "z", "bin/t": "t"})
    dest = make(tmp_path / "stage", {})
    migrate(source, dest, ("lib/**/*.so",))
    assert names(dest) == ["lib", "lib/x", "lib/x/y.so"]


def test_migrate_keeps_symlinks_as_symlinks_and_modes(tmp_path):
    source = make(tmp_path / "install", {"bin/run": "#!/bin/sh\n", "bin/alias": "->run"})
    os.chmod(source / "bin/run", 0o750)
    dest = make(tmp_path / "stage", {})
    migrate(source, dest, ("*",))
    assert os.readlink(dest / "bin/alias") == "run"
    assert stat.S_IMODE(os.stat(dest / "bin/run").st_mode) == 0o750
    assert (dest / "bin/run").read_text() == "#!/bin/sh\n"


def test_migrate_copies_never_links_the_install(tmp_path):
    source = make(tmp_path / "install", {"f": "one"})
    dest = make(tmp_path / "stage", {})
    migrate(source, dest, ("*",))
    (source / "f").write_text("changed after")
    assert (dest / "f").read_text() == "one"


def test_migrate_replaces_a_file_and_keeps_a_folder_or_a_symlink_already_there(tmp_path):
    """craft-parts' migrate_files: a file there is re-linked, a symlink there left alone."""
    source = make(tmp_path / "install", {"d/f": "new", "kept": "new"})
    dest = make(tmp_path / "stage", {"d/f": "old", "d/mine": "m", "kept": "->elsewhere"})
    migrate(source, dest, ("*",))
    assert (dest / "d/f").read_text() == "new" and (dest / "d/mine").read_text() == "m"
    assert os.readlink(dest / "kept") == "elsewhere"


@pytest.mark.parametrize(
    ("in_source", "in_dest", "problem"),
    [
        ({"x": "file"}, {"x/": ""}, "x: a folder is in the way of the part's file"),
        ({"x": "->y"}, {"x/": ""}, "x: a folder is in the way of the part's symlink"),
        ({"x/f": "f"}, {"x": "file"}, "x: a file is in the way of the part's folder"),
        ({"x/f": "f"}, {"x": "->/tmp"}, "x: a symlink is in the way of the part's folder"),
    ],
)
def test_migrate_refuses_what_is_in_the_way_by_path(tmp_path, in_source, in_dest, problem):
    source = make(tmp_path / "install", in_source)
    dest = make(tmp_path / "stage", in_dest)
    with pytest.raises(TreeError) as caught:
        migrate(source, dest, ("*",))
    assert str(caught.value) == problem


def test_migrate_refuses_a_fifo_by_name(tmp_path):
    source = make(tmp_path / "install", {})
    os.mkfifo(source / "pipe")
    with pytest.raises(TreeError, match="pipe: not a file, folder or symlink"):
        migrate(source, make(tmp_path / "stage", {}), ("*",))


def test_migrate_command_says_what_it_copied(tmp_path, capsys):
    source = make(tmp_path / "install", {"a": "a", "b": "b"})
    dest = make(tmp_path / "stage", {})
    assert migrate_command([str(source), str(dest), "-b"]) == 0
    assert names(dest) == ["a"]
    said = capsys.readouterr().out
    assert said == f"craftctl default: 1 entries of {source} copied into {dest}\n"


def test_migrate_command_failure_is_one_line_on_stderr(tmp_path, capsys):
    source = make(tmp_path / "install", {"x": "file"})
    dest = make(tmp_path / "stage", {"x/": ""})
    assert migrate_command([str(source), str(dest)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"craftctl default: cannot copy into {dest}: x: a folder is in the way of the part's file\n"
    )


def test_migrate_command_without_its_folders_or_with_a_missing_one(tmp_path, capsys):
    assert migrate_command([str(tmp_path)]) == 2
    assert migrate_command([str(tmp_path / "gone"), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "expected SOURCE DEST [GLOB...]" in err and "Traceback" not in err
    assert "craftctl default: " in err.splitlines()[1] and "gone" in err
