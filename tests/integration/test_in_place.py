"""A rebuilt part's install folder is updated in place (rules/tree/updating.py): what did not
change keeps its inode, and stage keeps its links to it."""

import os
from pathlib import Path

from helpers.doit_runner import doit
from helpers.workspaces import make_workspace

PART = """\
name: inplace
source-date-epoch: 1591640328
parts:
  files:
    plugin: dump
    source: files
"""


def stage(workspace: Path) -> None:
    result = doit("stage", f"workspace={workspace}", cwd=workspace.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_rebuild_takes_only_what_changed(tmp_path):
    workspace = make_workspace(
        tmp_path / "ws",
        PART,
        {"files/lib/kept.txt": "kept\n", "files/lib/edited.txt": "one\n", "files/gone.txt": "x"},
    )
    stage(workspace)
    install = tmp_path / "ws/build/parts/files/install"
    kept = os.stat(install / "lib/kept.txt").st_ino
    edited = os.stat(install / "lib/edited.txt").st_ino
    (tmp_path / "ws/files/lib/edited.txt").write_text("two\n")
    (tmp_path / "ws/files/gone.txt").unlink()
    stage(workspace)
    staged = tmp_path / "ws/build/stage"
    assert os.stat(install / "lib/kept.txt").st_ino == kept
    assert os.stat(staged / "lib/kept.txt").st_ino == kept  # the same link
    assert os.stat(install / "lib/edited.txt").st_ino != edited
    assert (staged / "lib/edited.txt").read_text() == "two\n"
    assert not (install / "gone.txt").exists() and not (staged / "gone.txt").exists()


def test_a_symlink_made_in_place_of_a_folder_is_never_written_through(tmp_path):
    workspace = make_workspace(
        tmp_path / "ws", PART, {"files/lib/a.txt": "a\n", "files/lib/old.txt": "old\n"}
    )
    stage(workspace)
    install = tmp_path / "ws/build/parts/files/install"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "old.txt").write_text("someone else's\n")
    (elsewhere / "a.txt").write_text("someone else's\n")
    for name in ("a.txt", "old.txt"):
        (install / "lib" / name).unlink()
    (install / "lib").rmdir()
    (install / "lib").symlink_to(elsewhere)
    (tmp_path / "ws/files/lib/old.txt").unlink()  # the rebuild would remove lib/old.txt
    (tmp_path / "ws/files/lib/a.txt").write_text("b\n")  # and write lib/a.txt
    stage(workspace)
    assert (elsewhere / "old.txt").read_text() == "someone else's\n"
    assert (elsewhere / "a.txt").read_text() == "someone else's\n"
    assert (install / "lib").is_dir() and not (install / "lib").is_symlink()
    assert (install / "lib/a.txt").read_text() == "b\n"
