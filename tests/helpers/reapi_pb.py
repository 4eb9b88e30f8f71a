"""The REAPI messages partsmith encodes by hand, as protobuf runtime classes built from a descriptor
written here (field numbers from the public remote_execution.proto and google/bytestream): an
independent decoder and encoder for the codec tests."""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
ONE, MANY = F.LABEL_OPTIONAL, F.LABEL_REPEATED
STRING, BYTES, INT64, INT32, BOOL, ENUM, MESSAGE = (
    F.TYPE_STRING,
    F.TYPE_BYTES,
    F.TYPE_INT64,
    F.TYPE_INT32,
    F.TYPE_BOOL,
    F.TYPE_ENUM,
    F.TYPE_MESSAGE,
)
V2 = "build.bazel.remote.execution.v2"

# message name: (field name, number, type, label, message type or "")
MESSAGES = {
    "Digest": [("hash", 1, STRING, ONE, ""), ("size_bytes", 2, INT64, ONE, "")],
    "OutputFile": [
        ("path", 1, STRING, ONE, ""),
        ("digest", 2, MESSAGE, ONE, "Digest"),
        ("is_executable", 4, BOOL, ONE, ""),
    ],
    "OutputSymlink": [("path", 1, STRING, ONE, ""), ("target", 2, STRING, ONE, "")],
    "OutputDirectory": [("path", 1, STRING, ONE, ""), ("tree_digest", 3, MESSAGE, ONE, "Digest")],
    "ActionResult": [
        ("output_files", 2, MESSAGE, MANY, "OutputFile"),
        ("output_directories", 3, MESSAGE, MANY, "OutputDirectory"),
        ("exit_code", 4, INT32, ONE, ""),
        ("stdout_raw", 5, BYTES, ONE, ""),
        ("stdout_digest", 6, MESSAGE, ONE, "Digest"),
        ("stderr_raw", 7, BYTES, ONE, ""),
        ("stderr_digest", 8, MESSAGE, ONE, "Digest"),
        ("output_symlinks", 12, MESSAGE, MANY, "OutputSymlink"),
    ],
    # remote execution (remote_execution.proto, google/longrunning/operations.proto)
    "FileNode": [
        ("name", 1, STRING, ONE, ""),
        ("digest", 2, MESSAGE, ONE, "Digest"),
        ("is_executable", 4, BOOL, ONE, ""),
    ],
    "DirectoryNode": [("name", 1, STRING, ONE, ""), ("digest", 2, MESSAGE, ONE, "Digest")],
    "SymlinkNode": [("name", 1, STRING, ONE, ""), ("target", 2, STRING, ONE, "")],
    "Directory": [
        ("files", 1, MESSAGE, MANY, "FileNode"),
        ("directories", 2, MESSAGE, MANY, "DirectoryNode"),
        ("symlinks", 3, MESSAGE, MANY, "SymlinkNode"),
    ],
    "Tree": [("root", 1, MESSAGE, ONE, "Directory"), ("children", 2, MESSAGE, MANY, "Directory")],
    "EnvironmentVariable": [("name", 1, STRING, ONE, ""), ("value", 2, STRING, ONE, "")],
    "Property": [("name", 1, STRING, ONE, ""), ("value", 2, STRING, ONE, "")],
    "Platform": [("properties", 1, MESSAGE, MANY, "Property")],
    "Command": [
        ("arguments", 1, STRING, MANY, ""),
        ("environment_variables", 2, MESSAGE, MANY, "EnvironmentVariable"),
        ("platform", 5, MESSAGE, ONE, "Platform"),
        ("working_directory", 6, STRING, ONE, ""),
        ("output_paths", 7, STRING, MANY, ""),
    ],
    "Action": [
        ("command_digest", 1, MESSAGE, ONE, "Digest"),
        ("input_root_digest", 2, MESSAGE, ONE, "Digest"),
        ("platform", 10, MESSAGE, ONE, "Platform"),
    ],
    "ExecuteRequest": [
        ("instance_name", 1, STRING, ONE, ""),
        ("skip_cache_lookup", 3, BOOL, ONE, ""),
        ("action_digest", 6, MESSAGE, ONE, "Digest"),
        ("digest_function", 9, ENUM, ONE, ""),
    ],
    "ExecuteResponse": [
        ("result", 1, MESSAGE, ONE, "ActionResult"),
        ("cached_result", 2, BOOL, ONE, ""),
        ("status", 3, MESSAGE, ONE, "Status"),
    ],
    "Any": [("type_url", 1, STRING, ONE, ""), ("value", 2, BYTES, ONE, "")],
    "Operation": [
        ("name", 1, STRING, ONE, ""),
        ("done", 3, BOOL, ONE, ""),
        ("error", 4, MESSAGE, ONE, "Status"),
        ("response", 5, MESSAGE, ONE, "Any"),
    ],
    "Status": [("code", 1, INT32, ONE, ""), ("message", 2, STRING, ONE, "")],
    "GetCapabilitiesRequest": [("instance_name", 1, STRING, ONE, "")],
    "CacheCapabilities": [
        ("digest_functions", 1, ENUM, MANY, ""),
        ("max_batch_total_size_bytes", 4, INT64, ONE, ""),
    ],
    "ServerCapabilities": [("cache_capabilities", 1, MESSAGE, ONE, "CacheCapabilities")],
    "FindMissingBlobsRequest": [
        ("instance_name", 1, STRING, ONE, ""),
        ("blob_digests", 2, MESSAGE, MANY, "Digest"),
        ("digest_function", 3, ENUM, ONE, ""),
    ],
    "FindMissingBlobsResponse": [("missing_blob_digests", 2, MESSAGE, MANY, "Digest")],
    "UpdateRequest": [("digest", 1, MESSAGE, ONE, "Digest"), ("data", 2, BYTES, ONE, "")],
    "BatchUpdateBlobsRequest": [
        ("instance_name", 1, STRING, ONE, ""),
        ("requests", 2, MESSAGE, MANY, "UpdateRequest"),
        ("digest_function", 5, ENUM, ONE, ""),
    ],
    "UpdateResponse": [
        ("digest", 1, MESSAGE, ONE, "Digest"),
        ("status", 2, MESSAGE, ONE, "Status"),
    ],
    "BatchUpdateBlobsResponse": [("responses", 1, MESSAGE, MANY, "UpdateResponse")],
    "BatchReadBlobsRequest": [
        ("instance_name", 1, STRING, ONE, ""),
        ("digests", 2, MESSAGE, MANY, "Digest"),
        ("digest_function", 4, ENUM, ONE, ""),
    ],
    "ReadResponseItem": [
        ("digest", 1, MESSAGE, ONE, "Digest"),
        ("data", 2, BYTES, ONE, ""),
        ("status", 3, MESSAGE, ONE, "Status"),
    ],
    "BatchReadBlobsResponse": [("responses", 1, MESSAGE, MANY, "ReadResponseItem")],
    "GetActionResultRequest": [
        ("instance_name", 1, STRING, ONE, ""),
        ("action_digest", 2, MESSAGE, ONE, "Digest"),
        ("digest_function", 6, ENUM, ONE, ""),
    ],
    "UpdateActionResultRequest": [
        ("instance_name", 1, STRING, ONE, ""),
        ("action_digest", 2, MESSAGE, ONE, "Digest"),
        ("action_result", 3, MESSAGE, ONE, "ActionResult"),
        ("digest_function", 5, ENUM, ONE, ""),
    ],
    "ReadRequest": [
        ("resource_name", 1, STRING, ONE, ""),
        ("read_offset", 2, INT64, ONE, ""),
        ("read_limit", 3, INT64, ONE, ""),
    ],
    "ReadResponse": [("data", 10, BYTES, ONE, "")],
    "WriteRequest": [
        ("resource_name", 1, STRING, ONE, ""),
        ("write_offset", 2, INT64, ONE, ""),
        ("finish_write", 3, BOOL, ONE, ""),
        ("data", 10, BYTES, ONE, ""),
    ],
    "WriteResponse": [("committed_size", 1, INT64, ONE, "")],
}


def classes() -> dict[str, type]:
    """Every message of MESSAGES as a runtime class (nested messages flattened under new names:
    the wire format knows field numbers, not names)."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="reapi_subset.proto", package=V2, syntax="proto3"
    )
    function = proto.enum_type.add(name="DigestFunction")
    for name, number in (("UNKNOWN", 0), ("SHA256", 1), ("SHA1", 2), ("BLAKE3", 9)):
        function.value.add(name=name, number=number)
    for name, fields in MESSAGES.items():
        message = proto.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            added = message.field.add(name=field_name, number=number, type=kind, label=label)
            if kind == MESSAGE:
                added.type_name = f".{V2}.{type_name}"
            elif kind == ENUM:
                added.type_name = f".{V2}.DigestFunction"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{V2}.{name}"))
        for name in MESSAGES
    }
