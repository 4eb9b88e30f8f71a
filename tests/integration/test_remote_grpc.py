"""The remote cache over REAPI gRPC against a real BuildGrid (helpers/buildgrid.py), run as a
user runs doit: upload here, restore elsewhere with nothing run; big blobs through ByteStream; a
server that is down; entries that are not ours."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.buildgrid import BuildGrid
from helpers.doit_runner import DODO
from helpers.nginx import free_port
from helpers.remote_world import run, runs, workspace
from helpers.workspaces import snapshot

from rules.cache.remote import reapi
from rules.cache.remote.backend import Blob
from rules.cache.remote.grpc_backend import GrpcRemote

BIG = 5 << 20  # above BuildGrid's batch limit (4 MiB - 1 KiB): only ByteStream can move it


@pytest.fixture
def server(tmp_path, request):
    grid = BuildGrid(tmp_path / "buildgrid", free_port(), getattr(request, "param", "")).start()
    yield grid
    grid.stop()


def big_workspace(root: Path, counter: Path) -> Path:
    return workspace(
        root, counter, {"files/big.bin": "".join(f"{i:07d}\n" for i in range(BIG // 8))}
    )


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def elsewhere(first: Path, second: Path) -> Path:
    shutil.copytree(first.parent, second, ignore=shutil.ignore_patterns("build"), symlinks=True)
    return second / "parts.yaml"


@pytest.mark.parametrize("server", ["", "main"], indirect=True, ids=["no-instance", "instance"])
def test_upload_here_restore_elsewhere_without_running_anything(tmp_path, server):
    counter = tmp_path / "counts" / "counter"
    first = big_workspace(tmp_path / "ci", counter)
    result = run(
        first,
        tmp_path / "cache-ci",
        server.url,
        True,
        PARTSMITH_REMOTE_HEADER="Authorization: Bearer s3cret",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert runs(counter) == 1 and "warning" not in result.stdout
    uploaded = server.calls(UpdateActionResult=2, Write=1)
    assert (
        uploaded["UpdateActionResult"] == 2 and uploaded["Write"] == 1
    )  # the big blob, through ByteStream
    assert 1 <= uploaded["BatchUpdateBlobs"] <= 2  # 43 small blobs, one batch per part

    second = elsewhere(first, tmp_path / "developer" / "elsewhere" / "checkout")
    result = run(second, tmp_path / "cache-dev", server.url, False, "-n", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "parts 0 built, 2 restored" in result.stdout
        and "s3cret" not in result.stdout + result.stderr
    )
    assert runs(counter) == 1  # nothing ran: both parts came from BuildGrid
    assert snapshot(second.parent / "build/stage") == snapshot(first.parent / "build/stage")
    restored = (
        server.calls(GetActionResult=uploaded["GetActionResult"] + 2, Read=uploaded["Read"] + 1)
        - uploaded
    )
    assert restored["GetActionResult"] == 2 and restored["Read"] == 1
    assert restored["BatchReadBlobs"] <= 4  # per part: its record, then all its blobs in one batch
    assert (
        "UpdateActionResult" not in restored and "Write" not in restored
    )  # no uploads without the flag


def test_big_and_small_blobs_through_the_backend(tmp_path, server, monkeypatch):
    monkeypatch.setenv("PARTSMITH_CACHE_DIR", str(tmp_path / "cache"))
    remote, before = (
        GrpcRemote(server.url, upload=True),
        server.calls(),
    )  # the fixture's readiness probe
    contents = [b"", b"small", os.urandom(BIG), bytes(range(256)) * 100]
    blobs = {sha(data): Blob(len(data), lambda data=data: data) for data in contents}
    sizes = {blob: item.size for blob, item in blobs.items()}
    assert remote.missing_blobs(sizes) == set(sizes) - {sha(b"")}  # the empty blob is always there
    remote.write_blobs({blob: blobs[blob] for blob in remote.missing_blobs(sizes)})
    assert remote.missing_blobs(sizes) == set()
    assert remote.read_blobs(sizes) == {sha(data): data for data in contents}
    assert (
        remote.read_blobs({"cd" * 32: 3, "ef" * 32: BIG}) == {}
    )  # unknown blobs: misses, small or big
    calls = server.calls(Write=before["Write"] + 1, Read=before["Read"] + 2) - before
    assert calls["Write"] == 1 and calls["Read"] == 2 and calls["GetCapabilities"] == 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_server_down_from_the_start_costs_one_warning_and_a_local_build(tmp_path, jobs):
    counter = tmp_path / "counts" / "counter"
    ws = workspace(tmp_path / "ws", counter)
    ws.write_text(
        ws.read_text().replace("    after: [files]\n", "")
    )  # two independent parts for -n 2
    ws.write_text(ws.read_text().replace('cp "$CRAFT_STAGE/data.txt"', "echo data >"))
    result = run(ws, tmp_path / "cache", f"grpc://127.0.0.1:{free_port()}", True, "-n", jobs)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("remote cache") == 1 and "unavailable" in result.stdout
    assert "UNAVAILABLE" in result.stdout and "Traceback" not in result.stderr
    assert runs(counter) == 1 and (ws.parent / "build/stage/copy.txt").read_text() == "data\n"


@pytest.mark.parametrize("entry", ["no-record", "swapped"])
def test_entries_that_are_not_ours_are_misses(tmp_path, server, entry, monkeypatch):
    counter = tmp_path / "counts" / "counter"
    first = workspace(tmp_path / "ci", counter)
    assert run(first, tmp_path / "cache-ci", server.url, True).returncode == 0
    monkeypatch.setenv("PARTSMITH_CACHE_DIR", str(tmp_path / "cache-tamper"))
    remote = GrpcRemote(server.url, upload=True)
    keys = sorted(path.stem for path in (tmp_path / "cache-ci" / "ac").iterdir())
    stranger = reapi.encode(reapi.ActionResult((reapi.OutputFile("data.txt", sha(b"data\n"), 5),)))
    results = (
        [remote.get_result(key) for key in keys][::-1]
        if entry == "swapped"
        else [stranger] * len(keys)
    )
    for key, result in zip(keys, results, strict=True):
        remote.put_result(key, result)  # another key's result, or one with no record of ours

    second = elsewhere(first, tmp_path / "dev")
    result = run(second, tmp_path / "cache-dev", server.url, False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "parts 2 built, 0 restored" in result.stdout and "warning" not in result.stdout
    assert (second.parent / "build/stage/copy.txt").read_text() == "data\n"


def test_a_grpc_url_without_grpcio_is_a_short_error(tmp_path):
    ws = workspace(tmp_path / "ws", tmp_path / "counts" / "counter")
    without_grpc = (
        "import runpy, sys; sys.modules['grpc'] = None; sys.argv[0] = 'doit'; "
        "runpy.run_module('doit', run_name='__main__')"
    )
    env = {**os.environ, "PARTSMITH_REMOTE_CACHE": "grpc://127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, "-c", without_grpc, "-f", str(DODO), "stage", f"workspace={ws}"],
        cwd=ws.parent,
        env=env,
        text=True,
        capture_output=True,
    )
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "pip install 'partsmith[grpc]'" in result.stderr


@pytest.mark.parametrize(
    "url", ["grpc://", "grpc://user:pw@127.0.0.1:9", "grpc://127.0.0.1:9/main?x=1", "ftp://x"]
)
def test_a_bad_url_is_refused_before_any_task(tmp_path, url):
    ws = workspace(tmp_path / "ws", tmp_path / "counts" / "counter")
    result = run(ws, tmp_path / "cache", url, False)
    assert result.returncode == 3 and "PARTSMITH_REMOTE_CACHE" in result.stderr
    assert "Traceback" not in result.stderr and "pw" not in result.stderr
