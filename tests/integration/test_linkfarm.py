"""Stage and prime as trees of hard links to the parts' install folders, run through doit:
each output file created once, writes by hand noticed from the inode record, kills survived."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import time
from pathlib import Path

import pytest
from helpers.doit_runner import doit, killed_after
from helpers.workspaces import make_workspace

TWO_PARTS = """\
name: links
parts:
  base: {plugin: dump, source: base}
  top: {plugin: dump, source: top, after: [base]}
"""


@pytest.fixture
def workspace(tmp_path) -> Path:
    files = {f"base/share/b{i}.txt": f"base {i}\n" for i in range(5)}
    files.update({f"top/bin/t{i}": f"top {i}\n" for i in range(5)})
    return make_workspace(tmp_path / "ws", TWO_PARTS, files)


def stage(workspace: Path, *args: str) -> str:
    result = doit(*args or ("stage",), f"workspace={workspace}", cwd=workspace.parent)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in out, out
    return out


def blob(digest: str) -> Path:
    return Path(os.environ["PARTSMITH_CACHE_DIR"]) / "cas" / digest[:2] / digest


def tree(workspace: Path, part: str) -> dict:
    return json.loads((workspace.parent / "build/parts" / part / "tree.json").read_text())


def test_stage_and_prime_link_the_install_files_and_the_store_holds_copies(workspace):
    stage(workspace, "prime")
    build = workspace.parent / "build"
    for where in ("stage", "prime"):
        staged = build / where / "share/b0.txt"
        assert staged.stat().st_ino == (build / "parts/base/install/share/b0.txt").stat().st_ino
    stored = blob(tree(workspace, "base")["share/b0.txt"]["sha256"])
    assert stored.stat().st_nlink == 1 and stored.stat().st_mode & 0o777 == 0o444


def test_a_write_through_stage_is_named_and_the_part_restored_without_spreading_it(workspace):
    stage(workspace)
    build = workspace.parent / "build"
    with open(build / "stage/share/b1.txt", "a") as edited:
        edited.write("by hand\n")  # through the link: the install file is this file
    assert (build / "parts/base/install/share/b1.txt").read_text() == "base 1\nby hand\n"
    out = stage(workspace)
    assert "stage/share/b1.txt was changed by hand: it is a link to part 'base''s file" in out
    assert "build:base: restored again" in out
    for path in (build / "stage/share/b1.txt", build / "parts/base/install/share/b1.txt"):
        assert path.read_text() == "base 1\n"
    assert (build / "stage/share/b1.txt").stat().st_ino == (
        build / "parts/base/install/share/b1.txt"
    ).stat().st_ino
    entry = tree(workspace, "base")["share/b1.txt"]
    assert (
        hashlib.sha256(blob(entry["sha256"]).read_bytes()).hexdigest() == entry["sha256"]
    )  # never stored
    assert "was changed by hand" not in stage(workspace)  # and now it is quiet


def test_a_file_replaced_in_stage_is_linked_again_without_a_restore(workspace):
    stage(workspace)
    staged = workspace.parent / "build/stage/bin/t2"
    fresh = staged.with_name("t2.new")
    fresh.write_text("saved by an editor\n")
    os.replace(fresh, staged)  # a new inode: the install file was never touched
    out = stage(workspace)
    assert "restored again" not in out and staged.read_text() == "top 2\n"
    assert (
        staged.stat().st_ino == (workspace.parent / "build/parts/top/install/bin/t2").stat().st_ino
    )


def test_entries_added_or_removed_in_stage_by_hand_are_put_right(workspace):
    stage(workspace)
    staged = workspace.parent / "build/stage"
    (staged / "share/extra.txt").write_text("added by hand")
    (staged / "bin/t3").unlink()
    stage(workspace)
    assert not (staged / "share/extra.txt").exists()
    assert (staged / "bin/t3").read_text() == "top 3\n"


def test_one_edit_rewrites_only_the_changed_parts_record(workspace):
    stage(workspace)
    records = workspace.parent / "build/stage.d"
    before = {path.name: path.stat().st_mtime_ns for path in records.iterdir()}
    (workspace.parent / "top/bin/t0").write_text("top 0, edited\n")
    stage(workspace)
    after = {path.name: path.stat().st_mtime_ns for path in records.iterdir()}
    assert before["base"] == after["base"] and before["top"] != after["top"]
    assert (workspace.parent / "build/stage/bin/t0").read_text() == "top 0, edited\n"


# -- kill -9 at any moment -------------------------------------------------------------------------


def expected_stage(root: Path) -> dict[str, str]:
    """What the stage of the crash workspace must hold: every source file of its dump parts."""
    found = {}
    for part in ("a", "b", "c"):
        for path in (root / part).rglob("*"):
            if path.is_file():
                found[str(path.relative_to(root / part))] = path.read_text()
    return found


def staged_files(stage_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(stage_dir)): p.read_text() for p in stage_dir.rglob("*") if p.is_file()
    }


def test_kill_9_at_random_moments_never_leaves_a_stage_a_run_trusts(tmp_path):
    files = {
        f"{part}/{part}/d{i % 7}/f{i}.txt": f"{part} {i}\n" * 3
        for part in "abc"
        for i in range(300)
    }
    ws = make_workspace(
        tmp_path / "ws",
        "name: crash\nparts:\n" + "".join(f"  {p}: {{plugin: dump, source: {p}}}\n" for p in "abc"),
        files,
    )
    root = ws.parent
    stage(ws)
    chance = random.Random(1234)  # fixed: a failure can be replayed
    deadline = time.monotonic() + 240
    for round_ in range(20):
        assert time.monotonic() < deadline, f"took too long: {round_} rounds"
        what = chance.choice(["edit", "restore", "restage"])
        if what == "edit":
            part = chance.choice("abc")
            (root / part / part / "d0" / "f0.txt").write_text(f"round {round_}\n")
        elif what == "restore":
            subprocess.run(["rm", "-rf", str(root / "build")], check=True)
        else:
            subprocess.run(["rm", "-rf", str(root / "build/stage")], check=True)
        killed_after(chance.uniform(0.05, 1.2), "stage", f"workspace={ws}", cwd=root)
        stage(ws)
        assert staged_files(root / "build/stage") == expected_stage(root), (
            f"round {round_} ({what})"
        )


def test_a_folder_changes_owner_when_the_part_that_brought_it_first_leaves(tmp_path):
    """Both parts ship share/: when the first goes, the second owns the folder, kept in place."""
    ws = make_workspace(
        tmp_path / "ws",
        TWO_PARTS.replace(
            "base: {plugin: dump, source: base}",
            "base: {plugin: dump, source: base, stage: ['-*']}",
        ),
        {"base/share/b.txt": "b\n", "top/share/t.txt": "t\n"},
    )
    (tmp_path / "ws/parts.yaml").write_text(TWO_PARTS)
    stage(ws)
    (tmp_path / "ws/parts.yaml").write_text(
        TWO_PARTS.replace(
            "base: {plugin: dump, source: base}",
            "base: {plugin: dump, source: base, stage: ['-*']}",
        )
    )
    stage(ws)
    staged = tmp_path / "ws/build/stage"
    assert sorted(str(p.relative_to(staged)) for p in staged.rglob("*")) == ["share", "share/t.txt"]
    assert "was changed by hand" not in stage(ws)
