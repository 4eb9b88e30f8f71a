"""Integration: run doit as a user does (subprocess, exit code, output, files on disk)."""

import os
import shutil
import stat
import subprocess
import sys

import pytest
from helpers.doit_runner import REPO, doit
from helpers.workspaces import make_workspace, snapshot

TWO_DUMPS = """\
name: merge
source-date-epoch: 1591640328
parts:
  one: {plugin: dump, source: one}
  two: {plugin: dump, source: two}
"""


def assert_clean_failure(result, code=1):
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.network  # its python parts pull from PyPI
def test_default_workspace_stages_and_its_app_runs(tmp_path):
    shutil.copytree(
        REPO / "workspace", tmp_path / "ws", ignore=shutil.ignore_patterns("build"), symlinks=True
    )
    result = doit("stage", "workspace=ws/parts.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stage: " in result.stdout
    stage = tmp_path / "ws" / "build" / "stage"
    hello = subprocess.run([stage / "bin" / "hello"], capture_output=True, text=True)
    assert hello.stdout == "hello\n"
    assert (stage / "etc" / "demo" / "greeting.conf").is_file()  # organize
    assert not (stage / "share" / "doc").exists()  # stage fileset excludes it
    assert (stage / "VERSION").read_text() == "1.0\n"  # shipped by two parts, merged
    assert os.readlink(stage / "bin" / "hi") == "hello"


def test_identical_files_merge(tmp_path):
    files = {"one/same.txt": "x", "one/only-one": "1", "two/same.txt": "x", "two/only-two": "2"}
    make_workspace(tmp_path, TWO_DUMPS, files)
    result = doit("stage", "workspace=parts.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / "build" / "stage")) == ["only-one", "only-two", "same.txt"]


def test_divergent_files_fail_listing_every_path_and_leave_stage_untouched(tmp_path):
    make_workspace(
        tmp_path,
        TWO_DUMPS + "  three: {plugin: dump, source: three}\n",
        {
            "one/ok": "ok",
            "two/ok": "ok",
            "three/ok": "ok",
        },
    )
    assert doit("stage", "workspace=parts.yaml", cwd=tmp_path).returncode == 0
    before = snapshot(tmp_path / "build" / "stage")

    files = {
        "one/content": "one",
        "two/content": "two!",
        "three/content": "three",
        "one/mode": "m",
        "two/mode": "m",
        "one/link": "->a",
        "two/link": "->b",
        "one/kind": "a file",
        "two/kind/inner": "in a folder",
    }
    make_workspace(tmp_path, (tmp_path / "parts.yaml").read_text(), files)
    os.chmod(tmp_path / "two" / "mode", 0o755)
    result = doit("stage", "workspace=parts.yaml", cwd=tmp_path)

    assert_clean_failure(result)
    out = result.stdout + result.stderr
    assert "stage failed: 4 paths differ between parts" in out
    for line in (
        "content: one vs two: bytes differ: 3 bytes",
        "content: one vs three:",
        "content: three vs two:",
        "mode: one vs two: mode differs: not executable vs executable",
        "link: one vs two: link target differs: a vs b",
        "kind: one vs two: regular file, 6 bytes",
    ):
        assert line in out
    assert "stage" in out and "organize" in out  # the hint
    assert snapshot(tmp_path / "build" / "stage") == before


def test_stage_fileset_resolves_a_conflict(tmp_path):
    make_workspace(
        tmp_path,
        TWO_DUMPS.replace("source: two}", "source: two, stage: ['*', '-clash']}"),
        {"one/clash": "1", "two/clash": "2", "two/other": "o"},
    )
    result = doit("stage", "workspace=parts.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "build" / "stage" / "clash").read_text() == "1"
    assert (tmp_path / "build" / "stage" / "other").exists()


HERMETIC = """\
name: hermetic
source-date-epoch: 1591640328
parts:
  files: {plugin: dump, source: files}
  probe:
    plugin: nil
    after: [files]
    override-build: |
      out="$CRAFT_PART_INSTALL"
      date -d "@$SOURCE_DATE_EPOCH" > "$out/date"
      printf 'b\\nB\\na\\n_\\n' | sort > "$out/sorted"
      echo "pip=${PIP_INDEX_URL:-unset} pythonpath=${PYTHONPATH:-unset} \
lang=${LANG:-unset}" > "$out/vars"
      python3 -c 'print(hash("partsmith"))' > "$out/hash"
      mkdir "$out/made"; touch "$out/made/new"; stat -c '%a' "$out/made/new" > "$out/mode"
      echo "$HOME" | sed "s|${CRAFT_PART_INSTALL%/install}|SANDBOX|" > "$out/home"
      cp "$CRAFT_STAGE/data" "$out/copied"
"""


def hostile_env() -> dict:
    env = os.environ.copy()
    env.update(
        {
            "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
            "PIP_REQUIRE_VIRTUALENV": "1",
            "PYTHONPATH": "/nonexistent",
            "PYTHONHASHSEED": "123",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "tr_TR.UTF-8",
            "LC_ALL": "de_DE.UTF-8",
            "TZ": "Asia/Tokyo",
            "HOME": "/nonexistent",
        }
    )
    return env


def test_hostile_caller_and_another_path_change_no_output_byte(tmp_path):
    files = {"files/data": "payload\n", "files/bin/tool": "#!/bin/sh\n"}
    calm = make_workspace(tmp_path / "calm", HERMETIC, files)
    hostile = make_workspace(tmp_path / "elsewhere" / "deeper" / "hostile", HERMETIC, files)
    os.chmod(tmp_path / "calm" / "files" / "bin" / "tool", 0o755)
    os.chmod(tmp_path / "elsewhere" / "deeper" / "hostile" / "files" / "bin" / "tool", 0o700)

    assert doit("stage", f"workspace={calm}", cwd=tmp_path).returncode == 0
    result = doit("stage", f"workspace={hostile}", cwd=tmp_path, env=hostile_env(), umask=0o077)
    assert result.returncode == 0, result.stdout + result.stderr

    calm_stage = snapshot(tmp_path / "calm" / "build" / "stage")
    assert calm_stage == snapshot(hostile.parent / "build" / "stage")
    stage = tmp_path / "calm" / "build" / "stage"
    assert (stage / "vars").read_text() == "pip=unset pythonpath=unset lang=unset\n"
    assert (stage / "date").read_text() == "Mon Jun  8 18:18:48 UTC 2020\n"
    assert (stage / "mode").read_text() == "644\n"
    assert (stage / "home").read_text() == "SANDBOX/home\n"
    assert calm_stage["bin/tool"][2] == oct(stat.S_IFREG | 0o755)


def test_a_failing_build_names_the_part_and_keeps_what_was_built(tmp_path):
    workspace = make_workspace(
        tmp_path,
        """\
        name: fails
        parts:
          good: {plugin: dump, source: good}
          flaky:
            plugin: nil
            override-build: echo built > "$CRAFT_PART_INSTALL/out"
        """,
        {"good/file": "g"},
    )
    assert doit("stage", "workspace=parts.yaml", cwd=tmp_path).returncode == 0
    before = {
        p: snapshot(tmp_path / "build" / p)
        for p in ("stage", "parts/flaky/install", "parts/good/install")
    }

    workspace.write_text(
        workspace.read_text().replace(
            'echo built > "$CRAFT_PART_INSTALL/out"', '"echo starting; echo oops >&2; exit 3"'
        )
    )
    workspace.write_text(
        workspace.read_text()
        .replace('override-build: "echo', "override-build: |\n      echo")
        .replace('; echo oops >&2; exit 3"', "\n      echo oops >&2\n      exit 3")
    )
    result = doit("stage", "workspace=parts.yaml", cwd=tmp_path)

    assert_clean_failure(result)
    out = result.stdout + result.stderr
    assert "part 'flaky': build script failed with exit status 3" in out
    assert "starting" in out and "oops" in out
    assert {p: snapshot(tmp_path / "build" / p) for p in before} == before


def test_broken_workspace_fails_before_any_task_and_touches_no_outputs(tmp_path):
    good = make_workspace(tmp_path / "good", TWO_DUMPS, {"one/a": "a", "two/b": "b"})
    assert doit("stage", f"workspace={good}", cwd=tmp_path).returncode == 0
    before = snapshot(tmp_path / "good" / "build")

    broken = make_workspace(
        tmp_path / "broken",
        """\
        name: broken
        parts:
          app:
            plugin: dump
            source: missing
            python-package: [flask]
            after: [nobody]
        """,
    )
    result = doit("stage", f"workspace={broken}", cwd=tmp_path)
    assert_clean_failure(result, code=3)
    for expected in (
        "parts.yaml:5: parts.app.source: 'missing' is not a folder",
        "parts.yaml:6: parts.app.python-package: unknown key; did you mean python-packages?",
        "parts.yaml:7: parts.app.after: no part named 'nobody'",
    ):
        assert expected in result.stderr
    assert not (tmp_path / "broken" / "build" / "parts").exists()

    good.write_text(
        good.read_text() + "  three: {plugin: dump, source: one, organize: [oops]}\n"
    )  # break it too
    result = doit("stage", f"workspace={good}", cwd=tmp_path)
    assert_clean_failure(result, code=3)
    assert "parts.three.organize: expected a mapping" in result.stderr
    assert snapshot(tmp_path / "good" / "build") == before


def test_noop_rerun_and_after_parts_rebuild_when_their_output_changes(tmp_path):
    make_workspace(
        tmp_path,
        """\
        name: chain
        parts:
          base: {plugin: dump, source: base}
          top:
            plugin: nil
            after: [base]
            override-build: cp "$CRAFT_STAGE/lib.txt" "$CRAFT_PART_INSTALL/copy.txt"
          alone: {plugin: nil}
        """,
        {"base/lib.txt": "v1"},
    )
    assert doit("stage", "workspace=parts.yaml", cwd=tmp_path).returncode == 0

    rerun = doit("stage", "workspace=parts.yaml", cwd=tmp_path)
    assert rerun.returncode == 0
    lines = rerun.stdout.splitlines()
    assert all(line.startswith("-- ") for line in lines[:-1]), rerun.stdout
    assert lines[-1].startswith(
        "partsmith: parts 0 built, 0 restored, 3 up to date; 2 entries staged;"
    )

    (tmp_path / "base" / "lib.txt").write_text("v2")
    changed = doit("stage", "workspace=parts.yaml", cwd=tmp_path)
    assert changed.returncode == 0
    assert ".  build:base" in changed.stdout and ".  build:top" in changed.stdout
    assert "-- build:alone" in changed.stdout
    assert (tmp_path / "build" / "stage" / "copy.txt").read_text() == "v2"


def test_parallel_build_from_another_folder_with_source_dot(tmp_path):
    ws = make_workspace(
        tmp_path / "project",
        """\
        name: par
        parts:
          whole: {plugin: dump, source: ., stage: ['-parts.yaml', '-sub']}
          a: {plugin: nil, override-build: 'echo a > "$CRAFT_PART_INSTALL/a"'}
          b: {plugin: nil, override-build: 'echo b > "$CRAFT_PART_INSTALL/b"'}
        """,
        {"sub/x": "x", "top.txt": "t"},
    )
    assert doit("stage", f"workspace={ws}", cwd=tmp_path).returncode == 0
    result = doit(
        "-n", "2", "stage", "prime", f"workspace={ws}", cwd=tmp_path
    )  # build root inside source: not copied
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(os.listdir(tmp_path / "project" / "build" / "stage")) == ["a", "b", "top.txt"]
    assert sorted(os.listdir(tmp_path / "project" / "build" / "parts" / "whole" / "install")) == [
        "parts.yaml",
        "sub",
        "top.txt",
    ]


def test_prime_applies_the_prime_fileset(tmp_path):
    make_workspace(
        tmp_path,
        TWO_DUMPS.replace("source: one}", "source: one, prime: ['-docs']}"),
        {"one/docs/x": "d", "one/bin/run": "r", "two/lib/l": "l"},
    )
    result = doit("prime", "workspace=parts.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    prime = snapshot(tmp_path / "build" / "prime")
    assert set(prime) == {"bin", "bin/run", "lib", "lib/l"}
    assert "docs/x" in snapshot(tmp_path / "build" / "stage")


def test_list_shows_tasks_with_docs_and_clean_removes_outputs(tmp_path):
    make_workspace(tmp_path, TWO_DUMPS, {"one/a": "a", "two/b": "b"})
    listed = doit("list", "--all", "workspace=parts.yaml", cwd=tmp_path)
    assert listed.returncode == 0
    for task in ("build:one", "build:two", "pull:one", "stage", "prime"):
        assert any(
            line.split()[0] == task and len(line.split()) > 1 for line in listed.stdout.splitlines()
        ), task
    assert doit("stage", "workspace=parts.yaml", cwd=tmp_path).returncode == 0
    assert doit("clean", "workspace=parts.yaml", cwd=tmp_path).returncode == 0
    assert (
        not (tmp_path / "build" / "stage").exists()
        and not (tmp_path / "build" / "parts" / "one").exists()
    )


def test_two_doit_processes_on_different_workspaces_run_at_once(tmp_path):
    meet = tmp_path / "counts"  # the folder sealed builds may write (conftest)
    # each build announces itself, then waits for the other: both succeed only if they overlap
    script = (
        'touch "$MEET/$ME"; '
        'for i in $(seq 300); do [ -e "$MEET/$OTHER" ] && break; sleep 0.1; done; '
        '[ -e "$MEET/$OTHER" ]; echo done > "$CRAFT_PART_INSTALL/done"'
    )
    workspaces = []
    for me, other in (("first", "second"), ("second", "first")):
        workspaces.append(
            make_workspace(
                tmp_path / me,
                f"""\
            name: {me}
            parts:
              p:
                plugin: nil
                build-environment: [{{MEET: "{meet}"}}, {{ME: {me}}}, {{OTHER: {other}}}]
                override-build: '{script}'
            """,
            )
        )
    command = [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "stage"]
    running = [
        subprocess.Popen(
            command + [f"workspace={ws}"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for ws in workspaces
    ]
    outputs = [process.communicate(timeout=120)[0] for process in running]
    assert [process.returncode for process in running] == [0, 0], outputs
    for ws in workspaces:
        assert (ws.parent / "build" / "stage" / "done").read_text() == "done\n"
        assert (ws.parent / "build" / ".doit.db").is_file()
