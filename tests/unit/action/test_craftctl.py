"""`craftctl default` of override-stage as write_tools writes it: partsmith's Python running
rules.tree's migrate on $CRAFT_PART_INSTALL as it is when it is called, with the part's stage
fileset (run here in-process: the tool script is what the step's bash would start)."""

from __future__ import annotations

import runpy
import shlex
import sys

import pytest

from rules.action.craftctl import write_tools
from rules.action.step import prepare_sandbox
from rules.workspace import Sandbox


@pytest.fixture
def sandbox(tmp_path) -> Sandbox:
    made = Sandbox(tmp_path / "sandbox")
    prepare_sandbox(made)
    return made


def stage_default(sandbox: Sandbox, fileset: tuple[str, ...]) -> list[str]:
    write_tools(sandbox, (), (), stage=fileset)
    lines = (sandbox.tools / "default-stage.sh").read_text().splitlines()
    assert len(lines) == 1
    return shlex.split(lines[0])


def test_stage_default_runs_partsmiths_python_isolated_with_the_fileset(sandbox):
    words = stage_default(sandbox, ("*", "-etc", "share/my file", "-*.tmp"))
    tool = str(sandbox.tools / "craftctl-stage.py")
    assert words == [sys.executable, "-I", tool, str(sandbox.install), "$CRAFT_STAGE"] + [
        "*",
        "-etc",
        "share/my file",
        "-*.tmp",
    ]


def test_the_stage_tool_migrates_the_install_as_it_is_when_called(sandbox, monkeypatch, capsys):
    words = stage_default(sandbox, ("*", "-etc"))
    (sandbox.install / "etc").mkdir()
    (sandbox.install / "etc/conf").write_text("c")
    (sandbox.install / "written-by-the-script").write_text("w")
    staged = sandbox.root / "staged"
    staged.mkdir()
    monkeypatch.setattr(sys, "path", list(sys.path))  # the tool puts partsmith's root first
    monkeypatch.setattr(sys, "argv", [words[2], words[3], str(staged), *words[5:]])
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(words[2], run_name="__main__")
    assert exited.value.code == 0
    assert sorted(p.name for p in staged.iterdir()) == ["written-by-the-script"]
    assert "craftctl default: 1 entries" in capsys.readouterr().out
