"""Fixtures for every test. The helpers the tests share are modules of tests/helpers, imported as
`helpers.<module>` (pyproject.toml puts tests/ on sys.path); fixtures for the tests that run doit
and servers are in integration/conftest.py."""

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own partsmith cache: nothing leaks between tests or into ~/.cache."""
    monkeypatch.setenv("PARTSMITH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def no_watchman(monkeypatch):
    """No test meets a watchman daemon of this machine's user; the tests of the watchman path
    start their own (helpers/watchman.py) and set WATCHMAN_SOCK and PARTSMITH_WATCHMAN."""
    monkeypatch.setenv("PARTSMITH_WATCHMAN", "0")
    monkeypatch.delenv("WATCHMAN_SOCK", raising=False)
