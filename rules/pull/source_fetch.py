"""Fetching a part's source: a git repository at a tag, branch or commit, or a tar archive.

A git source resolves to a commit id (`git ls-remote` for a tag or branch, once per run, so a
moved tag is fetched again). A tar archive resolves to its `source-checksum` (checked before it is
unpacked), or to the sha256 of a local archive's bytes; a single top-level folder is stripped, as
craft-parts does. git runs without the caller's or the system's configuration.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

from rules.workspace import Part

from .errors import PullError, Unreachable

TIMEOUT = 120


def _git_env(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "LC_ALL": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "TZ": "UTC",
    }


def _git(args: list[str], part: str, cwd: Path | None = None) -> str:
    with tempfile.TemporaryDirectory() as home:
        try:
            result = subprocess.run(
                ["git", *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                env=_git_env(home),
                timeout=TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise Unreachable(
                f"part {part!r}: git {args[0]} took longer than {TIMEOUT} s"
            ) from None
    if result.returncode != 0:
        raise Unreachable(
            f"part {part!r}: git {args[0]} failed",
            result.stderr.strip()[-2000:],
            "Check the part's source and source-tag/-branch/-commit; "
            "pull is the only step that uses the network.",
        )
    return result.stdout


def resolve_ref(part: Part) -> str:
    """What the part's source names now: a git commit id, or an archive's checksum."""
    fetch = part.fetch
    assert fetch is not None
    if fetch.kind in ("tar", "file"):
        if fetch.checksum:
            return fetch.checksum
        if "://" not in fetch.url:  # a local archive: its bytes, wherever the checkout is
            return "sha256/" + _hash_file(Path(fetch.url), "sha256", part.name)
        return f"url:{fetch.url}"  # unpinned: fetched once; pin it with source-checksum
    if fetch.commit:
        return fetch.commit
    ref = (
        f"refs/tags/{fetch.tag}"
        if fetch.tag
        else f"refs/heads/{fetch.branch}"
        if fetch.branch
        else "HEAD"
    )
    commit = _ls_remote(fetch.url, ref, part.name)
    if commit is None:
        what = (
            f"tag {fetch.tag!r}"
            if fetch.tag
            else f"branch {fetch.branch!r}"
            if fetch.branch
            else "HEAD"
        )
        raise PullError(
            f"part {part.name!r}: {fetch.url} has no {what}",
            resolution="Fix source-tag / source-branch, or push it.",
        )
    return commit


@functools.cache
def _ls_remote(url: str, ref: str, part: str) -> str | None:
    """The commit `ref` names at `url`, asked once per run (doit's up-to-date check and the
    fetch that follows see the same answer)."""
    lines = [
        line.split("\t") for line in _git(["ls-remote", url, ref, f"{ref}^{{}}"], part).splitlines()
    ]
    found = {name: commit for commit, name in lines}
    return found.get(f"{ref}^{{}}") or found.get(ref)  # an annotated tag: the commit it points to


def fetch_into(part: Part, dest: Path) -> str:
    """Fetch the part's source into the new folder `dest`; returns what it resolved to."""
    assert part.fetch is not None
    if part.fetch.kind == "git":
        return _git_fetch(part, dest)
    resolved = resolve_ref(part)
    if part.fetch.kind == "file":
        _file_fetch(part, dest)
    else:
        _tar_fetch(part, dest)
    return resolved


def _git_fetch(part: Part, dest: Path) -> str:
    fetch = part.fetch
    assert fetch is not None  # fetch_into checked it
    commit = resolve_ref(part)
    args = ["clone", "--quiet", "--no-checkout"]
    if fetch.depth and not fetch.commit:
        args += ["--depth", str(fetch.depth)]
    ref = fetch.tag or fetch.branch
    if ref:
        args += ["--branch", ref]
    url = (
        fetch.url if "://" in fetch.url or fetch.url.startswith("git@") else f"file://{fetch.url}"
    )  # file:// honours --depth
    _git([*args, url, str(dest / "checkout")], part.name)
    checkout = dest / "checkout"
    _git(
        ["-c", "advice.detachedHead=false", "checkout", "--quiet", commit], part.name, cwd=checkout
    )
    if fetch.submodules != ():  # craft-parts fetches every submodule unless told which
        update = ["submodule", "update", "--init", "--recursive", "--", *(fetch.submodules or ())]
        if url.startswith("file://"):  # a local superproject's submodules lie beside it on disk;
            update = ["-c", "protocol.file.allow=always", *update]  # a remote one's never do
        _git(update, part.name, cwd=checkout)
    head = _git(["rev-parse", "HEAD"], part.name, cwd=checkout).strip()
    for item in os.listdir(checkout):  # the checkout becomes the folder itself
        os.rename(checkout / item, dest / item)
    checkout.rmdir()
    return head


def _file_fetch(part: Part, dest: Path) -> None:
    """source-type: file: the one file, checked, into the new folder `dest` under its name."""
    fetch = part.fetch
    assert fetch is not None  # fetch_into checked it
    name = os.path.basename(urllib.parse.unquote(urllib.parse.urlparse(fetch.url).path))
    dest.mkdir(exist_ok=True)
    _download(fetch.url, dest / name, part.name)
    _check(dest / name, fetch.checksum, part.name)


def _tar_fetch(part: Part, dest: Path) -> None:
    import tarfile  # only a pull that unpacks an archive pays for it

    fetch = part.fetch
    assert fetch is not None  # fetch_into checked it
    archive = dest.with_name(dest.name + ".archive")
    try:
        _download(fetch.url, archive, part.name)
        _check(archive, fetch.checksum, part.name)
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")  # no absolute paths, no links out, no devices
    except tarfile.TarError as err:
        raise PullError(
            f"part {part.name!r}: {fetch.url} is not a readable tar archive: {err}"
        ) from None
    finally:
        archive.unlink(missing_ok=True)
    entries = os.listdir(dest)
    if len(entries) == 1 and (dest / entries[0]).is_dir() and not (dest / entries[0]).is_symlink():
        top = dest / entries[0]
        aside = dest.with_name(
            dest.name + ".top"
        )  # the top folder may hold a folder of its own name
        os.rename(top, aside)
        for item in os.listdir(aside):
            os.rename(aside / item, dest / item)
        aside.rmdir()


def _download(url: str, target: Path, part: str) -> None:
    if "://" not in url:
        if not Path(url).is_file():
            raise PullError(f"part {part!r}: source archive {url} does not exist")
        shutil.copyfile(url, target)
        return
    import urllib.request  # only a pull that downloads pays for it (and for ssl)

    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as err:
        raise Unreachable(f"part {part!r}: {url} could not be downloaded: {err}") from None


def _hash_file(path: Path, algorithm: str, part: str) -> str:
    hasher = hashlib.new(algorithm)
    try:
        with open(path, "rb") as data:
            for block in iter(lambda: data.read(1 << 20), b""):
                hasher.update(block)
    except OSError as err:
        raise PullError(
            f"part {part!r}: source archive {path} cannot be read: {err.strerror}"
        ) from None
    return hasher.hexdigest()


def _check(archive: Path, checksum: str | None, part: str) -> None:
    if checksum is None:
        return
    algorithm, _, expected = checksum.partition("/")
    actual = _hash_file(archive, algorithm, part)
    if actual != expected:
        raise PullError(
            f"part {part!r}: source-checksum mismatch: "
            f"expected {algorithm} {expected}, got {actual}",
            resolution="Fix source-checksum if the archive was meant to change; "
            "otherwise the download is not what was pinned.",
        )
