"""Our hand-written REAPI wire codec against the protobuf runtime: each message we encode is read
back by protobuf, and each answer protobuf encodes is read by us."""

import hashlib

import pytest
from helpers.reapi_pb import classes

from rules.cache.remote import reapi
from rules.cache.remote.grpc_backend import BATCH_COUNT, OVERHEAD, _chunks

pb = classes()
SHA = "ab" * 32


def test_an_action_result_is_a_real_reapi_message():
    ours = reapi.ActionResult(
        (reapi.OutputFile("bin/tool", SHA, 1234, True), reapi.OutputFile("e", "cd" * 32, 0)),
        (reapi.OutputSymlink("bin/alias", "tool"),),
    )
    decoded = pb["ActionResult"].FromString(reapi.encode(ours))
    assert [
        (f.path, f.digest.hash, f.digest.size_bytes, f.is_executable) for f in decoded.output_files
    ] == [("bin/tool", SHA, 1234, True), ("e", "cd" * 32, 0, False)]
    assert [(s.path, s.target) for s in decoded.output_symlinks] == [("bin/alias", "tool")]
    assert reapi.decode(decoded.SerializeToString()) == ours  # and ours reads theirs


def digests(message) -> list[tuple[str, int]]:
    return [(d.hash, d.size_bytes) for d in message]


def test_requests_decode_as_the_reapi_messages():
    named = [(SHA, 5), ("cd" * 32, 0), ("ef" * 32, 1 << 40)]
    message = pb["GetCapabilitiesRequest"].FromString(reapi.capabilities_request("main"))
    assert message.instance_name == "main"

    message = pb["FindMissingBlobsRequest"].FromString(reapi.find_missing_request("main", named))
    assert (message.instance_name, digests(message.blob_digests), message.digest_function) == (
        "main",
        named,
        1,
    )

    message = pb["BatchReadBlobsRequest"].FromString(reapi.batch_read_request("", named))
    assert (message.instance_name, digests(message.digests), message.digest_function) == (
        "",
        named,
        1,
    )

    message = pb["BatchUpdateBlobsRequest"].FromString(
        reapi.batch_update_request("i", [((SHA, 3), b"abc"), (("cd" * 32, 0), b"")])
    )
    assert [(r.digest.hash, r.digest.size_bytes, r.data) for r in message.requests] == [
        (SHA, 3, b"abc"),
        ("cd" * 32, 0, b""),
    ]
    assert message.digest_function == 1

    message = pb["GetActionResultRequest"].FromString(reapi.action_result_request("i", (SHA, 0)))
    assert (message.instance_name, message.action_digest.hash, message.digest_function) == (
        "i",
        SHA,
        1,
    )

    result = reapi.ActionResult((reapi.OutputFile("f", SHA, 3),))
    message = pb["UpdateActionResultRequest"].FromString(
        reapi.update_action_result_request("i", (SHA, 0), reapi.encode(result))
    )
    assert message.action_result.output_files[0].path == "f" and message.digest_function == 1


def test_bytestream_messages():
    message = pb["ReadRequest"].FromString(reapi.read_request("main/blobs/ab/5"))
    assert (message.resource_name, message.read_offset) == ("main/blobs/ab/5", 0)
    message = pb["WriteRequest"].FromString(reapi.write_request("u/blobs/ab/7", 4, b"xyz", True))
    assert (message.resource_name, message.write_offset, message.data, message.finish_write) == (
        "u/blobs/ab/7",
        4,
        b"xyz",
        True,
    )
    message = pb["WriteRequest"].FromString(reapi.write_request("", 0, b"x", False))
    assert (message.resource_name, message.write_offset, message.finish_write) == ("", 0, False)
    assert (
        reapi.decode_read_response(pb["ReadResponse"](data=b"chunk").SerializeToString())
        == b"chunk"
    )
    assert (
        reapi.decode_write_response(pb["WriteResponse"](committed_size=1 << 33).SerializeToString())
        == 1 << 33
    )
    assert (
        reapi.decode_write_response(pb["WriteResponse"](committed_size=-1).SerializeToString())
        == -1
    )


def test_answers_encoded_by_protobuf_decode_with_ours():
    capabilities = pb["ServerCapabilities"]()
    capabilities.cache_capabilities.digest_functions.extend([9, 1])  # packed, as proto3 sends them
    capabilities.cache_capabilities.max_batch_total_size_bytes = 4 << 20
    assert reapi.decode_capabilities(capabilities.SerializeToString()) == reapi.Capabilities(
        (9, 1), 4 << 20
    )
    assert reapi.decode_capabilities(b"") == reapi.Capabilities((), 0)

    missing = pb["FindMissingBlobsResponse"]()
    missing.missing_blob_digests.add(hash=SHA, size_bytes=5)
    assert reapi.decode_find_missing(missing.SerializeToString()) == [(SHA, 5)]

    read = pb["BatchReadBlobsResponse"]()
    read.responses.add(digest={"hash": SHA, "size_bytes": 3}, data=b"abc")
    read.responses.add(
        digest={"hash": "cd" * 32, "size_bytes": 9}, status={"code": 5, "message": "not found"}
    )
    assert reapi.decode_batch_read(read.SerializeToString()) == [
        reapi.BlobStatus((SHA, 3), reapi.OK, b"abc"),
        reapi.BlobStatus(("cd" * 32, 9), reapi.NOT_FOUND),
    ]

    update = pb["BatchUpdateBlobsResponse"]()
    update.responses.add(digest={"hash": SHA, "size_bytes": 3})
    update.responses.add(digest={"hash": "cd" * 32, "size_bytes": 1}, status={"code": 3})
    assert [item.code for item in reapi.decode_batch_update(update.SerializeToString())] == [0, 3]


@pytest.mark.parametrize("garbage", [b"\x0a\x05ab", b"\x08", b"\x0b", b"\x0a\x02\x08\x01"])
def test_garbage_answers_are_value_errors(garbage):
    for decode in (
        reapi.decode_capabilities,
        reapi.decode_batch_read,
        reapi.decode_batch_update,
        reapi.decode_find_missing,
    ):
        try:
            decode(garbage)
        except ValueError:
            pass


def test_batches_stay_under_the_limit_and_keep_every_blob():
    sizes = {hashlib.sha256(str(n).encode()).hexdigest(): n * 997 % 5000 for n in range(2000)}
    chunks = _chunks(sizes, 64 << 10)
    assert sorted(blob for chunk in chunks for blob, _ in chunk) == sorted(sizes)
    assert all(sum(size + OVERHEAD for _, size in chunk) <= 64 << 10 for chunk in chunks)
    assert all(len(chunk) <= BATCH_COUNT for chunk in chunks)
    assert len(_chunks({SHA: 10}, 1)) == 1  # a blob alone in its batch, whatever its size
