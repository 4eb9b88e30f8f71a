"""Benchmark the gRPC remote cache: restoring the default workspace from a real BuildGrid (REAPI),
against the same restore from a real nginx (Bazel's HTTP protocol) and from the local store, in
the same run.

Run as a script: `.venv/bin/python tests/bench/remote_grpc.py [rounds]` (needs Debian's nginx;
BuildGrid's venv is made on first use, as the tests do; the cold builds pull from PyPI). Prints
medians and ratios.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent), str(BENCH.parents[1])]
from helpers.buildgrid import BuildGrid  # noqa: E402
from helpers.nginx import Nginx, free_port  # noqa: E402
from remote import checkout, stage  # noqa: E402  (tests/bench/remote.py)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as temp:
        top = Path(temp)
        http, grpc = Nginx(top / "nginx", free_port()), BuildGrid(top / "buildgrid", free_port())
        try:
            http.start()
            grpc.start()
            cold = stage(checkout(top, "cold"), top / "cache-cold")
            for server in (http, grpc):  # each filled by a build that uploads
                stage(
                    checkout(top, f"ci-{type(server).__name__}"),
                    top / f"cache-ci-{type(server).__name__}",
                    server.url,
                    upload=True,
                )
            local, over_http, over_grpc = [], [], []
            for n in range(rounds):
                shutil.rmtree(top / "cold" / "workspace" / "build")
                local.append(stage(top / "cold", top / "cache-cold"))
                over_http.append(stage(checkout(top, f"http{n}"), top / f"cache-http{n}", http.url))
                over_grpc.append(stage(checkout(top, f"grpc{n}"), top / f"cache-grpc{n}", grpc.url))
        finally:
            http.stop()
            grpc.stop()
    local_median, http_median, grpc_median = (
        statistics.median(times) for times in (local, over_http, over_grpc)
    )
    print(f"default workspace, medians of {rounds}:")
    print(f"  cold build              {cold:6.2f} s")
    print(f"  restore, local store    {local_median:6.2f} s  {local_median / cold:.3f}x cold")
    print(
        f"  restore, nginx (HTTP)   {http_median:6.2f} s  "
        f"{http_median / local_median:.2f}x the local restore"
    )
    print(
        f"  restore, BuildGrid gRPC {grpc_median:6.2f} s  "
        f"{grpc_median / local_median:.2f}x the local restore, "
        f"{grpc_median / http_median:.2f}x nginx"
    )


if __name__ == "__main__":
    main()
