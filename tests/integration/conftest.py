"""Fixtures of the tests that run doit, servers and builds in subprocesses."""

import pytest
from helpers.doit_runner import doit


@pytest.fixture
def run_doit():
    return doit


@pytest.fixture(autouse=True)
def _counts(tmp_path, monkeypatch):
    """tmp_path/counts: the one host folder the tests' builds may write (PARTSMITH_SANDBOX_WRITABLE,
    as Bazel's --sandbox_writable_path), where their scripts count how often they ran."""
    (tmp_path / "counts").mkdir()
    monkeypatch.setenv("PARTSMITH_SANDBOX_WRITABLE", str(tmp_path / "counts"))
