"""doit's file checker for partsmith: a stat cache like git's index, never trusting mtime alone.

doit's default checker calls a file unchanged when its mtime is; `cp -p`, `rsync -a` and `tar x`
keep mtimes while changing bytes. Here a file is re-hashed unless mtime, size, ctime and inode all
match what was recorded (ctime cannot be set back by any tool), so unchanged files cost one stat.
"""

from __future__ import annotations

import os
from pathlib import Path

from doit.dependency import FileChangedChecker

from rules.tree import hash_file


def _stat_key(info: os.stat_result) -> list[int]:
    return [info.st_mtime_ns, info.st_size, info.st_ctime_ns, info.st_ino]


def _sha256(path: str) -> str:
    return hash_file(Path(path))[0]


class StatChecker(FileChangedChecker):
    """State: [mtime_ns, size, ctime_ns, inode, sha256]."""

    def check_modified(self, file_path: str, file_stat: os.stat_result, state: object) -> bool:
        if not isinstance(state, list) or len(state) != 5:
            return True  # recorded by another checker: compare by content from now on
        if _stat_key(file_stat) == state[:4]:
            return False
        changed: bool = file_stat.st_size != state[1] or _sha256(file_path) != state[4]
        return changed

    def get_state(self, dep: str, current_state: object) -> list[int | str] | None:
        key = _stat_key(os.stat(dep))
        if isinstance(current_state, list) and current_state[:4] == key:
            return None  # unchanged: keep what is recorded
        return [*key, _sha256(dep)]
