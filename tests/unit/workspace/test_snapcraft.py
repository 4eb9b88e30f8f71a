"""snapcraft.yaml files loaded as workspaces: where paths resolve, each era's key names, and
the values named at load time."""

from pathlib import Path

import pytest
from helpers.workspaces import snap_project

# -- loading: where paths resolve, what is named as not used, each era's key names ----------------


def load_problems(path: Path) -> list:
    from rules.workspace.errors import WorkspaceError
    from rules.workspace.loader import load_workspace

    with pytest.raises(WorkspaceError) as caught:
        load_workspace(path)
    return caught.value.problems


@pytest.mark.parametrize(
    "where",
    ["snap/snapcraft.yaml", "build-aux/snap/snapcraft.yaml", "snapcraft.yaml", ".snapcraft.yaml"],
)
def test_relative_paths_resolve_against_the_project_folder(tmp_path, where):
    from rules.workspace.loader import load_workspace

    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    path = root / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "name: x\nbase: core22\nparts:\n  a:\n    plugin: dump\n    source: src\n"
        "    build-attributes: [enable-patchelf]\n"
    )
    workspace = load_workspace(path)
    assert workspace.source_dir(workspace.parts["a"]) == root / "src"
    assert workspace.build_root == root / "build"
    assert workspace.unused == ("parts.a.build-attributes",)


def test_each_era_spelling_is_accepted_and_near_misses_suggest_the_base_s_own(tmp_path):
    from rules.workspace.loader import load_workspace

    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src/req.txt").write_text("alpha\n")
    for base, key in (
        ("core20", "requirements"),
        ("core22", "python-requirements"),
        ("core24", "requirements"),
    ):
        path = snap_project(
            root,
            f"name: x\nbase: {base}\nparts:\n  a:\n    plugin: python\n    source: src\n"
            f"    {key}: [$CRAFT_PART_SRC/req.txt]\n",
        )
        assert load_workspace(path).parts["a"].python_requirements == ("req.txt",)
    for base, suggested in (("core20", "requirements"), ("core22", "python-requirements")):
        path = snap_project(
            root, f"name: x\nbase: {base}\nparts:\n  a:\n    plugin: python\n    requirement: [a]\n"
        )
        [problem] = load_problems(path)
        assert problem.message.endswith(f"did you mean {suggested}?")
    both = snap_project(
        root,
        "name: x\nparts:\n  a:\n    plugin: python\n    source: src\n"
        "    constraints: [req.txt]\n    python-constraints: [req.txt]\n",
    )
    [problem] = load_problems(both)
    assert (problem.key, problem.line) == ("parts.a.constraints", 6)


def test_git_and_tar_keys_are_checked_where_they_are_written(tmp_path):
    root = tmp_path / "proj"
    path = snap_project(
        root,
        """\
        name: x
        parts:
          a:
            plugin: dump
            source: https://example.com/x.git
            source-tag: v1
            source-branch: main
            source-checksum: sha256/abc
          b:
            plugin: dump
            source: https://example.com/x.tar.gz
            source-checksum: sha256/xyz
          c:
            plugin: dump
            source: https://example.com/x
            source-type: svn
        """,
    )
    found = {(p.line, p.key): p.message for p in load_problems(path)}
    assert (
        found[(7, "parts.a.source-branch")] == "give one of source-tag, source-branch, not several"
    )
    assert found[(8, "parts.a.source-checksum")] == "not valid for a git source"
    assert "is not <algorithm>/<hex digest>" in found[(12, "parts.b.source-checksum")]
    assert found[(16, "parts.c.source-type")].startswith(
        "source-type 'svn' is not supported: use one of local, git, tar"
    )


@pytest.mark.parametrize(
    "line, key, message",
    [
        ("source-depth: 0x", "source-depth", "expected a number of commits"),
        ("source-depth: 0", "source-depth", "0 commits: give 1 or more"),
        ("source-checksum: shake_128/abcd", "source-checksum", "is not <algorithm>/<hex digest>"),
        ("source-checksum: sha256/abc", "source-checksum", "is not <algorithm>/<hex digest>"),
        ("source-commit: abc123", "source-commit", "is not a full commit id"),
        ("stage-packages: ['libc6:amd64']", "stage-packages", "is not a Debian package name"),
    ],
)
def test_bad_source_and_package_values_are_named_at_load(tmp_path, line, key, message):
    kind = "source: x.tar.gz" if "checksum" in line else "source: https://example.com/x.git"
    if "stage-packages" in line:
        kind = "source-type: local"
    path = snap_project(
        tmp_path / "proj", f"name: x\nparts:\n  a:\n    plugin: nil\n    {kind}\n    {line}\n"
    )
    (tmp_path / "proj/x.tar.gz").write_bytes(b"")
    problems = [p for p in load_problems(path) if p.key == f"parts.a.{key}"]
    assert len(problems) == 1 and message in problems[0].message and problems[0].line == 6


def test_a_tar_source_that_is_not_a_file_is_named_at_load(tmp_path):
    (tmp_path / "proj/dir.tar.gz").mkdir(parents=True)
    path = snap_project(
        tmp_path / "proj", "name: x\nparts:\n  a:\n    plugin: dump\n    source: dir.tar.gz\n"
    )
    [problem] = load_problems(path)
    assert (problem.key, problem.line) == (
        "parts.a.source",
        5,
    ) and "is not an archive file" in problem.message


def test_project_level_build_packages_go_into_every_part(tmp_path):
    from rules.workspace.loader import load_workspace

    path = snap_project(
        tmp_path / "proj",
        "name: x\nbase: core22\nbuild-packages: [gcc, make]\nparts:\n"
        "  a:\n    plugin: nil\n    build-packages: [make, pkg-config]\n"
        "  b:\n    plugin: nil\n",
    )
    workspace = load_workspace(path)
    assert workspace.parts["a"].build_packages == ("gcc", "make", "pkg-config")
    assert workspace.parts["b"].build_packages == ("gcc", "make")
    assert workspace.unused == ()


def test_a_bad_project_level_build_package_is_named_where_it_is_written(tmp_path):
    path = snap_project(
        tmp_path / "proj",
        "name: x\nbase: core22\nbuild-packages: ['gcc=12']\nparts:\n  a:\n    plugin: nil\n",
    )
    (problem,) = load_problems(path)
    assert (problem.line, problem.key) == (3, "build-packages")
    assert "'gcc=12' is not a Debian package name" in problem.message


def test_build_snaps_are_read_with_their_channels_and_a_bad_name_is_named(tmp_path):
    from rules.workspace.loader import load_workspace

    text = "name: x\nbase: core24\nparts:\n  a:\n    plugin: nil\n    build-snaps: [{}]\n"
    path = snap_project(tmp_path / "proj", text.format("astral-uv, go/1.22/stable"))
    assert load_workspace(path).parts["a"].build_snaps == ("astral-uv", "go/1.22/stable")
    path = snap_project(tmp_path / "proj", text.format("'Go Lang'"))
    (problem,) = load_problems(path)
    assert (problem.line, problem.key) == (6, "parts.a.build-snaps")
    assert problem.message == "'Go Lang' is not a snap name (e.g. astral-uv or go/1.22/stable)"


def test_source_subdir_is_a_folder_of_the_source_and_holds_a_python_parts_project(tmp_path):
    root = tmp_path / "proj"
    (root / "src/sub").mkdir(parents=True)
    text = "name: x\nbase: core24\nparts:\n  a:\n    plugin: {}\n    source: src\n"
    path = snap_project(root, text.format("dump") + "    source-subdir: missing\n")
    (problem,) = load_problems(path)
    assert (problem.line, problem.key) == (7, "parts.a.source-subdir")
    assert problem.message == "'missing' is not a folder in the part's source 'src'"
    from rules.workspace.loader import load_workspace

    (root / "src/sub/requirements.txt").write_text("")
    extra = "    source-subdir: sub\n    python-requirements: [requirements.txt]\n"
    workspace = load_workspace(snap_project(root, text.format("python") + extra))
    assert workspace.project_dir(workspace.parts["a"]) == root / "src/sub"
