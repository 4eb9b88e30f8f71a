"""Bazel's HTTP cache protocol: `GET/PUT/HEAD <url>/ac/<key>` (action results, as REAPI
ActionResult messages) and `<url>/cas/<sha256>` (blobs). nginx with WebDAV PUT, bazel-remote and
BuildBuddy serve it. One keep-alive connection per thread; blobs move one request each, in parallel.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

from ..errors import Oversized, TooSlow, Transient
from .backend import (
    AC_LIMIT,
    DEADLINE,
    TIMEOUT,
    Blob,
    Remote,
    parallel,
    split_url,
)


def _body(response: http.client.HTTPResponse, limit: int) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise Oversized(f"a body of {length} bytes where at most {limit} were expected")
    deadline = time.monotonic() + DEADLINE
    chunks, size = [], 0
    while chunk := response.read(
        1 << 16
    ):  # read, not read1: it closes a finished body, so the connection can be reused
        size += len(chunk)
        if size > limit:
            raise Oversized(f"a body larger than the {limit} bytes expected")
        if time.monotonic() > deadline:
            raise TooSlow(f"a transfer still running after {DEADLINE:.0f} s")
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class HttpRemote(Remote):
    header: tuple[str, str] | None = None
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        parts = split_url(self.url, ("http", "https"))
        self.https = parts.scheme == "https"
        assert parts.hostname is not None  # split_url refuses a URL without one
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

    def _request(
        self, method: str, path: str, body: bytes | None = None, limit: int = AC_LIMIT
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/octet-stream"}
        if self.header:
            headers[self.header[0]] = self.header[1]

        def once() -> tuple[int, bytes]:
            try:
                connection = self._connection()
                connection.request(method, f"{self.base}/{path}", body=body, headers=headers)
                response = connection.getresponse()
                data = _body(response, limit)
            except Oversized:
                self._drop_connection()  # the rest of that body is still on the wire
                raise
            except (OSError, http.client.HTTPException, TooSlow) as err:
                self._drop_connection()
                raise Transient(f"{type(err).__name__}: {err}") from None
            if response.status >= 500:
                raise Transient(f"HTTP {response.status} for {method} /{path.split('/')[0]}/")
            return response.status, data

        return self.attempt(once)

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    def get(self, kind: str, name: str, size: int | None = None) -> bytes | None:
        status, data = self._request(
            "GET", f"{kind}/{name}", limit=AC_LIMIT if size is None else size
        )
        if status == 200:
            return data
        if status == 404:
            return None
        self.give_up(f"HTTP {status} for GET /{kind}/")

    def has(self, kind: str, name: str) -> bool:
        status, _ = self._request("HEAD", f"{kind}/{name}")
        return status == 200

    def put(self, kind: str, name: str, data: bytes) -> None:
        status, _ = self._request("PUT", f"{kind}/{name}", data)
        if status not in (200, 201, 204):
            self.give_up(f"HTTP {status} for PUT /{kind}/")

    # -- the Remote interface -----------------------------------------------------------------

    def get_result(self, key: str) -> bytes | None:
        return self.get("ac", key)

    def put_result(self, key: str, data: bytes) -> None:
        self.put("ac", key, data)

    def read_blobs(self, sizes: dict[str, int]) -> dict[str, bytes | None]:
        def one(blob: str) -> tuple[str, bytes | None] | None:
            try:
                data = self.get("cas", blob, sizes[blob])
            except Oversized:
                return blob, None
            return None if data is None else (blob, data)

        return dict(found for found in parallel(one, sorted(sizes)) if found is not None)

    def missing_blobs(self, sizes: dict[str, int]) -> set[str]:
        names = sorted(sizes)
        held = parallel(lambda blob: self.has("cas", blob), names)
        return {blob for blob, there in zip(names, held, strict=True) if not there}

    def write_blobs(self, blobs: dict[str, Blob]) -> None:
        parallel(lambda blob: self.put("cas", blob, blobs[blob].load()), sorted(blobs))
