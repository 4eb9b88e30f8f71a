"""Layer 5: what is made of a finished prime: the reproducible archive (`pack`) and `verify`."""

from .archive import archive_is_intact, pack
from .errors import ReleaseError
from .reproducibility import verify

__all__ = [
    "ReleaseError",
    "archive_is_intact",
    "pack",
    "verify",
]
