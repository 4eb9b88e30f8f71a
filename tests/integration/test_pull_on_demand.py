"""Build without the bytes (issue 21): after `rm -rf build`, a python part's pull is restored as
its record only, the build restores from the cache without a wheel copied; a build that must run
gets its wheels from the store first."""

from __future__ import annotations

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
