"""Layer 0: what every other package stands on: the error root, digests of records, atomic
files and folder swaps, flocks, the cache's root folder, the progress line, the machine.
"""

from .cache_location import cache_root, uv_cache
from .cores import cores_per_task
from .errors import BuildError, PartsmithError
from .files import atomic_file, remove_tree, swap_in, write_atomic
from .flock import action_lock, flocked
from .hashing import Digest, digest
from .machine import ARCH_TRIPLET, DEB_ARCH
from .progress import SILENT, Progress
from .unsealed import UNSEALED, unsealed
from .version import RULES_VERSION

__all__ = [
    "ARCH_TRIPLET",
    "BuildError",
    "DEB_ARCH",
    "Digest",
    "PartsmithError",
    "Progress",
    "RULES_VERSION",
    "SILENT",
    "UNSEALED",
    "action_lock",
    "atomic_file",
    "cache_root",
    "cores_per_task",
    "digest",
    "flocked",
    "remove_tree",
    "swap_in",
    "unsealed",
    "uv_cache",
    "write_atomic",
]
