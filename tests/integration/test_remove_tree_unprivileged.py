"""remove_tree as a user that is not root, for whom folder modes count (root reads and writes any
folder, so the suite run as root never meets them): run as `nobody` through setpriv."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers.doit_runner import REPO

SCRIPT = """
import importlib.util, os, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("files", sys.argv[1])
files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(files)
root = Path(sys.argv[2])
(root / "a" / "unreadable").mkdir(parents=True)
(root / "a" / "unreadable" / "f").write_text("x")
(root / "b").mkdir()
(root / "b" / "g").write_text("y")
os.chmod(root / "b", 0o555)  # read-only: its file cannot be unlinked as it is
os.chmod(root / "a" / "unreadable", 0)  # cannot even be listed
files.remove_tree(root)
print("gone" if not os.path.lexists(root) else "left")
"""


def _as_nobody() -> list[str]:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run as nobody")
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def test_remove_tree_removes_unreadable_and_read_only_folders_of_its_own_user():
    command = _as_nobody()
    with tempfile.TemporaryDirectory() as shared:
        os.chmod(shared, 0o777)  # nobody writes here; pytest's tmp_path is root's alone
        files = Path(shared) / "files.py"
        shutil.copy(REPO / "rules" / "core" / "files.py", files)  # stdlib only: loads alone
        os.chmod(files, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        done = subprocess.run(
            [*command, sys.executable, "-c", SCRIPT, str(files), f"{shared}/tree"],
            capture_output=True,
            text=True,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "gone"
