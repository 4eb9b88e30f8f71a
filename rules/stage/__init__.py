"""Layer 3: stage and prime: the parts' Trees merged and laid out as a farm of hard links, updated
for what changed.
"""

from .errors import StageError
from .farm_check import farm_is_intact
from .farm_records import recorded_tree
from .stage_prime import placement, prime_parts, reported_if_changed_by_hand, stage_parts, staged

__all__ = [
    "StageError",
    "farm_is_intact",
    "placement",
    "prime_parts",
    "recorded_tree",
    "reported_if_changed_by_hand",
    "stage_parts",
    "staged",
]
