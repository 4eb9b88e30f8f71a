"""The remote caches: one client (`client.py`) over a backend per protocol: Bazel's HTTP cache
(`http_backend.py`) and REAPI's gRPC cache (`grpc_backend.py`, messages in `reapi.py`); and the
remote executor (`execution.py`, messages in `reapi_exec.py`) over the same gRPC backend.
grpcio and urllib's HTTP client are imported only when a remote cache or executor is configured.
"""

from .backend import Blob
from .client import fetch_from_remote, remote_from_environment, upload_to_remote
from .executor_config import executor_from_environment

__all__ = [
    "Blob",
    "executor_from_environment",
    "fetch_from_remote",
    "remote_from_environment",
    "upload_to_remote",
]
