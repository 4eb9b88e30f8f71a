"""Tests of rules.workspace.load_workspace: the frozen model of a valid file, and the problems
reported (file, line, dotted key, message) for every kind of mistake SPEC.md lists."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from rules.core.errors import PartsmithError
from rules.workspace.errors import Problem, WorkspaceError
from rules.workspace.loader import MIN_SOURCE_DATE_EPOCH, load_workspace
from rules.workspace.model import PythonSettings


def write_workspace(folder: Path, text: str, *, folders: tuple[str, ...] = ()) -> Path:
    """Write `text` (dedented; line 1 is its first non-empty line) to folder/parts.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in folders:
        (folder / name).mkdir(parents=True, exist_ok=True)
    path = folder / "parts.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(folder: Path, text: str, **kwargs) -> list[Problem]:
    """The problems load_workspace reports for `text`; fails if it loads."""
    path = write_workspace(folder, text, **kwargs)
    with pytest.raises(WorkspaceError) as info:
        load_workspace(path)
    assert info.value.problems, "a WorkspaceError must list at least one problem"
    assert all(p.file == "parts.yaml" for p in info.value.problems)
    return info.value.problems


def only_problem(folder: Path, text: str, **kwargs) -> Problem:
    problems = problems_of(folder, text, **kwargs)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


MINIMAL = """
    name: demo
    parts:
      a:
        plugin: nil
"""


# -- a valid workspace ---------------------------------------------------------------------------


def test_full_workspace_gives_normalized_model(tmp_path):
    path = write_workspace(
        tmp_path,
        """
        name: demo
        source-date-epoch: 1591640328
        build-root: out/build
        python:
          index-url: none
          find-links: [wheels, /opt/wheels, https://example.com/wheels]
          interpreter: python3
        parts:
          config:
            plugin: dump
            source: src/config/
          cluster:
            plugin: python
            source: src/cluster
            python-packages: [flask==3.0.3, click==8.1.7]
            python-requirements: [requirements.txt]
            build-environment:
              - GREETING: hello
              - VERSION: 1.0
            after: [config]
            override-build: |
              craftctl default
            organize: {old/path: new/path, 'lib/*.so': usr/lib/}
            stage: ['*', '-bin/activate*', './share/']
            prime: [bin, lib]
    """,
        folders=("src/config", "src/cluster"),
    )
    (tmp_path / "src/cluster/requirements.txt").write_text("flask==3.0.3\n")

    ws = load_workspace(path)

    assert ws.path == path
    assert ws.name == "demo"
    assert ws.source_date_epoch == 1591640328
    assert ws.build_root == tmp_path / "out" / "build"
    assert ws.python == PythonSettings(
        index_url="none",
        find_links=(str(tmp_path / "wheels"), "/opt/wheels", "https://example.com/wheels"),
        interpreter="python3",
    )
    assert list(ws.parts) == ["config", "cluster"]

    config = ws.parts["config"]
    assert (config.name, config.plugin, config.source) == ("config", "dump", "src/config")
    assert config.stage == ("*",) and config.prime == ("*",)
    assert config.after == () and config.python_packages == () and config.organize == ()
    assert ws.source_dir(config) == tmp_path / "src" / "config"

    cluster = ws.parts["cluster"]
    assert cluster.plugin == "python"
    assert cluster.source == "src/cluster"
    assert cluster.python_packages == ("flask==3.0.3", "click==8.1.7")
    assert cluster.python_requirements == ("requirements.txt",)
    assert cluster.build_environment == (("GREETING", "hello"), ("VERSION", "1.0"))
    assert cluster.after == ("config",)
    assert cluster.override_build == "craftctl default\n"
    assert cluster.organize == (("old/path", "new/path"), ("lib/*.so", "usr/lib/"))
    assert cluster.stage == ("*", "-bin/activate*", "share")
    assert cluster.prime == ("bin", "lib")


def test_defaults(tmp_path):
    ws = load_workspace(write_workspace(tmp_path, MINIMAL))

    assert ws.source_date_epoch == MIN_SOURCE_DATE_EPOCH == 315532800
    assert ws.build_root == tmp_path / "build"
    assert ws.build_root.is_absolute()
    assert ws.python == PythonSettings(index_url=None, find_links=(), interpreter=None)
    part = ws.parts["a"]
    assert part.plugin == "nil" and part.source is None
    assert part.stage == ("*",) and part.prime == ("*",)
    assert ws.source_dir(part) is None


def test_relative_workspace_path_gives_absolute_paths(tmp_path, monkeypatch):
    write_workspace(tmp_path / "ws", MINIMAL)
    monkeypatch.chdir(tmp_path)

    ws = load_workspace(Path("ws/parts.yaml"))

    assert ws.path == tmp_path / "ws" / "parts.yaml"
    assert ws.build_root == tmp_path / "ws" / "build"
    assert ws.directory == tmp_path / "ws"


def test_source_date_epoch_lower_bound_is_accepted(tmp_path):
    ws = load_workspace(
        write_workspace(tmp_path, "source-date-epoch: 315532800\n" + textwrap.dedent(MINIMAL))
    )
    assert ws.source_date_epoch == 315532800


def test_build_environment_as_plain_mapping_keeps_values_as_written(tmp_path):
    path = write_workspace(
        tmp_path,
        """
        name: demo
        parts:
          a:
            plugin: nil
            build-environment:
              VERSION: 1.0
              PATCH: 1.10
              DEBUG: true
              MODE: '0755'
              EMPTY: ''
    """,
    )
    part = load_workspace(path).parts["a"]
    assert part.build_environment == (
        ("VERSION", "1.0"),
        ("PATCH", "1.10"),
        ("DEBUG", "true"),
        ("MODE", "0755"),
        ("EMPTY", ""),
    )


def test_build_environment_list_of_maps_keeps_order_and_values(tmp_path):
    path = write_workspace(
        tmp_path,
        """
        name: demo
        parts:
          a:
            plugin: nil
            build-environment:
              - B: 2.50
              - A: hello world
    """,
    )
    assert load_workspace(path).parts["a"].build_environment == (
        ("B", "2.50"),
        ("A", "hello world"),
    )


def test_source_symlink_inside_the_workspace_is_accepted(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to("real")
    path = write_workspace(
        tmp_path,
        """
        name: demo
        parts:
          a:
            plugin: dump
            source: alias
    """,
    )
    assert load_workspace(path).parts["a"].source == "alias"


def test_model_is_frozen(tmp_path):
    ws = load_workspace(write_workspace(tmp_path, MINIMAL))

    with pytest.raises(dataclasses.FrozenInstanceError):
        ws.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ws.parts["a"].plugin = "dump"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ws.python.index_url = "https://evil.example"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ws.parts["b"] = ws.parts["a"]  # type: ignore[index]
    assert list(ws.parts) == ["a"] and ws.name == "demo"


def test_build_order_and_dependencies(tmp_path):
    path = write_workspace(
        tmp_path,
        """
        name: demo
        parts:
          app:
            plugin: nil
            after: [right, left]
          left:
            plugin: nil
            after: [base]
          right:
            plugin: nil
            after: [base]
          base:
            plugin: nil
          tool:
            plugin: nil
    """,
    )
    ws = load_workspace(path)

    order = ws.build_order()
    assert order == ["base", "left", "right", "app", "tool"]
    for name in ws.parts:
        assert all(order.index(dep) < order.index(name) for dep in ws.parts[name].after)

    assert ws.dependencies("app") == ["base", "left", "right"]  # transitive, in build order
    assert ws.dependencies("left") == ["base"]
    assert ws.dependencies("base") == []
    assert ws.dependencies("tool") == []


# -- YAML that must never be executed ------------------------------------------------------------


@pytest.mark.parametrize(
    "template, line",
    [
        (
            'name: !!python/object/apply:os.system ["touch {marker}"]\n'
            "parts: {{a: {{plugin: nil}}}}\n",
            1,
        ),
        (
            "name: demo\nparts:\n  a:\n    plugin: nil\n"
            '    source: !!python/object/apply:os.system ["touch {marker}"]\n',
            5,
        ),
    ],
)
def test_python_tag_is_reported_and_never_run(tmp_path, monkeypatch, template, line):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "SOMEFILE"
    problem = only_problem(tmp_path, template.format(marker=marker))

    assert problem.line == line
    assert "python/object/apply:os.system" in problem.message
    assert "not allowed" in problem.message
    assert not marker.exists()
    assert not (tmp_path / "SOMEFILE").exists()


def test_recursive_anchor_is_a_problem_not_a_crash(tmp_path):
    problems = problems_of(
        tmp_path,
        """
        name: &a [*a]
        parts:
          a:
            plugin: nil
    """,
    )
    assert problems[0].line == 1


# -- file-level problems ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, line, reason",
    [
        ("name: demo\nparts:\n  a:\n    plugin: nil\n\tsource: x\n", 5, "'\\t'"),
        ("name: demo\nparts:\n  a:\n    plugin: nil\n   source: x\n", 5, "expected <block end>"),
        ("name: demo\nparts: {a: {plugin: nil}\nbuild-root: x\n", 3, "expected ',' or '}'"),
    ],
)
def test_invalid_yaml_reports_its_line(tmp_path, text, line, reason):
    problem = only_problem(tmp_path, text)
    assert problem.line == line
    assert problem.key == ""
    assert problem.message.startswith("invalid YAML")
    assert reason in problem.message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path, text):
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.key) == (1, "")
    assert "empty" in problem.message


def test_top_level_must_be_a_mapping(tmp_path):
    problem = only_problem(tmp_path, "- name\n- parts\n")
    assert problem.line == 1
    assert "expected a mapping, got a list" in problem.message


def test_missing_name(tmp_path):
    problem = only_problem(
        tmp_path,
        """
        parts:
          a:
            plugin: nil
    """,
    )
    assert (problem.line, problem.key) == (1, "name")
    assert "required key is missing" in problem.message


def test_missing_parts(tmp_path):
    problem = only_problem(
        tmp_path,
        """
        # a comment
        name: demo
    """,
    )
    assert (problem.line, problem.key) == (1, "parts")
    assert "required key is missing" in problem.message


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: demo\nparts: {}\n", "declare at least one part"),
        ("name: demo\nparts:\n", "expected a mapping, got nothing"),
        ("name: demo\nparts: [a, b]\n", "expected a mapping, got a list"),
    ],
)
def test_parts_must_be_a_non_empty_mapping(tmp_path, text, message):
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.key) == (2, "parts")
    assert message in problem.message


# -- names and types -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Demo", "-demo", "my_app", "my.app", "''"])
def test_bad_workspace_name(tmp_path, name):
    problem = only_problem(
        tmp_path,
        f"""
        name: {name}
        parts:
          a:
            plugin: nil
    """,
    )
    assert (problem.line, problem.key) == (1, "name")
    assert "is not a valid name" in problem.message


@pytest.mark.parametrize("name", ["Web", "-web", "web_app", "web app"])
def test_bad_part_name(tmp_path, name):
    problem = only_problem(
        tmp_path,
        f"""
        name: demo
        parts:
          ok:
            plugin: nil
          {name}:
            plugin: nil
    """,
    )
    assert (problem.line, problem.key) == (5, f"parts.{name}")
    assert f"{name!r} is not a valid name" in problem.message


@pytest.mark.parametrize("name", ["a", "0", "web-app-2", "a-"])
def test_good_names(tmp_path, name):
    ws = load_workspace(
        write_workspace(tmp_path, f"name: '{name}'\nparts:\n  '{name}':\n    plugin: nil\n")
    )
    assert ws.name == name and list(ws.parts) == [name]


def test_part_key_must_be_a_string(tmp_path):
    problem = only_problem(
        tmp_path, "name: demo\nparts:\n  ? [a]\n  : {plugin: nil}\n  b: {plugin: nil}\n"
    )
    assert (problem.line, problem.key) == (3, "parts")
    assert "keys must be strings, got a list" in problem.message


@pytest.mark.parametrize(
    "line_text, key, message",
    [
        ("name: 3", "name", "expected a string, got an integer ('3')"),
        (
            "source-date-epoch: x",
            "source-date-epoch",
            "expected an integer number of seconds since 1970, got a string ('x')",
        ),
        ("source-date-epoch: '1591640328'", "source-date-epoch", "got a string ('1591640328')"),
        ("source-date-epoch: true", "source-date-epoch", "got a boolean ('true')"),
        ("source-date-epoch: 1.5e9", "source-date-epoch", "expected an integer"),
        ("build-root: [a]", "build-root", "expected a string, got a list"),
        ("python: pypi", "python", "expected a mapping, got a string ('pypi')"),
    ],
)
def test_wrong_top_level_types(tmp_path, line_text, key, message):
    head = "" if key == "name" else "name: demo\n"
    problem = only_problem(tmp_path, f"{head}{line_text}\nparts:\n  a:\n    plugin: nil\n")
    assert (problem.line, problem.key) == (head.count("\n") + 1, key)
    assert message in problem.message


@pytest.mark.parametrize(
    "line_text, key, message",
    [
        ("after: b", "parts.a.after", "expected a list of strings, got a string ('b')"),
        ("stage: {bin: usr/bin}", "parts.a.stage", "expected a list of strings, got a mapping"),
        ("prime: '*'", "parts.a.prime", "expected a list of strings, got a string ('*')"),
        (
            "python-packages: [flask, 3]",
            "parts.a.python-packages[1]",
            "expected a string, got an integer ('3')",
        ),
        ("override-build: [make]", "parts.a.override-build", "expected a string, got a list"),
        ("organize: [a, b]", "parts.a.organize", "expected a mapping, got a list"),
        ("source: 7", "parts.a.source", "expected a string, got an integer ('7')"),
        (
            "build-environment: 3",
            "parts.a.build-environment",
            "expected a mapping, got an integer ('3')",
        ),
    ],
)
def test_wrong_part_types(tmp_path, line_text, key, message):
    problem = only_problem(
        tmp_path, f"name: demo\nparts:\n  a:\n    plugin: python\n    {line_text}\n"
    )
    assert (problem.line, problem.key) == (5, key)
    assert message in problem.message


def test_plugin_of_wrong_type_and_missing_plugin(tmp_path):
    problems = problems_of(
        tmp_path,
        """
        name: demo
        parts:
          a:
            plugin: [nil]
          b:
            source: src
    """,
        folders=("src",),
    )
    assert [(p.line, p.key) for p in problems] == [(4, "parts.a.plugin"), (6, "parts.b.plugin")]
    assert "expected a string, got a list" in problems[0].message
    assert "required key is missing: choose one of python, dump, nil" in problems[1].message


@pytest.mark.parametrize("value", [315532799, 0, -1])
def test_source_date_epoch_before_1980(tmp_path, value):
    problem = only_problem(
        tmp_path, f"name: demo\nsource-date-epoch: {value}\nparts:\n  a:\n    plugin: nil\n"
    )
    assert (problem.line, problem.key) == (2, "source-date-epoch")
    assert "before 1980-01-01" in problem.message
    assert ">= 315532800" in problem.message


def test_build_root_cannot_be_the_workspace_folder(tmp_path):
    problem = only_problem(tmp_path, "name: demo\nbuild-root: ./\nparts:\n  a:\n    plugin: nil\n")
    assert (problem.line, problem.key) == (2, "build-root")
    assert "not the workspace folder itself" in problem.message


# -- unknown keys and plugins ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, line, key, suggestion",
    [
        (
            "name: demo\npart:\n  a: {plugin: nil}\nparts:\n  a: {plugin: nil}\n",
            2,
            "part",
            "did you mean parts?",
        ),
        (
            "name: demo\nsource-date-epok: 315532800\nparts:\n  a: {plugin: nil}\n",
            2,
            "source-date-epok",
            "did you mean source-date-epoch?",
        ),
        (
            "name: demo\npython:\n  index_url: none\nparts:\n  a: {plugin: nil}\n",
            3,
            "python.index_url",
            "did you mean index-url?",
        ),
        (
            "name: demo\nparts:\n  a:\n    plugin: python\n    python-package: [flask]\n",
            5,
            "parts.a.python-package",
            "did you mean python-packages?",
        ),
        (
            "name: demo\nparts:\n  a:\n    plugin: nil\n    afterr: []\n",
            5,
            "parts.a.afterr",
            "did you mean after?",
        ),
    ],
)
def test_unknown_key_with_suggestion(tmp_path, text, line, key, suggestion):
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.key) == (line, key)
    assert problem.message == "unknown key; " + suggestion


def test_unknown_key_without_near_miss_has_no_suggestion(tmp_path):
    problem = only_problem(tmp_path, "name: demo\ncolour: blue\nparts:\n  a: {plugin: nil}\n")
    assert (problem.line, problem.key, problem.message) == (2, "colour", "unknown key")


def test_unknown_plugin_with_suggestion(tmp_path):
    problem = only_problem(tmp_path, "name: demo\nparts:\n  a:\n    plugin: pyhton\n")
    assert (problem.line, problem.key) == (4, "parts.a.plugin")
    assert "unknown plugin 'pyhton'" in problem.message
    assert "python, dump, nil" in problem.message
    assert problem.message.endswith("did you mean python?")


def test_unknown_plugin_without_near_miss(tmp_path):
    problem = only_problem(tmp_path, "name: demo\nparts:\n  a:\n    plugin: frobnicate\n")
    assert "unknown plugin 'frobnicate'" in problem.message
    assert "did you mean" not in problem.message


def test_snapcraft_plugin_refused_by_name(tmp_path):
    problem = only_problem(tmp_path, "name: demo\nparts:\n  a:\n    plugin: go\n")
    assert (problem.line, problem.key) == (4, "parts.a.plugin")
    assert "'go' is a snapcraft plugin partsmith does not support" in problem.message
    assert "python, dump, nil" in problem.message


def test_a_refused_plugin_keys_are_not_also_unknown_keys(tmp_path):
    """The plugin's refusal says it all; its own keys (go-buildtags) are not named again,
    while a typo or another plugin's key still is."""
    problems = problems_of(
        tmp_path,
        """
        name: demo
        parts:
          a:
            plugin: go
            go-buildtags: [netgo]
            go-generate: [./gen]
            colcon-cmake-args: [-DX=1]
          b:
            plugin: rust
            rust-features: [cli]
            sourse: .
        """,
    )
    assert [(p.line, p.key) for p in problems] == [
        (4, "parts.a.plugin"),
        (7, "parts.a.colcon-cmake-args"),
        (9, "parts.b.plugin"),
        (11, "parts.b.sourse"),
    ]
    assert "unknown key" in problems[1].message and "did you mean source?" in problems[3].message


@pytest.mark.parametrize(
    "text, line, key",
    [
        ("name: demo\nname: other\nparts:\n  a: {plugin: nil}\n", 2, "name"),
        ("name: demo\nparts:\n  a:\n    plugin: nil\n    plugin: dump\n", 5, "parts.a.plugin"),
        ("name: demo\nparts:\n  a:\n    plugin: nil\n  a:\n    plugin: nil\n", 5, "parts.a"),
        (
            "name: demo\nparts:\n  a:\n    plugin: nil\n    build-environment: {X: 1, X: 2}\n",
            5,
            "parts.a.build-environment.X",
        ),
    ],
)
def test_duplicate_keys(tmp_path, text, line, key):
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.key, problem.message) == (line, key, "duplicate key")


# -- sources and paths -----------------------------------------------------------------------------


def part_with(line_text: str, plugin: str = "dump") -> str:
    """A workspace whose part `a` (plugin on line 4) has `line_text` on line 5."""
    return f"name: demo\nparts:\n  a:\n    plugin: {plugin}\n    {line_text}\n"


def test_missing_source_folder(tmp_path):
    problem = only_problem(tmp_path, part_with("source: src/nope"))
    assert (problem.line, problem.key) == (5, "parts.a.source")
    assert "'src/nope' is not a folder" in problem.message


def test_source_that_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    problem = only_problem(tmp_path, part_with("source: afile"))
    assert (problem.line, problem.key) == (5, "parts.a.source")
    assert "is not a folder" in problem.message


@pytest.mark.parametrize("source", ["/etc", "..", "../outside", "src/../../outside", "''"])
def test_source_must_stay_inside_the_workspace(tmp_path, source):
    ws_dir = tmp_path / "ws"
    (tmp_path / "outside").mkdir()
    problem = only_problem(ws_dir, part_with(f"source: {source}"), folders=("src",))
    assert (problem.line, problem.key) == (5, "parts.a.source")
    assert "must be a relative path that stays inside its folder" in problem.message


def test_source_symlink_leading_outside_the_workspace(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    (ws_dir / "src").symlink_to(outside)
    problem = only_problem(ws_dir, part_with("source: src"))
    assert (problem.line, problem.key) == (5, "parts.a.source")
    assert "outside the workspace folder through a symbolic link" in problem.message


@pytest.mark.parametrize(
    "mapping, key",
    [
        ("{/usr/bin/x: bin/x}", "parts.a.organize./usr/bin/x"),
        ("{bin/x: /usr/bin/x}", "parts.a.organize.bin/x"),
        ("{../x: bin/x}", "parts.a.organize.../x"),
        ("{bin/x: ../x}", "parts.a.organize.bin/x"),
        ("{bin/x: bin/../../x}", "parts.a.organize.bin/x"),
        ("{'a/../..': x}", "parts.a.organize.a/../.."),
    ],
)
def test_organize_paths_must_stay_inside(tmp_path, mapping, key):
    problem = only_problem(tmp_path, part_with(f"organize: {mapping}", plugin="nil"))
    assert (problem.line, problem.key) == (5, key)
    assert "must be a relative path that stays inside its folder" in problem.message


@pytest.mark.parametrize("fileset", ["stage", "prime"])
@pytest.mark.parametrize("entry", ["/usr/bin", "-/usr/bin", "../x", "-../x", "bin/../../x", "-"])
def test_fileset_paths_must_stay_inside(tmp_path, fileset, entry):
    problem = only_problem(tmp_path, part_with(f"{fileset}: ['*', '{entry}']", plugin="nil"))
    assert (problem.line, problem.key) == (5, f"parts.a.{fileset}")
    expected = (
        "excludes nothing"
        if entry == "-"
        else "must be a relative path that stays inside its folder"
    )
    assert expected in problem.message


def test_python_requirements_must_stay_inside(tmp_path):
    problem = only_problem(
        tmp_path, part_with("python-requirements: [/etc/requirements.txt]", plugin="python")
    )
    assert (problem.line, problem.key) == (5, "parts.a.python-requirements")
    assert "must be a relative path" in problem.message


# -- after -----------------------------------------------------------------------------------------


def test_after_unknown_part(tmp_path):
    problem = only_problem(
        tmp_path,
        """
        name: demo
        parts:
          base:
            plugin: nil
          app:
            plugin: nil
            after: [bsae]
    """,
    )
    assert (problem.line, problem.key) == (7, "parts.app.after")
    assert "no part named 'bsae'" in problem.message
    assert problem.message.endswith("did you mean base?")


def test_after_unknown_part_in_block_list_points_at_its_item(tmp_path):
    problem = only_problem(
        tmp_path,
        """
        name: demo
        parts:
          base:
            plugin: nil
          app:
            plugin: nil
            after:
              - base
              - nope
    """,
    )
    assert problem.key == "parts.app.after"
    assert "no part named 'nope'" in problem.message
    assert problem.line == 9


def test_after_itself(tmp_path):
    problem = only_problem(tmp_path, part_with("after: [a]", plugin="nil"))
    assert (problem.line, problem.key) == (5, "parts.a.after")
    assert "cannot be after itself" in problem.message


def test_after_cycle_of_two(tmp_path):
    problem = only_problem(
        tmp_path,
        """
        name: demo
        parts:
          a:
            plugin: nil
            after: [b]
          b:
            plugin: nil
            after: [a]
    """,
    )
    assert (problem.line, problem.key) == (5, "parts.a.after")  # the line of a's `after:`
    assert problem.message == "cycle: a -> b -> a"


def test_after_cycle_of_three_beside_a_valid_part(tmp_path):
    problem = only_problem(
        tmp_path,
        """
        name: demo
        parts:
          base:
            plugin: nil
          x:
            plugin: nil
            after: [base, y]
          y:
            plugin: nil
            after: [z]
          z:
            plugin: nil
            after: [x]
    """,
    )
    assert problem.key == "parts.x.after"
    assert problem.message == "cycle: x -> y -> z -> x"


# -- plugin-specific rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plugin, key",
    [
        ("dump", "python-packages"),
        ("nil", "python-packages"),
        ("dump", "python-requirements"),
        ("nil", "python-requirements"),
    ],
)
def test_python_keys_only_on_python_parts(tmp_path, plugin, key):
    problem = only_problem(
        tmp_path,
        f"""
        name: demo
        parts:
          a:
            plugin: {plugin}
            source: src
            {key}: [flask]
    """,
        folders=("src",),
    )
    assert (problem.line, problem.key) == (6, f"parts.a.{key}")
    assert problem.message == f"only valid for plugin: python, not {plugin}"


def test_dump_without_source(tmp_path):
    problem = only_problem(
        tmp_path,
        """
        name: demo
        parts:
          a:
            plugin: dump
            stage: ['*']
    """,
    )
    assert problem.key == "parts.a.source"
    assert problem.line in (3, 4)  # the part itself
    assert "required for plugin: dump" in problem.message


@pytest.mark.parametrize("form", ["list", "mapping"])
@pytest.mark.parametrize("name", ["1ABC", "MY-VAR", "A.B", "'A B'", "''"])
def test_invalid_build_environment_names(tmp_path, form, name):
    dash = "- " if form == "list" else ""
    problem = only_problem(
        tmp_path,
        f"""
        name: demo
        parts:
          a:
            plugin: nil
            build-environment:
              {dash}OK: fine
              {dash}{name}: x
    """,
    )
    key_name = name.strip("'")
    assert (problem.line, problem.key) == (7, f"parts.a.build-environment.{key_name}")
    assert problem.message == "not a valid environment variable name"


@pytest.mark.parametrize(
    "value, kind", [("", "nothing"), ("[a]", "a list"), ("{b: c}", "a mapping")]
)
def test_build_environment_values_must_be_scalars(tmp_path, value, kind):
    problem = only_problem(
        tmp_path, part_with(f"build-environment: [{{X: {value}}}]", plugin="nil")
    )
    assert (problem.line, problem.key) == (5, "parts.a.build-environment.X")
    assert f"expected a string value, got {kind}" in problem.message


# -- everything at once ----------------------------------------------------------------------------


def test_all_problems_reported_at_once_sorted_by_line(tmp_path):
    problems = problems_of(
        tmp_path,
        """
        name: Demo
        source-date-epoch: 12
        colour: blue
        parts:
          a:
            plugin: pyhton
            source: /abs
          b:
            plugin: dump
            python-packages: [flask]
            after: [zz]
          c:
            plugin: nil
            build-environment: {BAD-NAME: x}
            stage: ['../up']
    """,
    )
    assert [(p.line, p.key) for p in problems] == [
        (1, "name"),
        (2, "source-date-epoch"),
        (3, "colour"),
        (6, "parts.a.plugin"),
        (7, "parts.a.source"),
        (9, "parts.b.source"),  # dump without source: reported at the part
        (10, "parts.b.python-packages"),
        (11, "parts.b.after"),
        (14, "parts.c.build-environment.BAD-NAME"),
        (15, "parts.c.stage"),
    ]
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    messages = [p.message for p in problems]
    assert "is not a valid name" in messages[0]
    assert "before 1980-01-01" in messages[1]
    assert messages[2] == "unknown key"
    assert "unknown plugin 'pyhton'" in messages[3]
    assert "'/abs' must be a relative path" in messages[4]
    assert "no part named 'zz'" in messages[7]


def test_workspace_error_fields_name_file_line_and_key(tmp_path):
    path = write_workspace(
        tmp_path, "name: demo\ncolour: blue\nsize: 3\nparts:\n  a: {plugin: nil}\n"
    )
    with pytest.raises(WorkspaceError) as info:
        load_workspace(path)
    error = info.value
    assert isinstance(error, PartsmithError)
    assert error.brief == f"cannot load workspace {path}: 2 problems"
    assert error.details.splitlines() == [
        "parts.yaml:2: colour: unknown key",
        "parts.yaml:3: size: unknown key",
    ]
    assert str(path) in error.resolution


# -- the file itself -------------------------------------------------------------------------------


def test_missing_workspace_file(tmp_path):
    path = tmp_path / "nowhere" / "parts.yaml"
    with pytest.raises(PartsmithError) as info:
        load_workspace(path)
    error = info.value
    assert not isinstance(error, WorkspaceError)
    assert error.brief == f"workspace file {path} does not exist"
    assert "workspace=" in error.resolution


def test_workspace_path_that_is_a_folder(tmp_path):
    with pytest.raises(PartsmithError) as info:
        load_workspace(tmp_path)
    assert not isinstance(info.value, WorkspaceError)
    assert str(tmp_path) in info.value.brief
    assert "cannot read" in info.value.brief


def test_workspace_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "parts.yaml"
    path.write_bytes(b"name: d\xe9mo\nparts: {a: {plugin: nil}}\n")
    with pytest.raises(PartsmithError) as info:
        load_workspace(path)
    assert not isinstance(info.value, WorkspaceError)
    assert "cannot read workspace file" in info.value.brief


def test_a_url_of_unknown_type_is_one_problem_naming_it_as_written(tmp_path):
    problem = only_problem(
        tmp_path,
        """
        name: demo
        parts:
          a:
            plugin: dump
            source: https://github.com/foo/bar
        """,
    )
    assert (problem.line, problem.key) == (5, "parts.a.source")
    assert problem.message == (
        "cannot tell what 'https://github.com/foo/bar' is: set source-type: git or tar"
    )


def test_python_packages_dot_is_the_parts_own_project(tmp_path):
    path = write_workspace(
        tmp_path,
        """
        name: demo
        parts:
          a:
            plugin: python
            source: src
            python-packages: [., flask]
        """,
        folders=("src",),
    )
    assert load_workspace(path).parts["a"].python_packages == ("flask",)
