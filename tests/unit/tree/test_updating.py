"""Tests of rules.tree.updating: a folder holding one captured Tree updated in place to hold
another, keeping the inode of every entry that did not change."""

from __future__ import annotations

import os
from pathlib import Path

from rules.tree import capture, copied_from, holds_folders, moved_from, update_in_place

EPOCH = 1_600_000_000


def captured(folder: Path, files: dict[str, str], links: dict[str, str] | None = None) -> dict:
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    for path, target in (links or {}).items():
        os.symlink(target, folder / path)
    return capture(folder, EPOCH).tree


def inode(path: Path) -> int:
    return os.lstat(path).st_ino


def test_only_what_changed_is_taken_and_the_rest_keeps_its_inode(tmp_path: Path) -> None:
    old_files = {"lib/a.py": "a", "lib/b.py": "b", "lib/gone/c.py": "c", "bin/x": "x"}
    new_files = {"lib/a.py": "a", "lib/b.py": "B!", "lib/new/d.py": "d", "bin/x": "x"}
    dest, built = tmp_path / "install", tmp_path / "built"
    dest.mkdir()
    built.mkdir()
    old = captured(dest, old_files, {"bin/py": "x"})
    new = captured(built, new_files, {"bin/py": "x", "bin/link": "../lib"})
    kept = inode(dest / "lib/a.py"), inode(dest / "bin/x")

    taken = update_in_place(dest, old, new, moved_from(str(built)), EPOCH)

    assert taken == 3  # b.py, d.py, bin/link
    assert capture(dest, EPOCH).tree == new
    assert (inode(dest / "lib/a.py"), inode(dest / "bin/x")) == kept
    assert not (dest / "lib/gone").exists()
    assert (dest / "lib/b.py").read_text() == "B!"
    assert os.lstat(dest / "lib").st_mtime == EPOCH


def test_an_entry_changed_by_hand_is_taken_again(tmp_path: Path) -> None:
    files = {"a.py": "a", "b.py": "b", "c/d.py": "d"}
    dest, built = tmp_path / "install", tmp_path / "built"
    dest.mkdir()
    built.mkdir()
    old = captured(dest, files)
    new = captured(built, files)
    (dest / "a.py").write_text("edited by hand")  # size and mtime moved
    os.chmod(dest / "b.py", 0o755)
    (dest / "c/d.py").unlink()
    (dest / "c/d.py").mkdir()  # a folder where a file belongs

    update_in_place(dest, old, new, copied_from(str(built), EPOCH), EPOCH)

    assert capture(dest, EPOCH).tree == new
    assert (built / "a.py").read_text() == "a"  # copied: the source stays
    assert (dest / "a.py").read_text() == "a"


def test_kinds_that_change_are_replaced(tmp_path: Path) -> None:
    dest, built = tmp_path / "install", tmp_path / "built"
    dest.mkdir()
    built.mkdir()
    old = captured(dest, {"x/inner.py": "i", "y": "file"})
    new = captured(built, {"x": "now a file", "y/inner.py": "now a folder"})

    update_in_place(dest, old, new, moved_from(str(built)), EPOCH)

    assert capture(dest, EPOCH).tree == new
    assert (dest / "y/inner.py").read_text() == "now a folder"


def test_a_symlink_made_in_place_of_a_folder_is_found(tmp_path: Path) -> None:
    dest, elsewhere = tmp_path / "install", tmp_path / "elsewhere"
    dest.mkdir()
    old = captured(dest, {"lib/a.py": "a", "bin/x": "x"})
    assert holds_folders(dest, old)
    (dest / "lib/a.py").rename(tmp_path / "a.py")
    (dest / "lib").rmdir()
    elsewhere.mkdir()
    (dest / "lib").symlink_to(elsewhere)
    assert not holds_folders(dest, old)
