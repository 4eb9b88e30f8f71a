"""A source's manifest made by a walk through the stat cache, and its digest (the key's field)
taken from the last run's when the walk found the same manifest."""

import os

from rules.action.source_index import source_manifest
from rules.core import digest


def test_the_digest_comes_back_only_for_the_same_manifest(tmp_path):
    source, cache = tmp_path / "src", tmp_path / "cache" / "stat"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg/a.py").write_text("a = 1\n")
    os.symlink("pkg/a.py", source / "link")
    first = source_manifest(source, tmp_path / "build", cache)
    assert first.digest() == digest(sorted(first.items()))
    again = source_manifest(source, tmp_path / "build", cache)
    assert again == first and again._digest == first.digest()  # kept: no JSON encoded again
    for change in (
        lambda: (source / "pkg/a.py").write_text("a = 2\n"),
        lambda: (source / "pkg/a.py").chmod(0o755),
        lambda: (os.unlink(source / "link"), os.symlink("pkg", source / "link")),
        lambda: (source / "pkg/new").mkdir(),
    ):
        change()
        now = source_manifest(source, tmp_path / "build", cache)
        assert now != first and now.digest() == digest(sorted(now.items()))
        first = now
