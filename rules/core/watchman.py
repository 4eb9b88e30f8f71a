"""Asking a watchman daemon what changed in a folder since a clock, instead of walking it, as
git's `core.fsmonitor` does.

A caller keeps the clock a query gave it beside what it computed from the folder; the next run
asks what changed since that clock and looks at those names only. Any doubt means "walk as
without watchman": no clock yet, a daemon that restarted or lost its watch (watchman says "fresh
instance"), a warning (a recrawl after the kernel dropped events), an error, a timeout.

Which daemon: `$WATCHMAN_SOCK` (pywatchman's variable), else the one `watchman get-sockname`
names. `$PARTSMITH_WATCHMAN`: unset, use a daemon that is already running (never start one);
`1`, start it when none runs; `0`, never ask. The protocol is one JSON line each way over a unix
socket, so no client library is needed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 10.0  # a daemon that does not answer in this time is not asked again in this run
SYNC_MS = 5000  # how long watchman may wait for the kernel's events to reach it (its cookie)


@dataclass(frozen=True)
class Changes:
    """What a query found: the clock to keep, and the names (relative to the folder asked
    about, `/`-separated) changed since the clock given; `names=None`: walk (no usable clock)."""

    clock: str
    names: frozenset[str] | None


class _Unusable(Exception):
    """The daemon cannot answer (not running, gone, a timeout): walk."""


class _Refused(_Unusable):
    """The daemon answered with an error (a watch it no longer has): watch again."""


def changes_since(folder: Path, clock: str | None, ignored: tuple[str, ...] = ()) -> Changes | None:
    """None when no watchman answers here: the caller walks and keeps no clock. `ignored`:
    folders below `folder` (relative to it) whose changes are not wanted (a build root). The
    clock is opaque: it also names the watch, so a run asks watchman once a folder."""
    client = _client()
    if client is None:
        return None
    kept = _parsed(clock, folder)
    if kept is not None:
        watch, relative, since = kept
        try:
            found = client.since(watch, relative, since, ignored)
            return Changes(_token(folder, watch, relative, found.clock), found.names)
        except _Refused:
            pass  # the watch is gone (a daemon restarted, the folder moved): watch again, walk
        except _Unusable:
            _give_up()
            return None
    try:
        watch, relative = client.watch(str(folder))
        if client.ignores(watch, relative):
            return None  # watchman is told not to see part of it: walked, every run
        return Changes(_token(folder, watch, relative, client.clock(watch)), None)
    except _Unusable:
        _give_up()  # one try a run: a daemon that failed must not cost every folder a timeout
        return None


def _token(folder: Path, watch: str, relative: str | None, clock: str) -> str:
    return json.dumps([str(folder), os.path.realpath(folder), watch, relative, clock])


def _parsed(token: str | None, folder: Path) -> tuple[str, str | None, str] | None:
    """The watch, path in it and clock of a token made for `folder`, as it resolves now (a
    source that is a symlink pointed elsewhere since is another folder: walked)."""
    try:
        named, real, watch, relative, clock = json.loads(token or "null")
    except (ValueError, TypeError):
        return None
    same = named == str(folder) and real == os.path.realpath(folder)
    return (watch, relative, clock) if same else None


def watching() -> bool:
    """Whether a watchman daemon answers in this process (asked once)."""
    return _client() is not None


def current_clock(folder: Path) -> str | None:
    """A clock taken now, once every event so far has reached the daemon (a sync): what changes
    after this call is reported since it. None without watchman."""
    found = changes_since(folder, None)
    return found.clock if found else None


class _Client:
    def __init__(self, sockname: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT_S)
        self.pid = os.getpid()
        self.pending = b""
        try:
            self.sock.connect(sockname)
        except OSError as err:
            self.sock.close()
            raise _Unusable(str(err)) from None

    def ask(self, command: list) -> dict:
        try:
            self.sock.sendall(json.dumps(command).encode() + b"\n")
            while b"\n" not in self.pending:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    raise _Unusable("the daemon closed the connection")
                self.pending += chunk
            line, _, self.pending = self.pending.partition(b"\n")
            answer = json.loads(line)
        except (OSError, ValueError) as err:
            raise _Unusable(str(err)) from None
        if not isinstance(answer, dict) or "error" in answer:
            raise _Refused(str(answer.get("error") if isinstance(answer, dict) else answer))
        return answer

    def watch(self, folder: str) -> tuple[str, str | None]:
        """The watched root holding `folder` and the path from it (watchman picks the project's
        root: the nearest folder above with .git, .hg or .watchmanconfig)."""
        answer = self.ask(["watch-project", folder])
        return answer["watch"], answer.get("relative_path")

    def ignores(self, watch: str, relative: str | None) -> bool:
        """Whether the watch's .watchmanconfig has watchman ignore folders (`ignore_dirs`) that
        are, or hold, or lie inside `relative`: its changes there are never reported. It is read
        when a watch begins, so a watch that passed this check keeps passing it."""
        config = self.ask(["get-config", watch]).get("config", {})
        ignored = [str(path).strip("/") for path in config.get("ignore_dirs", [])]
        here = (relative or "").strip("/")
        return any(
            not here or here == path or here.startswith(path + "/") or path.startswith(here + "/")
            for path in ignored
        )

    def clock(self, watch: str) -> str:
        return str(self.ask(["clock", watch, {"sync_timeout": SYNC_MS}])["clock"])

    def since(
        self, watch: str, relative: str | None, clock: str, ignored: tuple[str, ...]
    ) -> Changes:
        query: dict = {
            "since": clock,
            "fields": ["name"],
            "empty_on_fresh_instance": True,
            "sync_timeout": SYNC_MS,
        }
        if relative:
            query["relative_root"] = relative
        if ignored:  # neither the folders nor anything below them (paths relative to the root)
            below = [["dirname", name] for name in ignored]
            itself = [["name", list(ignored), "wholename"]]
            query["expression"] = ["not", ["anyof", *below, *itself]]
        answer = self.ask(["query", watch, query])
        doubt = answer.get("is_fresh_instance") or answer.get("warning")
        names = None if doubt else frozenset(str(name) for name in answer["files"])
        return Changes(str(answer["clock"]), names)


_open: _Client | None = None  # this process's connection
_given_up_in: int | None = None  # the process in which the daemon failed: not asked again


def _client() -> _Client | None:
    """This process's connection (a forked doit worker opens its own)."""
    global _open
    if _open is not None and _open.pid == os.getpid():
        return _open
    if _given_up_in == os.getpid():
        return None
    mode = os.environ.get("PARTSMITH_WATCHMAN", "")
    if mode == "0":
        return None
    sockname = os.environ.get("WATCHMAN_SOCK") or _sockname(start=mode == "1")
    try:
        if sockname is None:
            raise _Unusable("no watchman here")
        _open = _Client(sockname)
    except _Unusable:
        _give_up()  # asked once a process: not a `watchman get-sockname` for every folder
    return _open


def _give_up() -> None:
    global _open, _given_up_in
    _open, _given_up_in = None, os.getpid()


def _sockname(start: bool) -> str | None:
    """The daemon's socket as `watchman get-sockname` names it (it starts the daemon unless
    told --no-spawn); None when watchman is not installed."""
    program = shutil.which("watchman")
    if program is None:
        return None
    command = [program, "--output-encoding=json", "get-sockname"]
    if not start:
        command.insert(1, "--no-spawn")
    try:
        done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=False)
        return str(json.loads(done.stdout)["sockname"]) if done.returncode == 0 else None
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None
