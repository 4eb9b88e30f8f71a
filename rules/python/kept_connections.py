"""HTTP(S) downloads over connections kept open, one set per download thread: a pull fetches
tens of files from one host (files.pythonhosted.org), and a TLS handshake per file cost more
than the files themselves (urllib opens a connection per request). What this does not handle
plainly (a proxy, a redirect, another scheme) goes to urllib, as before."""

from __future__ import annotations

import http.client
import threading
import urllib.error
import urllib.request
from typing import BinaryIO
from urllib.parse import urlsplit

HEADERS = {"User-Agent": "partsmith", "Accept-Encoding": "identity"}


class _Kept(threading.local):
    def __init__(self) -> None:
        self.connections: dict[tuple[str, str], http.client.HTTPConnection] = {}


_KEPT = _Kept()


def open_url(url: str, timeout: float) -> BinaryIO:
    """The body of `url`, to be read to its end (so the connection can serve the next file)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.scheme in urllib.request.getproxies():
        return urllib.request.urlopen(url, timeout=timeout)  # type: ignore[no-any-return]
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    for fresh in (False, True):  # a kept connection the server has closed fails once
        connection = _connection(parts.scheme, parts.netloc, timeout, fresh)
        try:
            connection.request("GET", target or "/", headers=HEADERS)
            response = connection.getresponse()
            break
        except (OSError, http.client.HTTPException):
            connection.close()
            if fresh:
                raise
    if response.status == 200:
        return response
    response.read()
    if 300 <= response.status < 400:  # urllib follows redirects
        return urllib.request.urlopen(url, timeout=timeout)  # type: ignore[no-any-return]
    raise urllib.error.HTTPError(url, response.status, response.reason, response.headers, None)


def _connection(scheme: str, host: str, timeout: float, fresh: bool) -> http.client.HTTPConnection:
    key = (scheme, host)
    connection = _KEPT.connections.get(key)
    if connection is None or fresh:
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        connection = kind(host, timeout=timeout)
        _KEPT.connections[key] = connection
    return connection
