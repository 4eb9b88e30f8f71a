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
    fields, at = [], 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, at = _read_varint(data, at)
        elif wire == LENGTH:
            size, at = _read_varint(data, at)
            if at + size > len(data):
                raise ValueError("truncated message")
            value, at = data[at:at + size], at + size
        elif wire in (1, 5):  # fixed64, fixed32: skipped
            width = 8 if wire == 1 else 4
            value, at = data[at:at + width], at + width
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
