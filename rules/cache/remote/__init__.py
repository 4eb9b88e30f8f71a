"""The remote caches: one client (`client.py`) over a backend per protocol: Bazel's HTTP cache
(`http_backend.py`) and REAPI's gRPC cache (`grpc_backend.py`, messages in `reapi.py`). The
backends, and grpcio or urllib with them, are imported only when a remote cache is configured.
"""

from .client import fetch_from_remote, remote_from_environment, upload_to_remote

__all__ = ["fetch_from_remote", "remote_from_environment", "upload_to_remote"]
