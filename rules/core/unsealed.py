"""The user's opt-out of the sealed sandbox (action/seal.py). Read here, below both the action
that then runs unsealed and the remote cache that then never receives what it built."""

from __future__ import annotations

import os

UNSEALED = "PARTSMITH_UNSEALED"


def unsealed() -> bool:
    return os.environ.get(UNSEALED, "") == "1"
