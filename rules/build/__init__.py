"""Layer 4: one part's build: the plan (plugins return data), the key record, `run_cached`, the
publish; the pull task; `explain`.
"""

from .builder import build_is_current, build_part, plan, restore_written_through
from .errors import PartBuildError
from .explanation import explain
from .pull_task import needs_pull, pull_is_current, pull_part, pulled_things

__all__ = [
    "PartBuildError",
    "build_is_current",
    "build_part",
    "explain",
    "needs_pull",
    "plan",
    "pull_is_current",
    "pull_part",
    "pulled_things",
    "restore_written_through",
]
