"""Snapcraft's advanced grammar (on/to/else) in stage-packages, build-packages, source and
python-packages, resolved at load time for the machine's architecture."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rules.core.machine import DEB_ARCH
from rules.workspace.errors import WorkspaceError
from rules.workspace.loader import load_workspace

HERE = DEB_ARCH  # partsmith builds on and for the machine it runs on
OTHER = "s390x" if DEB_ARCH != "s390x" else "amd64"


def snapcraft_file(root: Path, text: str) -> Path:
    (root / "snap").mkdir(parents=True, exist_ok=True)
    for folder in ("src-here", "src-other"):
        (root / folder).mkdir(exist_ok=True)
    path = root / "snap" / "snapcraft.yaml"
    path.write_text(
        textwrap.dedent(text).lstrip("\n").replace("HERE", HERE).replace("OTHER", OTHER)
    )
    return path


def problems(root: Path, text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(WorkspaceError) as failed:
        load_workspace(snapcraft_file(root, text))
    return [(p.line, p.key, p.message) for p in failed.value.problems]


def test_on_to_and_else_pick_what_applies_on_this_machine(tmp_path):
    part = load_workspace(
        snapcraft_file(
            tmp_path,
            """
        name: demo
        base: core22
        parts:
          app:
            plugin: python
            source:
              - on OTHER: src-other
              - else: src-here
            python-packages:
              - flask
              - on HERE: [click]
              - on OTHER: [never]
            stage-packages:
              - libyaml-0-2
              - to HERE: [libssl3]
              - on OTHER: [libother]
              - else: [libfallback]
              - on HERE to HERE:
                  - libboth
                  - on OTHER: [nested-never]
                  - else: [nested]
              - on OTHER to HERE: [cross-never]
              - on HERE,OTHER: [several-never]
            build-packages:
              - on OTHER: [gcc-other]
        """,
        )
    ).parts["app"]
    assert part.source == "src-here"
    assert part.python_packages == ("flask", "click")
    assert part.stage_packages == ("libyaml-0-2", "libssl3", "libfallback", "libboth", "nested")
    assert part.build_packages == ()


def test_a_source_no_statement_gives_is_not_written_and_dump_says_it_needs_one(tmp_path):
    found = problems(
        tmp_path,
        """
        name: demo
        parts:
          files:
            plugin: dump
            source:
              - on OTHER: src-other
        """,
    )
    assert found == [(4, "parts.files.source", "required for plugin: dump (the folder to copy)")]


def test_else_fail_stops_when_nothing_above_applies(tmp_path):
    found = problems(
        tmp_path,
        """
        name: demo
        parts:
          app:
            plugin: nil
            stage-packages:
              - on HERE: [fine]
              - else fail
              - on OTHER: [libother]
              - else fail
        """,
    )
    assert found == [
        (
            9,
            "parts.app.stage-packages",
            f"no statement above applies on {HERE}, and `else fail` says one must",
        )
    ]


def test_malformed_statements_are_named_with_their_line_also_where_they_do_not_apply(tmp_path):
    found = problems(
        tmp_path,
        """
        name: demo
        parts:
          app:
            plugin: nil
            stage-packages:
              - else: [orphan]
              - on: [no-arch]
              - on amd65: [typo]
              - on HERE: [a]
                to HERE: [b]
              - try: [old]
              - on HERE: {not: a-list}
              - on OTHER:
                  - on mips: [inside-a-branch-not-taken]
        """,
    )
    lines = [(line, key) for line, key, _ in found]
    assert lines == [
        (6, "parts.app.stage-packages"),
        (7, "parts.app.stage-packages"),
        (8, "parts.app.stage-packages"),
        (9, "parts.app.stage-packages"),
        (11, "parts.app.stage-packages"),
        (12, "parts.app.stage-packages"),
        (14, "parts.app.stage-packages"),
    ]
    messages = [message for _, _, message in found]
    assert messages[0] == "`else` must follow an `on` or `to` statement"
    assert messages[1].startswith(
        "a boolean ('on') is not a statement partsmith supports: write `on ARCH`"
    )
    assert messages[2].startswith("'amd65' is not a Debian architecture: one of amd64, arm64")
    assert messages[2].endswith("did you mean amd64?")
    assert "a mapping of one key" in messages[3] and "got 2 keys" in messages[3]
    assert messages[4].startswith("'try' is not a statement partsmith supports")
    assert messages[5] == "a statement's body is a list or a value, got a mapping"
    assert messages[6].startswith("'mips' is not a Debian architecture")


def test_a_plain_list_keeps_its_old_messages(tmp_path):
    found = problems(
        tmp_path,
        """
        name: demo
        parts:
          app:
            plugin: nil
            source: [src-here]
        """,
    )
    assert found == [(5, "parts.app.source", "expected a string, got a list")]
