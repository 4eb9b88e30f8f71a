"""Layer 6: the doit front end: the task table, the reporter, the doit checker, `doit cache`,
`doit lock`.
"""

from .task_table import doit_globals

__all__ = [
    "doit_globals",
]
