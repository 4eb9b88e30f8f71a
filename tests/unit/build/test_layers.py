"""The Tree of a part built over its layer (rules/build/layers.py): the layer's, with what the
build wrote over it, when a capture could have made it."""

from __future__ import annotations

import pytest

from rules.action import LayerRefused
from rules.build.layers import _merged
from rules.tree import Entry

DIR = Entry("dir")


def file(digest: str = "a" * 64) -> Entry:
    return Entry("file", digest, 1)


LOWER = {
    "bin": DIR,
    "lib": DIR,
    "lib/dep": DIR,
    "lib/dep/mod.py": file(),
    "lib/link": Entry("symlink", target="dep/mod.py"),
}


def test_the_upper_entries_go_over_the_layer() -> None:
    upper = {"lib": DIR, "lib/tool.py": file("b" * 64), "lib/dep": DIR}
    upper["lib/dep/mod.py"] = file("c" * 64)  # a file of the layer written over
    tree = _merged(LOWER, upper)
    assert tree["lib/tool.py"] == file("b" * 64)
    assert tree["lib/dep/mod.py"] == file("c" * 64)
    assert tree["lib/link"] == LOWER["lib/link"]
    assert list(tree) == sorted(tree)


def test_a_folder_of_the_layer_replaced_by_a_file_is_refused() -> None:
    with pytest.raises(LayerRefused, match="replaces a folder"):
        _merged(LOWER, {"lib": DIR, "lib/dep": file()})


def test_a_link_of_the_upper_folder_is_checked_with_the_layer_it_leads_through() -> None:
    # the layer's own link lib/link -> dep/mod.py now climbs out through the upper's lib/dep
    upper = {"lib": DIR, "lib/dep": Entry("symlink", target="../..")}
    with pytest.raises(LayerRefused):
        _merged({k: v for k, v in LOWER.items() if k != "lib/dep/mod.py"}, upper)
    with pytest.raises(LayerRefused, match="leaves the tree"):
        _merged(LOWER, {"lib": DIR, "lib/out": Entry("symlink", target="../../x")})


def test_a_link_of_the_layer_replaced_by_a_file_is_checked_with_the_layer() -> None:
    # l resolves through s: once s is a file, l climbs out of the tree
    lower = {
        "d": DIR,
        "d/e": DIR,
        "s": Entry("symlink", target="d/e"),
        "l": Entry("symlink", target="s/../../x"),
    }
    with pytest.raises(LayerRefused, match="leaves the tree"):
        _merged(lower, {"s": file()})
