"""A build runs without network; pull (and its override-pull) keeps it."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest
from helpers.workspaces import make_workspace

from rules.action import network_cut as offline
from rules.action import step as action
from rules.workspace.layout import Sandbox

EPOCH = 1591640328


@pytest.fixture
def server():
    """A real HTTP server on the host's 127.0.0.1; `hits` counts the requests that reached it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"reached\n")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], hits
    httpd.shutdown()
    httpd.server_close()


def _download(port: int) -> str:
    return f"""python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/').read())"\n"""


def test_override_pull_reaches_the_network_and_the_build_does_not(tmp_path, run_doit, server):
    port, hits = server
    make_workspace(
        tmp_path,
        f"""\
        name: net
        parts:
          fetcher:
            plugin: nil
            override-pull: |
              {_download(port)}
          builder:
            plugin: nil
            override-build: |
              {_download(port)}
        """,
    )
    pulled = run_doit("pull:fetcher", "workspace=parts.yaml", cwd=tmp_path)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert hits == ["/"]
    built = run_doit("build:builder", "workspace=parts.yaml", cwd=tmp_path)
    assert built.returncode == 1, built.stdout + built.stderr
    assert "part 'builder': build script failed" in built.stdout + built.stderr
    assert offline.HINT in built.stdout + built.stderr
    assert hits == ["/"]  # the build's request never left its sandbox


def _step(tmp_path: Path, network: bool) -> action.Step:
    sandbox = Sandbox(tmp_path / "sandbox")
    action.prepare_sandbox(sandbox)
    sandbox.build.mkdir()
    return action.Step(sandbox, "p", EPOCH, (), Path("/usr/bin"), network=network)


def test_without_a_namespace_the_proxies_point_nowhere(tmp_path, monkeypatch, server):
    """A machine that cannot make a network namespace: urllib, pip, curl... go through a proxy
    where nothing listens, and the failed build says why."""
    port, hits = server
    monkeypatch.setattr(action, "namespace_command", lambda: ())
    step = _step(tmp_path, network=False)
    with pytest.raises(action.ActionError) as failed:
        step.run(_download(port))
    assert offline.HINT in failed.value.resolution
    assert "Connection refused" in step.sandbox.log.read_text()
    assert hits == []


def test_a_step_with_network_reaches_the_host(tmp_path, monkeypatch, server):
    port, hits = server
    monkeypatch.setattr(action, "namespace_command", lambda: ())
    assert action.execute(_step(tmp_path, network=True), _download(port)) == 0
    assert hits == ["/"]


def test_a_failure_that_is_not_about_the_network_gets_no_hint(tmp_path):
    step = _step(tmp_path, network=False)
    with pytest.raises(action.ActionError) as failed:
        step.run("echo 'no such file' >&2; exit 3")
    assert offline.HINT not in failed.value.resolution
