"""The copies of a part's source that pull and build make (issue 21, item 5: a source of 100k
files is copied once per step, in one pass): what each step sees, and that none writes back."""

from __future__ import annotations

import json
import os

from helpers.doit_runner import doit
from helpers.wheels import make_project, make_wheel, make_wheelhouse
from helpers.workspaces import make_workspace, snapshot

# asks at lock time for what $CRAFT_PART_SRC/dynamic.txt lists, and writes into its own folder
# (as setuptools writes its egg-info): a new file, and an existing one rewritten in place
WRITING_BACKEND = """
import os
from backend import build_wheel


def get_requires_for_build_wheel(config_settings=None):
    with open("project.json", "a") as existing:
        existing.write(" ")
    with open("written-by-the-backend", "w") as new:
        new.write("x")
    return open(os.path.join(os.environ["CRAFT_PART_SRC"], "dynamic.txt")).read().split()
"""


def test_resolution_sees_the_source_at_both_paths_and_never_writes_the_checkout(tmp_path):
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    make_wheel(root / "wheels", "tinyhelper", "1.0", {"tinyhelper.py": "MARK = 'helped'\n"})
    project = make_project(root / "tool", "tool", ["delta"], {}, {"tool_cli.py": "X = 1\n"})
    (project / "writing_backend.py").write_text(WRITING_BACKEND)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"backend"', '"writing_backend"'))
    (project / "dynamic.txt").write_text("tinyhelper\n")
    workspace = make_workspace(
        root,
        """\
        name: copies
        source-date-epoch: 1591640328
        python: {index-url: none, find-links: [wheels]}
        parts:
          app: {plugin: python, source: tool}
        """,
    )
    before = snapshot(project)
    result = doit("lock", f"workspace={workspace}", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    lock = (root / "parts.lock/pylock.app.toml").read_text()
    assert 'name = "tinyhelper"' in lock  # read through $CRAFT_PART_SRC
    assert snapshot(project) == before  # the backend wrote into its copy only
    assert not (root / "build/sandbox/app.lock").exists()  # and the copy is gone


def test_the_build_sees_a_normalized_copy_and_its_writes_stay_in_the_sandbox(tmp_path):
    """$CRAFT_PART_SRC is a copy with modes 0644/0755 and mtimes at the epoch; the build folder
    starts as it; a script's writes reach neither the checkout nor the pulled source."""
    root = tmp_path / "ws"
    files = {"src/a.txt": "a\n", "src/sub/b.sh": "#!/bin/sh\n", "src/link": "-> a.txt"}
    make_workspace(root, "", files)
    os.chmod(root / "src/sub/b.sh", 0o700)
    os.chmod(root / "src/a.txt", 0o600)
    workspace = make_workspace(
        root,
        """\
        name: copies
        source-date-epoch: 1591640328
        parts:
          p:
            plugin: nil
            source: src
            override-pull: |
              craftctl default
              echo pulled >> a.txt
            override-build: |
              cd "$CRAFT_PART_SRC"
              find . -printf '%p %y %m %T@ %l\\n' | sort > "$CRAFT_PART_INSTALL/src.txt"
              cd "$CRAFT_PART_BUILD"
              find . -printf '%p %y %m %T@ %l\\n' | sort > "$CRAFT_PART_INSTALL/build.txt"
              echo "written in build" >> a.txt
              echo "written in src" >> "$CRAFT_PART_SRC/sub/b.sh"
        """,
    )
    checkout = snapshot(root / "src")
    result = doit("stage", f"workspace={workspace}", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    install = root / "build/parts/p/install"
    epoch = "1591640328.0000000000"
    seen = [
        f". d 755 {epoch} ",
        f"./a.txt f 644 {epoch} ",
        f"./link l 777 {epoch} a.txt",
        f"./sub d 755 {epoch} ",
        f"./sub/b.sh f 755 {epoch} ",
    ]
    assert (install / "src.txt").read_text().splitlines() == seen
    assert (install / "build.txt").read_text().splitlines() == seen
    assert snapshot(root / "src") == checkout
    pulled = root / "build/parts/p/src"
    assert (pulled / "a.txt").read_text() == "a\npulled\n"
    assert (pulled / "sub/b.sh").read_text() == "#!/bin/sh\n"
    record = json.loads((root / "build/parts/p/src.json").read_text())
    assert set(record) == {"record", "resolved", "values", "manifest", "kept"}
