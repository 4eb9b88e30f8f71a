"""Fixtures of the tests that run doit, servers and builds in subprocesses."""

import pytest
from helpers.doit_runner import doit


@pytest.fixture
def run_doit():
    return doit
