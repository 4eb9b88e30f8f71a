"""A build runs without network: what it downloads would be an input its key does not record.

Only pull (and its override-pull) may use the network. Every other step script runs in a network
namespace of its own where one can be made (its loopback brought up, so a build's own tests may
still serve on 127.0.0.1 there, which is not the host's); where none can be (no `unshare`, user
namespaces refused, a container without the capability), the proxy variables name a port where
nothing listens, which stops pip, uv, curl, wget, git and urllib, though not a program that
ignores proxies. Those variables are set in both cases, so the action environment (and the key)
is the same on every machine.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess

# The discard port on the action's own loopback: a connection there is refused at once.
UNREACHABLE_PROXY = "http://127.0.0.1:9"
PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "ftp_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "ALL_PROXY",
)
SYSTEM_TOOLS = "/usr/sbin:/sbin:/usr/bin:/bin"
# What a download that failed for want of network leaves in a log: Python's, pip's, uv's,
# curl's, wget's and git's words for a refused proxy, an unreachable network or no DNS.
NETWORK_ERROR = re.compile(
    r"Connection refused|Network is unreachable|Temporary failure in name resolution|"
    r"Name or service not known|Could not resolve (?:host|proxy)|"
    r"Failed to establish a new connection|"
    r"ProxyError|Failed to connect to|No route to host|urlopen error|unable to resolve host",
    re.IGNORECASE,
)
HINT = (
    "The build has no network (only pull has): download in the part's override-pull (into "
    "$CRAFT_PART_SRC, which the build copies) or name the files in python-packages or "
    "stage-packages, which pull fetches."
)


def proxy_environment() -> dict[str, str]:
    """Every proxy variable pointing nowhere, and no host exempted from them."""
    return {**dict.fromkeys(PROXY_VARIABLES, UNREACHABLE_PROXY), "no_proxy": "", "NO_PROXY": ""}


@functools.cache
def namespace_command() -> tuple[str, ...]:
    """The command prefix that runs a program in a network namespace of its own, or () where
    this machine cannot make one. Probed once per process: the answer does not change while
    doit runs."""
    unshare = shutil.which("unshare", path=SYSTEM_TOOLS)
    if unshare is None:
        return ()
    # Root may make a namespace directly; a user needs a user namespace around it, where it is
    # root too, which is what bringing the loopback up takes.
    flags = ("--net",) if os.geteuid() == 0 else ("--map-root-user", "--net")
    command = (unshare, *flags, *_loopback_up())
    return command if _works([*command, "/bin/true"]) else ()


def _loopback_up() -> tuple[str, ...]:
    """`sh -c` that brings the namespace's loopback up, then runs its arguments; nothing when
    `ip` is missing (the loopback then stays down, which only a build serving on it minds)."""
    ip = shutil.which("ip", path=SYSTEM_TOOLS)
    if ip is None:
        return ()
    return ("/bin/sh", "-c", f'{shlex.quote(ip)} link set dev lo up 2>/dev/null; exec "$@"', "sh")


def _works(command: list[str]) -> bool:
    try:
        return (
            subprocess.run(
                command, capture_output=True, timeout=30, env={"PATH": SYSTEM_TOOLS}
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


def network_hint(log_text: str) -> str | None:
    """The hint for a failed build whose log says a connection failed."""
    return HINT if NETWORK_ERROR.search(log_text) else None
