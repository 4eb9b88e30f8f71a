"""The remote cache against a real nginx (Bazel's HTTP cache protocol over WebDAV PUT)."""

import hashlib
import os
import shutil
import subprocess
import sys
import time

import pytest
from helpers.doit_runner import REPO, doit
from helpers.nginx import Nginx, free_port, nginx_binary
from helpers.remote_world import run, runs, workspace
from helpers.workspaces import snapshot

from rules.cache.remote import backend as remote_base
from rules.cache.remote import reapi
from rules.cache.remote.backend import Blob
from rules.cache.remote.http_backend import HttpRemote

pytestmark = pytest.mark.skipif(
    nginx_binary() is None, reason="needs Debian's nginx (.ci/run installs it)"
)


@pytest.fixture
def nginx(tmp_path):
    server = Nginx(tmp_path / "nginx", free_port()).start()
    yield server
    server.stop()


def test_upload_here_restore_elsewhere_without_running_anything(tmp_path, nginx):
    counter = tmp_path / "counts" / "counter"
    first = workspace(tmp_path / "ci", counter)
    result = run(
        first,
        tmp_path / "cache-ci",
        nginx.url,
        upload=True,
        PARTSMITH_REMOTE_HEADER="Authorization: Bearer s3cret",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert runs(counter) == 1 and list((nginx.data / "ac").iterdir())

    second = tmp_path / "developer" / "elsewhere" / "checkout"
    shutil.copytree(first.parent, second, ignore=shutil.ignore_patterns("build"), symlinks=True)
    result = run(second / "parts.yaml", tmp_path / "cache-dev", nginx.url, upload=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "parts 0 built, 2 restored" in result.stdout
        and "s3cret" not in result.stdout + result.stderr
    )
    assert runs(counter) == 1  # nothing ran: both parts came from nginx
    made = next(line for line in result.stdout.splitlines() if line.startswith("build:made:"))
    assert made.startswith("build:made: restored") and made.endswith(
        ", version 4.2"
    )  # craftctl set, kept
    assert snapshot(second / "build/stage") == snapshot(first.parent / "build/stage")
    assert list(
        (tmp_path / "cache-dev" / "cas").glob("*/*")
    )  # remote hits landed in the local store


def test_an_unsealed_run_never_uploads_even_when_uploads_are_on(tmp_path, nginx):
    """What an unsealed build made may depend on what no key records: it is kept locally only;
    the sealed run after it builds again (another key) and uploads."""
    first = workspace(tmp_path / "ci", tmp_path / "counts" / "counter")
    result = run(first, tmp_path / "cache-ci", nginx.url, upload=True, PARTSMITH_UNSEALED="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unsealed (PARTSMITH_UNSEALED=1: nothing uploaded)" in result.stdout
    assert not (nginx.data / "ac").exists() or not list((nginx.data / "ac").iterdir())
    result = run(first, tmp_path / "cache-ci", nginx.url, upload=True)
    assert result.returncode == 0 and "parts 2 built" in result.stdout
    assert list((nginx.data / "ac").iterdir())


def test_tampered_blobs_on_the_server_are_rejected_rebuilt_and_repaired(tmp_path, nginx):
    counter = tmp_path / "counts" / "counter"
    first = workspace(tmp_path / "ci", counter)
    assert run(first, tmp_path / "cache-ci", nginx.url, upload=True).returncode == 0
    digest = hashlib.sha256(b"data\n").hexdigest()
    blob = nginx.data / "cas" / digest
    blob.write_bytes(b"evil\n")

    second = tmp_path / "other"
    shutil.copytree(first.parent, second, ignore=shutil.ignore_patterns("build"), symlinks=True)
    result = run(second / "parts.yaml", tmp_path / "cache-other", nginx.url, upload=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "build:files: built" in result.stdout  # its result needed the tampered blob: a miss
    assert (second / "build/stage/data.txt").read_text() == "data\n"
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == digest  # uploaded again, good bytes


def test_a_server_down_from_the_start_costs_one_warning_and_a_local_build(tmp_path):
    counter = tmp_path / "counts" / "counter"
    ws = workspace(tmp_path / "ws", counter)
    result = run(ws, tmp_path / "cache", f"http://127.0.0.1:{free_port()}/cache", upload=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("remote cache") == 1 and "unavailable" in result.stdout
    assert runs(counter) == 1 and (ws.parent / "build/stage/copy.txt").read_text() == "data\n"


def test_a_server_killed_in_the_middle_of_a_run(tmp_path, nginx):
    counter = tmp_path / "counts" / "counter"
    ws = workspace(tmp_path / "ws", counter)
    ws.write_text(
        ws.read_text().replace('echo run >> "$COUNTER"', 'echo run >> "$COUNTER"; sleep 2')
    )
    env = {
        **os.environ,
        "PARTSMITH_CACHE_DIR": str(tmp_path / "cache"),
        "PARTSMITH_REMOTE_CACHE": nginx.url,
        "PARTSMITH_REMOTE_UPLOAD": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "stage", f"workspace={ws}"],
        cwd=ws.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while runs(counter) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    nginx.stop()  # while `made` builds: its upload meets a dead server
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 0, output
    assert output.count("remote cache") == 1
    assert (ws.parent / "build/stage/copy.txt").read_text() == "data\n"


def poison(nginx: Nginx, change) -> None:
    """Rewrite every action result on the server: `change(tree)` edits the Tree it carries."""
    import json

    for entry in (nginx.data / "ac").iterdir():
        result = reapi.decode(entry.read_bytes())
        meta = [f for f in result.files if f.path == ".partsmith/result.json"][-1]
        document = json.loads((nginx.data / "cas" / meta.digest).read_bytes())
        change(document["tree"])
        payload = json.dumps(document).encode()
        digest = hashlib.sha256(payload).hexdigest()
        (nginx.data / "cas" / digest).write_bytes(payload)
        files = [f for f in result.files if f.path != ".partsmith/result.json"]
        files.append(reapi.OutputFile(".partsmith/result.json", digest, len(payload)))
        entry.write_bytes(reapi.encode(reapi.ActionResult(tuple(files), result.symlinks)))


@pytest.mark.parametrize(
    "attack", ["write-through-link", "escaping-link", "nul-in-path", "missing-parent"]
)
def test_a_poisoned_result_on_the_server_is_a_miss_and_touches_nothing(tmp_path, nginx, attack):
    outside = tmp_path / "outside"
    outside.mkdir()
    counter = tmp_path / "counts" / "counter"
    first = workspace(tmp_path / "ci", counter)
    assert run(first, tmp_path / "cache-ci", nginx.url, upload=True).returncode == 0
    good = hashlib.sha256(b"data\n").hexdigest()
    file_entry = {"kind": "file", "sha256": good, "size": 5, "executable": False}

    def change(tree):
        if attack == "write-through-link":
            tree["a"] = {"kind": "symlink", "target": str(outside)}
            tree["a/pwned"] = file_entry
        elif attack == "escaping-link":
            tree["up"] = {"kind": "symlink", "target": "../../../../../../etc/passwd"}
        elif attack == "nul-in-path":
            tree["x\u0000y"] = {"kind": "dir"}
        else:
            tree["nodir/file"] = file_entry

    poison(nginx, change)
    second = tmp_path / "dev"
    shutil.copytree(first.parent, second, ignore=shutil.ignore_patterns("build"), symlinks=True)
    result = run(second / "parts.yaml", tmp_path / "cache-dev", nginx.url, upload=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "parts 2 built, 0 restored" in result.stdout  # both entries refused
    assert list(outside.iterdir()) == []
    assert not os.path.lexists(second / "build/stage/up") and not os.path.lexists(
        second / "build/stage/a"
    )


def test_a_bad_header_is_refused_without_showing_its_value(tmp_path):
    ws = workspace(tmp_path / "ws", tmp_path / "counts" / "counter")
    result = run(
        ws,
        tmp_path / "cache",
        "http://127.0.0.1:9/cache",
        upload=False,
        PARTSMITH_REMOTE_HEADER="Authorization: Bearer s3cret\nX-Other: 1",
    )
    assert result.returncode == 3 and "PARTSMITH_REMOTE_HEADER" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_a_server_down_costs_one_warning_even_with_parallel_workers(tmp_path):
    ws = workspace(tmp_path / "ws", tmp_path / "counts" / "counter")
    ws.write_text(ws.read_text().replace("    after: [files]\n", ""))  # two independent parts
    ws.write_text(ws.read_text().replace('cp "$CRAFT_STAGE/data.txt"', "echo data >"))
    ws.write_text(
        ws.read_text().replace(
            'echo data > "$CRAFT_PART_INSTALL/copy.txt"',
            'echo data > "$CRAFT_PART_INSTALL/copy.txt"',
        )
    )
    env = {
        **os.environ,
        "PARTSMITH_CACHE_DIR": str(tmp_path / "cache"),
        "PARTSMITH_REMOTE_CACHE": f"http://127.0.0.1:{free_port()}/cache",
        "PARTSMITH_REMOTE_UPLOAD": "1",
    }
    result = doit("-n", "2", "stage", f"workspace={ws}", cwd=ws.parent, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("remote cache") == 1


def test_a_keep_alive_connection_serves_request_after_request(tmp_path, nginx, monkeypatch):
    monkeypatch.setattr(
        remote_base, "ATTEMPTS", 1
    )  # a connection left unusable would fail a request
    remote = HttpRemote(nginx.url, upload=True)
    contents = [f"blob {n}\n".encode() * n for n in range(30)]
    blobs = {
        hashlib.sha256(data).hexdigest(): Blob(len(data), lambda data=data: data)
        for data in contents
    }
    sizes = {blob: item.size for blob, item in blobs.items()}
    remote.write_blobs(blobs)
    assert remote.missing_blobs(sizes) == set()
    assert remote.read_blobs(sizes) == {hashlib.sha256(data).hexdigest(): data for data in contents}
