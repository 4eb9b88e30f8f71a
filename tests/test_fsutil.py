"""The one atomic writer: a reader sees the old file or the new one, never half of one."""
from __future__ import annotations

import os

import pytest

from rules.fsutil import atomic_file, write_atomic


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
