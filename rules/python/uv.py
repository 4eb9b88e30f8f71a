"""The one pinned installer every python part uses: the uv partsmith depends on.

uv resolves (`doit lock`, and pull for an unlocked part), builds sdists and the part's own
project, and installs. Its version is in every key's toolchain record: console scripts and RECORD
rows are its own. It runs isolated from the caller: the action environment holds no UV_* or PIP_*
of the caller, and `--no-config` makes it read no uv.toml or pip.conf. Its cache, shared by every
workspace of the user, lives beside the store; the build only reads wheels the key names.
"""

from __future__ import annotations

import functools
from importlib.metadata import version
from pathlib import Path

from rules.core import uv_cache
from rules.workspace import PythonSettings


def uv_binary() -> str:
    from uv import find_uv_bin  # the binary shipped in the `uv` wheel; imported only when uv runs

    return find_uv_bin()


@functools.cache
def uv_version() -> str:
    return version("uv")  # reads package metadata from disk: once per process is enough


def uv_base(network: bool = True) -> tuple[str, ...]:
    """uv with no configuration file, no Python download, and partsmith's cache."""
    # --system-certs: the machine's trust store, as pip uses it (an organization's proxy CA
    # included); only where the network is: a sealed build has no certificates to load
    certs = ("--system-certs",) if network else ()
    return (
        uv_binary(),
        "--no-config",
        "--no-python-downloads",
        *certs,
        "--cache-dir",
        str(uv_cache()),
    )


def uv_command(
    subcommand: tuple[str, ...], interpreter: Path, base: tuple[str, ...] | None = None
) -> list[str]:
    """`uv <subcommand>` for `interpreter`."""
    return [*(base or uv_base()), *subcommand, "--python", str(interpreter)]


def index_options(settings: PythonSettings) -> list[str]:
    """Only where the workspace's `python:` says uv may look."""
    options = []
    if settings.index_url == "none":
        options.append("--no-index")
    elif settings.index_url:
        options += ["--index-url", settings.index_url]
    for link in settings.find_links:
        options += ["--find-links", link]
    return options
