"""run_action: a part's script run by bash in its sandbox, with only the fixed environment."""

import dataclasses
import os
import stat

import pytest
import yaml
from helpers.workspaces import make_workspace

from rules.action import run as action
from rules.build.builder import plan
from rules.core.errors import BuildError
from rules.workspace.layout import Sandbox
from rules.workspace.loader import load_workspace


def run_part(tmp_path, script, files=None, env_pairs=()):
    config = {
        "name": "w",
        "parts": {"p": {"plugin": "dump", "source": "src", "override-build": script}},
    }
    workspace = load_workspace(
        make_workspace(
            tmp_path / "ws", yaml.safe_dump(config), {"src/keep": "kept", **(files or {})}
        )
    )
    act = dataclasses.replace(plan(workspace, "p"), build_environment=env_pairs)
    sandbox = Sandbox(tmp_path / "sandbox")
    return action.run_action(act, sandbox, {}), sandbox


def test_action_sees_only_the_fixed_environment_and_umask_022(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://evil")
    monkeypatch.setenv("LD_PRELOAD", "/evil.so")
    os.umask(0o077)
    try:
        result, sandbox = run_part(
            tmp_path,
            'env | sed "s|${CRAFT_PART_INSTALL%/install}|SANDBOX|g" > "$CRAFT_PART_INSTALL/env"\n'
            'umask > "$CRAFT_PART_INSTALL/umask"\n'
            'touch "$CRAFT_PART_INSTALL/made"',
            env_pairs=(("GREETING", "hi $TZ"),),
        )
    finally:
        os.umask(0o022)
    install = sandbox.install
    names = {line.split("=", 1)[0] for line in (install / "env").read_text().splitlines()}
    assert "PIP_INDEX_URL" not in names and "LD_PRELOAD" not in names
    assert "GREETING=hi UTC" in (install / "env").read_text()
    assert "HOME=SANDBOX/home" in (install / "env").read_text()
    assert (install / "umask").read_text().strip() == "0022"
    assert stat.S_IMODE(os.stat(install / "made").st_mode) == 0o644
    assert result.tree["made"].digest


def test_output_holding_the_sandbox_path_fails_naming_the_file(tmp_path):
    with pytest.raises(BuildError) as caught:
        run_part(
            tmp_path,
            'echo "$CRAFT_PART_INSTALL" > "$CRAFT_PART_INSTALL/where"\n'
            'echo fine > "$CRAFT_PART_INSTALL/ok"',
        )
    assert "where: holds the sandbox path" in caught.value.details
    assert "ok" not in caught.value.details.replace("holds", "")


def test_failing_script_reports_status_and_output_tail(tmp_path):
    with pytest.raises(BuildError) as caught:
        run_part(tmp_path, "for i in $(seq 1 30); do echo line$i; done\nexit 7")
    error = caught.value
    assert "exit status 7" in error.brief and "'p'" in error.brief
    assert "line30" in error.details and "line10" not in error.details
    assert "build.log" in error.resolution


def test_craftctl_default_runs_the_plugins_build_inside_override(tmp_path):
    result, _ = run_part(
        tmp_path,
        'craftctl default\necho more > "$CRAFT_PART_INSTALL/more"',
        files={"src/sub/x": "x", "src/link": "->sub/x"},
    )
    assert {"keep", "sub", "sub/x", "link", "more"} == set(result.tree)
    assert result.tree["link"].kind == "symlink" and result.tree["link"].target == "sub/x"
