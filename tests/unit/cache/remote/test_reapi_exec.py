"""The remote-execution messages partsmith encodes by hand, read back with the protobuf runtime
(tests/helpers/reapi_pb.py, an independent decoder), and the answers it decodes, made by it."""

from __future__ import annotations

import hashlib

from helpers.reapi_pb import classes

from rules.cache.remote import reapi_exec as rx

pb = classes()
A = ("a" * 64, 3)
B = ("b" * 64, 10)


def test_a_directory_lists_its_entries_sorted_by_name_as_reapi_asks():
    directory = rx.Directory(
        files=(rx.FileNode("z.sh", A, executable=True), rx.FileNode("a.txt", B)),
        directories=(("sub", B), ("lib", A)),
        symlinks=(("link", "a.txt"),),
    )
    read = pb["Directory"].FromString(rx.encode_directory(directory))
    assert [(f.name, f.digest.hash, f.digest.size_bytes, f.is_executable) for f in read.files] == [
        ("a.txt", "b" * 64, 10, False),
        ("z.sh", "a" * 64, 3, True),
    ]
    assert [d.name for d in read.directories] == ["lib", "sub"]
    assert [(s.name, s.target) for s in read.symlinks] == [("link", "a.txt")]
    assert rx.decode_directory(rx.encode_directory(directory)) == rx.Directory(
        files=(rx.FileNode("a.txt", B), rx.FileNode("z.sh", A, True)),
        directories=(("lib", A), ("sub", B)),
        symlinks=(("link", "a.txt"),),
    )


def test_a_command_keeps_its_arguments_in_order_and_sorts_the_rest():
    command = rx.Command(
        ("/bin/bash", "--norc", "/partsmith/tools/build.sh"),
        (("PATH", "/usr/bin"), ("HOME", "/partsmith/home")),
        "partsmith/build",
        ("tools/values", "install"),
        (("OSFamily", "linux"), ("ISA", "x86-64")),
    )
    read = pb["Command"].FromString(rx.encode_command(command))
    assert list(read.arguments) == ["/bin/bash", "--norc", "/partsmith/tools/build.sh"]
    assert [(e.name, e.value) for e in read.environment_variables] == [
        ("HOME", "/partsmith/home"),
        ("PATH", "/usr/bin"),
    ]
    assert read.working_directory == "partsmith/build"
    assert list(read.output_paths) == ["install", "tools/values"]
    assert [(p.name, p.value) for p in read.platform.properties] == [
        ("ISA", "x86-64"),
        ("OSFamily", "linux"),
    ]


def test_an_action_and_its_execute_request_name_their_digests():
    action = pb["Action"].FromString(rx.encode_action(A, B, (("OSFamily", "linux"),)))
    assert (action.command_digest.hash, action.input_root_digest.size_bytes) == ("a" * 64, 10)
    assert action.platform.properties[0].value == "linux"
    request = pb["ExecuteRequest"].FromString(rx.execute_request("main", B, True))
    assert request.instance_name == "main" and request.skip_cache_lookup
    assert (request.action_digest.hash, request.digest_function) == ("b" * 64, 1)


def test_a_finished_operation_gives_the_action_result_with_its_trees_and_streams():
    result = pb["ActionResult"](exit_code=3, stderr_raw=b"boom\n")
    result.output_directories.add(path="install", tree_digest=pb["Digest"](hash="c" * 64))
    result.stdout_digest.hash, result.stdout_digest.size_bytes = "d" * 64, 7
    response = pb["ExecuteResponse"](result=result, cached_result=True)
    operation = pb["Operation"](name="operations/1", done=True)
    operation.response.type_url = (
        "type.googleapis.com/build.bazel.remote.execution.v2.ExecuteResponse"
    )
    operation.response.value = response.SerializeToString()
    read = rx.decode_operation(operation.SerializeToString())
    assert (read.name, read.done, read.error) == ("operations/1", True, None)
    assert read.response is not None
    outcome = rx.decode_execute_response(read.response)
    assert (outcome.exit_code, outcome.cached, outcome.status) == (3, True, (0, ""))
    assert outcome.directories == (("install", ("c" * 64, 0)),)
    assert (outcome.stdout, outcome.stderr) == (("d" * 64, 7), b"boom\n")


def test_a_failed_operation_says_its_status():
    operation = pb["Operation"](name="op", done=True)
    operation.error.code, operation.error.message = 14, "worker gone"
    assert rx.decode_operation(operation.SerializeToString()).error == (14, "worker gone")


def test_a_tree_names_each_child_by_the_digest_of_the_bytes_the_server_sent():
    child = pb["Directory"]()
    child.files.add(name="f", digest=pb["Digest"](hash="e" * 64, size_bytes=1))
    raw = child.SerializeToString()
    tree = pb["Tree"]()
    tree.root.directories.add(name="sub", digest=pb["Digest"](hash="x", size_bytes=1))
    tree.children.append(child)
    root, children = rx.decode_tree(tree.SerializeToString())
    assert root.directories == (("sub", ("x", 1)),)
    assert children == {
        (hashlib.sha256(raw).hexdigest(), len(raw)): rx.Directory(
            files=(rx.FileNode("f", ("e" * 64, 1)),)
        )
    }
