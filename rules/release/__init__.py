"""Layer 5: what is made of a finished prime: the reproducible archive (`pack`) and `verify`."""

from .archive import archive_is_intact, pack
from .reproducibility import verify

__all__ = [
    "archive_is_intact",
    "pack",
    "verify",
]
