"""dump: the part's source, copied as it is into the install folder (symlinks stay links)."""

from __future__ import annotations

from rules.workspace import Part

from .context import BuildContext


def default_build(part: Part, context: BuildContext) -> tuple[str, ...]:
    # Runs in $CRAFT_PART_BUILD, which holds a copy of the source, as craft-parts' dump plugin.
    return ('cp --archive --no-dereference . "$CRAFT_PART_INSTALL"',)
