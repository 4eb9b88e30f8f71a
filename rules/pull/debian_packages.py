"""Debian packages of a part, from the host's apt.

build-packages are tools the build runs: checked with dpkg-query, installed with apt-get when
partsmith runs as root, otherwise named in one error. Their installed versions enter the build key.

stage-packages are files the part ships: `pull` downloads the named packages with the host's apt
(`apt-get download`: the host's archive and its current lists, not the Ubuntu release of a snap's
base, and not their dependencies) and records version and sha256 of each; `build` unpacks them
into the part's install with `dpkg-deb -x` (no maintainer scripts run).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rules.cache import Store
from rules.core import BuildError, digest, remove_tree
from rules.tree import capture, copy_checked, hash_file
from rules.workspace import Layout, Part

from .errors import PullError

APT_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
}
RECORD = "debs.json"


@dataclass(frozen=True)
class Deb:
    name: str
    version: str
    file: str
    sha256: str
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / self.file


# -- build-packages -------------------------------------------------------------------------------


@functools.cache
def installed_versions(names: tuple[str, ...]) -> dict[str, str | None]:
    """Each package's installed version, None when it is not installed (asked once per run)."""
    if not names:
        return {}
    try:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n", *names],
            capture_output=True,
            text=True,
            env=APT_ENV,
        )
    except FileNotFoundError:
        raise PullError(
            "build-packages need Debian's dpkg, which this machine lacks",
            resolution="Install the tools another way and remove build-packages, "
            "or build on Debian or Ubuntu.",
        ) from None
    found: dict[str, str] = {}
    for line in result.stdout.splitlines():
        name, version, status = (line.split("\t") + ["", ""])[:3]
        if status == "installed":
            found[name.split(":")[0]] = version
    return {name: found.get(name.split(":")[0]) for name in names}


def ensure_build_packages(part: Part) -> str | None:
    """Install what is missing (as root), or fail naming every missing package."""
    missing = [
        name for name, version in installed_versions(part.build_packages).items() if version is None
    ]
    if not missing:
        return None
    if os.geteuid() != 0:
        raise PullError(
            f"part {part.name!r}: build-packages not installed: {' '.join(missing)}",
            resolution=f"Install them (sudo apt-get install {' '.join(missing)}) "
            "or run partsmith as root, which installs them.",
        )
    result = subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
        capture_output=True,
        text=True,
        env=APT_ENV,
    )
    installed_versions.cache_clear()
    if result.returncode != 0:
        errors = [
            line
            for line in result.stdout.splitlines() + result.stderr.splitlines()
            if line.startswith("E:")
        ]
        raise PullError(
            f"part {part.name!r}: build-packages could not be installed: {' '.join(missing)}",
            "\n".join(errors[-10:]),
            "Check the package names against `apt-cache policy NAME`.",
        )
    return f"installed build-packages {' '.join(missing)}"


def build_packages_record(part: Part) -> dict[str, str | None]:
    return installed_versions(part.build_packages)


# -- stage-packages -------------------------------------------------------------------------------


def debs_are_current(layout: Layout, part: Part) -> bool:
    try:
        return [deb.name for deb in load_debs(layout, part)] == sorted(part.stage_packages)
    except BuildError:
        return False


def download_debs(layout: Layout, part: Part, store: Store) -> tuple[tuple[Deb, ...], int]:
    """The named packages into the part's debs folder, recorded last: from the store when it
    holds the sha256 apt's lists give for the candidate version, else `apt-get download`, and
    into the store for the next time (offline too, and for every workspace). Returns the
    packages and how many came from the store."""
    folder = layout.debs(part.name)
    remove_tree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix="debs.") as temp:
        os.chmod(temp, 0o755)  # apt downloads as its _apt user when run as root
        stored = _from_store(store, part.stage_packages, Path(temp))
        _apt_download([name for name in part.stage_packages if name not in stored], temp, part)
        debs = tuple(
            _described(Path(temp, file), folder)
            for file in sorted(os.listdir(temp))
            if file.endswith(".deb")
        )
        _keep(store, Path(temp), debs)  # also marks them used, for cache-trim
        record = {
            "debs": [
                {"name": d.name, "version": d.version, "file": d.file, "sha256": d.sha256}
                for d in debs
            ]
        }
        Path(temp, RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        os.rename(temp, folder)
    return tuple(sorted(debs, key=lambda deb: deb.name)), len(stored)


def _apt_download(names: list[str], folder: str, part: Part) -> None:
    if not names:
        return
    result = subprocess.run(
        ["apt-get", "download", "-q", *names],
        cwd=folder,
        capture_output=True,
        text=True,
        env=APT_ENV,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).splitlines()
        errors = [line for line in output if line.startswith(("E:", "W:"))]
        raise PullError(
            f"part {part.name!r}: stage-packages could not be downloaded: "
            + " ".join(part.stage_packages),
            "\n".join(errors[-10:]),
            "Check the names with `apt-cache policy NAME`; as root, `apt-get update` refreshes "
            "the host's lists.",
        )


def _candidates(names: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """name -> (file name, sha256) of the version apt would download, from its lists."""
    try:
        result = subprocess.run(
            ["apt-cache", "show", "--no-all-versions", *names],
            capture_output=True,
            text=True,
            env=APT_ENV,
        )
    except FileNotFoundError:
        return {}
    found: dict[str, tuple[str, str]] = {}
    for block in result.stdout.split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if ": " in line and not line.startswith(" ")
        )
        if {"Package", "Filename", "SHA256"} <= set(fields) and fields["Package"] in names:
            found.setdefault(
                fields["Package"], (fields["Filename"].rsplit("/", 1)[-1], fields["SHA256"])
            )
    return found


def _from_store(store: Store, names: tuple[str, ...], folder: Path) -> set[str]:
    """Copy the packages the store holds into `folder`; returns their names."""
    copied = set()
    for name, (file, sha256) in _candidates(names).items():
        blob = store.blob(sha256)
        if re.fullmatch(r"[^/]+\.deb", file) and blob.is_file():
            if copy_checked(blob, folder / file, 0o644) == sha256:
                copied.add(name)
            else:
                (folder / file).unlink()
    return copied


def _keep(store: Store, folder: Path, debs: tuple[Deb, ...]) -> None:
    """Downloaded packages into the store, as one result (so cache-trim sees them used); a store
    that cannot take them costs nothing here."""
    record = {"rule": "stage-packages", "debs": [[d.name, d.version, d.sha256] for d in debs]}
    try:
        store.put(digest(record), record, capture(folder, 0).tree, folder)
    except OSError:
        pass


def _described(path: Path, folder: Path) -> Deb:
    fields = subprocess.run(
        ["dpkg-deb", "--show", "--showformat", "${Package}\t${Version}", str(path)],
        capture_output=True,
        text=True,
        env=APT_ENV,
        check=True,
    ).stdout.split("\t")
    return Deb(fields[0], fields[1], path.name, hash_file(path)[0], folder)


def recorded_debs(layout: Layout, part: Part) -> tuple[Deb, ...]:
    """The part's stage-packages as pull recorded them (read, not checked)."""
    if not part.stage_packages:
        return ()
    folder = layout.debs(part.name)
    try:
        data = json.loads((folder / RECORD).read_text())
        debs = tuple(Deb(**entry, folder=folder) for entry in data["debs"])
    except (OSError, ValueError, KeyError, TypeError):
        raise PullError(
            f"part {part.name!r}: stage-packages have not been pulled",
            resolution=f"Run `doit pull:{part.name}` (or `doit stage`).",
        ) from None
    return tuple(sorted(debs, key=lambda deb: deb.name))


def load_debs(layout: Layout, part: Part) -> tuple[Deb, ...]:
    """The part's downloaded stage-packages, each checked against the sha256 pull recorded:
    what pull's up-to-date check and the build read; the build key takes the record alone."""
    debs = recorded_debs(layout, part)
    for deb in debs:
        if (
            not re.fullmatch(r"[^/]+\.deb", deb.file)
            or not deb.path.is_file()
            or hash_file(deb.path)[0] != deb.sha256
        ):
            raise PullError(
                f"part {part.name!r}: stage-package {deb.file} "
                "is missing or changed since it was pulled",
                resolution=f"Run `doit clean pull:{part.name}`, then run again.",
            )
    return debs


def debs_record(layout: Layout, part: Part) -> list[list[str]]:
    return [[deb.name, deb.version, deb.sha256] for deb in recorded_debs(layout, part)]
