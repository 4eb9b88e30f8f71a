"""Sources that `pull` fetches: a git repository at a tag, branch or commit, or a tar archive.

A git source is resolved to a commit id (`git ls-remote` for a tag or branch, each time pull is
asked whether it is current, so a moved tag is fetched again); the commit enters the build key in
place of the checkout's `.git` folder, whose bytes differ between clones. A tar archive is checked
against its `source-checksum` before it is unpacked; a single top-level folder is stripped, as
craft-parts does. git runs without the caller's or the system's configuration.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from .errors import BuildError
from .fsutil import remove_tree
from .layout import Layout
from .workspace import Fetch, Part

TIMEOUT = 120
COMMIT_LENGTHS = (40, 64)  # sha1 and sha256 repositories


class Unreachable(BuildError):
    """The repository or archive could not be reached."""


def _git_env(home: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": home, "LC_ALL": "C.UTF-8", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false", "TZ": "UTC"}


def _git(args: list[str], part: str, cwd: Path | None = None) -> str:
    with tempfile.TemporaryDirectory() as home:
        try:
            result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                    env=_git_env(home), timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Unreachable(f"part {part!r}: git {args[0]} took longer than {TIMEOUT} s") from None
    if result.returncode != 0:
        raise Unreachable(f"part {part!r}: git {args[0]} failed", result.stderr.strip()[-2000:],
                          "Check the part's source and source-tag/-branch/-commit; pull is the only step that uses the network.")
    return result.stdout


def resolve(part: Part) -> str:
    """The commit (git) or the checksum (tar) that the part's source names now."""
    fetch = part.fetch
    assert fetch is not None
    if fetch.kind == "tar":
        return fetch.checksum or f"url:{fetch.url}"  # without a checksum, the URL is all we know
    if fetch.commit:
        return fetch.commit
    ref = f"refs/tags/{fetch.tag}" if fetch.tag else f"refs/heads/{fetch.branch}" if fetch.branch else "HEAD"
    lines = [line.split("\t") for line in _git(["ls-remote", fetch.url, ref, f"{ref}^{{}}"], part.name).splitlines()]
    found = {name: commit for commit, name in lines}
    commit = found.get(f"{ref}^{{}}") or found.get(ref)  # an annotated tag: the commit it points to
    if commit is None:
        what = f"tag {fetch.tag!r}" if fetch.tag else f"branch {fetch.branch!r}" if fetch.branch else "HEAD"
        raise BuildError(f"part {part.name!r}: {fetch.url} has no {what}",
                         resolution="Fix source-tag / source-branch, or push it.")
    return commit


def is_current(layout: Layout, part: Part) -> bool:
    """The fetched source is there and is what the part names now. An unreachable repository
    keeps what was fetched before (one warning), so an offline dev loop still builds."""
    try:
        previous = json.loads(layout.fetch_result(part.name).read_text())
    except (OSError, ValueError):
        return False
    if previous.get("fetch") != _identity(part.fetch) or not layout.fetched(part.name).is_dir():
        return False
    try:
        return previous.get("resolved") == resolve(part)
    except Unreachable as err:
        print(f"partsmith: warning: {err.brief}; building the source fetched before ({previous['resolved'][:12]})")
        return True


def fetch(layout: Layout, part: Part) -> str:
    """Fetch the part's source into <build-root>/parts/<part>/src; returns what it resolved to."""
    assert part.fetch is not None
    dest = layout.fetched(part.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    layout.fetch_result(part.name).unlink(missing_ok=True)
    temp = Path(tempfile.mkdtemp(dir=dest.parent, prefix="src."))
    try:
        if part.fetch.kind == "git":
            resolved = _git_fetch(part, temp)
        else:
            _tar_fetch(part, temp)  # the unpacked files enter the key through the source's manifest
            resolved = resolve(part)
        remove_tree(dest)
        os.rename(temp, dest)
    finally:
        remove_tree(temp)
    record = {"fetch": _identity(part.fetch), "resolved": resolved}
    layout.fetch_result(part.name).write_text(json.dumps(record, sort_keys=True))
    return resolved


def resolved(layout: Layout, part: Part) -> str | None:
    """What the last fetch resolved to (for the build key), None for a local source."""
    if part.fetch is None:
        return None
    try:
        return json.loads(layout.fetch_result(part.name).read_text())["resolved"]
    except (OSError, ValueError, KeyError):
        raise BuildError(f"part {part.name!r}: its source has not been fetched",
                         resolution=f"Run `doit pull:{part.name}` (or `doit stage`).") from None


def _identity(fetch: Fetch | None) -> dict:
    return {**fetch.config(), "url": fetch.url} if fetch else {}


def _git_fetch(part: Part, dest: Path) -> str:
    fetch = part.fetch
    commit = resolve(part)
    args = ["clone", "--quiet", "--no-checkout"]
    if fetch.depth and not fetch.commit:
        args += ["--depth", str(fetch.depth)]
    if fetch.tag or fetch.branch:
        args += ["--branch", fetch.tag or fetch.branch]
    url = fetch.url if "://" in fetch.url or fetch.url.startswith("git@") else f"file://{fetch.url}"  # file:// honours --depth
    _git([*args, url, str(dest / "checkout")], part.name)
    checkout = dest / "checkout"
    _git(["-c", "advice.detachedHead=false", "checkout", "--quiet", commit], part.name, cwd=checkout)
    head = _git(["rev-parse", "HEAD"], part.name, cwd=checkout).strip()
    for item in os.listdir(checkout):  # the checkout becomes the folder itself
        os.rename(checkout / item, dest / item)
    checkout.rmdir()
    return head


def _tar_fetch(part: Part, dest: Path) -> None:
    fetch = part.fetch
    archive = dest.with_name(dest.name + ".archive")
    try:
        _download(fetch.url, archive, part.name)
        _check(archive, fetch.checksum, part.name)
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")  # no absolute paths, no links out, no devices
    except tarfile.TarError as err:
        raise BuildError(f"part {part.name!r}: {fetch.url} is not a readable tar archive: {err}") from None
    finally:
        archive.unlink(missing_ok=True)
    entries = os.listdir(dest)
    if len(entries) == 1 and (dest / entries[0]).is_dir() and not (dest / entries[0]).is_symlink():
        top = dest / entries[0]
        for item in os.listdir(top):
            os.rename(top / item, dest / item)
        top.rmdir()


def _download(url: str, target: Path, part: str) -> None:
    if "://" not in url:
        if not Path(url).is_file():
            raise BuildError(f"part {part!r}: source archive {url} does not exist")
        shutil.copyfile(url, target)
        return
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as err:
        raise Unreachable(f"part {part!r}: {url} could not be downloaded: {err}") from None


def _check(archive: Path, checksum: str | None, part: str) -> None:
    if checksum is None:
        return
    algorithm, _, expected = checksum.partition("/")
    hasher = hashlib.new(algorithm)
    with open(archive, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            hasher.update(block)
    actual = hasher.hexdigest()
    if actual != expected:
        raise BuildError(f"part {part!r}: source-checksum mismatch: expected {algorithm} {expected}, got {actual}",
                         resolution="Fix source-checksum if the archive was meant to change; otherwise the download is not what was pinned.")
