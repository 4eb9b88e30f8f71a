from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.tree.errors import StageConflictError
from rules.tree.merge_parts import Contribution, merge
from rules.tree.tree import Entry

FILE_A = Entry("file", "a" * 64, 3, False)
FILE_B = Entry("file", "b" * 64, 5, False)


def contribution(part: str, tree: dict) -> Contribution:
    return Contribution(part, tree, Path("/roots") / part)


def test_identical_entries_merge_and_keep_the_first_parts_bytes():
    placement = merge(
        "stage",
        [
            contribution("one", {"d": Entry("dir"), "d/f": FILE_A}),
            contribution("two", {"d": Entry("dir"), "d/f": FILE_A, "g": FILE_B}),
        ],
    )
    assert placement == {
        "d": (Entry("dir"), Path("/roots/one"), "one"),
        "d/f": (FILE_A, Path("/roots/one"), "one"),
        "g": (FILE_B, Path("/roots/two"), "two"),
    }


def test_every_kind_of_difference_is_a_conflict_and_all_are_listed():
    with pytest.raises(StageConflictError) as caught:
        merge(
            "stage",
            [
                contribution(
                    "a",
                    {
                        "bytes": FILE_A,
                        "mode": FILE_A,
                        "link": Entry("symlink", target="x"),
                        "kind": Entry("dir"),
                    },
                ),
                contribution(
                    "b",
                    {
                        "bytes": FILE_B,
                        "mode": Entry("file", "a" * 64, 3, True),
                        "link": Entry("symlink", target="y"),
                        "kind": FILE_A,
                    },
                ),
            ],
        )
    found = {c.path: c for c in caught.value.conflicts}
    assert set(found) == {"bytes", "mode", "link", "kind"}
    assert (
        "3 bytes, sha256 aaaaaaaaaaaa vs 5 bytes, sha256 bbbbbbbbbbbb" in found["bytes"].difference
    )
    assert found["mode"].difference == "mode differs: not executable vs executable"
    assert found["link"].difference == "link target differs: x vs y"
    assert found["kind"].difference.startswith("directory vs regular file")
    assert all((c.part_a, c.part_b) == ("a", "b") for c in caught.value.conflicts)
    assert "stage" in caught.value.resolution and "organize" in caught.value.resolution


def test_three_parts_report_every_pair():
    third = Entry("file", "c" * 64, 7, False)
    with pytest.raises(StageConflictError) as caught:
        merge(
            "stage",
            [
                contribution("a", {"f": FILE_A}),
                contribution("b", {"f": FILE_B}),
                contribution("c", {"f": third}),
            ],
        )
    assert [(c.part_a, c.part_b) for c in caught.value.conflicts] == [
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
    ]
    assert caught.value.brief == "stage failed: 1 path differs between parts"


entries = st.sampled_from([FILE_A, FILE_B, Entry("symlink", target="t")])


@given(st.dictionaries(st.sampled_from(["a", "b", "x/y", "x/z"]), entries), st.integers(1, 4))
def test_a_tree_split_among_overlapping_parts_merges_back_to_itself(tree, copies):
    # every part ships a subset of the same tree: nothing differs, so nothing may conflict
    parts = [
        contribution(
            f"p{i}",
            {p: e for j, (p, e) in enumerate(sorted(tree.items())) if (i + j) % 2 == 0 or i == 0},
        )
        for i in range(copies)
    ]
    placement = merge("stage", parts)
    assert {path: entry for path, (entry, _, _) in placement.items()} == tree


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), entries, min_size=1), st.data())
def test_changing_any_shipped_entry_is_reported_at_that_path(tree, data):
    path = data.draw(st.sampled_from(sorted(tree)))
    changed = Entry("file", "e" * 64, 9, True)
    with pytest.raises(StageConflictError) as caught:
        merge("stage", [contribution("a", tree), contribution("b", {**tree, path: changed})])
    assert [c.path for c in caught.value.conflicts] == [path]
