"""Layer 2: the content-addressed store, `run_cached` (store, remote cache, else produce) and the
remote caches in `cache.remote` (Bazel's HTTP cache, REAPI's gRPC cache).
"""

from .cached_action import CachedAction, Produced, run_cached
from .errors import CacheError, Oversized, RemoteError, TooSlow, Transient, Unavailable
from .remote import Blob, executor_from_environment, remote_from_environment
from .spool import Spool
from .store import Store, check_tree
from .verified import Verified

__all__ = [
    "Blob",
    "CacheError",
    "CachedAction",
    "Oversized",
    "Produced",
    "RemoteError",
    "Spool",
    "Store",
    "TooSlow",
    "Transient",
    "Unavailable",
    "Verified",
    "check_tree",
    "executor_from_environment",
    "remote_from_environment",
    "run_cached",
]
