"""Layer 2: the hermetic action: its environment built from nothing, the network cut, the source
copy and its stat-cached manifest, override scriptlets, the toolchain it sees.
"""

from .environment import SYSTEM_PATH, action_environment
from .errors import ActionError
from .git_version import GitVersion, asks_git, git_version
from .layers import LayerRefused
from .run import Action, Built, OutputFix, run_action
from .scriptlets import part_step, primed_by_script, pulled_by_script
from .seal import overlays_here, sandbox_record, sealed, seen
from .source_copy import copy_source
from .source_index import Manifest, source_manifest, stat_cache
from .step import (
    Conditions,
    Step,
    caller_umask_ignored,
    execute,
    prepare_sandbox,
    step_environment,
    write_script,
)
from .toolchain import interpreter, interpreter_facts, sandbox_paths

__all__ = [
    "Action",
    "ActionError",
    "Built",
    "Conditions",
    "GitVersion",
    "LayerRefused",
    "Manifest",
    "OutputFix",
    "Step",
    "SYSTEM_PATH",
    "action_environment",
    "asks_git",
    "caller_umask_ignored",
    "copy_source",
    "execute",
    "git_version",
    "interpreter",
    "interpreter_facts",
    "overlays_here",
    "part_step",
    "prepare_sandbox",
    "primed_by_script",
    "pulled_by_script",
    "run_action",
    "sandbox_paths",
    "sandbox_record",
    "sealed",
    "seen",
    "source_manifest",
    "stat_cache",
    "step_environment",
    "write_script",
]
