"""A pulled source kept in the store: a store that cannot take it costs a warning, not the pull."""

from types import SimpleNamespace

from rules.action import source_manifest
from rules.cache import Store
from rules.core import cache_root
from rules.pull import kept_source


def test_a_store_that_cannot_keep_the_source_warns_and_keeps_nothing(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "a.txt").write_text("a\n")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "put", full)
    workspace = SimpleNamespace(build_root=tmp_path / "build", extra_sandbox_paths=())
    assert kept_source.keep_source(workspace, folder, {"source": "x"}, {"manifest": "m"}) is None
    assert "was not kept in the cache: No space left on device" in capsys.readouterr().out


def test_a_kept_source_comes_back_with_the_digest_it_was_kept_with(tmp_path):
    folder = tmp_path / "src"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub/run.sh").write_text("#!/bin/sh\n")
    (folder / "sub/run.sh").chmod(0o700)
    (folder / "link").symlink_to("sub/run.sh")
    (folder / "empty").mkdir()
    workspace = SimpleNamespace(build_root=tmp_path / "build", extra_sandbox_paths=())
    key = kept_source.keep_source(workspace, folder, {"source": "x"}, {"manifest": "m"})
    assert key == kept_source.kept_key(workspace, {"source": "x"})
    assert kept_source.kept_said(key) == {"manifest": "m"}
    assert kept_source.is_kept(key)
    store = Store(cache_root())
    result = store.get(key)
    assert result is not None and store.restore(result.tree, tmp_path / "back", 1591640328)
    before = source_manifest(folder, tmp_path / "build", tmp_path / "stat-a")
    after = source_manifest(tmp_path / "back", tmp_path / "build", tmp_path / "stat-b")
    assert after == before and after.digest() == before.digest()  # what the build key names


def test_an_unsealed_pull_is_kept_apart_from_a_sealed_one(monkeypatch):
    """An unsealed pull could read the host: its source is never served to a sealed pull."""
    workspace = SimpleNamespace(extra_sandbox_paths=())
    monkeypatch.setattr(kept_source, "sandbox_record", lambda: {"unsealed": True})
    unsealed = kept_source.kept_key(workspace, {"source": "x"})
    monkeypatch.setattr(kept_source, "sandbox_record", lambda: {"bwrap": "0.11.0"})
    assert kept_source.kept_key(workspace, {"source": "x"}) != unsealed
