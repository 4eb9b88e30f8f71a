"""Tests of rules/build/ (pytest's default norecursedirs skips folders named `build`: pyproject.toml
sets norecursedirs without it)."""
