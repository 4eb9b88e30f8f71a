"""Which file of a universal lock an interpreter installs, as an installer chooses it: a package
whose marker (PEP 508) is false for the interpreter is left out, and of a package's wheels the one
whose tags (PEP 425) come first in the interpreter's own order is taken, else its sdist.

A uv.lock, exported as PEP 751 pylock.toml, lists every file of every platform; the interpreter's
marker environment and tags are asked of the interpreter itself, with `packaging` (PyPA's own
implementation of both, which pip vendors: markers and tags are subtle enough not to write twice).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import PythonError
from .pylock import normalized

# Run by the interpreter a part builds with, with partsmith's `packaging` on its path.
PROBE = """import json, sys
sys.path.insert(0, sys.argv[1])
from packaging.markers import default_environment
from packaging.tags import sys_tags
print(json.dumps({"environment": default_environment(), "tags": [str(t) for t in sys_tags()]}))
"""


@dataclass(frozen=True)
class Target:
    """What an interpreter installs: its marker environment, its tags (most specific first)."""

    environment: dict[str, str]
    tags: tuple[str, ...]

    def includes(self, package: str, marker: str | None) -> bool:
        if not marker:
            return True
        # packaging is imported here, not with the module: only a resolution needs it, and doit
        # loads this module on every start, a no-op included
        from packaging.markers import InvalidMarker, Marker, UndefinedEnvironmentName

        try:
            return Marker(marker).evaluate({**self.environment, "extra": ""})
        except (InvalidMarker, UndefinedEnvironmentName) as err:
            raise PythonError(f"package {package!r}: its marker {marker!r}: {err}") from None

    def best_wheel(self, urls: list[str]) -> int | None:
        """The index of the wheel (by file name or URL) this interpreter prefers, if one fits."""
        rank = {tag: n for n, tag in enumerate(self.tags)}
        ranked = [(min(_ranks(url, rank), default=len(rank)), n) for n, url in enumerate(urls)]
        fitting = [pair for pair in ranked if pair[0] < len(rank)]
        return min(fitting)[1] if fitting else None


def _ranks(url: str, rank: dict[str, int]) -> list[int]:
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        _, _, _, tags = parse_wheel_filename(url.rsplit("/", 1)[-1])
    except InvalidWheelFilename:
        return []
    return [rank[str(tag)] for tag in tags if str(tag) in rank]


def sdist_wanted(environment: tuple[tuple[str, str], ...]) -> Callable[[str], bool]:
    """Whether a part's build-environment refuses a package's wheels, as uv and pip read it:
    UV_NO_BINARY (a boolean), UV_NO_BINARY_PACKAGE (names), PIP_NO_BINARY (names or :all:).
    pull takes those packages' sdists and builds them; the build installs what pull made."""
    values = dict(environment)
    named = f"{values.get('UV_NO_BINARY_PACKAGE', '')} {values.get('PIP_NO_BINARY', '')}"
    names = {normalized(word) for word in named.replace(",", " ").split()}
    every = values.get("UV_NO_BINARY", "").lower() in ("1", "true", "yes", "on") or (
        ":all:" in names
    )
    return lambda package: every or package in names


@functools.cache
def target(python: Path) -> Target:
    """The interpreter's marker environment and tags: asked in this process when it is the one
    running, else of the interpreter itself (once per doit run)."""
    import packaging
    from packaging.markers import default_environment
    from packaging.tags import sys_tags

    running = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    if str(python) == running:
        environment = {key: str(value) for key, value in default_environment().items()}
        return Target(environment, tuple(str(tag) for tag in sys_tags()))
    packages = str(Path(packaging.__file__).parent.parent)
    done = subprocess.run(
        [str(python), "-I", "-c", PROBE, packages], capture_output=True, text=True, env={}
    )
    if done.returncode != 0:
        raise PythonError(
            f"{python} could not say which wheels it installs",
            "\n".join(done.stderr.splitlines()[-5:]),
        )
    answer = json.loads(done.stdout)
    return Target(answer["environment"], tuple(answer["tags"]))
