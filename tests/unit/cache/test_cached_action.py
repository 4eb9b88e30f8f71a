"""run_cached, the one path of every cached action: the store, the remote cache, produce, keep."""

import os
from pathlib import Path

import pytest

from rules.cache import cached_action
from rules.cache.cached_action import CachedAction, Produced, run_cached
from rules.cache.store import Store
from rules.core.files import remove_tree
from rules.tree.tree import capture

EPOCH = 1591640328


class World:
    """One action whose output is a folder holding `data.txt`; counts what run_cached called."""

    def __init__(self, root: Path) -> None:
        self.root, self.store = root, Store(root / "cache")
        self.output = root / "out"
        self.produced = self.published = 0

    def produce(self) -> Produced:
        self.produced += 1
        remove_tree(self.output)
        self.output.mkdir()
        (self.output / "data.txt").write_text("bytes")
        return Produced(
            self.output, capture(self.output, EPOCH).tree, {"version": "1"}, note="made"
        )

    def publish(self, fresh: Path, _tree) -> None:
        self.published += 1
        remove_tree(self.output)
        os.rename(fresh, self.output)

    def action(self) -> CachedAction:
        return CachedAction(
            "build:demo",
            self.store,
            "k" * 64,
            {"rule": "demo"},
            self.output,
            EPOCH,
            produce=self.produce,
            publish=self.publish,
            made="built",
        )


@pytest.fixture
def uploads(monkeypatch):
    sent = []
    monkeypatch.setattr(cached_action, "fetch_from_remote", lambda store, key: False)
    monkeypatch.setattr(cached_action, "upload_to_remote", lambda *args: sent.append(args))
    return sent


def test_a_miss_produces_keeps_and_uploads_then_a_hit_restores(tmp_path, uploads):
    world = World(tmp_path)
    first = run_cached(world.action())
    assert (first.outcome, first.values, first.note, world.produced) == (
        "built",
        {"version": "1"},
        "made",
        1,
    )
    assert len(uploads) == 1
    remove_tree(world.output)
    second = run_cached(world.action())
    assert (second.outcome, second.values, world.produced, world.published) == (
        "restored",
        {"version": "1"},
        1,
        1,
    )
    assert (world.output / "data.txt").read_text() == "bytes"
    assert not (tmp_path / "out.restore").exists()


def test_a_corrupt_blob_means_produce_again(tmp_path, uploads):
    world = World(tmp_path)
    run_cached(world.action())
    (blob,) = list((tmp_path / "cache" / "cas").glob("*/*"))
    os.chmod(blob, 0o644)
    blob.write_text("other")
    assert run_cached(world.action()).outcome == "built"
    assert (world.produced, world.published) == (2, 0)
    assert not (tmp_path / "out.restore").exists()


def test_a_store_that_cannot_take_the_output_costs_a_warning_only(
    tmp_path, uploads, monkeypatch, capsys
):
    world = World(tmp_path)

    def full(*_args):
        raise OSError(28, "No space left on device", str(tmp_path / "cache"))

    monkeypatch.setattr(world.store, "put", full)
    ran = run_cached(world.action())
    assert ran.outcome == "built" and (world.output / "data.txt").is_file()
    assert (
        "partsmith: warning: build:demo was not cached: "
        f"No space left on device: {tmp_path / 'cache'}" in capsys.readouterr().out
    )
    assert uploads == []  # nothing stored here, nothing to send
