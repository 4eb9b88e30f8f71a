"""Removing folders that builds leave behind, read-only ones included."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path


def remove_tree(path: Path) -> None:
    """rmtree that also removes what sits in read-only folders (a chmod 555 in a source, Go's
    module cache under $HOME): such a folder is made writable, then the removal is retried."""
    def unlock_and_retry(function, failed, _error):
        parent = os.path.dirname(failed)
        os.chmod(parent, stat.S_IMODE(os.lstat(parent).st_mode) | stat.S_IRWXU)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, stat.S_IMODE(os.lstat(failed).st_mode) | stat.S_IRWXU)
        function(failed)

    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.lexists(path):
        shutil.rmtree(path, onerror=unlock_and_retry)
