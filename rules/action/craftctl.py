"""The tools an action's scripts call: `craftctl default|set|get` and the older `snapcraftctl`,
written into the sandbox's tools/ folder, and the values a script set with them."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from rules.workspace import Sandbox

from .environment import quote as shell_quote
from .seal import seen, seen_path
from .step import script_prologue


def write_tools(
    sandbox: Sandbox,
    build_environment: tuple[tuple[str, str], ...],
    default_build: tuple[str, ...],
    values: dict[str, str] | None = None,
    build_dir: Path | None = None,
    stage: tuple[str, ...] = ("*",),
) -> None:
    """craftctl and snapcraftctl, what `craftctl default` runs in each step (`stage`: the part's
    stage fileset), and the values `craftctl get` answers before a script sets its own."""
    for key, value in (values or {}).items():
        (sandbox.tools / "values" / key).write_text(value)
    workdir = seen_path(sandbox, build_dir or sandbox.build)  # the scripts name what they see
    selected = seen_path(sandbox, selected_folder(sandbox, "prime"))
    defaults = {
        "pull": [":  # the source is in $CRAFT_PART_SRC already: pull fetched or copied it"],
        "build": [*script_prologue(workdir, build_environment), *default_build],
        "stage": [_stage_default(sandbox, stage)],
        "prime": [f'cp --archive --no-dereference {shell_quote(selected)}/. "$CRAFT_PRIME"'],
    }
    for step, lines in defaults.items():
        (sandbox.tools / f"default-{step}.sh").write_text("\n".join(lines) + "\n")
    for name, text in (("craftctl", _CRAFTCTL), ("snapcraftctl", _SNAPCRAFTCTL)):
        tool = sandbox.tools / name
        tool.write_text(text.format(tools=shell_quote(seen(sandbox).tools)))
        tool.chmod(0o755)


def _stage_default(sandbox: Sandbox, fileset: tuple[str, ...]) -> str:
    """`craftctl default` in override-stage, as craft-parts' builtin stage: what the part's stage
    fileset selects of $CRAFT_PART_INSTALL *as it is when it is called* is copied into
    $CRAFT_STAGE (files the script wrote there first are staged, files written after are not).
    rules.tree selects and copies, so the globs mean what they mean everywhere else; it runs in
    the Python running partsmith, isolated (-I: no PYTHON* variable of the part reaches it)."""
    tool = sandbox.tools / "craftctl-stage.py"
    tool.write_text(_STAGE_TOOL.format(root=str(_PARTSMITH_ROOT)))
    inside = seen(sandbox)
    words = [sys.executable, "-I", str(inside.tools / tool.name), str(inside.install)]
    return " ".join([*map(shlex.quote, words), '"$CRAFT_STAGE"', *map(shlex.quote, fileset)])


def selected_folder(sandbox: Sandbox, step: str) -> Path:
    """Where override-prime finds the part's selected files for `craftctl default`: the staged
    files its prime fileset selects, chosen before the script runs (as craft-parts' prime, which
    migrates from the stage folder, never from what a script adds to the install)."""
    return sandbox.root / f"{step}-selected"


# The folder holding the `rules` package: the tool imports rules.tree from there, also when doit
# runs partsmith from a checkout rather than an installed distribution.
_PARTSMITH_ROOT = Path(__file__).resolve().parents[2]

_STAGE_TOOL = """import sys
sys.path.insert(0, {root!r})
from rules.tree import migrate_command
sys.exit(migrate_command(sys.argv[1:]))
"""


def read_values(sandbox: Sandbox) -> dict[str, str]:
    """What the scripts said with `craftctl set`."""
    folder = sandbox.tools / "values"
    return {path.name: path.read_text() for path in sorted(folder.iterdir())}


_CRAFTCTL = """#!/bin/bash
# partsmith's craftctl, as snapcraft's: `default` runs the step's default action; `set` keeps the
# project's version or grade with the part's result; `get` reads what was set.
set -euo pipefail
tools={tools}
case "${{1:-}}" in
  default) exec /bin/bash --noprofile --norc "$tools/default-${{CRAFT_STEP_NAME,,}}.sh" ;;
  set)
    shift
    for pair in "$@"; do
      name=${{pair%%=*}}
      if [[ "$pair" != *=* || ! "$name" =~ ^(version|grade)$ ]]; then
        echo "craftctl set: expected version=VALUE or grade=VALUE, got '$pair'" >&2; exit 2
      fi
      if [ -z "${{pair#*=}}" ]; then
        # most often `$(git describe)` without .git: its error is just above in the log
        echo "craftctl set: $name is empty (did the command that gives it fail?)" >&2
        echo "$name" >> "$tools/empty-values"
      fi
      printf '%s' "${{pair#*=}}" > "$tools/values/$name"
    done ;;
  get)
    [[ "${{2:-}}" =~ ^(version|grade)$ ]] || {{ echo "craftctl get: expected version or grade" >&2; exit 2; }}
    [ -f "$tools/values/$2" ] || {{ echo "craftctl get: $2 is not set" >&2; exit 1; }}
    cat "$tools/values/$2"; echo ;;
  *) echo "craftctl: '${{1:-}}' is not a craftctl command (default, set, get)" >&2; exit 2 ;;
esac
"""  # noqa: E501 (a shell script, kept as written)


_SNAPCRAFTCTL = """#!/bin/bash
# snapcraftctl of core18/core20, mapped onto craftctl.
set -euo pipefail
tools={tools}
case "${{1:-}}" in
  pull|build|stage|prime)
    if [ "$1" != "${{CRAFT_STEP_NAME,,}}" ]; then
      echo "snapcraftctl $1: called in override-${{CRAFT_STEP_NAME,,}}" >&2; exit 2
    fi
    exec "$tools/craftctl" default ;;
  set-version) exec "$tools/craftctl" set "version=${{2:-}}" ;;
  set-grade) exec "$tools/craftctl" set "grade=${{2:-}}" ;;
  *) echo "snapcraftctl: '${{1:-}}' is not supported (pull, build, stage, prime, set-version, set-grade)" >&2; exit 2 ;;
esac
"""  # noqa: E501 (a shell script, kept as written)
