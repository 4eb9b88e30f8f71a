"""Layer 1: the workspace model (frozen), loaded and validated from YAML with every problem at
once; the key tables, snapcraft compatibility, the advanced grammar, the build root's layout.
"""

from .errors import Problem, WorkspaceError
from .layout import Layout, Sandbox
from .loader import load_workspace
from .model import Part, PythonSettings, Workspace
from .python_schema import PART_SRC_PREFIX

__all__ = [
    "Layout",
    "PART_SRC_PREFIX",
    "Part",
    "Problem",
    "PythonSettings",
    "Sandbox",
    "Workspace",
    "WorkspaceError",
    "load_workspace",
]
