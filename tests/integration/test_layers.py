"""A python part with a project of its own, built in two layers (rules/build/layers.py): its
locked dependencies as a layer of their own, the project installed over it through overlayfs."""

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import pytest
from helpers.doit_runner import doit, killed_after
from helpers.wheels import make_project, make_wheelhouse
from helpers.workspaces import make_workspace

PART = """\
name: layers
source-date-epoch: 1591640328
python:
  index-url: none
  find-links: [wheels]
parts:
  tool:
    plugin: python
    source: tool
    python-packages: [alpha==1.0, beta==2.0]
"""
SITE = "lib/python3.11/site-packages"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    make_project(
        root / "tool",
        "tool",
        requires=["delta"],
        scripts={"tool": "tool_cli:main"},
        modules={"tool_cli.py": "def main():\n    print('one')\n"},
    )
    return make_workspace(root, PART)


def stage(workspace: Path, **env: str) -> str:
    result = doit(
        "stage", f"workspace={workspace}", cwd=workspace.parent, env={**os.environ, **env}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "built whole" not in result.stdout
    return result.stdout


def edit(workspace: Path, text: str) -> None:
    (workspace.parent / "tool/tool_cli.py").write_text(f"def main():\n    print({text!r})\n")


def part_dir(workspace: Path) -> Path:
    return workspace.parent / "build/parts/tool"


def tree(workspace: Path) -> dict:
    return json.loads((part_dir(workspace) / "tree.json").read_text())


def test_a_build_in_layers_makes_the_bytes_a_whole_build_makes(workspace, tmp_path):
    whole = tmp_path / "whole"
    shutil.copytree(workspace.parent, whole)
    whole_workspace = whole / "parts.yaml"
    stage(workspace)
    edit(workspace, "two")
    stage(workspace)  # over the layer, restored from the store: the cold build used it up
    assert json.loads((part_dir(workspace) / "layer.json").read_text())["key"]
    edit(whole_workspace, "two")
    stage(whole_workspace, PARTSMITH_LAYERS="0", PARTSMITH_CACHE_DIR=str(tmp_path / "c2"))
    assert not (part_dir(whole_workspace) / "layer.json").exists()
    assert tree(workspace) == tree(whole_workspace)
    assert f"{SITE}/tool_cli.py" in tree(workspace)
    assert f"{SITE}/beta.py" in tree(workspace)  # from the layer


def test_an_edit_installs_the_project_alone_and_keeps_every_other_inode(workspace):
    stage(workspace)
    edit(workspace, "two")
    stage(workspace)
    install, staged = part_dir(workspace) / "install", workspace.parent / "build/stage"
    layer_file = part_dir(workspace) / "layer" / SITE / "beta.py"
    before = {
        "install": os.stat(install / SITE / "beta.py").st_ino,
        "stage": os.stat(staged / SITE / "beta.py").st_ino,
        "layer": os.stat(layer_file).st_ino,
        "project": os.stat(install / SITE / "tool_cli.py").st_ino,
    }
    edit(workspace, "three")
    stage(workspace)
    assert os.stat(install / SITE / "beta.py").st_ino == before["install"]
    assert os.stat(staged / SITE / "beta.py").st_ino == before["install"]  # still its link
    assert os.stat(layer_file).st_ino == before["layer"]  # kept, not restored
    assert os.stat(install / SITE / "tool_cli.py").st_ino != before["project"]
    assert "'three'" in (staged / SITE / "tool_cli.py").read_text()
    assert list((install / SITE).glob("__pycache__/tool_cli.*.pyc"))  # compiled over the layer


def test_a_layer_changed_by_hand_is_not_built_over(workspace):
    stage(workspace)
    edit(workspace, "two")
    stage(workspace)
    layer_file = part_dir(workspace) / "layer" / SITE / "beta.py"
    good = layer_file.read_bytes()
    with open(layer_file, "ab") as written:  # as a stray tool might
        written.write(b"\nraise SystemExit('changed by hand')\n")
    edit(workspace, "three")
    stage(workspace)
    staged = workspace.parent / "build/stage" / SITE / "beta.py"
    assert staged.read_bytes() == good
    assert layer_file.read_bytes() == good  # restored from the store


def test_without_layers_nothing_is_layered(workspace):
    stage(workspace, PARTSMITH_LAYERS="0")
    edit(workspace, "two")
    stage(workspace, PARTSMITH_LAYERS="0")
    assert not (part_dir(workspace) / "layer").exists()
    assert not (part_dir(workspace) / "layer.json").exists()


SABOTAGE = """

_build_wheel = build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    # a folder of the layer replaced by a symlink out of the build root (as `rm -rf; ln -s`)
    sub = os.path.join(os.environ["CRAFT_PART_INSTALL"], "lib/python3.11/site-packages/alpha/sub")
    if os.path.isdir(sub):
        import shutil
        shutil.rmtree(sub)
        os.symlink(OUTSIDE, sub)
    return _build_wheel(wheel_directory, config_settings, metadata_directory)
"""


def test_a_build_that_replaces_a_folder_of_its_layer_is_built_whole(workspace, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    stage(workspace)  # the layer exists from here on
    backend = workspace.parent / "tool/backend.py"
    backend.write_text(backend.read_text() + f"\nOUTSIDE = {str(outside)!r}\n" + SABOTAGE)
    result = doit("stage", f"workspace={workspace}", cwd=workspace.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "built whole (" in result.stdout and "replaces a folder of the layer" in result.stdout
    assert list(outside.iterdir()) == []  # nothing written through the symlink
    assert tree(workspace)[f"{SITE}/alpha/sub"] == {"kind": "dir"}  # as a build in one piece
    edit(workspace, "three")
    again = doit("stage", f"workspace={workspace}", cwd=workspace.parent)
    assert again.returncode == 0 and "built whole" not in again.stdout  # remembered: not tried
    assert not (part_dir(workspace) / "layer").exists()


def test_kill_9_at_random_moments_never_leaves_a_part_a_run_trusts(workspace):
    """Edits, removed layers and removed build roots, each cut short by kill -9 at a random
    moment; the next run's part is what its Tree says, byte for byte, with the current edit."""
    root = workspace.parent
    stage(workspace)
    chance = random.Random(4321)  # fixed: a failure can be replayed
    for round_ in range(10):
        what = chance.choice(["edit", "edit", "layer", "restore"])
        edit(workspace, f"round {round_}")
        if what == "layer":
            shutil.rmtree(part_dir(workspace) / "layer", ignore_errors=True)
        elif what == "restore":
            shutil.rmtree(root / "build")
        killed_after(chance.uniform(0.05, 1.5), "stage", f"workspace={workspace}", cwd=root)
        stage(workspace)
        staged = root / "build/stage"
        assert f"'round {round_}'" in (staged / SITE / "tool_cli.py").read_text(), what
        for path, entry in tree(workspace).items():
            if entry["kind"] == "file":
                data = (part_dir(workspace) / "install" / path).read_bytes()
                assert hashlib.sha256(data).hexdigest() == entry["sha256"], (round_, what, path)


def test_a_project_in_a_source_subdir_is_built_over_its_layer_as_whole(workspace, tmp_path):
    shutil.move(workspace.parent / "tool", workspace.parent / "checkout/tool")
    workspace.write_text(PART.replace("source: tool", "source: checkout\n    source-subdir: tool"))
    whole = tmp_path / "whole"
    shutil.copytree(workspace.parent, whole)
    stage(workspace)
    (workspace.parent / "checkout/tool/tool_cli.py").write_text("def main():\n    print(2)\n")
    stage(workspace)
    assert (part_dir(workspace) / "layer.json").is_file()  # built over the layer
    (whole / "checkout/tool/tool_cli.py").write_text("def main():\n    print(2)\n")
    other = whole / "parts.yaml"
    stage(other, PARTSMITH_LAYERS="0", PARTSMITH_CACHE_DIR=str(tmp_path / "c2"))
    assert tree(workspace) == tree(other)
