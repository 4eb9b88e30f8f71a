"""Which remote executor, if any: read from the environment (grpcio itself is imported at the
first call: a run without PARTSMITH_REMOTE_EXECUTOR never loads it). A malformed setting is a
ValueError naming the variable, which doit reports before any task runs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .execution import Executor

URL = "PARTSMITH_REMOTE_EXECUTOR"
HEADER = "PARTSMITH_REMOTE_EXECUTOR_HEADER"


def executor_from_environment() -> Executor | None:
    """`PARTSMITH_REMOTE_EXECUTOR=grpc://host:port[/instance]` (or grpcs://), with
    `PARTSMITH_REMOTE_EXECUTOR_HEADER` ("Name: value") sent with every call."""
    url = os.environ.get(URL, "").strip()
    if not url:
        return None
    from .execution import Executor
    from .grpc_backend import GrpcRemote

    header = os.environ.get(HEADER, "")
    name, _, value = header.partition(":")
    if header and (
        not name.strip()
        or not value.strip()
        or not header.isascii()
        or "\r" in header
        or "\n" in header
        or "\0" in header
    ):
        raise ValueError(
            f"{HEADER} must be one 'Name: value' line of ASCII (its value is not shown)"
        )
    if not url.startswith(("grpc://", "grpcs://")):
        raise ValueError(f"{URL} is not a grpc:// or grpcs:// URL (host:port[/instance])")
    try:
        remote = GrpcRemote(
            url, upload=True, header=(name.strip(), value.strip()) if header else None
        )
    except ValueError as err:  # its messages name the cache's variables
        text = str(err).replace("PARTSMITH_REMOTE_HEADER", HEADER)
        raise ValueError(text.replace("PARTSMITH_REMOTE_CACHE", URL)) from None
    return Executor(remote)
