"""The sealed sandbox as partsmith describes it (rules/action/seal.py), bwrap not started: what a
sealed step's scripts name is the path the build sees (/partsmith), and bwrap's command line
holds the binds and namespaces README lists."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from rules.action import seal
from rules.action.craftctl import write_tools
from rules.action.step import prepare_sandbox
from rules.workspace import Sandbox


@pytest.fixture
def sealed(monkeypatch, tmp_path) -> Sandbox:
    monkeypatch.delenv("PARTSMITH_UNSEALED")
    monkeypatch.setattr(seal, "_bundled_version", lambda: "0.11.0")
    monkeypatch.setattr(seal, "_checked", lambda bwrap: None)
    monkeypatch.setattr(seal, "_bundled", lambda: "/opt/bwrap")
    made = Sandbox(tmp_path / "sandbox")
    prepare_sandbox(made)
    return made


def test_the_tools_a_sealed_script_calls_name_the_paths_it_sees(sealed):
    write_tools(sealed, (), ("make",), stage=("*",), build_dir=sealed.build / "sub")
    craftctl = (sealed.tools / "craftctl").read_text()
    assert "tools=/partsmith/tools\n" in craftctl
    assert "cd /partsmith/build/sub" in (sealed.tools / "default-build.sh").read_text()
    stage = shlex.split((sealed.tools / "default-stage.sh").read_text())
    assert stage[2:5] == [
        "/partsmith/tools/craftctl-stage.py",
        "/partsmith/install",
        "$CRAFT_STAGE",
    ]
    assert str(sealed.root) not in craftctl + (sealed.tools / "default-stage.sh").read_text()


def test_bwrap_gets_no_network_no_capabilities_and_the_sandbox_at_partsmith(sealed, tmp_path):
    sdk = tmp_path / "sdk"
    sdk.mkdir()
    words = seal.sealed_command(sealed, False, (sdk, Path("/usr/lib")), (tmp_path / "uv",))
    command = " ".join(words)
    assert words[0] == "/opt/bwrap" and words[-1] == "--"
    assert "--unshare-all" in words and "--share-net" not in words
    assert "--cap-drop ALL" in command and "--die-with-parent" in words
    assert f"--ro-bind {sdk} {sdk}" in command  # read-only, at its own path
    assert "--ro-bind /usr/lib /usr/lib" not in command  # below /usr: already there
    assert f"--bind {tmp_path / 'uv'} {tmp_path / 'uv'}" in command
    assert f"--bind {sealed.root} /partsmith --" in command
    assert "/etc/ssl" not in command and "--tmpfs /tmp" in command
    assert "--share-net" in seal.sealed_command(sealed, True, (), ())


def test_a_sealed_output_naming_any_sandbox_folder_is_refused(sealed):
    from rules.action.run import _forbidden

    for folder in ("src", "build", "inputs"):  # made by the time an output is captured
        (sealed.root / folder).mkdir()
    forbidden = _forbidden(sealed)
    for name in ("install", "build", "src", "tools", "project", "home", "inputs"):
        assert f"/partsmith/{name}".encode() in forbidden
    assert str(sealed.root).encode() in forbidden
    assert b"/partsmith" not in forbidden  # a project's URL may name partsmith


def test_the_hint_names_a_hidden_host_path_and_never_one_the_sandbox_shows(sealed, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("v1\n")
    hint = seal.hidden_path_hint(f"cat: {outside}: No such file or directory\n")
    assert hint is not None and hint.startswith(f"{outside} exists on this machine")
    shown = (
        "/usr/include/stdio.h:27:10: fatal error: foo.h: No such file or directory\n"
        "/bin/sh: 1: foo: not found\n"
        f"cat: {outside}: No such file or directory\n"
    )
    assert seal.hidden_path_hint(shown, readable=(tmp_path,)) is None  # an extra path
    assert seal.hidden_path_hint("cat: /no/such/file: No such file or directory") is None
