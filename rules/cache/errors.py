"""The cache package's errors. A remote cache that fails is never the user's mistake: these are
caught inside the package, where the remote is then treated as absent."""

from __future__ import annotations

from rules.core import PartsmithError


class CacheError(PartsmithError):
    """The base of the cache package's errors."""


class RemoteError(CacheError):
    """A remote cache's answer that partsmith cannot use."""


class Unavailable(RemoteError):
    """The server did not answer, or answered with an error: treat the remote as absent."""


class Transient(RemoteError):
    """A failure worth another attempt (a dropped connection, a 5xx, gRPC UNAVAILABLE)."""


class Oversized(RemoteError):
    """A body larger than the blob or result asked for: that answer is wrong, not the server."""


class TooSlow(RemoteError):
    """A body that takes longer than the deadline to arrive: the server is not usable."""
