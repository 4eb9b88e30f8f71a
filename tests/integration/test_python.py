"""Python parts, offline: tiny wheels from tmp_path installed with --no-index."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.doit_runner import REPO, doit
from helpers.wheels import make_project, make_wheel, make_wheelhouse
from helpers.workspaces import make_workspace, snapshot

TWO_PARTS = """\
name: py
source-date-epoch: 1591640328
python:
  index-url: none
  find-links: [wheels]
parts:
  first:
    plugin: python
    python-packages: [alpha==1.0, gamma]
  second:
    plugin: python
    source: tool
    python-packages: [alpha==1.0, beta==2.0, delta]
"""


@pytest.fixture
def python_workspace(tmp_path):
    """Two python parts: `first` asks for gamma (a dependency of beta for `second`), `second`
    also builds its own project `tool` with a console script."""
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    make_project(
        root / "tool",
        "tool",
        requires=["delta"],
        scripts={"tool": "tool_cli:main"},
        modules={
            "tool_cli.py": "import delta\n\ndef main():\n    print('tool uses', delta.NAME)\n"
        },
    )
    return make_workspace(root, TWO_PARTS)


def stage_env(stage: Path) -> dict:
    return {"PATH": f"{stage / 'bin'}:/usr/bin:/bin", "HOME": str(stage), "LC_ALL": "C.UTF-8"}


def test_two_python_parts_with_the_same_packages_stage_and_run(python_workspace):
    root = python_workspace.parent
    result = doit("stage", f"workspace={python_workspace}", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr

    build = root / "build"
    first = json.loads((build / "parts/first/tree.json").read_text())
    second = json.loads((build / "parts/second/tree.json").read_text())
    shared = [path for path in first if path in second and first[path]["kind"] == "file"]
    assert len(shared) >= 20  # alpha, beta, gamma with their pycs, dist-info, scripts, pyvenv.cfg
    assert [p for p in shared if first[p] != second[p]] == []
    assert (
        "lib/python3.11/site-packages/gamma-3.0.dist-info/REQUESTED" in shared
    )  # asked by one, a dep in the other

    stage = build / "stage"
    env = stage_env(stage)

    def run(*cmd):
        return subprocess.run(cmd, env=env, capture_output=True, text=True)

    assert run("alpha").stdout == "ALPHA!\n"
    assert run("tool").stdout == "tool uses delta\n"
    assert (stage / "bin/alpha").read_bytes().startswith(b"#!/usr/bin/env python3\n")
    assert not (stage / "bin/activate").exists()
    assert "command =" not in (stage / "pyvenv.cfg").read_text()
    assert not list(stage.glob("lib/python*/site-packages/*.dist-info/direct_url.json"))


def test_staged_pycs_are_checked_hash_and_used(python_workspace):
    root = python_workspace.parent
    assert doit("stage", f"workspace={python_workspace}", cwd=root).returncode == 0
    stage = root / "build" / "stage"
    pyc = next(stage.glob("lib/python*/site-packages/alpha/sub/__pycache__/deep.*.pyc"))
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b11  # hash-based, checked
    verbose = subprocess.run(
        ["python3", "-v", "-c", "import alpha.sub.deep as d; print(d.__file__, d.VALUE)"],
        env=stage_env(stage),
        capture_output=True,
        text=True,
    )
    assert f"{stage}/lib/python3.11/site-packages/alpha/sub/deep.py 42" in verbose.stdout
    assert f"code object from '{pyc}'" in verbose.stderr


def test_record_lists_the_rewritten_scripts_with_their_real_hashes(python_workspace):
    root = python_workspace.parent
    assert doit("stage", f"workspace={python_workspace}", cwd=root).returncode == 0
    site = next((root / "build/stage/lib").glob("python*/site-packages"))
    record = (site / "beta-2.0.dist-info/RECORD").read_text()
    row = next(line for line in record.splitlines() if line.startswith("../../../bin/beta-tool,"))
    import base64
    import hashlib

    data = (root / "build/stage/bin/beta-tool").read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert row == f"../../../bin/beta-tool,sha256={digest},{len(data)}"


def hostile_env(tmp_path: Path) -> dict:
    env = os.environ.copy()
    env.update(
        {
            "PIP_INDEX_URL": "http://127.0.0.1:9/nowhere",
            "PIP_COMPILE": "0",
            "PIP_REQUIRE_VIRTUALENV": "1",
            "PIP_NO_INDEX": "0",
            "PIP_FIND_LINKS": str(tmp_path),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(tmp_path),
            "PYTHONHASHSEED": "7",
            "TZ": "America/Lima",
            "LANG": "fr_FR.UTF-8",
            "LC_ALL": "fr_FR.UTF-8",
            "HOME": str(tmp_path / "home"),
        }
    )
    return env


def test_hostile_caller_and_another_path_change_no_byte(python_workspace, tmp_path):
    root = python_workspace.parent
    elsewhere = (
        tmp_path
        / "a"
        / "much"
        / "longer"
        / "path"
        / "so"
        / "that"
        / "pip"
        / "uses"
        / "its"
        / "sh"
        / "trampoline"
        / "ws"
    )
    shutil.copytree(root, elsewhere, symlinks=True)
    assert doit("stage", f"workspace={python_workspace}", cwd=tmp_path).returncode == 0
    result = doit(
        "stage",
        f"workspace={elsewhere / 'parts.yaml'}",
        cwd=tmp_path,
        env=hostile_env(tmp_path),
        umask=0o077,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(root / "build" / "stage") == snapshot(elsewhere / "build" / "stage")


def test_requirements_with_hashes_are_checked(tmp_path):
    root = tmp_path / "ws"
    wheel = make_wheel(root / "wheels", "delta", "0.1", {"delta.py": "NAME = 'delta'\n"})
    import hashlib

    good = hashlib.sha256(wheel.read_bytes()).hexdigest()
    workspace = make_workspace(
        root,
        """\
        name: hashes
        python: {index-url: none, find-links: [wheels]}
        parts:
          p: {plugin: python, source: src, python-requirements: [requirements.txt]}
        """,
        {"src/requirements.txt": f"delta==0.1 --hash=sha256:{good}\n"},
    )
    ok = doit("stage", f"workspace={workspace}", cwd=root)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    pulled = json.loads((root / "build/parts/p/pulled/pulled.json").read_text())
    assert pulled["wheels"] == [
        {"file": wheel.name, "name": "delta", "sha256": good, "version": "0.1"}
    ]

    (root / "src/requirements.txt").write_text(f"delta==0.1 --hash=sha256:{'0' * 64}\n")
    bad = doit("stage", f"workspace={workspace}", cwd=root)
    assert bad.returncode == 1 and "Traceback" not in bad.stdout + bad.stderr
    assert "part 'p': package delta==0.1" in bad.stdout and "not among the hashes" in bad.stdout
    assert (root / "build/stage/delta.py").exists() is False  # python parts stage under lib/
    assert json.loads((root / "build/parts/p/pulled/pulled.json").read_text()) == pulled  # kept


@pytest.mark.parametrize(
    "python, package, expected",
    [
        (
            "{index-url: none, find-links: [wheels]}",
            "nosuch==1.0",
            "nosuch was not found in the provided package locations",
        ),
        (
            "{index-url: none, find-links: [wheels]}",
            "delta==9.9",
            "there is no version of delta==9.9",
        ),
        (
            "{index-url: 'http://127.0.0.1:9/simple'}",
            "delta",
            "the package index could not be reached",
        ),
    ],
)
def test_pull_errors_are_short_and_name_the_part(tmp_path, python, package, expected):
    root = tmp_path / "ws"
    make_wheel(root / "wheels", "delta", "0.1", {"delta.py": ""})
    workspace = make_workspace(
        root,
        f"""\
        name: errors
        python: {python}
        parts:
          needs: {{plugin: python, python-packages: ['{package}']}}
        """,
    )
    result = doit("stage", f"workspace={workspace}", cwd=root)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "part 'needs': pull failed" in result.stdout and expected in result.stdout
    assert not (root / "build/parts/needs/pulled").exists()


def test_a_changed_pulled_wheel_is_refused_at_build(python_workspace, tmp_path, monkeypatch):
    root = python_workspace.parent
    assert doit("build:first", f"workspace={python_workspace}", cwd=root).returncode == 0
    wheel = next((root / "build/parts/first/pulled/wheels").glob("gamma-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    (root / "build/parts/first/result.json").unlink()  # not built here any more...
    monkeypatch.setenv("PARTSMITH_CACHE_DIR", str(tmp_path / "empty-cache"))  # ...nor in the cache
    result = doit("build:first", f"workspace={python_workspace}", cwd=root)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "pulled wheel gamma-3.0-py3-none-any.whl is missing or changed" in result.stdout


def test_a_trusted_pulled_wheel_changed_in_place_is_still_refused(
    python_workspace, tmp_path, monkeypatch
):
    """A rebuild does not hash the pulled wheels again while their stat is the one they had
    when last hashed right; a change of a wheel's bytes (its size and mtime kept) moves its
    ctime, so it is hashed again, and refused."""
    root = python_workspace.parent
    assert doit("build:first", f"workspace={python_workspace}", cwd=root).returncode == 0
    time.sleep(0.1)  # the wheels' ctimes settled: the next build records them as verified
    (root / "build/parts/first/result.json").unlink()
    monkeypatch.setenv("PARTSMITH_CACHE_DIR", str(tmp_path / "second-cache"))  # built again
    assert doit("build:first", f"workspace={python_workspace}", cwd=root).returncode == 0
    assert any((root / "build/parts/first/pulled.verified").iterdir())  # records were made
    wheel = next((root / "build/parts/first/pulled/wheels").glob("gamma-*.whl"))
    info, data = wheel.stat(), bytearray(wheel.read_bytes())
    data[-1] ^= 0xFF
    wheel.write_bytes(bytes(data))
    os.utime(wheel, ns=(info.st_atime_ns, info.st_mtime_ns))
    (root / "build/parts/first/result.json").unlink()
    monkeypatch.setenv("PARTSMITH_CACHE_DIR", str(tmp_path / "empty-cache"))
    result = doit("build:first", f"workspace={python_workspace}", cwd=root)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "pulled wheel gamma-3.0-py3-none-any.whl is missing or changed" in result.stdout
    cleaned = doit("clean", "pull:first", f"workspace={python_workspace}", cwd=root)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert not (root / "build/parts/first/pulled.verified").exists()  # the records go with it


def test_a_package_whose_pth_file_imports_a_module_builds_clean(tmp_path):
    root = tmp_path / "ws"
    make_wheel(
        root / "wheels",
        "hacky",
        "1.0",
        {
            "hacky-precedence.pth": "import _hack_hook; _hack_hook.install()\n",
            "_hack_hook/__init__.py": "def install():\n    pass\n",
        },
    )
    workspace = make_workspace(
        root,
        """\
        name: pth
        python: {index-url: none, find-links: [wheels]}
        parts:
          p: {plugin: python, python-packages: [hacky]}
        """,
    )
    result = doit("stage", f"workspace={workspace}", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    pyc = next(
        (root / "build/stage").glob("lib/python*/site-packages/_hack_hook/__pycache__/*.pyc")
    )
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b11


def test_a_checkout_path_with_a_space_changes_no_byte(python_workspace, tmp_path):
    root = python_workspace.parent
    spaced = tmp_path / "with space" / "ws"
    shutil.copytree(root, spaced, symlinks=True)
    assert doit("stage", f"workspace={python_workspace}", cwd=tmp_path).returncode == 0
    result = doit("stage", f"workspace={spaced / 'parts.yaml'}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(root / "build" / "stage") == snapshot(spaced / "build" / "stage")


def test_pull_reruns_when_an_included_requirements_file_changes(tmp_path):
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    workspace = make_workspace(
        root,
        """\
        name: nested
        python: {index-url: none, find-links: [wheels]}
        parts:
          p: {plugin: python, source: src, python-requirements: [requirements.txt]}
        """,
        {"src/requirements.txt": "-r base.txt\n", "src/base.txt": "gamma\n"},
    )
    assert doit("stage", f"workspace={workspace}", cwd=root).returncode == 0
    (root / "src/base.txt").write_text("gamma\ndelta\n")
    result = doit("stage", f"workspace={workspace}", cwd=root)
    assert ".  pull:p" in result.stdout and "delta==0.1" in result.stdout
    assert list((root / "build/stage").glob("lib/python*/site-packages/delta.py"))


def test_where_pip_looks_cannot_be_widened_by_packages_or_requirements(tmp_path):
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    workspace = make_workspace(
        root,
        """\
        name: options
        python: {index-url: none, find-links: [wheels]}
        parts:
          p: {plugin: python, python-packages: ['--find-links=/elsewhere', delta]}
        """,
    )
    result = doit("stage", f"workspace={workspace}", cwd=root)
    assert result.returncode == 3 and "is a pip option, not a package" in result.stderr

    workspace.write_text(
        workspace.read_text().replace(
            "python-packages: ['--find-links=/elsewhere', delta]",
            "source: src, python-requirements: [req.txt]",
        )
    )
    (root / "src").mkdir()
    (root / "src/req.txt").write_text("delta\n--extra-index-url http://elsewhere/simple\n")
    result = doit("stage", f"workspace={workspace}", cwd=root)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert (
        "req.txt:2" in result.stdout
        and "where pip or uv looks is set by the workspace" in result.stdout
    )


@pytest.mark.skipif(
    subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0,
    reason="needs unshare -n (a network namespace) to cut the network",
)
def test_build_runs_offline_from_what_pull_fetched(python_workspace, tmp_path, monkeypatch):
    root = python_workspace.parent
    assert (
        doit("pull:first", "pull:second", f"workspace={python_workspace}", cwd=root).returncode == 0
    )
    monkeypatch.setenv("PARTSMITH_CACHE_DIR", str(tmp_path / "cold-cache"))  # nothing to restore
    command = [
        "unshare",
        "-n",
        sys.executable,
        "-m",
        "doit",
        "-f",
        str(REPO / "dodo.py"),
        "build:first",
        "build:second",
        f"workspace={python_workspace}",
    ]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "build:first: built" in result.stdout and "build:second: built" in result.stdout


def test_a_project_whose_dependencies_changed_unseen_by_pull_fails_clearly(python_workspace):
    root = python_workspace.parent
    assert doit("stage", f"workspace={python_workspace}", cwd=root).returncode == 0
    spec = json.loads((root / "tool/project.json").read_text())
    spec["requires"] = ["delta", "epsilon"]  # the in-tree backend reads this, not pyproject.toml
    (root / "tool/project.json").write_text(json.dumps(spec))
    result = doit("stage", f"workspace={python_workspace}", cwd=root)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "part 'second': build script failed" in result.stdout and "epsilon" in result.stdout


@pytest.mark.network
def test_default_workspace_from_pypi_stages_and_flask_runs(tmp_path):
    shutil.copytree(
        REPO / "workspace", tmp_path / "ws", ignore=shutil.ignore_patterns("build"), symlinks=True
    )
    result = doit("stage", "workspace=ws/parts.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    stage = tmp_path / "ws" / "build" / "stage"
    env = stage_env(stage)
    flask = subprocess.run(["flask", "--version"], env=env, capture_output=True, text=True)
    assert "Flask 3.0.3" in flask.stdout
    assert (
        subprocess.run(["cluster"], env=env, capture_output=True, text=True).stdout
        == "cluster: ok\n"
    )
    projects = subprocess.run(
        ["openstack-projects"], env=env, capture_output=True, text=True
    ).stdout
    assert projects == "openstack-projects: flask 3.0.3, click 8.1.7, certifi bundle found\n"
