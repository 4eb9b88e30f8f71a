"""snapcraft.yaml files that snapcraft and craft-parts accept load unchanged (issue 18): the
project keys, plugins, part keys and part names they use, each either read as snapcraft reads it
or refused with what to do."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers.workspaces import make_workspace, snap_project

from rules.core.machine import DEB_ARCH
from rules.workspace.errors import WorkspaceError
from rules.workspace.loader import load_workspace
from rules.workspace.model import Workspace

HERE = DEB_ARCH  # partsmith builds on and for the machine it runs on
OTHER = "s390x" if DEB_ARCH != "s390x" else "amd64"


def snap(root: Path, text: str) -> Path:
    text = textwrap.dedent(text).replace("HERE", HERE).replace("OTHER", OTHER)
    return snap_project(root / "proj", text)


def loaded(root: Path, text: str) -> Workspace:
    return load_workspace(snap(root, text))


def problems(root: Path, text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(WorkspaceError) as failed:
        load_workspace(snap(root, text))
    return [(p.line, p.key, p.message) for p in failed.value.problems]


# -- project-level keys --------------------------------------------------------------------------


def test_ua_services_and_provenance_are_snap_metadata_named_as_not_used(tmp_path):
    workspace = loaded(
        tmp_path,
        """\
        name: x
        base: core22
        ua-services: [esm-apps]
        provenance: test-provenance
        parts:
          a:
            plugin: nil
        """,
    )
    assert workspace.unused == ("provenance", "ua-services")


def test_project_build_snaps_go_first_into_every_part_without_repeats(tmp_path):
    workspace = loaded(
        tmp_path,
        """\
        name: x
        base: core24
        build-snaps: [astral-uv, go/1.22/stable]
        parts:
          a:
            plugin: nil
            build-snaps: [cmake, astral-uv]
          b:
            plugin: nil
        """,
    )
    assert workspace.parts["a"].build_snaps == ("astral-uv", "go/1.22/stable", "cmake")
    assert workspace.parts["b"].build_snaps == ("astral-uv", "go/1.22/stable")
    assert workspace.unused == ()


def test_a_bad_project_build_snap_is_named_where_it_is_written(tmp_path):
    found = problems(tmp_path, "name: x\nbuild-snaps: ['Go Lang']\nparts:\n  a:\n    plugin: nil\n")
    assert found == [
        (2, "build-snaps", "'Go Lang' is not a snap name (e.g. astral-uv or go/1.22/stable)")
    ]


def test_project_build_packages_and_build_snaps_take_the_advanced_grammar(tmp_path):
    workspace = loaded(
        tmp_path,
        """\
        name: x
        build-packages:
          - gcc
          - on OTHER: [never]
          - else: [make]
          - on HERE: [m4]
        build-snaps:
          - to OTHER: [never-snap]
          - else: [astral-uv]
        parts:
          a:
            plugin: nil
            build-packages: [pkg-config]
        """,
    )
    assert workspace.parts["a"].build_packages == ("gcc", "make", "m4", "pkg-config")
    assert workspace.parts["a"].build_snaps == ("astral-uv",)


def test_a_project_grammar_mistake_is_named_with_its_line(tmp_path):
    found = problems(
        tmp_path,
        """\
        name: x
        build-packages:
          - on amd46: [gcc]
        parts:
          a:
            plugin: nil
        """,
    )
    assert [(line, key) for line, key, _ in found] == [(3, "build-packages")]
    assert "'amd46' is not a Debian architecture" in found[0][2]


def test_a_workspace_file_takes_project_build_snaps_like_its_build_packages(tmp_path):
    path = make_workspace(
        tmp_path, "name: x\nbuild-snaps: [astral-uv]\nparts:\n  a:\n    plugin: nil\n"
    )
    assert load_workspace(path).parts["a"].build_snaps == ("astral-uv",)


# -- plugins partsmith does not build ------------------------------------------------------------


@pytest.mark.parametrize(
    "plugin, own_key",
    [
        ("bazel", "bazel-targets: ['//...']"),
        ("cargo-use", "cargo-use-x: 1"),
        ("gradle-use", "gradle-parameters: [--offline]"),
        ("jlink", "jlink-jars: [a.jar]"),
        ("npm-use", "npm-node-version: '20'"),
        ("initrd", "initrd-modules: [ext4]"),
        ("colcon", "ros-build-snaps: [ros-humble]"),
        ("maven-use", "maven-use-parameters: [-o]"),
    ],
)
def test_every_craft_parts_and_snapcraft_plugin_is_refused_by_name_with_its_keys(
    tmp_path, plugin, own_key
):
    found = problems(
        tmp_path,
        f"name: x\nbase: core24\nparts:\n  a:\n    plugin: {plugin}\n    source: .\n"
        f"    {own_key}\n",
    )
    assert found == [
        (
            5,
            "parts.a.plugin",
            f"plugin {plugin!r} is a snapcraft plugin partsmith does not support: partsmith "
            "builds python, dump, nil, uv, poetry, make, autotools, cmake, meson parts "
            "(see README, Coming from snapcraft)",
        )
    ]


def test_a_part_without_plugin_is_refused_as_snapcraft_refuses_it_even_named_after_one(tmp_path):
    # craft-parts' LifecycleManager alone would take the name; snapcraft's project check
    # (craft_parts.validate_part: "'plugin' not defined") refuses it on every base first
    found = problems(tmp_path, "name: x\nbase: core24\nparts:\n  nil:\n    source: .\n")
    assert [(line, key) for line, key, _ in found] == [(5, "parts.nil.plugin")]
    assert found[0][2].startswith("required key is missing: choose one of python, dump")


# -- part keys -----------------------------------------------------------------------------------


def test_disable_parallel_is_a_part_key_of_every_plugin_and_a_boolean(tmp_path):
    workspace = loaded(
        tmp_path,
        """\
        name: x
        parts:
          a:
            plugin: autotools
            source: .
            disable-parallel: true
          b:
            plugin: nil
            disable-parallel: false
        """,
    )
    assert workspace.parts["a"].disable_parallel and not workspace.parts["b"].disable_parallel
    assert workspace.parts["a"].config()["disable-parallel"] is True
    assert "disable-parallel" not in workspace.parts["b"].config()  # keys stay as they were
    found = problems(tmp_path, "name: x\nparts:\n  a:\n    plugin: nil\n    disable-parallel: 1\n")
    assert found == [
        (5, "parts.a.disable-parallel", "expected true or false, got an integer ('1')")
    ]


def test_autotools_bootstrap_parameters_are_read_for_autotools_only(tmp_path):
    part = loaded(
        tmp_path,
        """\
        name: x
        parts:
          a:
            plugin: autotools
            source: .
            autotools-bootstrap-parameters: [--skip-po, --gnulib-srcdir=$CRAFT_STAGE/gnulib]
        """,
    ).parts["a"]
    assert part.autotools_bootstrap_parameters == (
        "--skip-po",
        "--gnulib-srcdir=$CRAFT_STAGE/gnulib",
    )
    assert part.config()["autotools-bootstrap-parameters"] == list(
        part.autotools_bootstrap_parameters
    )
    found = problems(
        tmp_path,
        "name: x\nparts:\n  a:\n    plugin: make\n    source: .\n"
        "    autotools-bootstrap-parameters: [-x]\n",
    )
    assert found == [
        (6, "parts.a.autotools-bootstrap-parameters", "only valid for plugin: autotools, not make")
    ]


def test_poetry_pip_extra_args_that_change_nothing_installed_are_named_as_not_used(tmp_path):
    text = "name: x\nparts:\n  a:\n    plugin: poetry\n    source: .\n"
    workspace = loaded(tmp_path, text + "    poetry-pip-extra-args: [--no-deps, -q]\n")
    assert workspace.unused == ("parts.a.poetry-pip-extra-args",)
    assert "poetry-pip-extra-args" not in workspace.parts["a"].config()


def test_poetry_pip_extra_args_that_would_change_what_is_installed_are_refused(tmp_path):
    text = "name: x\nparts:\n  a:\n    plugin: poetry\n    source: .\n    poetry-pip-extra-args:\n"
    found = problems(
        tmp_path, text + "      - --no-deps\n      - --extra-index-url\n      - https://x\n"
    )
    assert [(line, key) for line, key, _ in found] == [(8, "parts.a.poetry-pip-extra-args")]
    assert found[0][2].startswith(
        "'--extra-index-url': no pip runs: partsmith installs exactly what poetry.lock lists, "
        "with uv (as --no-deps), from python: index-url and find-links"
    )


def test_build_environment_takes_the_advanced_grammar(tmp_path):
    part = loaded(
        tmp_path,
        """\
        name: x
        parts:
          a:
            plugin: nil
            build-environment:
              - LANG: C.UTF-8
              - on HERE:
                  - CFLAGS: -O1
                  - on OTHER: [{NESTED: never}]
              - on OTHER: [{CFLAGS: -O3}]
              - to OTHER: [{ELSEWHERE: never}]
              - else:
                  DIRECT: a mapping body
              - PATH: $PATH:/x
        """,
    ).parts["a"]
    assert part.build_environment == (
        ("LANG", "C.UTF-8"),
        ("CFLAGS", "-O1"),
        ("DIRECT", "a mapping body"),
        ("PATH", "$PATH:/x"),
    )


def test_build_environment_without_statements_and_its_mistakes_read_as_before(tmp_path):
    plain = "name: x\nparts:\n  a:\n    plugin: nil\n    build-environment:\n"
    part = loaded(tmp_path, plain + "      - on_prem: 'yes'\n      - elsewhere: b\n").parts["a"]
    assert part.build_environment == (("on_prem", "yes"), ("elsewhere", "b"))
    found = problems(tmp_path, plain + "      - on amd46: [{A: b}]\n      - try: [{A: b}]\n")
    assert [(line, key) for line, key, _ in found] == [
        (6, "parts.a.build-environment"),
        (7, "parts.a.build-environment"),
    ]
    assert "'amd46' is not a Debian architecture" in found[0][2]
    assert "'try' is not a statement partsmith supports" in found[1][2]


# -- part names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["my_part", "Web", "libfoo+bar", "-x", "2"])
def test_a_snapcraft_file_takes_snapcraft_s_part_names(tmp_path, name):
    workspace = loaded(
        tmp_path,
        f"""\
        name: x
        adopt-info: '{name}'
        parts:
          '{name}':
            plugin: nil
          b:
            plugin: nil
            after: ['{name}']
        """,
    )
    assert list(workspace.parts) == [name, "b"] and workspace.parts["b"].after == (name,)


@pytest.mark.parametrize(
    "name, reason",
    [
        ("my.part", "'.' separates a part's name from its step in partsmith's folders"),
        ("a/b", "'/' would make it a path of folders (snapcraft refuses it too, from core26 on)"),
        ("a b", "' ' would split or need quoting where partsmith writes the part's folders"),
        ("a:b", "':' would split or need quoting"),
        ("a=b", "doit reads NAME=VALUE as a variable"),
        ("", "a part needs a name"),
    ],
)
def test_a_part_name_partsmith_cannot_make_folders_of_says_why(tmp_path, name, reason):
    found = problems(tmp_path, f"name: x\nparts:\n  '{name}':\n    plugin: nil\n")
    assert [(line, key) for line, key, _ in found] == [(3, f"parts.{name}")]
    assert found[0][2].startswith(f"{name!r} cannot name a part in partsmith: ")
    assert reason in found[0][2]
    assert found[0][2].endswith("use letters, digits, '-', '_', '+'")


def test_a_workspace_file_keeps_its_own_part_names(tmp_path):
    path = make_workspace(tmp_path, "name: x\nparts:\n  my_part:\n    plugin: nil\n")
    with pytest.raises(WorkspaceError) as failed:
        load_workspace(path)
    assert "'my_part' is not a valid name" in failed.value.problems[0].message
