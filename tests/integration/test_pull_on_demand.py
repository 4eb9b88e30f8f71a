"""Build without the bytes (issue 21): after `rm -rf build`, a python part's pull is restored as
its record only, the build restores from the cache without a wheel copied; a build that must run
gets its wheels from the store first."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from helpers.doit_runner import doit
from helpers.wheels import make_wheelhouse
from helpers.workspaces import make_workspace

PART = """\
name: lazy
python: {{index-url: none, find-links: [wheels]}}
parts:
  app:
    plugin: python
    python-packages: [alpha==1.0]
{script}"""


def stage(ws: Path) -> str:
    result = doit("stage", f"workspace={ws}", cwd=ws.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_restore_copies_no_wheel_and_a_build_that_runs_gets_them(tmp_path):
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    ws = make_workspace(root, PART.format(script=""))
    stage(ws)
    pulled = root / "build/parts/app/pulled"
    assert sorted(p.name for p in (pulled / "wheels").rglob("*.whl"))

    shutil.rmtree(root / "build")
    out = stage(ws)
    assert "wheels left in the store until a build needs them" in out
    assert "build:app: restored" in out
    assert sorted(os.listdir(pulled)) == ["pulled.json"]  # not one wheel copied
    staged = root / "build/stage/bin/alpha"
    assert staged.is_file()

    # a change of the build alone (its pull is the same): the build runs, with its wheels
    ws.write_text(PART.format(script="    override-build: |\n      craftctl default\n"))
    out = stage(ws)
    assert "build:app: built" in out
    assert len(list((pulled / "wheels").rglob("*.whl"))) == 3
    assert (root / "build/stage/bin/alpha").is_file()


def test_a_store_that_lost_a_wheel_pulls_it_again(tmp_path):
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    ws = make_workspace(root, PART.format(script=""))
    stage(ws)
    wheel = next((root / "build/parts/app/pulled/wheels").rglob("gamma*.whl"))
    from rules.tree import hash_file

    digest = hash_file(wheel)[0]
    shutil.rmtree(root / "build")
    blob = Path(os.environ["PARTSMITH_CACHE_DIR"]) / "cas" / digest[:2] / digest
    blob.unlink()
    out = stage(ws)
    assert "wheels left in the store" not in out  # a record only would name a lost wheel
    assert (root / "build/stage/bin/alpha").is_file()


def test_verify_after_a_record_only_pull_takes_the_wheels_from_the_callers_store(tmp_path):
    """verify's second build runs as a hostile caller (another $HOME): the wheels it needs come
    from the store of the caller's $HOME, before that changes (as CI runs it: no cache setting)."""
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    ws = make_workspace(root, PART.format(script=""))
    env = {
        k: v for k, v in os.environ.items() if k not in ("PARTSMITH_CACHE_DIR", "XDG_CACHE_HOME")
    }
    env["HOME"] = str(tmp_path / "home")
    for args in (["stage"], ["stage"], ["verify"]):
        if args == ["stage"] and (root / "build").exists():
            shutil.rmtree(root / "build")  # the second stage: a record-only pull
        result = doit(*args, f"workspace={ws}", cwd=root, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "verify: 1 part reproducible" in result.stdout


def test_a_wheel_lost_between_a_record_only_pull_and_its_build_is_pulled_on_the_next_run(
    tmp_path,
):
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    ws = make_workspace(root, PART.format(script=""))
    stage(ws)
    wheel = next((root / "build/parts/app/pulled/wheels").rglob("gamma*.whl"))
    from rules.tree import hash_file

    digest = hash_file(wheel)[0]
    shutil.rmtree(root / "build")
    assert "wheels left in the store" in stage(ws)
    (Path(os.environ["PARTSMITH_CACHE_DIR"]) / "cas" / digest[:2] / digest).unlink()
    ws.write_text(PART.format(script="    override-build: |\n      craftctl default\n"))
    result = doit("stage", f"workspace={ws}", cwd=ws.parent)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "the store no longer holds gamma-3.0-py3-none-any.whl" in result.stdout
    assert "Run again: the part is pulled again." in result.stdout
    out = stage(ws)  # pulled again (the lost wheel fetched from find-links), then built
    assert "build:app: built" in out


# -- a pulled source (override-pull) --------------------------------------------------------------

PULLED = """\
name: pulled
parts:
  app:
    plugin: dump
    source: src
    override-pull: |
      echo pulled >> {counts}/pulls
      craftctl default
      echo patched > $CRAFT_PART_SRC/patched.txt
{build}"""


def pulled_workspace(tmp_path: Path, build: str = "") -> Path:
    counts = tmp_path / "counts"  # the one host folder the tests' scripts may write
    files = {"src/share/a.txt": "a\n", "src/share/deep/b.txt": "b\n"}
    return make_workspace(tmp_path / "ws", PULLED.format(counts=counts, build=build), files)


def pulls(tmp_path: Path) -> int:
    return len((tmp_path / "counts/pulls").read_text().splitlines())


def test_a_wiped_build_root_gets_its_pulled_source_from_the_store_without_override_pull(
    tmp_path,
):
    ws = pulled_workspace(tmp_path)
    root = ws.parent
    stage(ws)
    assert pulls(tmp_path) == 1
    before = (root / "build/stage/patched.txt").read_text()

    shutil.rmtree(root / "build")
    out = stage(ws)
    assert pulls(tmp_path) == 1, out  # override-pull did not run again
    assert "source restored from the cache (its files come when a build runs)" in out
    assert "build:app: restored" in out
    assert not (root / "build/parts/app/src").exists()  # nothing of pull written
    assert (root / "build/stage/patched.txt").read_text() == before
    assert "-- pull:app" in stage(ws)  # and that is up to date

    # a change of the build alone: the build runs, on the source written from the store
    ws.write_text(
        PULLED.format(
            counts=tmp_path / "counts",
            build="    override-build: |\n"
            "      craftctl default\n      echo built > $CRAFT_PART_INSTALL/b\n",
        )
    )
    out = stage(ws)
    assert "build:app: built" in out and pulls(tmp_path) == 1
    assert (root / "build/parts/app/src/patched.txt").read_text() == "patched\n"
    recorded = json.loads((root / "build/parts/app/record.json").read_text())
    assert "patched.txt" in recorded["source"]  # explain lists the files, not just a digest
    assert (root / "build/stage/patched.txt").read_text() == before
    assert (root / "build/stage/share/deep/b.txt").read_text() == "b\n"


def test_a_changed_source_or_a_store_without_the_pull_runs_override_pull_again(tmp_path):
    ws = pulled_workspace(tmp_path)
    root = ws.parent
    stage(ws)
    (root / "src/share/a.txt").write_text("a, edited\n")  # a new pull record
    shutil.rmtree(root / "build")
    stage(ws)
    assert pulls(tmp_path) == 2
    assert (root / "build/stage/share/a.txt").read_text() == "a, edited\n"

    shutil.rmtree(root / "build")
    shutil.rmtree(os.environ["PARTSMITH_CACHE_DIR"])  # nothing kept
    stage(ws)
    assert pulls(tmp_path) == 3
    assert (root / "build/stage/share/a.txt").read_text() == "a, edited\n"


def test_a_kept_source_whose_blobs_are_gone_is_pulled_again_by_the_next_run(tmp_path):
    ws = pulled_workspace(tmp_path, build="    override-build: 'craftctl default'\n")
    root = ws.parent
    stage(ws)
    shutil.rmtree(root / "build")
    cache = Path(os.environ["PARTSMITH_CACHE_DIR"])
    for result in (cache / "ac").rglob("*.json"):  # the build's result gone: it must run,
        if json.loads(result.read_text())["record"].get("rule") == "build":  # and its source come
            result.unlink()
    for blob in (cache / "cas").rglob("*"):
        if blob.is_file() and blob.read_bytes() == b"patched\n":
            blob.unlink()  # and one of the source's blobs with it
    result = doit("stage", f"workspace={ws}", cwd=root)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in out
    assert "the store no longer holds its pulled source" in out and "Run again" in out
    stage(ws)  # the next run pulls again
    assert pulls(tmp_path) == 2
    assert (root / "build/stage/patched.txt").read_text() == "patched\n"
