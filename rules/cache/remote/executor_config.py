"""Which remote executor, if any: read from the environment, the gRPC client imported only when
one is set (a run without PARTSMITH_REMOTE_EXECUTOR never loads it)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .execution import Executor


def executor_from_environment() -> Executor | None:
    """`PARTSMITH_REMOTE_EXECUTOR=grpc://host:port[/instance]`, with
    `PARTSMITH_REMOTE_EXECUTOR_HEADER` ("Name: value") sent with every call."""
    url = os.environ.get("PARTSMITH_REMOTE_EXECUTOR", "").strip()
    if not url:
        return None
    from .execution import Executor
    from .grpc_backend import GrpcRemote

    header = os.environ.get("PARTSMITH_REMOTE_EXECUTOR_HEADER", "")
    name, _, value = header.partition(":")
    pair = (name.strip(), value.strip()) if header else None
    return Executor(GrpcRemote(url, upload=True, header=pair))
