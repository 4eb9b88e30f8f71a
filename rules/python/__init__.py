"""Layer 3: the python rule: the pinned uv, PEP 751 locks, resolution, what a part's files ask
for, locked downloads into the store, sdists built into wheels, the python pull, venv fixes.
"""

from .declared import declared_suffice, kept_declarations
from .errors import PythonError
from .pulled_on_demand import materialize_pulled
from .pylock import Lock, dumps, load, lock_differences, lock_path, normalized
from .python_pull import Pulled, Wheel, load_pulled, pull_python, python_pull_is_current
from .records import toolchain_record
from .requirements import has_project
from .resolution import lock_inputs, resolve_lock
from .uv import uv_base, uv_binary, uv_command, uv_version
from .venv_fixes import PYTHON_VENV, PYTHON_VENV_TOP

__all__ = [
    "Lock",
    "PYTHON_VENV",
    "PYTHON_VENV_TOP",
    "Pulled",
    "Wheel",
    "PythonError",
    "declared_suffice",
    "dumps",
    "has_project",
    "kept_declarations",
    "load",
    "load_pulled",
    "materialize_pulled",
    "lock_differences",
    "lock_inputs",
    "lock_path",
    "normalized",
    "pull_python",
    "python_pull_is_current",
    "resolve_lock",
    "toolchain_record",
    "uv_base",
    "uv_binary",
    "uv_command",
    "uv_version",
]
