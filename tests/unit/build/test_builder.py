"""The builder: a part's plan as data, and the dump copy checked against the keyed source."""

from helpers.workspaces import make_workspace

from rules.build.builder import plan
from rules.workspace.loader import load_workspace

EPOCH = 1591640328


def test_plan_is_data_for_dump_nil_and_override_build(tmp_path):
    workspace = load_workspace(
        make_workspace(
            tmp_path,
            """\
        name: w
        source-date-epoch: 1591640328
        parts:
          files: {plugin: dump, source: files}
          custom:
            plugin: dump
            source: files
            build-environment: [{X: "1"}]
            override-build: |
              craftctl default
              touch "$CRAFT_PART_INSTALL/extra"
          empty: {plugin: nil}
        """,
            {"files/a": "a"},
        )
    )
    files, custom, empty = (plan(workspace, name) for name in ("files", "custom", "empty"))
    assert files.default_build == ('cp --archive --no-dereference . "$CRAFT_PART_INSTALL"',)
    assert files.script == files.default_build[0]
    assert files.source == tmp_path / "files" and files.epoch == EPOCH
    assert custom.default_build == files.default_build
    assert custom.script == 'craftctl default\ntouch "$CRAFT_PART_INSTALL/extra"\n'
    assert custom.build_environment == (("X", "1"),)
    assert empty.default_build == () and empty.script == "" and empty.source is None


def test_a_dump_copy_proves_its_source_by_its_own_hashes(tmp_path):
    """The dump copy hashes what it copies: the copy of the keyed bytes needs no second walk of
    the source, and a file changed between the key and the copy is caught by that comparison."""
    from rules.action.source_index import source_manifest
    from rules.build.builder import _is_copy_of
    from rules.tree.writing import copy_captured

    source = tmp_path / "src"
    (source / "d").mkdir(parents=True)
    (source / "d/a.txt").write_text("a\n")
    (source / "tool").write_text("#!/bin/sh\n")
    (source / "tool").chmod(0o755)
    (source / "link").symlink_to("d/a.txt")
    skip = frozenset({str(tmp_path / "build")})
    keyed = source_manifest(source, tmp_path / "build", tmp_path / "stat-cache")
    assert _is_copy_of(keyed, copy_captured(source, tmp_path / "one", skip, 0).tree)
    (source / "d/a.txt").write_text("changed after the key\n")
    assert not _is_copy_of(keyed, copy_captured(source, tmp_path / "two", skip, 0).tree)
    (source / "d/a.txt").write_text("a\n")
    (source / "tool").chmod(0o644)
    assert not _is_copy_of(keyed, copy_captured(source, tmp_path / "three", skip, 0).tree)
