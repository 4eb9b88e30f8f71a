"""`execution-platform:` in the workspace file: the REAPI platform properties, in every key."""

from __future__ import annotations

from helpers.workspaces import make_workspace

from rules.python.records import toolchain_record
from rules.workspace.loader import load_workspace


def test_the_execution_platform_is_read_sorted_and_is_in_the_toolchain_record(tmp_path):
    text = (
        "name: p\nexecution-platform: {container-image: 'docker://x', OSFamily: linux}\n"
        "parts: {n: {plugin: nil}}\n"
    )
    workspace = load_workspace(make_workspace(tmp_path, text))
    assert workspace.execution_platform == (
        ("OSFamily", "linux"),
        ("container-image", "docker://x"),
    )
    record = toolchain_record(workspace)
    assert record["sandbox"]["execution-platform"] == {
        "OSFamily": "linux",
        "container-image": "docker://x",
    }
    bare = load_workspace(make_workspace(tmp_path / "bare", "name: p\nparts: {n: {plugin: nil}}\n"))
    assert "execution-platform" not in toolchain_record(bare)["sandbox"]
