"""Versions from git, without the checkout's `.git`: a build never sees `.git` (its bytes differ
between two clones of one commit), yet setuptools-scm, hatch-vcs, versioneer and `git describe`
ask git for a version. For a part that asks, the commit and `git describe --tags` of its source
are inputs of its key, and its build folder gets a stand-in repository that answers the same
describe: commits with empty trees at fixed times, the nearest tag (its real name) on the first
and HEAD as many commits after it as in the checkout. Only the abbreviated hash after `-g`
differs from the checkout's (it names the stand-in commit, the same on every machine)."""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import ActionError

# what, written in a project's files or a part's scripts, asks git for a version
ASKS_GIT = (
    "setuptools_scm",
    "setuptools-scm",
    "hatch-vcs",
    "hatch_vcs",
    "versioneer",
    "dunamai",
    "git describe",
)
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
GIT_ENV = {"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


@dataclass(frozen=True)
class GitVersion:
    commit: str
    tag: str | None  # the nearest tag, by `git describe --tags`
    distance: int  # commits from the tag (or from the root, without a tag) to HEAD

    def record(self) -> dict[str, object]:
        return {"commit": self.commit, "describe": self.describe()}

    def describe(self) -> str:
        return f"{self.tag}-{self.distance}" if self.tag else f"untagged-{self.distance}"


def asks_git(source: Path | None, scripts: tuple[str | None, ...]) -> bool:
    """Whether the part's project files or scripts ask git for a version."""
    texts = [script for script in scripts if script]
    if source is not None:
        texts += [_read(source / name) for name in PROJECT_FILES]
    return any(marker in text for text in texts for marker in ASKS_GIT)


@functools.cache
def git_version(source: Path, top_only: bool = False) -> GitVersion | None:
    """The version facts of the work tree holding `source`, or None outside one; `top_only`:
    only a work tree whose top is `source` itself."""
    top = _git(source, "rev-parse", "--show-toplevel")
    if top is None or (top_only and Path(top).resolve() != source.resolve()):
        return None
    commit = _git(source, "rev-parse", "HEAD")
    if commit is None:
        return None
    tag = _git(source, "describe", "--tags", "--abbrev=0")
    count = _git(source, "rev-list", "--count", f"{tag}..HEAD" if tag else "HEAD")
    return GitVersion(commit, tag, int(count or 0))


def write_stand_in(version: GitVersion, folder: Path, epoch: int) -> None:
    """A repository in `folder` whose `git describe --tags` matches `version`'s."""
    try:
        _make_stand_in(version, folder, epoch)
    except (OSError, subprocess.CalledProcessError) as err:
        raise ActionError(
            f"the stand-in repository for `git describe` ({version.describe()}) "
            f"could not be made: {err}",
            resolution="Check that git (2.28 or later) runs on this machine.",
        ) from None


def _make_stand_in(version: GitVersion, folder: Path, epoch: int) -> None:
    subprocess.run(
        ["git", "init", "-q", "-b", "main", str(folder)],
        env=GIT_ENV,
        check=True,
        capture_output=True,
    )
    first = 1 if version.tag else 0  # without a tag, HEAD is `distance` commits from the root
    stream = []
    for mark in range(1, version.distance + first + 1):
        stream += [
            "commit refs/heads/main",
            f"mark :{mark}",
            f"committer partsmith <partsmith@invalid> {epoch} +0000",
            "data 0",
            *([f"from :{mark - 1}"] if mark > 1 else []),
            "",
        ]
    if version.tag:
        stream += [f"reset refs/tags/{version.tag}", "from :1", ""]
    subprocess.run(
        ["git", "-C", str(folder), "fast-import", "--quiet"],
        input="\n".join(stream) + "\n",
        text=True,
        env=GIT_ENV,
        check=True,
        capture_output=True,
    )


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, env=GIT_ENV
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
