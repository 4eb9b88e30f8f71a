"""Files and folders written safely: a reader sees the old file or folder or the new one, never
half of one."""

from __future__ import annotations

import os

import pytest

from rules.core.files import atomic_file, swap_in, write_atomic


def test_write_atomic_replaces_the_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    write_atomic(target, "new", durable=True)
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["result.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temp(tmp_path):
    target = tmp_path / "record.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as out:
        out.write(b"half of the new")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["record.json"]


def test_mode_is_set_before_the_file_appears(tmp_path):
    blob = tmp_path / "blob"
    write_atomic(blob, b"bytes", mode=0o444)
    assert blob.stat().st_mode & 0o777 == 0o444


def test_without_a_mode_the_umask_decides_as_for_any_new_file(tmp_path):
    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "lock.toml", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "lock.toml").stat().st_mode & 0o777 == 0o644


def test_swap_in_replaces_the_folder_and_removes_the_marks_first(tmp_path):
    dest, fresh, mark = tmp_path / "out", tmp_path / "out.new", tmp_path / "out.json"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    fresh.mkdir()
    (fresh / "new.txt").write_text("new")
    mark.write_text("{}")
    swap_in(fresh, dest, marks=(mark,))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out"
    ]  # no mark, no leftover .old or .new
    assert [p.name for p in dest.iterdir()] == ["new.txt"]


def test_swap_in_clears_a_crash_s_leftover_and_makes_the_parent(tmp_path):
    (tmp_path / "parts" / "out.old").mkdir(parents=True)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    swap_in(fresh, tmp_path / "parts" / "out")
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == ["out"]
