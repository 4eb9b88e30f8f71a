"""A remote cache speaking Bazel's HTTP cache protocol: `GET/PUT/HEAD <url>/ac/<key>` (action
results, as REAPI ActionResult messages) and `<url>/cas/<sha256>` (blobs). nginx with WebDAV PUT,
bazel-remote and BuildBuddy serve it.

Configured by the environment (never passed to actions): PARTSMITH_REMOTE_CACHE (the URL),
PARTSMITH_REMOTE_UPLOAD=1 (also upload what is built here), PARTSMITH_REMOTE_HEADER
("Name: value", e.g. an Authorization header; never printed). Lookup order: the local store, then
the remote; what comes from the remote is checked blob by blob and lands in the local store. A
server that is down, slow or failing costs one warning line and a local build, never the run.
"""
from __future__ import annotations

import functools
import hashlib
import http.client
import json
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from . import reapi
from .cachedir import cache_root
from .digest import digest
from .store import DIGEST, Store, check_tree
from .tree import Tree, from_json, to_json

RECORD_PATH = ".partsmith/result.json"  # an output file holding the key record and the whole Tree
TIMEOUT = 10.0
ATTEMPTS = 3
PARALLEL = 8


AC_LIMIT = 64 << 20  # an action result (or its record) larger than this is not one of ours
DEADLINE = 120.0  # seconds for one transfer, however slowly the bytes trickle in


class Unavailable(Exception):
    """The server did not answer, or answered with an error: treat the remote as absent."""


class TooSlow(Exception):
    """A body that takes longer than DEADLINE to arrive: the server is not usable."""


class Oversized(Exception):
    """A body larger than the blob or result asked for: that answer is wrong, not the server."""


def _body(response: http.client.HTTPResponse, limit: int) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise Oversized(f"a body of {length} bytes where at most {limit} were expected")
    deadline = time.monotonic() + DEADLINE
    chunks, size = [], 0
    while chunk := response.read1(1 << 16):
        size += len(chunk)
        if size > limit:
            raise Oversized(f"a body larger than the {limit} bytes expected")
        if time.monotonic() > deadline:
            raise TooSlow(f"a transfer still running after {DEADLINE:.0f} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _marker(url: str) -> Path | None:
    """Where the processes of one doit run (-n N) tell each other that the server failed."""
    run = multiprocessing.parent_process()
    run_id = run.pid if run is not None else os.getpid()
    name = hashlib.sha256(f"{run_id} {url}".encode()).hexdigest()[:24]
    return cache_root() / "remote-down" / name


def _marked_down(url: str) -> bool:
    marker = _marker(url)
    return marker is not None and marker.exists()


def _mark_down(url: str) -> bool:
    """Mark the server failed for this run; True for the one process that marked it first."""
    marker = _marker(url)
    marker.parent.mkdir(parents=True, exist_ok=True)
    for old in marker.parent.iterdir():  # markers of runs long gone
        if time.time() - old.stat().st_mtime > 86400:
            old.unlink(missing_ok=True)
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


@dataclass
class Remote:
    url: str
    upload: bool = False
    header: tuple[str, str] | None = None
    down: bool = False
    announce: bool = False  # this process is the one that tells the user the server failed
    distrusted: set[str] = field(default_factory=set)  # blobs the server served corrupt
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("PARTSMITH_REMOTE_CACHE is not an http(s) URL")
        if parts.username or parts.password:
            raise ValueError("PARTSMITH_REMOTE_CACHE holds credentials: put them in PARTSMITH_REMOTE_HEADER")
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        self.base = parts.path.rstrip("/")

    # -- transport ----------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            connection = kind(self.host, self.port, timeout=TIMEOUT)
            self._local.connection = connection
        return connection

    def _request(self, method: str, path: str, body: bytes | None = None, limit: int = AC_LIMIT) -> tuple[int, bytes]:
        if self.down or _marked_down(self.url):
            self.down = True
            raise Unavailable("an earlier request failed")
        headers = {"Content-Type": "application/octet-stream"}
        if self.header:
            headers[self.header[0]] = self.header[1]
        reason = ""
        for attempt in range(ATTEMPTS):
            try:
                connection = self._connection()
                connection.request(method, f"{self.base}/{path}", body=body, headers=headers)
                response = connection.getresponse()
                data = _body(response, limit)
                if response.status < 500:
                    return response.status, data
                reason = f"HTTP {response.status} for {method} /{path.split('/')[0]}/"
            except (OSError, http.client.HTTPException, TooSlow) as err:
                reason = f"{type(err).__name__}: {err}"
                self._drop_connection()
            time.sleep(0.2 * 2 ** attempt)
        self.down = True
        self.announce = _mark_down(self.url) or self.announce  # the first process of the run to fail says so
        raise Unavailable(reason)

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    def get(self, kind: str, name: str, size: int | None = None) -> bytes | None:
        status, data = self._request("GET", f"{kind}/{name}", limit=AC_LIMIT if size is None else size)
        if status == 200:
            return data
        if status == 404:
            return None
        raise Unavailable(f"HTTP {status} for GET /{kind}/")

    def has(self, kind: str, name: str) -> bool:
        status, _ = self._request("HEAD", f"{kind}/{name}")
        return status == 200

    def put(self, kind: str, name: str, data: bytes) -> None:
        status, _ = self._request("PUT", f"{kind}/{name}", data)
        if status not in (200, 201, 204):
            raise Unavailable(f"HTTP {status} for PUT /{kind}/")


@functools.lru_cache(maxsize=1)
def _configured(url: str, upload: bool, header: str) -> Remote:
    name, _, value = header.partition(":")
    if header and (not name.strip() or not value.strip() or any(c in header for c in "\r\n\0")
                   or not header.isascii()):
        raise ValueError("PARTSMITH_REMOTE_HEADER must be one 'Name: value' line of ASCII (its value is not shown)")
    return Remote(url, upload, (name.strip(), value.strip()) if header else None)


def from_environment() -> Remote | None:
    url = os.environ.get("PARTSMITH_REMOTE_CACHE", "").strip()
    if not url:
        return None
    return _configured(url, os.environ.get("PARTSMITH_REMOTE_UPLOAD") == "1",
                       os.environ.get("PARTSMITH_REMOTE_HEADER", ""))


_warned: set[str] = set()


def _warn(remote: Remote, what: str, err: Exception) -> None:
    """One line per run and server: the URL and the failure, never the header."""
    if remote.url in _warned or not remote.announce:
        return
    _warned.add(remote.url)
    print(f"partsmith: warning: remote cache {remote.url} unavailable ({err}); {what} locally")


# -- fetching ------------------------------------------------------------------------------------


def fetch(store: Store, key: str) -> bool:
    """Bring the result `key` and every blob it needs from the remote into the local store."""
    remote = from_environment()
    if remote is None or remote.down:
        return False
    try:
        return _fetch(remote, store, key)
    except Unavailable as err:
        _warn(remote, "building", err)
        return False
    except Oversized:
        return False  # an answer larger than what was asked for: a miss


def _fetch(remote: Remote, store: Store, key: str) -> bool:
    data = remote.get("ac", key)
    if data is None:
        return False
    try:
        result = reapi.decode(data)
        meta = [f for f in result.files if f.path == RECORD_PATH][-1]  # ours is written last
    except (ValueError, IndexError, UnicodeDecodeError):
        return False  # not an entry partsmith wrote: a miss
    if not DIGEST.fullmatch(meta.digest):
        return False
    payload = _checked(remote, meta.digest, min(meta.size, AC_LIMIT))
    if payload is None:
        return False
    try:
        document = json.loads(payload)
        record, tree = document["record"], from_json(json.dumps(document["tree"]))
        check_tree(tree)
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    if digest(record) != key:
        return False  # a result stored under another action's key
    wanted = {e.digest: e.size for e in tree.values() if e.kind == "file" and not store.blob(e.digest).exists()}
    from concurrent.futures import ThreadPoolExecutor  # only a run that talks to a server pays for it
    with ThreadPoolExecutor(PARALLEL) as pool:
        blobs = list(pool.map(lambda d: (d, _checked(remote, d, wanted[d])), sorted(wanted)))
    if any(data is None for _, data in blobs):
        return False  # missing or corrupt: a miss, built here (and re-uploaded when uploading)
    store.add_blobs({digest: data for digest, data in blobs})
    store.put_result(key, record, tree)
    return True


def _checked(remote: Remote, blob: str, size: int) -> bytes | None:
    try:
        data = remote.get("cas", blob, size)
    except Oversized:
        remote.distrusted.add(blob)
        return None
    if data is None:
        return None
    if hashlib.sha256(data).hexdigest() != blob:
        remote.distrusted.add(blob)
        return None
    return data


# -- uploading -----------------------------------------------------------------------------------


def upload(store: Store, key: str, record: dict, tree: Tree) -> None:
    """Send a result built here, when uploads are on: blobs first, the action result last."""
    remote = from_environment()
    if remote is None or not remote.upload or remote.down:
        return
    try:
        _upload(remote, store, key, record, tree)
    except (Unavailable, OSError) as err:
        _warn(remote, "continuing", err)


def _upload(remote: Remote, store: Store, key: str, record: dict, tree: Tree) -> None:
    payload = json.dumps({"record": record, "tree": json.loads(to_json(tree))}, sort_keys=True).encode()
    payload_digest = hashlib.sha256(payload).hexdigest()
    blobs = {e.digest: (lambda d=e.digest: store.blob(d).read_bytes()) for e in tree.values() if e.kind == "file"}
    blobs[payload_digest] = lambda: payload

    def send(digest: str) -> None:
        if digest in remote.distrusted or not remote.has("cas", digest):
            remote.put("cas", digest, blobs[digest]())

    from concurrent.futures import ThreadPoolExecutor  # only a run that talks to a server pays for it
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(send, sorted(blobs)))
    files = [reapi.OutputFile(path, e.digest, e.size, e.executable) for path, e in sorted(tree.items()) if e.kind == "file"]
    files.append(reapi.OutputFile(RECORD_PATH, payload_digest, len(payload)))
    links = [reapi.OutputSymlink(path, e.target) for path, e in sorted(tree.items()) if e.kind == "symlink"]
    remote.put("ac", key, reapi.encode(reapi.ActionResult(tuple(files), tuple(links))))
