"""The no-op that does not walk (issue 21, item 4): with a watchman daemon, a source's manifest
and the stage's up-to-date check look only at what watchman says changed since the last run's
clock; on a fresh clock, a lost watch or any doubt they walk as without it.

Each test starts a private daemon (helpers/watchman.py). The in-process tests compare every
manifest made through watchman with one made by a walk of the same folder, and count walks."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers.doit_runner import doit
from helpers.watchman import Watchman, installed
from helpers.workspaces import make_workspace

from rules.action import source_index
from rules.action.source_index import source_manifest
from rules.core import digest, watchman

REAL_WALK = source_index._walk

pytestmark = pytest.mark.skipif(
    not installed(), reason="watchman is not installed (.ci/run installs it)"
)


@pytest.fixture
def daemon(tmp_path, monkeypatch):
    with Watchman(tmp_path / "watchman-logs") as started:
        monkeypatch.setenv("WATCHMAN_SOCK", str(started.sock))
        monkeypatch.setenv("PARTSMITH_WATCHMAN", "1")
        monkeypatch.setattr(watchman, "_open", None)  # this process's connection: a new one
        monkeypatch.setattr(watchman, "_given_up_in", None)
        yield started


@pytest.fixture
def walks(monkeypatch):
    """The folders source_manifest walked, by path relative to the source ('' for all of it)."""
    walked: list[str] = []

    def counted(folder, prefix, *args):
        walked.append(prefix.rstrip("/"))
        return REAL_WALK(folder, prefix, *args)

    monkeypatch.setattr(source_index, "_walk", counted)
    return walked


def watched(source: Path, build: Path, cache: Path) -> dict:
    return source_manifest(source, (build, source / ".git"), cache / "stat")


def walked(source: Path, build: Path, cache: Path, monkeypatch) -> dict:
    """The same manifest made by a walk, with a stat cache of its own."""
    with monkeypatch.context() as off:
        off.setenv("PARTSMITH_WATCHMAN", "0")
        off.setattr(watchman, "_open", None)
        off.setattr(source_index, "_walk", REAL_WALK)  # not counted
        return source_manifest(source, (build, source / ".git"), cache / "walked")


def source_tree(root: Path) -> Path:
    for rel, text in {
        "pkg/a.py": "a = 1\n",
        "pkg/b.py": "b = 2\n",
        "pkg/sub/c.txt": "c\n",
        "README": "readme\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    os.symlink("pkg/a.py", root / "link")
    return root


def test_each_kind_of_change_is_seen_without_a_walk(tmp_path, daemon, walks, monkeypatch):
    source, build, cache = source_tree(tmp_path / "src"), tmp_path / "src/build", tmp_path / "c"
    first = watched(source, build, cache)
    assert walks == ["", "pkg", "pkg/sub"] and first == walked(source, build, cache, monkeypatch)
    walks.clear()
    assert watched(source, build, cache) == first and walks == []  # nothing changed

    changes = {
        "an edit": lambda: (source / "pkg/a.py").write_text("a = 10\n"),
        "a new file": lambda: (source / "pkg/new.py").write_text("new\n"),
        "a removed file": lambda: (source / "pkg/b.py").unlink(),
        "a touched file": lambda: os.utime(source / "README", (1, 1)),
        "an edit with its mtime set back": lambda: _edit_keeping_mtime(source / "pkg/sub/c.txt"),
        "a mode change": lambda: (source / "README").chmod(0o755),
        "a link retargeted": lambda: _relink(source / "link", "README"),
        "a new folder": lambda: _write(source / "new/deep/x.txt", "x\n"),
        "a removed folder": lambda: shutil.rmtree(source / "pkg/sub"),
        "a folder replaced by a file": lambda: (
            shutil.rmtree(source / "new/deep"),
            _write(source / "new/deep", "now a file\n"),
        ),
        "a file replaced by a folder": lambda: (
            (source / "pkg/new.py").unlink(),
            _write(source / "pkg/new.py/inner", "i\n"),
        ),
        "the build root written": lambda: _write(build / "parts/p/install/f", "ignored\n"),
    }
    before = first
    for what, change in changes.items():
        change()
        now = watched(source, build, cache)
        assert now == walked(source, build, cache, monkeypatch), what
        again = watched(source, build, cache)  # nothing changed since: the kept manifest
        assert again == now and again.digest() == digest(sorted(now.items())), what
        assert "" not in walks, f"{what}: the whole source was walked"
        if what in ("a touched file", "the build root written"):
            assert now == before, what
        else:
            assert now != before, what
        before = now
    assert walks == ["new", "new/deep", "pkg/new.py"]  # only the new folders were listed


def test_a_source_under_a_repository_with_the_build_root_above_it(tmp_path, daemon, walks):
    """A pulled source lies in the build root, inside the project's repository: watchman
    watches the repository; the build root, skipped for sources inside it, skips nothing of a
    source below it."""
    (tmp_path / "repo/.git").mkdir(parents=True)
    build = tmp_path / "repo/build"
    source = source_tree(build / "parts/p/src")
    cache = tmp_path / "c"
    first = watched(source, build, cache)
    walks.clear()
    (source / "pkg/a.py").write_text("a = 'edited'\n")
    now = watched(source, build, cache)
    assert now["pkg/a.py"] != first["pkg/a.py"] and walks == []


def test_a_symlinked_source_pointed_elsewhere_is_walked(tmp_path, daemon, walks, monkeypatch):
    first, other = source_tree(tmp_path / "a"), tmp_path / "b"
    shutil.copytree(first, other, symlinks=True)
    (other / "README").write_text("b's own\n")
    link, build, cache = tmp_path / "src", tmp_path / "build", tmp_path / "c"
    os.symlink("a", link)
    watched(link, build, cache)
    _relink(link, "b")
    walks.clear()
    assert watched(link, build, cache) == walked(link, build, cache, monkeypatch)
    assert walks[0] == ""


def test_a_folder_watchman_is_told_to_ignore_is_always_walked(tmp_path, daemon, walks, monkeypatch):
    source, build, cache = source_tree(tmp_path / "src"), tmp_path / "build", tmp_path / "c"
    (source / ".watchmanconfig").write_text(json.dumps({"ignore_dirs": ["pkg"]}))
    watched(source, build, cache)
    (source / "pkg/a.py").write_text("never reported\n")
    walks.clear()
    assert watched(source, build, cache) == walked(source, build, cache, monkeypatch)
    assert walks[0] == ""


def test_a_lost_watch_or_a_new_daemon_walks_again(tmp_path, daemon, walks, monkeypatch):
    source, build, cache = source_tree(tmp_path / "src"), tmp_path / "build", tmp_path / "c"
    watched(source, build, cache)
    daemon.kill()
    (source / "pkg/a.py").write_text("changed while no daemon ran\n")  # no one saw this
    monkeypatch.setattr(watchman, "_open", None)
    daemon.start()  # its clocks are not the old daemon's: a fresh instance
    walks.clear()
    assert watched(source, build, cache) == walked(source, build, cache, monkeypatch)
    assert walks[0] == ""


def test_a_daemon_that_is_gone_means_a_walk_not_an_error(tmp_path, daemon, walks, monkeypatch):
    source, build, cache = source_tree(tmp_path / "src"), tmp_path / "build", tmp_path / "c"
    watched(source, build, cache)
    daemon.kill()
    (source / "README").write_text("seen by the walk\n")
    walks.clear()
    assert watched(source, build, cache) == walked(source, build, cache, monkeypatch)
    assert walks[0] == ""


def _edit_keeping_mtime(path: Path) -> None:
    """What `cp -p` or `tar x` do: new bytes of the same size, the old mtime."""
    info = path.stat()
    path.write_text(path.read_text().upper())
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def _relink(path: Path, target: str) -> None:
    path.unlink()
    os.symlink(target, path)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# -- doit stage, as a user runs it, with watchman on ------------------------------------------

TWO_PARTS = """\
name: watched
parts:
  base: {plugin: dump, source: base}
  top: {plugin: dump, source: top, after: [base]}
"""


PULLED = """\
name: pulled
parts:
  app:
    plugin: dump
    source: src
    override-pull: |
      echo pulled >> {counts}/pulls
      craftctl default
"""


@pytest.fixture
def workspace(tmp_path, daemon) -> Path:
    files = {f"base/share/b{i}.txt": f"base {i}\n" for i in range(5)}
    files.update({f"top/bin/t{i}": f"top {i}\n" for i in range(5)})
    ws = make_workspace(tmp_path / "ws", TWO_PARTS, files)
    stage(ws)  # the first run walks and keeps clocks
    stage(ws)  # the first no-op walks the stage once (no clock vouches for it yet)
    return ws


def stage(workspace: Path) -> str:
    result = doit("stage", f"workspace={workspace}", cwd=workspace.parent)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in out, out
    return out


def test_a_no_op_with_watchman_keeps_clocks_and_rebuilds_nothing(workspace):
    build = workspace.parent / "build"
    assert (build / "stage.watch").is_file()
    assert list((Path(os.environ["PARTSMITH_CACHE_DIR"]) / "stat").glob("*.watch"))
    out = stage(workspace)
    assert "-- build:base" in out and "-- stage" in out, out  # doit's "up to date"


def test_an_edit_a_new_and_a_removed_file_reach_the_stage(workspace):
    build = workspace.parent / "build"
    (workspace.parent / "base/share/b0.txt").write_text("edited\n")
    (workspace.parent / "top/bin/new").write_text("new\n")
    (workspace.parent / "base/share/b4.txt").unlink()
    stage(workspace)
    assert (build / "stage/share/b0.txt").read_text() == "edited\n"
    assert (build / "stage/bin/new").read_text() == "new\n"
    assert not (build / "stage/share/b4.txt").exists()


def test_a_touched_file_is_looked_at_and_a_kept_mtime_does_not_hide_an_edit(workspace):
    build = workspace.parent / "build"
    os.utime(workspace.parent / "base/share/b1.txt")  # same bytes: looked at, nothing rebuilt
    assert "-- build:base" in stage(workspace)
    _edit_keeping_mtime(workspace.parent / "base/share/b2.txt")  # as `cp -p` or `tar x` leave it
    assert ".  build:base" in stage(workspace)
    assert (build / "stage/share/b2.txt").read_text() == "BASE 2\n"


def test_a_write_through_a_stage_link_is_seen_and_repaired(workspace):
    build = workspace.parent / "build"
    with open(build / "stage/share/b3.txt", "a") as edited:
        edited.write("by hand\n")
    out = stage(workspace)
    assert "stage/share/b3.txt was changed by hand" in out, out
    assert (build / "stage/share/b3.txt").read_text() == "base 3\n"
    (build / "stage/share/stray").write_text("added by hand\n")
    stage(workspace)
    assert not (build / "stage/share/stray").exists()


def test_a_write_through_a_prime_link_is_seen_by_stage(workspace):
    """stage and prime link the same install inodes: each farm watches the other."""
    build = workspace.parent / "build"
    for _ in range(2):  # the second keeps prime's clock
        assert doit("prime", f"workspace={workspace}", cwd=workspace.parent).returncode == 0
    with open(build / "prime/share/b3.txt", "a") as edited:
        edited.write("by hand\n")
    assert "stage/share/b3.txt was changed by hand" in stage(workspace)
    assert (build / "stage/share/b3.txt").read_text() == "base 3\n"


def test_an_edit_of_a_pulled_source_in_a_repository_reaches_the_stage(tmp_path, daemon):
    counts = tmp_path / "counts"
    text = PULLED.format(counts=counts)
    ws = make_workspace(tmp_path / "ws", text, {"src/share/a.txt": "a\n"})
    (ws.parent / ".git").mkdir()  # watchman watches the repository, the build root inside it
    stage(ws)
    stage(ws)
    (ws.parent / "src/share/a.txt").write_text("a, edited\n")
    stage(ws)
    assert (ws.parent / "build/stage/share/a.txt").read_text() == "a, edited\n"
    assert len((counts / "pulls").read_text().splitlines()) == 2


def test_the_stage_check_looks_at_no_entry_when_watchman_vouches(workspace, monkeypatch):
    """In this process, as doit's up-to-date check runs it: no lstat of a staged entry while
    nothing changed, one for each after a write through a link."""
    from rules.stage import farm_check

    looked: list[str] = []
    real = farm_check.row_state
    monkeypatch.setattr(
        farm_check, "row_state", lambda path, *args: looked.append(path) or real(path, *args)
    )
    build = workspace.parent / "build"
    installs = [build / "parts/base/install", build / "parts/top/install"]
    epoch = int((build / "stage").stat().st_mtime)  # SOURCE_DATE_EPOCH: the stage's mtime
    assert farm_check.farm_is_intact(build / "stage", epoch, installs)
    looked.clear()  # that check walked if the fixture's no-op left no clock
    assert farm_check.farm_is_intact(build / "stage", epoch, installs) and looked == []
    with monkeypatch.context() as off:  # a run without watchman walks, and keeps the clock
        off.setenv("PARTSMITH_WATCHMAN", "0")
        off.setattr(watchman, "_open", None)
        assert farm_check.farm_is_intact(build / "stage", epoch, installs) and looked
    looked.clear()
    assert farm_check.farm_is_intact(build / "stage", epoch, installs) and looked == []
    with open(build / "parts/base/install/share/b0.txt", "a") as edited:
        edited.write("through the install folder's link\n")
    assert not farm_check.farm_is_intact(build / "stage", epoch, installs)
    assert looked  # watchman said the install folder changed: the check walked
