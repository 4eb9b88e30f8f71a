"""REAPI v2 over gRPC, the protocol of BuildGrid, Buildbarn, BuildBuddy and EngFlow:
`grpc://host:port[/instance]`, or `grpcs://` for TLS.

GetCapabilities comes first (the server must offer SHA256; its batch limit sizes our batches).
Small blobs travel many to a message (BatchReadBlobs, FindMissingBlobs then BatchUpdateBlobs),
blobs above the batch limit through ByteStream Read and Write. Messages are our own wire encoding
(reapi.py) sent as raw bytes through grpcio's generic calls, so grpcio is the only dependency and
it is imported at the first call: a run without a grpc:// URL never loads it.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..errors import Transient
from . import reapi
from .backend import AC_LIMIT, DEADLINE, TIMEOUT, Blob, Remote, parallel, split_url

CAS = "/build.bazel.remote.execution.v2.ContentAddressableStorage/"
ACTION_CACHE = "/build.bazel.remote.execution.v2.ActionCache/"
CAPABILITIES = "/build.bazel.remote.execution.v2.Capabilities/GetCapabilities"
BYTESTREAM = "/google.bytestream.ByteStream/"

BATCH_CAP = (
    4 << 20
)  # never more per batch, whatever the server allows: gRPC's default message limit
OVERHEAD = 256  # bytes counted per blob in a batch for its digest, status and framing
BATCH_COUNT = 500  # digests per request (BuildGrid's own cap)
CHUNK = 1 << 20  # bytes per ByteStream message
RETRIED = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED"}
# GetActionResult wants the Action's Digest. Our key is the sha256 of the canonical record, which
# is no blob in the CAS, so its size is a convention: 0, for every key. Servers key their action
# cache by (hash, size) or by hash alone (BuildGrid's LRU cache by both), so all that matters is
# that every partsmith asks with the same size.
ACTION_SIZE = 0
MISSING_GRPC = (
    "PARTSMITH_REMOTE_CACHE is a gRPC URL, which needs grpcio: pip install 'partsmith[grpc]'"
)


def _chunks(sizes: dict[str, int], limit: int) -> list[list[reapi.Named]]:
    """Blobs grouped so that each group, framing counted, fits in one batch message."""
    chunks: list[list[reapi.Named]] = []
    used = 0
    for blob in sorted(sizes):
        cost = sizes[blob] + OVERHEAD
        if not chunks or used + cost > limit or len(chunks[-1]) >= BATCH_COUNT:
            chunks.append([])
            used = 0
        chunks[-1].append((blob, sizes[blob]))
        used += cost
    return chunks


@dataclass
class GrpcRemote(Remote):
    header: tuple[str, str] | None = None
    _channel: Any = None
    _calls: dict[str, Callable] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _limit: int = 0  # bytes per batch, once the server's capabilities are known

    def __post_init__(self) -> None:
        parts = split_url(self.url, ("grpc", "grpcs"))
        if parts.query or parts.fragment:
            raise ValueError(
                "PARTSMITH_REMOTE_CACHE: a grpc:// URL is grpc://host:port[/instance], nothing more"
            )
        if self.header and not re.fullmatch(r"[0-9a-z_.-]+", self.header[0].lower()):
            raise ValueError(
                "PARTSMITH_REMOTE_HEADER: its name is not a gRPC metadata key "
                "(letters, digits, '-', '_', '.')"
            )
        if importlib.util.find_spec("grpc") is None:
            raise ValueError(MISSING_GRPC)
        self.tls = parts.scheme == "grpcs"
        self.target = parts.netloc
        self.instance = parts.path.strip("/")
        self.metadata = ((self.header[0].lower(), self.header[1]),) if self.header else ()

    # -- transport ----------------------------------------------------------------------------

    def _call_of(self, shape: str, method: str) -> Callable:
        """grpcio's generic call for `method`, raw bytes in and out; the channel made once."""
        with self._lock:
            if self._channel is None:
                import grpc

                options = [
                    ("grpc.max_receive_message_length", AC_LIMIT + BATCH_CAP),
                    ("grpc.max_send_message_length", AC_LIMIT + BATCH_CAP),
                ]
                self._channel = (
                    grpc.secure_channel(self.target, grpc.ssl_channel_credentials(), options)
                    if self.tls
                    else grpc.insecure_channel(self.target, options)
                )
            if method not in self._calls:
                self._calls[method] = getattr(self._channel, shape)(method)
            return self._calls[method]

    def _guarded(self, call: Callable[[], Any], method: str) -> Any:
        """One try of `call`: NOT_FOUND is None, a transient failure Transient, any other the
        end."""
        import grpc

        try:
            return call()
        except grpc.RpcError as err:
            code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
            if code == grpc.StatusCode.NOT_FOUND:
                return None
            details = (err.details() or "").splitlines()[:1] if isinstance(err, grpc.Call) else []
            reason = f"gRPC {code.name} for {method.rsplit('/', 1)[-1]}" + (
                f": {details[0][:100]}" if details else ""
            )
            if code.name in RETRIED:
                raise Transient(reason) from None
            self.give_up(reason)

    def _unary(self, method: str, request: bytes, timeout: float = TIMEOUT) -> bytes | None:
        call = self._call_of("unary_unary", method)
        answer: bytes | None = self.attempt(  # grpcio's call answers the raw bytes
            lambda: self._guarded(
                lambda: call(request, timeout=timeout, metadata=self.metadata), method
            )
        )
        return answer

    def operations(self, method: str, request: bytes, timeout: float) -> Iterator[bytes]:
        """The answers of a server-streaming call (Execution.Execute, WaitExecution), raw. A
        failure ends them with Transient when it may pass (RESOURCE_EXHAUSTED too), else
        Unavailable; a stream that breaks midway is the caller's to resume."""
        import grpc

        call = self._call_of("unary_stream", method)
        try:
            yield from call(request, timeout=timeout, metadata=self.metadata)
        except grpc.RpcError as err:
            code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
            details = (err.details() or "").splitlines()[:1] if isinstance(err, grpc.Call) else []
            reason = f"gRPC {code.name} for {method.rsplit('/', 1)[-1]}" + (
                f": {details[0][:200]}" if details else ""
            )
            # an action past its deadline is not retried: it would take as long again
            if code.name in {"UNAVAILABLE", "ABORTED", "RESOURCE_EXHAUSTED"}:
                raise Transient(reason) from None
            self.give_up(reason)

    def _resource(self, path: str) -> str:
        return f"{self.instance}/{path}" if self.instance else path

    def _batch_limit(self) -> int:
        """Ask GetCapabilities once per process: SHA256 must be offered; 0 means no batch limit."""
        if not self._limit:
            try:
                capabilities = reapi.decode_capabilities(
                    self._unary(CAPABILITIES, reapi.capabilities_request(self.instance)) or b""
                )
            except ValueError:
                self.give_up("its GetCapabilities answer cannot be read")
            if reapi.SHA256 not in capabilities.digest_functions:
                self.give_up("it does not offer SHA256 digests")
            offered = capabilities.max_batch_total_size
            self._limit = min(offered, BATCH_CAP) if offered > 0 else BATCH_CAP
        return self._limit

    # -- the Remote interface -----------------------------------------------------------------

    def get_result(self, key: str) -> bytes | None:
        self._batch_limit()
        return self._unary(
            ACTION_CACHE + "GetActionResult",
            reapi.action_result_request(self.instance, (key, ACTION_SIZE)),
        )

    def put_result(self, key: str, data: bytes) -> None:
        self._batch_limit()
        request = reapi.update_action_result_request(self.instance, (key, ACTION_SIZE), data)
        if self._unary(ACTION_CACHE + "UpdateActionResult", request) is None:
            self.give_up("UpdateActionResult answered NOT_FOUND")

    def read_blobs(self, sizes: dict[str, int]) -> dict[str, bytes | None]:
        limit = self._batch_limit()
        found: dict[str, bytes | None] = {
            blob: b"" for blob, size in sizes.items() if size == 0
        }  # asked of no one
        small = {
            blob: size for blob, size in sizes.items() if 0 < size and size + OVERHEAD <= limit
        }
        large = sorted(blob for blob, size in sizes.items() if size + OVERHEAD > limit)
        jobs = [partial(self._read_batch, chunk) for chunk in _chunks(small, limit)]
        jobs += [partial(self._read_stream, blob, sizes[blob]) for blob in large]
        for part in parallel(lambda job: job(), jobs):
            found.update(part)
        return found

    def missing_blobs(self, sizes: dict[str, int]) -> set[str]:
        self._batch_limit()
        names, missing = sorted(sizes.items()), set()
        for start in range(0, len(names), BATCH_COUNT):
            chunk = names[start : start + BATCH_COUNT]
            answer = self._unary(
                CAS + "FindMissingBlobs", reapi.find_missing_request(self.instance, chunk)
            )
            try:
                missing |= {blob for blob, _ in reapi.decode_find_missing(answer or b"")}
            except ValueError:
                missing |= {blob for blob, _ in chunk}  # an answer we cannot read: send them all
        return missing & sizes.keys()

    def write_blobs(self, blobs: dict[str, Blob]) -> None:
        limit = self._batch_limit()
        small = {
            blob: item.size
            for blob, item in blobs.items()
            if 0 < item.size and item.size + OVERHEAD <= limit
        }
        large = sorted(blob for blob, item in blobs.items() if item.size + OVERHEAD > limit)
        jobs = [partial(self._write_batch, chunk, blobs) for chunk in _chunks(small, limit)]
        jobs += [partial(self._write_stream, blob, blobs[blob]) for blob in large]
        parallel(lambda job: job(), jobs)  # the empty blob is never sent: every server holds it

    # -- one batch, one stream ----------------------------------------------------------------

    def _read_batch(self, chunk: list[reapi.Named]) -> dict[str, bytes | None]:
        answer = self._unary(
            CAS + "BatchReadBlobs", reapi.batch_read_request(self.instance, chunk), DEADLINE
        )
        try:
            served = reapi.decode_batch_read(answer or b"")
        except ValueError:
            return {}  # an answer we cannot read: every blob of it a miss
        asked = dict(chunk)
        return {
            item.digest[0]: item.data
            for item in served
            if item.code == reapi.OK and item.digest[0] in asked
        }

    def _read_stream(self, blob: str, size: int) -> dict[str, bytes | None]:
        call = self._call_of("unary_stream", BYTESTREAM + "Read")
        request = reapi.read_request(self._resource(f"blobs/{blob}/{size}"))

        def once() -> dict[str, bytes | None]:
            answers = call(request, timeout=DEADLINE, metadata=self.metadata)
            chunks: list[bytes] = []
            received = 0
            for answer in answers:
                chunk: bytes | None
                try:
                    chunk = reapi.decode_read_response(answer)
                except ValueError:
                    chunk = None  # an unreadable answer: not that blob
                received += len(chunk or b"")
                if chunk is None or received > size:  # or more bytes than the blob has
                    answers.cancel()
                    return {blob: None}
                chunks.append(chunk)
            return {blob: b"".join(chunks)}

        return self.attempt(lambda: self._guarded(once, BYTESTREAM + "Read")) or {}

    def _write_batch(self, chunk: list[reapi.Named], blobs: dict[str, Blob]) -> None:
        request = reapi.batch_update_request(
            self.instance, [((blob, size), blobs[blob].load()) for blob, size in chunk]
        )
        answer = self._unary(CAS + "BatchUpdateBlobs", request, DEADLINE)
        try:
            refused = [
                item for item in reapi.decode_batch_update(answer or b"") if item.code != reapi.OK
            ]
        except ValueError:
            self.give_up("its BatchUpdateBlobs answer cannot be read")
        if refused:
            self.give_up(f"it refused {len(refused)} blobs (gRPC status {refused[0].code})")

    def _write_stream(self, blob: str, item: Blob) -> None:
        call = self._call_of("stream_unary", BYTESTREAM + "Write")
        data = item.load()

        def requests() -> Any:
            resource = self._resource(
                f"uploads/{uuid.uuid4()}/blobs/{blob}/{item.size}"
            )  # a new one per try
            for offset in range(0, len(data), CHUNK):
                last = offset + CHUNK >= len(data)
                yield reapi.write_request(
                    resource if offset == 0 else "", offset, data[offset : offset + CHUNK], last
                )

        method = BYTESTREAM + "Write"
        answer = self.attempt(
            lambda: self._guarded(
                lambda: call(requests(), timeout=DEADLINE, metadata=self.metadata), method
            )
        )
        try:
            committed = reapi.decode_write_response(answer or b"")
        except ValueError:
            self.give_up("its ByteStream Write answer cannot be read")
        if committed not in (item.size, -1):  # -1: the blob was already there (REAPI 2.1 and later)
            self.give_up(f"it committed {committed} of the {item.size} bytes of a blob")
