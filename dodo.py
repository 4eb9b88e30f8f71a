"""doit entry point: turns the workspace file (workspace=PATH) into partsmith's tasks."""

from doit import get_var

from rules.cli import doit_globals

globals().update(
    doit_globals(get_var("workspace"), default="workspace/parts.yaml", verify_part=get_var("part"))
)
