"""The one pinned installer every python part uses: the pip partsmith depends on.

Console-script bodies and RECORD files differ between pip versions, so every part of every
workspace installs with the same pip, run from outside the part's venv, isolated from the caller:
the action environment carries no PIP_* of the caller and PIP_CONFIG_FILE=/dev/null, which makes
pip skip every configuration file (global, user and site).
"""
from __future__ import annotations

import functools
import sys
from importlib.metadata import version

from .workspace import PythonSettings

# Flags of every pip call: no prompts, no self-update check (it would reach the network).
QUIET = ("--disable-pip-version-check", "--no-input")


def pip_command() -> tuple[str, ...]:
    return (sys.executable, "-m", "pip")


@functools.lru_cache(maxsize=None)
def pip_version() -> str:
    return version("pip")  # reads package metadata from disk: once per process is enough


def index_options(settings: PythonSettings) -> list[str]:
    """Only where the workspace's `python:` says pip may look."""
    options = []
    if settings.index_url == "none":
        options.append("--no-index")
    elif settings.index_url:
        options += ["--index-url", settings.index_url]
    for link in settings.find_links:
        options += ["--find-links", link]
    return options
