"""The REAPI v2 messages of remote execution, in protobuf wire format (field numbers of the public
remote_execution.proto and google/longrunning/operations.proto):
  FileNode      { string name = 1; Digest digest = 2; bool is_executable = 4; }
  DirectoryNode { string name = 1; Digest digest = 2; }
  SymlinkNode   { string name = 1; string target = 2; }
  Directory     { repeated FileNode files = 1; repeated DirectoryNode directories = 2;
                  repeated SymlinkNode symlinks = 3; }
  Tree          { Directory root = 1; repeated Directory children = 2; }
  Command       { repeated string arguments = 1; repeated EnvironmentVariable
                  environment_variables = 2; string working_directory = 6;
                  repeated string output_paths = 7; Platform platform = 5; }
    .EnvironmentVariable { string name = 1; string value = 2; }
  Platform      { repeated Property properties = 1; }  .Property { string name = 1; value = 2; }
  Action        { Digest command_digest = 1; Digest input_root_digest = 2;
                  Platform platform = 10; }
  ExecuteRequest      { string instance_name = 1; bool skip_cache_lookup = 3;
                        Digest action_digest = 6; DigestFunction.Value digest_function = 9; }
  WaitExecutionRequest { string name = 1; }
  Operation     { string name = 1; bool done = 3; google.rpc.Status error = 4; Any response = 5; }
  Any           { string type_url = 1; bytes value = 2; }
  ExecuteResponse { ActionResult result = 1; bool cached_result = 2; google.rpc.Status status = 3;
                    string message = 5; }
  ActionResult  { repeated OutputFile output_files = 2; repeated OutputDirectory
                  output_directories = 3; int32 exit_code = 4; bytes stdout_raw = 5;
                  Digest stdout_digest = 6; bytes stderr_raw = 7; Digest stderr_digest = 8; }
  OutputDirectory { string path = 1; Digest tree_digest = 3; }
Messages are canonical (fields in number order, repeated entries sorted as REAPI asks), so the
same action has the same digest on every machine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from .reapi import (
    OK,
    SHA256,
    VARINT,
    Named,
    _bytes,
    _digest,
    _fields,
    _int,
    _key,
    _message,
    _named,
    _number,
    _status,
    _string,
    _text,
    _varint,
)


@dataclass(frozen=True)
class FileNode:
    name: str
    digest: Named
    executable: bool = False


@dataclass(frozen=True)
class Directory:
    files: tuple[FileNode, ...] = ()
    directories: tuple[tuple[str, Named], ...] = ()  # name, digest of its Directory
    symlinks: tuple[tuple[str, str], ...] = ()  # name, target


@dataclass(frozen=True)
class Command:
    arguments: tuple[str, ...]
    environment: tuple[tuple[str, str], ...]
    working_directory: str
    output_paths: tuple[str, ...]
    platform: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What an Execute answered: the ActionResult's parts partsmith reads."""

    exit_code: int = 0
    files: tuple[tuple[str, Named, bool], ...] = ()  # path, digest, executable
    directories: tuple[tuple[str, Named], ...] = ()  # path, digest of its Tree
    stdout: Named | bytes = b""  # a digest, or the raw bytes inlined
    stderr: Named | bytes = b""
    cached: bool = False
    status: tuple[int, str] = (OK, "")
    unknown: tuple[int, ...] = field(default=(), compare=False)


def _flag(number: int, value: bool) -> bytes:
    return _key(number, VARINT) + _varint(1) if value else b""


def encode_directory(directory: Directory) -> bytes:
    out = bytearray()
    for node in sorted(directory.files, key=lambda n: n.name):
        body = _string(1, node.name) + _bytes(2, _digest(*node.digest))
        out += _bytes(1, body + _flag(4, node.executable))
    for name, digest in sorted(directory.directories):
        out += _bytes(2, _string(1, name) + _bytes(2, _digest(*digest)))
    for name, target in sorted(directory.symlinks):
        out += _bytes(3, _string(1, name) + _string(2, target))
    return bytes(out)


def _platform(properties: tuple[tuple[str, str], ...]) -> bytes:
    return b"".join(
        _bytes(1, _string(1, name) + _string(2, value)) for name, value in sorted(properties)
    )


def encode_command(command: Command) -> bytes:
    out = bytearray()
    for argument in command.arguments:
        out += _bytes(1, argument.encode())
    for name, value in sorted(command.environment):
        out += _bytes(2, _string(1, name) + _bytes(2, value.encode()))
    if command.platform:
        out += _bytes(5, _platform(command.platform))
    out += _string(6, command.working_directory)
    for path in sorted(command.output_paths):
        out += _bytes(7, path.encode())
    return bytes(out)


def encode_action(
    command: Named, input_root: Named, platform: tuple[tuple[str, str], ...]
) -> bytes:
    out = _bytes(1, _digest(*command)) + _bytes(2, _digest(*input_root))
    return out + (_bytes(10, _platform(platform)) if platform else b"")


def execute_request(instance: str, action: Named, skip_cache_lookup: bool = False) -> bytes:
    return (
        _string(1, instance)
        + _flag(3, skip_cache_lookup)
        + _bytes(6, _digest(*action))
        + _number(9, SHA256)
    )


def wait_execution_request(name: str) -> bytes:
    return _string(1, name)


# -- decoding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    name: str
    done: bool
    error: tuple[int, str] | None
    response: bytes | None  # an ExecuteResponse, when done without an error


def decode_operation(data: bytes) -> Operation:
    name, done, error, response = "", False, None, None
    for number, _, value in _fields(data):
        if number == 1:
            name = _text(value)
        elif number == 3:
            done = bool(_int(value))
        elif number == 4:
            error = _status(value)
        elif number == 5:  # google.protobuf.Any: its value is the ExecuteResponse
            response = next((_message(v) for n, _, v in _fields(_message(value)) if n == 2), b"")
    return Operation(name, done, error, response)


def decode_execute_response(data: bytes) -> Outcome:
    outcome = Outcome()
    for number, _, value in _fields(data):
        if number == 1:
            outcome = _action_result(_message(value))
        elif number == 2:
            outcome = replace(outcome, cached=bool(_int(value)))
        elif number == 3:
            outcome = replace(outcome, status=_status(value))
    return outcome


def _action_result(data: bytes) -> Outcome:
    files, directories, unknown = [], [], []
    exit_code, streams = 0, {5: b"", 6: b"", 7: b"", 8: b""}
    for number, _, value in _fields(data):
        if number == 2:
            files.append(_output_file(_message(value)))
        elif number == 3:
            directories.append(_output_directory(_message(value)))
        elif number == 4:
            exit_code = _int(value)
        elif number in streams:
            streams[number] = _message(value)
        else:
            unknown.append(number)
    stdout: Named | bytes = _named(streams[6]) if streams[6] else streams[5]
    stderr: Named | bytes = _named(streams[8]) if streams[8] else streams[7]
    return Outcome(
        exit_code, tuple(files), tuple(directories), stdout, stderr, unknown=tuple(unknown)
    )


def _output_file(data: bytes) -> tuple[str, Named, bool]:
    path, digest, executable = "", ("", 0), False
    for number, _, value in _fields(data):
        if number == 1:
            path = _text(value)
        elif number == 2:
            digest = _named(value)
        elif number == 4:
            executable = bool(_int(value))
    return path, digest, executable


def _output_directory(data: bytes) -> tuple[str, Named]:
    path, digest = "", ("", 0)
    for number, _, value in _fields(data):
        if number == 1:
            path = _text(value)
        elif number == 3:
            digest = _named(value)
    return path, digest


def decode_directory(data: bytes) -> Directory:
    files, directories, symlinks = [], [], []
    for number, _, value in _fields(data):
        inner = {n: v for n, _, v in _fields(_message(value))}
        name = _text(inner.get(1, b""))
        if number == 1:
            executable = bool(_int(inner[4])) if 4 in inner else False
            files.append(FileNode(name, _named(inner.get(2, b"")), executable))
        elif number == 2:
            directories.append((name, _named(inner.get(2, b""))))
        elif number == 3:
            symlinks.append((name, _text(inner.get(2, b""))))
    return Directory(tuple(files), tuple(directories), tuple(symlinks))


def decode_tree(data: bytes) -> tuple[Directory, dict[Named, Directory]]:
    """A Tree's root and its children, each by the digest of its bytes as the server sent them
    (what a DirectoryNode names)."""
    root, children = Directory(), {}
    for number, _, value in _fields(data):
        if number == 1:
            root = decode_directory(_message(value))
        elif number == 2:
            raw = _message(value)
            children[(hashlib.sha256(raw).hexdigest(), len(raw))] = decode_directory(raw)
    return root, children
