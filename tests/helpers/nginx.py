"""A real nginx serving Bazel's HTTP cache protocol (WebDAV PUT) on 127.0.0.1, for tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CONFIG = """\
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
{user}
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location /cache/ {{
      root {root}/data;
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 1g;
    }}
  }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Nginx:
    root: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cache"

    @property
    def data(self) -> Path:
        return self.root / "data" / "cache"

    def start(self) -> Nginx:
        for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "data/cache"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        user = "user root root;" if os.geteuid() == 0 else ""  # as root, workers must write as root
        config = self.root / "nginx.conf"
        config.write_text(CONFIG.format(root=self.root, port=self.port, user=user))
        self.process = subprocess.Popen(
            [nginx_binary(), "-c", str(config), "-p", str(self.root)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not start: {(self.root / 'error.log').read_text()}")

    def stop(self) -> None:
        """SIGTERM to the process group: SIGKILL on the master alone leaves workers serving."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
