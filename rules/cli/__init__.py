"""Layer 6: the doit front end: the task table, the reporter, the doit checker, `doit cache`,
`doit lock`.
"""

from .errors import CommandError
from .task_table import doit_globals

__all__ = [
    "CommandError",
    "doit_globals",
]
