"""Keys are digests of explicit records: canonical JSON (sorted keys, no floats), then sha256."""

from __future__ import annotations

import hashlib
import json
from typing import NewType

Digest = NewType("Digest", str)


def canonical(record: object) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(record: object) -> Digest:
    return Digest(hashlib.sha256(canonical(record)).hexdigest())
