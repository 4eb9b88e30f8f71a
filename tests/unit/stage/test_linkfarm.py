"""linkfarm.assemble in-process (rules/stage/linkfarm.py): an update reads and touches what
changed, copies across file systems, and never trusts a write through a link."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
from helpers.workspaces import snapshot

from rules.stage import linkfarm
from rules.stage.farm_check import farm_is_intact
from rules.stage.farm_records import recorded_tree
from rules.tree.errors import StageConflictError
from rules.tree.tree import capture


def test_across_file_systems_stage_copies_and_says_so_once(tmp_path, monkeypatch, capsys):
    part = tmp_path / "install"
    for i in range(3):
        (part / "d").mkdir(parents=True, exist_ok=True)
        (part / "d" / f"f{i}").write_text(f"{i}\n")
    entries = capture(part, 315532800).tree
    sources = [linkfarm.Source("p", part, lambda: entries)]

    def refused(*args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(linkfarm.os, "link", refused)
    repaired = []
    dest = tmp_path / "stage"
    linkfarm.assemble(dest, "stage", sources, 315532800, repaired.append)
    assert capsys.readouterr().out.count("cannot link to the parts' install folders") == 1
    assert (dest / "d/f1").read_text() == "1\n" and (dest / "d/f1").stat().st_ino != (
        part / "d/f1"
    ).stat().st_ino
    (dest / "d/f1").write_text("edited copy\n")  # a copy: the part's file is intact
    linkfarm.assemble(dest, "stage", sources, 315532800, repaired.append)
    assert (dest / "d/f1").read_text() == "1\n" and repaired == []


# -- an update reads and touches what changed -----------------------------------------------------

EPOCH = 315532800


def installed(tmp_path: Path, name: str, files: dict[str, str]) -> tuple[Path, dict]:
    """An install folder as a build leaves it, and its Tree."""
    folder = tmp_path / "installs" / name
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return folder, capture(folder, EPOCH).tree


def source(
    tmp_path: Path, part: str, build: str, files: dict[str, str], reads: list[str]
) -> linkfarm.Source:
    """A part's Source whose Tree file is new for each build (as a publish writes it); its Tree
    reads are counted."""
    folder, tree = installed(tmp_path, f"{part}-{build}", files)
    decided_by = tmp_path / "installs" / f"{part}-{build}.tree"
    decided_by.write_text(json.dumps(sorted(tree)))
    return linkfarm.Source(
        part, folder, lambda: reads.append(part) or tree, decided_by, ("stage", "*")
    )


def linked_to(staged: Path, folder: Path) -> bool:
    return staged.stat().st_ino == folder.stat().st_ino


def test_an_update_reads_only_the_trees_of_the_parts_that_changed(tmp_path):
    reads: list[str] = []
    dest = tmp_path / "stage"
    a = source(tmp_path, "a", "1", {"share/a.txt": "a\n"}, reads)
    b = source(tmp_path, "b", "1", {"share/b.txt": "b\n", "bin/b": "b\n"}, reads)
    assert linkfarm.assemble(dest, "stage", [a, b], EPOCH, pytest.fail) == 5
    assert reads == ["a", "b"]
    linkfarm.assemble(dest, "stage", [a, b], EPOCH, pytest.fail)
    assert reads == ["a", "b"]  # nothing changed: no Tree read
    rebuilt = source(tmp_path, "b", "2", {"share/b.txt": "b, edited\n", "bin/b": "b\n"}, reads)
    records = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "stage.d").iterdir()}
    assert linkfarm.assemble(dest, "stage", [a, rebuilt], EPOCH, pytest.fail) == 5
    assert reads == ["a", "b", "b"]
    assert (dest / "share/b.txt").read_text() == "b, edited\n"
    assert linked_to(dest / "share/b.txt", rebuilt.root / "share/b.txt")
    assert linked_to(dest / "share/a.txt", a.root / "share/a.txt")
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "stage.d").iterdir()}["a"] == records[
        "a"
    ]
    assert farm_is_intact(dest, EPOCH)


def test_a_conflict_found_by_an_update_leaves_the_stage_and_its_record_as_they_were(tmp_path):
    reads: list[str] = []
    dest = tmp_path / "stage"
    a = source(tmp_path, "a", "1", {"share/x.txt": "same\n"}, reads)
    b = source(tmp_path, "b", "1", {"share/x.txt": "same\n"}, reads)
    linkfarm.assemble(dest, "stage", [a, b], EPOCH, pytest.fail)
    before = snapshot(dest)
    clash = source(tmp_path, "b", "2", {"share/x.txt": "other\n"}, reads)
    with pytest.raises(StageConflictError) as failed:
        linkfarm.assemble(dest, "stage", [a, clash], EPOCH, pytest.fail)
    assert [c.path for c in failed.value.conflicts] == ["share/x.txt"]
    assert snapshot(dest) == before and farm_is_intact(dest, EPOCH)


def test_a_shared_file_is_placed_by_the_next_part_when_the_first_stops_bringing_it(tmp_path):
    reads: list[str] = []
    dest = tmp_path / "stage"
    a = source(tmp_path, "a", "1", {"share/x.txt": "same\n", "a.txt": "a\n"}, reads)
    b = source(tmp_path, "b", "1", {"share/x.txt": "same\n"}, reads)
    linkfarm.assemble(dest, "stage", [a, b], EPOCH, pytest.fail)
    assert linked_to(dest / "share/x.txt", a.root / "share/x.txt")
    without = source(tmp_path, "a", "2", {"a.txt": "a\n"}, reads)
    assert linkfarm.assemble(dest, "stage", [without, b], EPOCH, pytest.fail) == 3
    assert linked_to(dest / "share/x.txt", b.root / "share/x.txt")
    assert recorded_tree(dest).keys() == {"a.txt", "share", "share/x.txt"}
    assert farm_is_intact(dest, EPOCH)
    assert linkfarm.assemble(dest, "stage", [b], EPOCH, pytest.fail) == 2  # a part leaves
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == ["share", "share/x.txt"]
    assert farm_is_intact(dest, EPOCH)


def publish(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Path, dict]:
    """Part b built again as build.py publishes it: a new install folder renamed into the same
    path, and a new Tree file."""
    root, decided_by = tmp_path / "installs" / "b", tmp_path / "installs" / "b.tree"
    fresh, tree = installed(tmp_path, "b.new", files)
    if root.exists():
        root.rename(root.with_name("b.old"))
    fresh.rename(root)
    shutil.rmtree(root.with_name("b.old"), ignore_errors=True)
    temp = decided_by.with_name("b.tree.tmp")
    temp.write_text(json.dumps(files, sort_keys=True))
    os.replace(temp, decided_by)
    return root, decided_by, tree


def test_a_build_published_while_the_stage_reads_the_trees_is_seen_by_the_next_run(tmp_path):
    dest = tmp_path / "stage"
    root, decided_by, first = publish(tmp_path, {"share/b.txt": "b 1\n"})
    linkfarm.assemble(
        dest, "stage", [linkfarm.Source("b", root, lambda: first, decided_by)], EPOCH, pytest.fail
    )
    _, _, second = publish(tmp_path, {"share/b.txt": "b 2\n"})

    def read_then_build_again() -> dict:
        publish(tmp_path, {"share/b.txt": "b 3\n"})  # another doit's build:b, finishing meanwhile
        return second

    linkfarm.assemble(
        dest,
        "stage",
        [linkfarm.Source("b", root, read_then_build_again, decided_by)],
        EPOCH,
        pytest.fail,
    )
    third = capture(root, EPOCH).tree
    linkfarm.assemble(
        dest, "stage", [linkfarm.Source("b", root, lambda: third, decided_by)], EPOCH, pytest.fail
    )
    assert (dest / "share/b.txt").read_text() == "b 3\n"
    assert linked_to(dest / "share/b.txt", root / "share/b.txt") and farm_is_intact(dest, EPOCH)


def test_a_write_through_into_a_part_that_left_the_workspace_restores_nothing(tmp_path):
    reads: list[str] = []
    dest = tmp_path / "stage"
    a = source(tmp_path, "a", "1", {"a.txt": "a\n"}, reads)
    b = source(tmp_path, "b", "1", {"b.txt": "b\n"}, reads)
    linkfarm.assemble(dest, "stage", [a, b], EPOCH, pytest.fail)
    with open(dest / "b.txt", "a") as through:
        through.write("by hand\n")
    assert linkfarm.assemble(dest, "stage", [a], EPOCH, pytest.fail) == 1
    assert sorted(p.name for p in dest.iterdir()) == ["a.txt"] and farm_is_intact(dest, EPOCH)


def test_only_the_bytes_decide_a_write_through_when_only_the_ctime_moved(tmp_path):
    reads: list[str] = []
    dest = tmp_path / "stage"
    a = source(tmp_path, "a", "1", {"a.txt": "a\n", "b.txt": "b\n"}, reads)
    linkfarm.assemble(dest, "stage", [a], EPOCH, pytest.fail)
    os.link(a.root / "a.txt", tmp_path / "prime-link")  # as prime links it, then `doit clean prime`
    os.unlink(tmp_path / "prime-link")
    assert not farm_is_intact(dest, EPOCH)
    linkfarm.assemble(
        dest, "stage", [a], EPOCH, pytest.fail
    )  # no restore: the bytes are the part's
    assert farm_is_intact(dest, EPOCH) and linked_to(dest / "a.txt", a.root / "a.txt")
    with open(dest / "b.txt", "w") as through:
        through.write("B\n")  # the same size, and the mtime put back: only ctime and bytes tell
    os.utime(dest / "b.txt", (EPOCH, EPOCH))
    assert not farm_is_intact(dest, EPOCH)  # as doit asks before the stage runs
    restored = []
    linkfarm.assemble(dest, "stage", [a], EPOCH, lambda part: restored.append(part) or a.root)
    assert restored == ["a"]


def test_a_file_put_by_hand_where_a_part_now_brings_one_is_replaced(tmp_path):
    reads: list[str] = []
    dest = tmp_path / "stage"
    a = source(tmp_path, "a", "1", {"bin/a": "a\n"}, reads)
    linkfarm.assemble(dest, "stage", [a], EPOCH, pytest.fail)
    (dest / "bin/tool").write_text("by hand\n")
    b = source(tmp_path, "b", "1", {"bin/tool": "tool\n"}, reads)
    linkfarm.assemble(dest, "stage", [a, b], EPOCH, pytest.fail)
    assert (dest / "bin/tool").read_text() == "tool\n" and linked_to(
        dest / "bin/tool", b.root / "bin/tool"
    )
    assert farm_is_intact(dest, EPOCH)
