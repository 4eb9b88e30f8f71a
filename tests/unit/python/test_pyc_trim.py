"""The pyc cache inside the cache's bound: `doit cache` shows it, a trim (`doit cache-trim`, or the
one after a stage under $PARTSMITH_CACHE_MAX_SIZE) evicts from it and from the store on one
timeline of last use, and sweeps the temp files of drivers that were killed."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from rules.cache import Store
from rules.cli import cache_command
from rules.python.pyc_cache import STALE_TEMP, TOUCH_EVERY, pyc_entries
from rules.tree import Entry

DAY = 86400
NOW = time.time()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PARTSMITH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PARTSMITH_CACHE_MAX_SIZE", raising=False)
    return tmp_path / "cache"


def pyc(cache: Path, name: str, size: int, used: float) -> Path:
    digest = hashlib.sha256(name.encode()).hexdigest()
    path = cache / "pyc" / digest[:2] / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"p" * size)
    os.utime(path, (used, used))
    return path


def result(cache: Path, name: str, size: int, used: float) -> Path:
    """An action result naming one blob of `size` bytes of its own."""
    store = Store(cache)
    data = name.encode() * (size // len(name))
    digest = hashlib.sha256(data).hexdigest()
    store.add_blobs({digest: data})
    key = hashlib.sha256(b"key " + name.encode()).hexdigest()
    store.put_result(key, {"name": name}, {"f": Entry("file", digest, len(data))})
    os.utime(store.result_path(key), (used, used))
    return store.result_path(key)


def size_of(cache: Path) -> int:
    return sum(p.stat().st_size for p in cache.rglob("*") if p.is_file() and p.parent != cache)


def test_cache_shows_the_pyc_cache_s_entries_and_bytes(cache, monkeypatch):
    for number in range(3):
        pyc(cache, f"m{number}", 1024, NOW)
    result(cache, "r", 4000, NOW)
    shown = cache_command.show()
    assert f"pyc cache {cache / 'pyc'}: 3.0 KiB in 3 entries" in shown
    assert "in 1 results and 1 blobs" in shown
    monkeypatch.setenv("PARTSMITH_CACHE_MAX_SIZE", "1M")
    total = cache_command._size(size_of(cache))
    assert f"limit: 1M ($PARTSMITH_CACHE_MAX_SIZE, for both: {total} used)" in cache_command.show()


def test_an_empty_cache_shows_an_empty_pyc_cache(cache):
    assert "in 0 entries" in cache_command.show()


def test_pyc_entries_used_before_every_result_go_first_oldest_first(cache):
    entries = [pyc(cache, f"m{age}", 1000, NOW - age * DAY) for age in (5, 4, 3, 2, 1)]
    kept = result(cache, "r", 3000, NOW)
    limit = size_of(cache) - 2000
    assert cache_command.trim_both(limit) == (0, 2)
    assert [path.exists() for path in entries] == [False, False, True, True, True]
    assert kept.exists() and size_of(cache) <= limit


def test_results_used_before_the_pyc_entries_go_before_them(cache):
    old = [result(cache, f"old{age}", 3000, NOW - age * DAY) for age in (3, 2)]
    new = result(cache, "new", 3000, NOW - DAY)
    entries = [pyc(cache, f"m{number}", 1000, NOW) for number in range(4)]
    limit = size_of(cache) - 3000  # one result's worth too much
    assert cache_command.trim_both(limit) == (1, 0)
    assert not old[0].exists() and old[1].exists() and new.exists()
    assert all(path.exists() for path in entries)
    assert size_of(cache) <= limit


def test_results_and_pyc_entries_interleaved_go_in_the_order_they_were_used(cache):
    """A (3 days) < x (2 days) < B (1 day) < y (now): room for B and y only takes A and x,
    not B to make room for x."""
    a = result(cache, "a", 3000, NOW - 3 * DAY)
    x = pyc(cache, "x", 1000, NOW - 2 * DAY)
    b = result(cache, "b", 3000, NOW - DAY)
    y = pyc(cache, "y", 1000, NOW)
    limit = size_of(cache) - a.stat().st_size - 3000 - 1000
    assert cache_command.trim_both(limit) == (1, 1)
    assert (a.exists(), x.exists(), b.exists(), y.exists()) == (False, False, True, True)
    assert size_of(cache) <= limit


def test_an_entry_used_within_touch_every_of_a_result_counts_as_used_after_it(cache):
    """The driver touches an entry at most every TOUCH_EVERY: an mtime a little older than a
    result's may be a use after it, so the result goes first."""
    x = pyc(cache, "x", 1000, NOW - TOUCH_EVERY / 2)
    a = result(cache, "a", 3000, NOW)
    assert cache_command.trim_both(size_of(cache) - 1000) == (1, 0)
    assert x.exists() and not a.exists()


def test_a_pyc_cache_bigger_than_the_bound_goes_down_to_it_newest_kept(cache):
    entries = [pyc(cache, f"m{age}", 1000, NOW - age * DAY) for age in (3, 2, 1)]
    result(cache, "r", 3000, NOW - 4 * DAY)
    assert cache_command.trim_both(1500) == (1, 2)
    assert [path.exists() for path in entries] == [False, False, True]
    assert size_of(cache) <= 1500


def test_a_trim_to_nothing_empties_the_pyc_cache(cache):
    for number in range(3):
        pyc(cache, f"m{number}", 100, NOW)
    assert cache_command.trim_both(0) == (0, 3)
    assert pyc_entries() == []


def test_within_the_bound_nothing_is_evicted(cache):
    entries = [pyc(cache, f"m{number}", 1000, NOW - number * DAY) for number in range(3)]
    result(cache, "r", 3000, NOW - 5 * DAY)
    assert cache_command.trim_both(size_of(cache)) == (0, 0)
    assert all(path.exists() for path in entries)


def test_temp_files_of_a_killed_driver_are_swept_when_old_and_never_counted(cache):
    entry = pyc(cache, "m", 1000, NOW)
    old, young = entry.parent / "tmpold1234", entry.parent / "tmpyoung5678"
    old.write_bytes(b"half")
    young.write_bytes(b"being written")
    stale = NOW - STALE_TEMP - 60
    os.utime(old, (stale, stale))
    assert [e.path for e in pyc_entries()] == [entry]
    assert "in 1 entries" in cache_command.show() and old.exists()  # showing removes nothing
    assert cache_command.trim_both(1 << 30) == (0, 0)
    assert not old.exists() and young.exists() and entry.exists()


def test_the_cache_trim_command_and_the_trim_after_a_stage_say_what_went(cache, monkeypatch):
    for age in (3, 2, 1):
        pyc(cache, f"m{age}", 1000, NOW - age * DAY)
    assert cache_command.trim_if_bounded() == ""  # no bound: nothing
    monkeypatch.setenv("PARTSMITH_CACHE_MAX_SIZE", "2000")
    said = cache_command.trim_if_bounded()
    assert said == (
        "partsmith: cache: evicted 0 least recently used results and 1 pyc entries (limit 2000)"
    )
    assert cache_command.trim_if_bounded() == ""  # within the bound now
    monkeypatch.setenv("PARTSMITH_CACHE_MAX_SIZE", "1000")
    out = cache_command.trim()
    assert out.startswith("cache-trim: evicted 0 results and 1 pyc entries\n")
    assert "in 1 entries" in out
