"""Build without the bytes (issue 21): after `rm -rf build`, a python part's pull is restored as
its record only, the build restores from the cache without a wheel copied; a build that must run
gets its wheels from the store first."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers.doit_runner import doit
from helpers.wheels import make_project, make_wheelhouse
from helpers.workspaces import make_workspace, snapshot

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


# -- a python part's pulled source: its declaration files only -----------------------------------

PULLED_PYTHON = """\
name: pulledpy
python: {{index-url: none, find-links: [wheels]}}
parts:
  app:
    plugin: python
    source: proj
    python-requirements: [{requirements}]
    override-pull: |
      echo pulled >> {counts}/pulls
      craftctl default
{build}"""


def pulled_python(tmp_path: Path, build: str = "", requirements: str = "requirements.txt") -> Path:
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    modules = {"app/__init__.py": "X = 1\n", **{f"app/m{n}.py": f"N = {n}\n" for n in range(30)}}
    project = make_project(root / "proj", "app", ["alpha"], {}, modules)
    pyproject = (project / "pyproject.toml").read_text()  # its dependencies from the backend
    dynamic = pyproject.replace('dependencies = ["alpha"]', 'dynamic = ["dependencies"]')
    assert dynamic != pyproject
    (project / "pyproject.toml").write_text(dynamic)
    (project / "requirements.txt").write_text("-r base.txt\n")
    (project / "reqs").mkdir()
    (project / "reqs/prod.txt").write_text("-r ../base.txt\n")  # an include that climbs
    (project / "base.txt").write_text("alpha==1.0\n")
    (project / "constraints.txt").write_text("beta==2.0\n")
    (project / "reqs/flat.txt").write_text("alpha==1.0\n")
    (project / "linked.txt").symlink_to("reqs/flat.txt")
    return make_workspace(root, pulled_text(tmp_path, build, requirements))


def pulled_text(tmp_path: Path, build: str = "", requirements: str = "requirements.txt") -> str:
    return PULLED_PYTHON.format(counts=tmp_path / "counts", build=build, requirements=requirements)


def files_below(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir()}


def test_a_python_part_restores_only_the_files_its_pull_reads_from_the_store(tmp_path):
    """After `rm -rf build`, a python part whose source is pulled gets back only the files that
    declare its project and requirements (its pull reads them: requires-python, the key of its
    wheels); override-pull does not run, the build restores, and a build that must run gets the
    whole source."""
    ws = pulled_python(tmp_path)
    root = ws.parent
    stage(ws)
    before = snapshot(root / "build/stage")
    assert pulls(tmp_path) == 1

    shutil.rmtree(root / "build")
    out = stage(ws)
    assert pulls(tmp_path) == 1, out
    assert "source restored from the cache (3 declaration files now" in out
    assert "build:app: restored" in out
    assert not (root / "build/parts/app/src").exists()
    declared = root / "build/parts/app/src-declared"
    assert files_below(declared) == {"pyproject.toml", "requirements.txt", "base.txt"}
    assert snapshot(root / "build/stage") == before
    assert "-- pull:app" in stage(ws)  # and that is up to date

    build = "    override-build: |\n      craftctl default\n      echo built > x\n"
    ws.write_text(pulled_text(tmp_path, build))
    out = stage(ws)
    assert "build:app: built" in out and pulls(tmp_path) == 1
    assert "app/m29.py" in files_below(root / "build/parts/app/src")


def test_a_python_pull_that_must_resolve_again_gets_the_whole_source_first(tmp_path):
    """The store kept the source but not the python pull's result: the pull resolves, which
    reads the whole project (its build backend names its dependencies), so the source restored
    in part is written whole first, without override-pull."""
    ws = pulled_python(tmp_path)
    root = ws.parent
    stage(ws)
    before = snapshot(root / "build/stage")
    shutil.rmtree(root / "build")
    cache = Path(os.environ["PARTSMITH_CACHE_DIR"])
    for result in (cache / "ac").rglob("*.json"):
        if json.loads(result.read_text())["record"].get("rule") in ("pull", "build"):
            result.unlink()
    out = stage(ws)
    assert pulls(tmp_path) == 1, out
    assert "pull:app: source restored from the cache (3 declaration files now" in out
    assert "build:app: built" in out
    assert "app/m29.py" in files_below(root / "build/parts/app/src")
    assert snapshot(root / "build/stage") == before


def test_doit_lock_after_a_wipe_resolves_from_the_whole_pulled_source(tmp_path):
    """`doit lock` pulls a source it lacks (from the store: its declaration files), then
    resolves, which reads the whole project: it is written whole first."""
    ws = pulled_python(tmp_path)
    root = ws.parent
    stage(ws)
    shutil.rmtree(root / "build")
    result = doit("lock", f"workspace={ws}", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lock:app: wrote" in result.stdout and pulls(tmp_path) == 1
    assert "app/m29.py" in files_below(root / "build/parts/app/src")


@pytest.mark.parametrize(
    ("requirements", "declared"),
    [
        ("reqs/prod.txt", {"pyproject.toml", "reqs/prod.txt", "base.txt"}),  # its include climbs
        ("linked.txt", {"pyproject.toml", "linked.txt", "reqs/flat.txt"}),  # a link, and its file
    ],
)
def test_a_requirements_file_is_restored_in_part_with_what_it_reads(
    tmp_path, requirements, declared
):
    """An include that climbs out of the requirements file's folder, and a requirements file
    that is a symlink (with the file it leads to), are restored with the declarations."""
    ws = pulled_python(tmp_path, requirements=requirements)
    root = ws.parent
    stage(ws)
    before = snapshot(root / "build/stage")
    shutil.rmtree(root / "build")
    out = stage(ws)
    assert "3 declaration files now" in out and "build:app: restored" in out, out
    folder = root / "build/parts/app/src-declared"
    assert files_below(folder) == declared
    assert (folder / requirements).is_symlink() == (requirements == "linked.txt")
    assert not (root / "build/parts/app/src").exists()
    assert snapshot(root / "build/stage") == before


def test_settings_that_name_another_declaration_file_get_the_whole_source(tmp_path):
    """The pull's key must be the one the whole source gives. A constraints file named since the
    source was kept is not among the files kept with it: restored in part, the pull's check
    differs from the kept one, and the whole source is written first (after every wipe, while
    the kept source is that one)."""
    ws = pulled_python(tmp_path)
    root = ws.parent
    stage(ws)
    shutil.rmtree(root / "build")
    out = stage(ws)  # restored in part
    whole = root / "build/parts/app/src"
    assert not whole.exists(), out
    ws.write_text(
        pulled_text(tmp_path).replace(
            "    override-pull:", "    python-constraints: [constraints.txt]\n    override-pull:"
        )
    )
    for _ in range(2):
        shutil.rmtree(root / "build")
        out = stage(ws)
        assert whole.is_dir() and pulls(tmp_path) == 1, out
        pulled = json.loads((root / "build/parts/app/pull-result.json").read_text())
        assert "constraints.txt" in pulled["record"]["declarations"]


def test_a_declaration_file_missing_from_a_restore_in_part_gets_the_whole_source(tmp_path):
    ws = pulled_python(tmp_path)
    root = ws.parent
    stage(ws)
    shutil.rmtree(root / "build")
    stage(ws)
    whole = root / "build/parts/app/src"
    assert not whole.exists()
    (root / "build/parts/app/src-declared/base.txt").unlink()
    (root / "build/parts/app/pull-result.json").unlink()  # the python pull runs again
    out = stage(ws)
    assert whole.is_dir(), out
    assert "pull:app: restored 3 wheels" in out and "-- build:app" in out  # the same keys


def test_a_pull_restored_in_part_whose_check_differs_is_not_up_to_date(tmp_path):
    """A setting outside the pull's record can change which files declare the project (the
    plugin picks uv.lock or poetry.lock, source-subdir moves the project): the pull's record may
    then be the same while its check differs. doit's up-to-date check asks the check too, so
    the pull runs and writes the whole source. Here the kept check is changed, as such a setting
    would change the current one."""
    ws = pulled_python(tmp_path)
    root = ws.parent
    stage(ws)
    shutil.rmtree(root / "build")
    stage(ws)
    whole = root / "build/parts/app/src"
    assert not whole.exists()
    record = root / "build/parts/app/src.json"
    data = json.loads(record.read_text())
    data["declared"]["check"] = "0" * 64
    record.write_text(json.dumps(data))
    out = stage(ws)
    assert whole.is_dir(), out
    assert "-- build:app" in out  # the same keys as before: nothing rebuilt
