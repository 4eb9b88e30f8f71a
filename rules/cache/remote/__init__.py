"""The remote caches: one client (`client.py`) over a backend per protocol: Bazel's HTTP cache
(`http_backend.py`) and REAPI's gRPC cache (`grpc_backend.py`, messages in `reapi.py`). The
backends, and grpcio or urllib with them, are imported only when a remote cache is configured.
"""

from . import reapi_exec
from .backend import Blob
from .client import fetch_from_remote, remote_from_environment, upload_to_remote
from .execution import Executor
from .executor_config import executor_from_environment

__all__ = [
    "Blob",
    "Executor",
    "executor_from_environment",
    "fetch_from_remote",
    "reapi_exec",
    "remote_from_environment",
    "upload_to_remote",
]
