"""A remote cache shared by a team: Bazel's HTTP cache protocol (http_remote.py) or REAPI v2 over
gRPC (grpc_remote.py), both holding the same entries: an action result, as a REAPI ActionResult
message, under the part's key, and every file of the result as a blob named by its sha256.

Configured by the environment (never passed to actions): PARTSMITH_REMOTE_CACHE (the URL; its
scheme picks the backend), PARTSMITH_REMOTE_UPLOAD=1 (also upload what is built here),
PARTSMITH_REMOTE_HEADER ("Name: value", e.g. an Authorization header; never printed). Lookup order:
the local store, then the remote; what comes from the remote is checked blob by blob here, whatever
the backend, and lands in the local store. A server that is down, slow or failing costs one warning
line and a local build, never the run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from urllib.parse import urlsplit

from rules.core import digest, unsealed
from rules.tree import Tree, from_data, to_json

from ..errors import Oversized, Unavailable
from ..store import DIGEST, Store, check_tree
from . import reapi
from .backend import AC_LIMIT, Blob, Remote

RECORD_PATH = ".partsmith/result.json"  # an output file holding the key record and the whole Tree


@functools.lru_cache(maxsize=1)
def _configured(url: str, upload: bool, header: str) -> Remote:
    name, _, value = header.partition(":")
    if header and (
        not name.strip()
        or not value.strip()
        or any(c in header for c in "\r\n\0")
        or not header.isascii()
    ):
        raise ValueError(
            "PARTSMITH_REMOTE_HEADER must be one 'Name: value' line of ASCII "
            "(its value is not shown)"
        )
    pair = (name.strip(), value.strip()) if header else None
    if urlsplit(url).scheme in ("grpc", "grpcs"):
        from .grpc_backend import GrpcRemote  # grpcio itself is imported at the first call

        return GrpcRemote(url, upload, header=pair)
    from .http_backend import HttpRemote  # urllib's HTTP client, only when a remote cache is set

    return HttpRemote(url, upload, header=pair)


def remote_from_environment() -> Remote | None:
    url = os.environ.get("PARTSMITH_REMOTE_CACHE", "").strip()
    if not url:
        return None
    return _configured(
        url,
        # what an unsealed run builds may depend on what no key records: it is never shared
        os.environ.get("PARTSMITH_REMOTE_UPLOAD") == "1" and not unsealed(),
        os.environ.get("PARTSMITH_REMOTE_HEADER", ""),
    )


_warned: set[str] = set()


def _warn(remote: Remote, what: str, err: Exception) -> None:
    """One line per run and server: the URL and the failure, never the header."""
    if remote.url in _warned or not remote.announce:
        return
    _warned.add(remote.url)
    print(f"partsmith: warning: remote cache {remote.url} unavailable ({err}); {what} locally")


# -- fetching ------------------------------------------------------------------------------------


def fetch_from_remote(store: Store, key: str) -> bool:
    """Bring the result `key` and every blob it needs from the remote into the local store."""
    remote = remote_from_environment()
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
    data = remote.get_result(key)
    if data is None:
        return False
    try:
        result = reapi.decode(data)
        meta = [f for f in result.files if f.path == RECORD_PATH][-1]  # ours is written last
    except (ValueError, IndexError):
        return False  # not an entry partsmith wrote: a miss
    if not DIGEST.fullmatch(meta.digest) or meta.size > AC_LIMIT:
        return False
    payload = _checked(remote, {meta.digest: meta.size})
    if payload is None:
        return False
    try:
        document = json.loads(payload[meta.digest])
        record, tree = document["record"], from_data(document["tree"])
        values = _said(document.get("values", {}))
        check_tree(tree)
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    if digest(record) != key:
        return False  # a result stored under another action's key
    wanted = {
        e.digest: e.size
        for e in tree.values()
        if e.kind == "file" and not store.blob(e.digest).exists()
    }
    blobs = _checked(remote, wanted) if wanted else {}
    if blobs is None:
        return False  # missing or corrupt: a miss, built here (and re-uploaded when uploading)
    return _stored(store, key, record, tree, values, blobs)


def _stored(
    store: Store,
    key: str,
    record: dict,
    tree: Tree,
    values: dict[str, str],
    blobs: dict[str, bytes],
) -> bool:
    """Add the downloaded blobs and the result naming them under the store's lock, so that a
    concurrent cache-trim never sees the blobs without their result. A blob the store held when
    the fetch looked may have been trimmed since (the download took a while): a miss then."""
    with store.writing():
        store.add_blobs(blobs)
        if not all(store.blob(e.digest).is_file() for e in tree.values() if e.kind == "file"):
            return False
        store.put_result(key, record, tree, values)
    return True


def _checked(remote: Remote, sizes: dict[str, int]) -> dict[str, bytes] | None:
    """Every blob of `sizes`, each checked against its digest; None if one is missing or corrupt."""
    served = remote.read_blobs(sizes)
    good = {}
    for blob in sorted(sizes):
        data = served.get(blob)
        if data is not None and hashlib.sha256(data).hexdigest() == blob:
            good[blob] = data
        elif blob in served:
            remote.distrusted.add(
                blob
            )  # sent again at the next upload, whatever the server says it holds
    return good if len(good) == len(sizes) else None


# -- uploading -----------------------------------------------------------------------------------


def _said(values: dict) -> dict[str, str]:
    """What a stored build said with `craftctl set`, as craftctl allows it: a version or grade,
    one printable line. Anything else a server holds is dropped, never printed."""
    return {
        key: value
        for key, value in values.items()
        if key in ("version", "grade")
        and isinstance(value, str)
        and value.isprintable()
        and len(value) <= 256
    }


def upload_to_remote(
    store: Store, key: str, record: dict, tree: Tree, values: dict[str, str] | None = None
) -> None:
    """Send a result built here, when uploads are on: blobs first, the action result last."""
    remote = remote_from_environment()
    if remote is None or not remote.upload or remote.down:
        return
    try:
        _upload(remote, store, key, record, tree, values or {})
    except (Unavailable, OSError) as err:
        _warn(remote, "continuing", err)


def _upload(
    remote: Remote, store: Store, key: str, record: dict, tree: Tree, values: dict[str, str]
) -> None:
    document = {
        "record": record,
        "tree": json.loads(to_json(tree)),
        **({"values": values} if values else {}),
    }
    payload = json.dumps(document, sort_keys=True).encode()
    payload_digest = hashlib.sha256(payload).hexdigest()
    blobs = {
        e.digest: Blob(e.size, store.blob(e.digest).read_bytes)  # read when it is sent
        for e in tree.values()
        if e.kind == "file"
    }
    blobs[payload_digest] = Blob(len(payload), lambda: payload)
    sizes = {blob: item.size for blob, item in blobs.items()}
    missing = remote.missing_blobs(sizes) | (remote.distrusted & sizes.keys())
    remote.write_blobs({blob: blobs[blob] for blob in missing})
    files = [
        reapi.OutputFile(path, e.digest, e.size, e.executable)
        for path, e in sorted(tree.items())
        if e.kind == "file"
    ]
    files.append(reapi.OutputFile(RECORD_PATH, payload_digest, len(payload)))
    links = [
        reapi.OutputSymlink(path, e.target)
        for path, e in sorted(tree.items())
        if e.kind == "symlink"
    ]
    remote.put_result(key, reapi.encode(reapi.ActionResult(tuple(files), tuple(links))))
