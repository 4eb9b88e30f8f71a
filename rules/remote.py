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
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import reapi
from .store import Store, check_tree
from .tree import Tree, from_json, to_json

RECORD_PATH = ".partsmith/result.json"  # an output file holding the key record and the whole Tree
TIMEOUT = 10.0
ATTEMPTS = 3
PARALLEL = 8


class Unavailable(Exception):
    """The server did not answer, or answered with an error: treat the remote as absent."""


@dataclass
class Remote:
    url: str
    upload: bool = False
    header: tuple[str, str] | None = None
    down: bool = False
    distrusted: set[str] = field(default_factory=set)  # blobs the server served corrupt
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"PARTSMITH_REMOTE_CACHE={self.url!r} is not an http(s) URL")
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

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self.down:
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
                data = response.read()
                if response.status < 500:
                    return response.status, data
                reason = f"HTTP {response.status} for {method} /{path.split('/')[0]}/"
            except (OSError, http.client.HTTPException) as err:
                reason = f"{type(err).__name__}: {err}"
                self._local.connection = None
            time.sleep(0.2 * 2 ** attempt)
        self.down = True
        raise Unavailable(reason)

    def get(self, kind: str, name: str) -> bytes | None:
        status, data = self._request("GET", f"{kind}/{name}")
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
    return Remote(url, upload, (name.strip(), value.strip()) if header else None)


def from_environment() -> Remote | None:
    url = os.environ.get("PARTSMITH_REMOTE_CACHE", "").strip()
    if not url:
        return None
    return _configured(url, os.environ.get("PARTSMITH_REMOTE_UPLOAD") == "1",
                       os.environ.get("PARTSMITH_REMOTE_HEADER", ""))


_warned: set[str] = set()


def _warn(remote: Remote, what: str, err: Exception) -> None:
    """One line per process and server: the URL and the failure, never the header."""
    if remote.url not in _warned:
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


def _fetch(remote: Remote, store: Store, key: str) -> bool:
    data = remote.get("ac", key)
    if data is None:
        return False
    try:
        result = reapi.decode(data)
        meta = next(f for f in result.files if f.path == RECORD_PATH)
    except (ValueError, StopIteration, UnicodeDecodeError):
        return False  # not an entry partsmith wrote: a miss
    payload = _checked(remote, meta.digest)
    if payload is None:
        return False
    try:
        document = json.loads(payload)
        record, tree = document["record"], from_json(json.dumps(document["tree"]))
        check_tree(tree)
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    wanted = sorted({e.digest for e in tree.values() if e.kind == "file" and not store.blob(e.digest).exists()})
    with ThreadPoolExecutor(PARALLEL) as pool:
        blobs = list(pool.map(lambda digest: (digest, _checked(remote, digest)), wanted))
    if any(data is None for _, data in blobs):
        return False  # missing or corrupt: a miss, built here (and re-uploaded when uploading)
    store.add_blobs({digest: data for digest, data in blobs})
    store.put_result(key, record, tree)
    return True


def _checked(remote: Remote, digest: str) -> bytes | None:
    data = remote.get("cas", digest)
    if data is None:
        return None
    if hashlib.sha256(data).hexdigest() != digest:
        remote.distrusted.add(digest)
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

    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(send, sorted(blobs)))
    files = [reapi.OutputFile(path, e.digest, e.size, e.executable) for path, e in sorted(tree.items()) if e.kind == "file"]
    files.append(reapi.OutputFile(RECORD_PATH, payload_digest, len(payload)))
    links = [reapi.OutputSymlink(path, e.target) for path, e in sorted(tree.items()) if e.kind == "symlink"]
    remote.put("ac", key, reapi.encode(reapi.ActionResult(tuple(files), tuple(links))))
