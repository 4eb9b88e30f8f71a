"""Layer 3: remote execution: a part's build script sent to an REAPI executor
(PARTSMITH_REMOTE_EXECUTOR) as the sealed action it is, its outputs written back into the sandbox.
"""

from .remote_step import RemoteRunner, Toolchain, remote_runner

__all__ = ["RemoteRunner", "Toolchain", "remote_runner"]
