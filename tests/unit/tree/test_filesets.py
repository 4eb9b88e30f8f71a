"""Tests of rules.filesets: `select` (stage/prime filesets on Trees), `matches` (one glob) and
`organize` (moves inside a real install folder)."""

from __future__ import annotations

import hashlib
import posixpath
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.core.errors import BuildError, PartsmithError
from rules.tree.filesets import matches, organize, select
from rules.tree.tree import Entry

DIR = Entry("dir")


def file_entry(content: str = "", executable: bool = False) -> Entry:
    data = content.encode()
    return Entry("file", hashlib.sha256(data).hexdigest(), len(data), executable)


def make_tree(*paths: str) -> dict[str, Entry]:
    """A Tree as `capture` makes it: 'x/' is a folder, 'x -> t' a symlink, anything else a file
    (holding its own path); every parent folder is listed too."""
    tree: dict[str, Entry] = {}
    for spec in paths:
        if " -> " in spec:
            path, target = spec.split(" -> ")
            entry = Entry("symlink", target=target)
        elif spec.endswith("/"):
            path, entry = spec.rstrip("/"), DIR
        else:
            path, entry = spec, file_entry(spec)
        tree[path] = entry
        parent = posixpath.dirname(path)
        while parent:
            tree[parent] = DIR
            parent = posixpath.dirname(parent)
    return dict(sorted(tree.items()))


def has_parents(result: dict[str, Entry]) -> bool:
    return all(posixpath.dirname(path) in result for path in result if posixpath.dirname(path))


TREE = make_tree(
    ".hidden",
    "bin/activate",
    "bin/activate.fish",
    "bin/flask",
    "bin/python3 -> /usr/bin/python3",
    "lib/python3.11/site-packages/flask/__init__.py",
    "lib/python3.11/site-packages/flask/__pycache__/app.pyc",
    "lib/.cache/x",
    "libextra/y",
    "share/doc/",
    "pyvenv.cfg",
)


# -- select ----------------------------------------------------------------------------------------


def test_default_fileset_keeps_everything_including_dotfiles():
    result = select(TREE, ("*",))
    assert result == TREE
    assert ".hidden" in result and "lib/.cache/x" in result


def test_empty_fileset_keeps_everything():
    assert select(TREE, ()) == TREE


def test_select_keeps_entries_unchanged():
    result = select(TREE, ("bin",))
    assert all(result[path] is TREE[path] for path in result)
    assert result["bin/python3"] == Entry("symlink", target="/usr/bin/python3")


def test_included_directory_brings_everything_below_it():
    result = select(TREE, ("lib",))
    assert set(result) == {path for path in TREE if path == "lib" or path.startswith("lib/")}
    assert "lib/python3.11/site-packages/flask/__pycache__/app.pyc" in result
    assert "libextra" not in result and "libextra/y" not in result  # a prefix is not a folder


def test_included_file_keeps_its_parents_only():
    result = select(TREE, ("lib/python3.11/site-packages/flask/__init__.py",))
    assert list(result) == [
        "lib",
        "lib/python3.11",
        "lib/python3.11/site-packages",
        "lib/python3.11/site-packages/flask",
        "lib/python3.11/site-packages/flask/__init__.py",
    ]
    assert has_parents(result)


def test_empty_included_directory_is_kept():
    assert select(TREE, ("share/doc",)) == {"share": DIR, "share/doc": DIR}


def test_only_excludes_means_everything_but():
    result = select(TREE, ("-bin/activate*", "-pyvenv.cfg"))
    assert set(TREE) - set(result) == {"bin/activate", "bin/activate.fish", "pyvenv.cfg"}
    assert result == select(TREE, ("*", "-bin/activate*", "-pyvenv.cfg"))


def test_exclude_inside_an_included_folder():
    result = select(TREE, ("bin", "-bin/flask"))
    assert set(result) == {"bin", "bin/activate", "bin/activate.fish", "bin/python3"}


def test_excluding_a_directory_removes_everything_below_it():
    result = select(TREE, ("*", "-lib"))
    assert not any(path == "lib" or path.startswith("lib/") for path in result)
    assert "libextra/y" in result and "bin/flask" in result


def test_exclude_wins_over_include_below_it():
    assert select(TREE, ("lib/.cache/x", "-lib")) == {}


def test_double_star_matches_at_any_depth():
    result = select(TREE, ("**/*.py",))
    assert [p for p in result if TREE[p].kind != "dir"] == [
        "lib/python3.11/site-packages/flask/__init__.py"
    ]
    assert has_parents(result)

    without_caches = select(TREE, ("-**/__pycache__",))
    assert not any("__pycache__" in path for path in without_caches)
    assert set(TREE) - set(without_caches) == {
        "lib/python3.11/site-packages/flask/__pycache__",
        "lib/python3.11/site-packages/flask/__pycache__/app.pyc",
    }


def test_star_does_not_cross_folders_but_brings_folder_contents():
    result = select(TREE, ("bin/*",))
    assert set(result) == {"bin", "bin/activate", "bin/activate.fish", "bin/flask", "bin/python3"}


def test_pattern_matching_nothing_selects_nothing():
    assert select(TREE, ("nope/*",)) == {}


@pytest.mark.parametrize(
    "path, pattern, expected",
    [
        (".hidden", "*", True),
        ("bin/flask", "*", False),
        ("bin/flask", "bin/*", True),
        ("bin/flask", "bin/", False),
        ("bin", "bin/", True),
        ("bin", "/bin", True),
        ("bin/activate.fish", "bin/activate*", True),
        ("a/b/c.py", "**/*.py", True),
        ("c.py", "**/*.py", True),
        ("a/b/c.py", "a/**/c.py", True),
        ("a/c.py", "a/**/c.py", True),
        ("a/b/c.pyc", "**/*.py", False),
        ("a/b/c", "**", True),
        ("a/b/c", "a/*", False),
        ("a/b/c", "a/**", True),
        ("lib/x", "li?/[xy]", True),
        ("Bin", "bin", False),
    ],
)
def test_matches(path, pattern, expected):
    assert matches(path, pattern) is expected


# -- select: properties ----------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", ".h", "x.py", "lib", "libx"])
ENTRIES = st.sampled_from(
    [DIR, file_entry("1"), file_entry("2", executable=True), Entry("symlink", target="a")]
)
PATTERNS = st.sampled_from(
    ["*", "**", "a", "a/*", "**/*.py", ".h", "lib/**", "b/a", "*/x.py", "li*", "nope"]
)


@st.composite
def trees(draw) -> dict[str, Entry]:
    """A well-formed Tree: every parent of a path is a listed folder."""
    leaves = draw(st.lists(st.lists(NAMES, min_size=1, max_size=3).map("/".join), max_size=8))
    tree: dict[str, Entry] = {}
    for leaf in leaves:
        parent = posixpath.dirname(leaf)
        while parent:
            tree[parent] = DIR
            parent = posixpath.dirname(parent)
    for leaf in leaves:
        if leaf not in tree:
            tree[leaf] = draw(ENTRIES)
    return tree


filesets = st.lists(
    st.tuples(st.booleans(), PATTERNS).map(lambda t: ("-" if t[0] else "") + t[1]), max_size=4
)


@settings(max_examples=300, deadline=None)
@given(tree=trees(), fileset=filesets)
def test_select_properties(tree, fileset):
    assert select(tree, ("*",)) == tree

    result = select(tree, tuple(fileset))
    assert set(result) <= set(tree)
    assert all(result[path] == tree[path] for path in result)
    assert has_parents(result)

    excludes = [entry[1:] for entry in fileset if entry.startswith("-")]
    assert not any(matches(path, pattern) for path in result for pattern in excludes)
    if not any(not entry.startswith("-") for entry in fileset):
        assert result == select(tree, ("*", *fileset))


# -- organize --------------------------------------------------------------------------------------


def make_install(root: Path, *paths: str) -> Path:
    """An install folder holding `paths` ('x/' a folder; each file holds its own path)."""
    install = root / "install"
    install.mkdir()
    for path in paths:
        target = install / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path)
    return install


def listing(install: Path) -> set[str]:
    return {str(p.relative_to(install)) + ("/" if p.is_dir() else "") for p in install.rglob("*")}


def test_organize_renames_a_file(tmp_path):
    install = make_install(tmp_path, "bin/tool", "bin/other")
    organize(install, (("bin/tool", "usr/bin/renamed"),), "p")
    assert listing(install) == {"bin/", "bin/other", "usr/", "usr/bin/", "usr/bin/renamed"}
    assert (install / "usr/bin/renamed").read_text() == "bin/tool"


def test_organize_moves_a_folder(tmp_path):
    install = make_install(tmp_path, "share/doc/a.txt", "share/doc/sub/b.txt")
    organize(install, (("share/doc", "doc"),), "p")
    assert listing(install) == {"share/", "doc/", "doc/a.txt", "doc/sub/", "doc/sub/b.txt"}


def test_organize_glob_into_folder(tmp_path):
    install = make_install(tmp_path, "lib/a.so", "lib/b.so", "lib/keep.txt")
    organize(install, (("lib/*.so", "usr/lib/"),), "p")
    assert listing(install) == {
        "lib/",
        "lib/keep.txt",
        "usr/",
        "usr/lib/",
        "usr/lib/a.so",
        "usr/lib/b.so",
    }
    assert (install / "usr/lib/a.so").read_text() == "lib/a.so"


def test_organize_single_match_into_folder_form(tmp_path):
    install = make_install(tmp_path, "README")
    organize(install, (("README", "doc/"),), "p")
    assert listing(install) == {"doc/", "doc/README"}


def test_organize_several_matches_without_slash_go_into_folder(tmp_path):
    install = make_install(tmp_path, "bin/one", "bin/two")
    organize(install, (("bin/*", "tools"),), "p")
    assert listing(install) == {"bin/", "tools/", "tools/one", "tools/two"}


def test_organize_applies_mappings_in_order(tmp_path):
    install = make_install(tmp_path, "a")
    organize(install, (("a", "b"), ("b", "c/")), "p")
    assert listing(install) == {"c/", "c/b"}
    assert (install / "c/b").read_text() == "a"


def test_organize_refuses_to_overwrite(tmp_path):
    install = make_install(tmp_path, "bin/tool", "usr/bin/tool")
    with pytest.raises(BuildError) as info:
        organize(install, (("bin/tool", "usr/bin/tool"),), "mypart")
    assert "'mypart'" in info.value.brief
    assert "already exists" in info.value.brief
    assert "usr/bin/tool" in info.value.brief
    assert info.value.resolution
    assert (install / "bin/tool").read_text() == "bin/tool"  # nothing moved
    assert (install / "usr/bin/tool").read_text() == "usr/bin/tool"  # nothing overwritten


def test_organize_refuses_to_overwrite_inside_folder_target(tmp_path):
    install = make_install(tmp_path, "lib/a.so", "usr/lib/a.so")
    with pytest.raises(BuildError, match="already exists"):
        organize(install, (("lib/*.so", "usr/lib/"),), "p")
    assert (install / "usr/lib/a.so").read_text() == "usr/lib/a.so"


def test_organize_refuses_to_overwrite_a_symlink(tmp_path):
    install = make_install(tmp_path, "a")
    (install / "b").symlink_to("missing")
    with pytest.raises(BuildError, match="already exists"):
        organize(install, (("a", "b"),), "p")
    assert (install / "b").is_symlink()


def test_organize_entries_matching_nothing_are_ignored_and_said(tmp_path, capsys):
    """As craft-parts: an entry for what only some builds make moves nothing; the others move."""
    install = make_install(tmp_path, "bin/tool")
    organize(install, (("lib/*.so", "usr/lib/"), ("missing", "x"), ("bin/tool", "tool")), "mypart")
    assert listing(install) == {"bin/", "tool"}
    said = capsys.readouterr().out
    assert "part 'mypart': organize: nothing matches 'lib/*.so': that entry moves nothing" in said
    assert "nothing matches 'missing'" in said


def test_organize_glob_matching_its_own_target_folder(tmp_path):
    install = make_install(tmp_path, "usr/", "tool")
    try:
        organize(install, (("*", "usr/"),), "p")
    except BuildError:
        return  # refusing with a clear message is fine
    assert (install / "usr/tool").is_file()  # so is moving the rest


def test_organize_into_folder_form_whose_target_is_a_file(tmp_path):
    install = make_install(tmp_path, "d", "f")
    with pytest.raises(PartsmithError):
        organize(install, (("f", "d/"),), "p")
