"""How many cores one task's own parallel steps may use.

`doit -n N` runs N tasks at once; a task that also spreads its work over every core (compileall
-j 0) then fights the others for them. Each task takes its share instead: the machine's cores
divided by N, at least one. doit's workers are forked from the process that read the command
line, so its `-n` is in sys.argv there.
"""

from __future__ import annotations

import os
import sys


def cores_per_task(argv: list[str] | None = None) -> int:
    available = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    return max(1, available // doit_jobs(sys.argv if argv is None else argv))


def doit_jobs(argv: list[str]) -> int:
    """The N of `-n N`, `-nN`, `--process N` or `--process=N` (1 without it)."""
    for index, word in enumerate(argv):
        value = None
        if word in ("-n", "--process") and index + 1 < len(argv):
            value = argv[index + 1]
        elif word.startswith("--process="):
            value = word.split("=", 1)[1]
        elif word.startswith("-n") and len(word) > 2 and word[2:].isdigit():
            value = word[2:]
        if value is not None and value.isdigit():
            return max(1, int(value))
    return 1
