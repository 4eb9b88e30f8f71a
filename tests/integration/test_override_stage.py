"""override-stage as in craft-parts: `craftctl default` stages what the part's `stage` fileset
selects of $CRAFT_PART_INSTALL as it is when it is called (issue 18), so files a script writes
there first are staged, and files written after it are not."""

import os
import stat
import subprocess
from pathlib import Path

from helpers.doit_runner import doit
from helpers.workspaces import snap_project

PROJECT = """\
name: steps
base: {base}
parts:
  tool:
    plugin: dump
    source: files
    stage: ['*', '-etc', '-share/*.tmp']
    override-stage: |
      mkdir -p "$CRAFT_PART_INSTALL/share"
      echo before > "$CRAFT_PART_INSTALL/share/before.txt"
      echo scratch > "$CRAFT_PART_INSTALL/share/scratch.tmp"
      printf '#!/bin/sh\\necho hi\\n' > "$CRAFT_PART_INSTALL/bin/made"
      chmod 755 "$CRAFT_PART_INSTALL/bin/made"
      ln -s made "$CRAFT_PART_INSTALL/bin/made-link"
      echo conf > "$CRAFT_PART_INSTALL/etc/made.conf"
      {default}
      echo after > "$CRAFT_PART_INSTALL/share/after.txt"
"""


def project(tmp_path: Path, base: str = "core22", default: str = "craftctl default") -> Path:
    root = tmp_path / "proj"
    for rel, text in {"files/bin/tool": "#!/bin/sh\n", "files/etc/conf": "x\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    # the script is a YAML block: a default of several lines keeps its indentation
    snap_project(root, PROJECT.format(base=base, default=default.replace("\n", "\n      ")))
    return root


def stage(root: Path) -> subprocess.CompletedProcess:
    return doit("stage", "workspace=snap/snapcraft.yaml", cwd=root)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def assert_staged_as_craft_parts(root: Path) -> None:
    staged = root / "build/stage"
    assert listing(staged) == [
        "bin",
        "bin/made",
        "bin/made-link",
        "bin/tool",
        "share",
        "share/before.txt",
    ]
    assert (staged / "share/before.txt").read_text() == "before\n"
    assert stat.S_IMODE(os.stat(staged / "bin/made").st_mode) == 0o755
    assert os.readlink(staged / "bin/made-link") == "made"


def test_craftctl_default_stages_what_the_script_wrote_into_the_install_before_it(tmp_path):
    root = project(tmp_path)
    result = stage(root)
    assert result.returncode == 0, result.stdout + result.stderr
    # the fileset applies to the new files too; what is written after `craftctl default` is not
    # staged (craft-parts migrates the files when craftctl default is called)
    assert_staged_as_craft_parts(root)


def test_snapcraftctl_stage_of_core20_does_the_same(tmp_path):
    root = project(tmp_path, base="core20", default="snapcraftctl stage")
    result = stage(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_staged_as_craft_parts(root)


def test_craftctl_default_that_cannot_stage_fails_with_a_message_not_a_traceback(tmp_path):
    root = project(tmp_path, default='mkdir -p "$CRAFT_STAGE/share/before.txt"\ncraftctl default')
    result = stage(root)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "override-stage script failed" in output
    assert "share/before.txt: a folder is in the way of the part's file" in output
    assert "Traceback" not in output
