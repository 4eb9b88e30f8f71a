"""Kept for dodo.py files written before the package had layers: `from rules.tasks import
doit_globals` still works. New ones import it from `rules.cli`."""

from rules.cli import doit_globals

__all__ = ["doit_globals"]
