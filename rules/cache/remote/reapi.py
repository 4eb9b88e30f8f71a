"""The few REAPI v2 messages a Bazel HTTP cache's `/ac/` entries hold, in protobuf wire format.

An action result is stored as a real `build.bazel.remote.execution.v2.ActionResult`, so servers
that validate `/ac/` uploads (bazel-remote does by default) accept it. Field numbers are those of
the public remote_execution.proto:
  Digest        { string hash = 1; int64 size_bytes = 2; }
  OutputFile    { string path = 1; Digest digest = 2; bool is_executable = 4; }
  OutputSymlink { string path = 1; string target = 2; }
  ActionResult  { repeated OutputFile output_files = 2; int32 exit_code = 4;
                  repeated OutputSymlink output_symlinks = 12; }
A dozen lines of encoder beat a dependency; tests decode our bytes with the protobuf runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VARINT, LENGTH = 0, 2


@dataclass(frozen=True)
class OutputFile:
    path: str
    digest: str
    size: int
    executable: bool = False


@dataclass(frozen=True)
class OutputSymlink:
    path: str
    target: str


@dataclass(frozen=True)
class ActionResult:
    files: tuple[OutputFile, ...] = ()
    symlinks: tuple[OutputSymlink, ...] = ()
    exit_code: int = 0
    unknown: tuple[int, ...] = field(default=(), compare=False)  # field numbers we skipped


# -- encoding ------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _bytes(number: int, data: bytes) -> bytes:
    return _key(number, LENGTH) + _varint(len(data)) + data


def _digest(sha256: str, size: int) -> bytes:
    return _bytes(1, sha256.encode()) + (_key(2, VARINT) + _varint(size) if size else b"")


def encode(result: ActionResult) -> bytes:
    out = bytearray()
    for item in result.files:
        body = _bytes(1, item.path.encode()) + _bytes(2, _digest(item.digest, item.size))
        if item.executable:
            body += _key(4, VARINT) + _varint(1)
        out += _bytes(2, body)
    if result.exit_code:
        out += _key(4, VARINT) + _varint(result.exit_code)
    for link in result.symlinks:
        out += _bytes(12, _bytes(1, link.path.encode()) + _bytes(2, link.target.encode()))
    return bytes(out)


# -- decoding (what a server hands back may be anything: every error is a ValueError) -----------


def _fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    fields: list[tuple[int, int, int | bytes]] = []
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == VARINT:
            value, at = _read_varint(data, at)
        elif wire == LENGTH:
            size, at = _read_varint(data, at)
            if at + size > len(data):
                raise ValueError("truncated message")
            value, at = data[at : at + size], at + size
        elif wire in (1, 5):  # fixed64, fixed32: skipped
            width = 8 if wire == 1 else 4
            value, at = data[at : at + width], at + width
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.append((number, wire, value))
    return fields


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise ValueError("expected a string")
    return value.decode()


def decode(data: bytes) -> ActionResult:
    files, links, exit_code, unknown = [], [], 0, []
    for number, _, value in _fields(data):
        if number == 2:
            files.append(_output_file(value))
        elif number == 12:
            links.append(_output_symlink(value))
        elif number == 4 and isinstance(value, int):
            exit_code = value
        else:
            unknown.append(number)
    return ActionResult(tuple(files), tuple(links), exit_code, tuple(unknown))


def _output_file(value: int | bytes) -> OutputFile:
    if not isinstance(value, bytes):
        raise ValueError("output_files: expected a message")
    path, sha, size, executable = "", "", 0, False
    for number, _, item in _fields(value):
        if number == 1:
            path = _text(item)
        elif number == 2 and isinstance(item, bytes):
            for inner, _, part in _fields(item):
                if inner == 1:
                    sha = _text(part)
                elif inner == 2 and isinstance(part, int):
                    size = part
        elif number == 4 and isinstance(item, int):
            executable = bool(item)
    return OutputFile(path, sha, size, executable)


def _output_symlink(value: int | bytes) -> OutputSymlink:
    if not isinstance(value, bytes):
        raise ValueError("output_symlinks: expected a message")
    path = target = ""
    for number, _, item in _fields(value):
        if number == 1:
            path = _text(item)
        elif number == 2:
            target = _text(item)
    return OutputSymlink(path, target)


# -- the gRPC services' requests and answers (remote_execution.proto, google/bytestream) --------
#   GetCapabilitiesRequest    { string instance_name = 1; }
#   ServerCapabilities        { CacheCapabilities cache_capabilities = 1; }
#   CacheCapabilities         { repeated DigestFunction.Value digest_functions = 1;
#                               int64 max_batch_total_size_bytes = 4; }
#   FindMissingBlobsRequest   { string instance_name = 1; repeated Digest blob_digests = 2;
#                               DigestFunction.Value digest_function = 3; }
#   FindMissingBlobsResponse  { repeated Digest missing_blob_digests = 2; }
#   BatchUpdateBlobsRequest   { string instance_name = 1; repeated Request requests = 2;
#                               DigestFunction.Value digest_function = 5; }
#     .Request                { Digest digest = 1; bytes data = 2; }
#   BatchUpdateBlobsResponse  { repeated Response responses = 1; }
#     .Response               { Digest digest = 1; google.rpc.Status status = 2; }
#   BatchReadBlobsRequest     { string instance_name = 1; repeated Digest digests = 2;
#                               DigestFunction.Value digest_function = 4; }
#   BatchReadBlobsResponse    { repeated Response responses = 1; }
#     .Response               { Digest digest = 1; bytes data = 2; google.rpc.Status status = 3; }
#   GetActionResultRequest    { string instance_name = 1; Digest action_digest = 2;
#                               DigestFunction.Value digest_function = 6; }
#   UpdateActionResultRequest { string instance_name = 1; Digest action_digest = 2;
#                               ActionResult action_result = 3;
#                               DigestFunction.Value digest_function = 5; }
#   google.rpc.Status         { int32 code = 1; string message = 2; }
#   ReadRequest   { string resource_name = 1; int64 read_offset = 2; }
#   ReadResponse  { bytes data = 10; }
#   WriteRequest  { string resource_name = 1; int64 write_offset = 2; bool finish_write = 3;
#                   bytes data = 10; }
#   WriteResponse { int64 committed_size = 1; }

SHA256 = 1  # DigestFunction.Value
OK, NOT_FOUND = 0, 5  # google.rpc.Code

Named = tuple[str, int]  # a blob's digest: sha256 hex and size


@dataclass(frozen=True)
class Capabilities:
    digest_functions: tuple[int, ...]
    max_batch_total_size: int  # 0: the server sets no limit


@dataclass(frozen=True)
class BlobStatus:
    digest: Named
    code: int
    data: bytes = b""


def _number(number: int, value: int) -> bytes:
    return (
        _key(number, VARINT) + _varint(value & (1 << 64) - 1) if value else b""
    )  # negatives: two's complement


def _string(number: int, text: str) -> bytes:
    return _bytes(number, text.encode()) if text else b""


def _digests(number: int, digests: list[Named]) -> bytes:
    return b"".join(_bytes(number, _digest(sha, size)) for sha, size in digests)


def capabilities_request(instance: str) -> bytes:
    return _string(1, instance)


def find_missing_request(instance: str, digests: list[Named]) -> bytes:
    return _string(1, instance) + _digests(2, digests) + _number(3, SHA256)


def batch_update_request(instance: str, blobs: list[tuple[Named, bytes]]) -> bytes:
    requests = b"".join(
        _bytes(2, _bytes(1, _digest(*named)) + _bytes(2, data)) for named, data in blobs
    )
    return _string(1, instance) + requests + _number(5, SHA256)


def batch_read_request(instance: str, digests: list[Named]) -> bytes:
    return _string(1, instance) + _digests(2, digests) + _number(4, SHA256)


def action_result_request(instance: str, action: Named) -> bytes:
    return _string(1, instance) + _bytes(2, _digest(*action)) + _number(6, SHA256)


def update_action_result_request(instance: str, action: Named, result: bytes) -> bytes:
    """`result`: an ActionResult already encoded."""
    return (
        _string(1, instance) + _bytes(2, _digest(*action)) + _bytes(3, result) + _number(5, SHA256)
    )


def read_request(resource: str) -> bytes:
    return _string(1, resource)


def write_request(resource: str, offset: int, data: bytes, finish: bool) -> bytes:
    return _string(1, resource) + _number(2, offset) + _number(3, int(finish)) + _bytes(10, data)


def _int(value: int | bytes) -> int:
    if not isinstance(value, int):
        raise ValueError("expected an integer")
    return value - (1 << 64) if value >= 1 << 63 else value


def _message(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise ValueError("expected a message")
    return value


def _named(value: int | bytes) -> Named:
    sha, size = "", 0
    for number, _, item in _fields(_message(value)):
        if number == 1:
            sha = _text(item)
        elif number == 2:
            size = _int(item)
    return sha, size


def _enums(wire: int, value: int | bytes) -> list[int]:
    """A repeated enum arrives packed (one length-delimited run of varints) or one by one."""
    if wire == VARINT:
        return [_int(value)]
    data, at, items = _message(value), 0, []
    while at < len(data):
        item, at = _read_varint(data, at)
        items.append(item)
    return items


def decode_capabilities(data: bytes) -> Capabilities:
    functions, limit = [], 0
    for number, _, value in _fields(data):
        if number == 1:
            for inner, wire, item in _fields(_message(value)):
                if inner == 1:
                    functions += _enums(wire, item)
                elif inner == 4:
                    limit = _int(item)
    return Capabilities(tuple(functions), limit)


def decode_find_missing(data: bytes) -> list[Named]:
    return [_named(value) for number, _, value in _fields(data) if number == 2]


def _status(value: int | bytes) -> tuple[int, str]:
    """A google.rpc.Status: its code and message."""
    code, message = OK, ""
    for number, _, item in _fields(_message(value)):
        if number == 1:
            code = _int(item)
        elif number == 2:
            message = _text(item)
    return code, message


def _code(value: int | bytes) -> int:
    return _status(value)[0]


def decode_batch_update(data: bytes) -> list[BlobStatus]:
    statuses = []
    for number, _, value in _fields(data):
        if number == 1:
            named, code = ("", 0), OK
            for inner, _, item in _fields(_message(value)):
                if inner == 1:
                    named = _named(item)
                elif inner == 2:
                    code = _code(item)
            statuses.append(BlobStatus(named, code))
    return statuses


def decode_batch_read(data: bytes) -> list[BlobStatus]:
    blobs = []
    for number, _, value in _fields(data):
        if number == 1:
            named, code, body = ("", 0), OK, b""
            for inner, _, item in _fields(_message(value)):
                if inner == 1:
                    named = _named(item)
                elif inner == 2:
                    body = _message(item)
                elif inner == 3:
                    code = _code(item)
            blobs.append(BlobStatus(named, code, body))
    return blobs


def decode_read_response(data: bytes) -> bytes:
    return b"".join(_message(value) for number, _, value in _fields(data) if number == 10)


def decode_write_response(data: bytes) -> int:
    return next((_int(value) for number, _, value in _fields(data) if number == 1), 0)
