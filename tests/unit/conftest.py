"""Unit tests run in-process: a test that starts a process (bash, doit, uv, a server) fails here
and belongs in tests/integration."""

import os
import subprocess

import pytest


@pytest.fixture(autouse=True)
def _no_process(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a unit test started a process: {args[:1] or kwargs.get('args')}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    # the sealed sandbox is probed with bwrap (a process): unit tests run their steps unsealed
    monkeypatch.setenv("PARTSMITH_UNSEALED", "1")
    monkeypatch.setattr(os, "fork", refuse)
