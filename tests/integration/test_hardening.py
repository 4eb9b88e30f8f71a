"""Regression tests from a review: what a build must never touch, and up-to-date checks that
must see every change. Each runs doit as a user does."""

import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from helpers.doit_runner import REPO, doit
from helpers.workspaces import make_workspace, snapshot


def nil_part(script: str, name: str = "w") -> str:
    indented = "".join(f"      {line}\n" for line in script.strip().splitlines())
    return f"name: {name}\nparts:\n  p:\n    plugin: nil\n    override-build: |\n{indented}"


def assert_refused(result, *phrases):
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "Traceback" not in out
    for phrase in phrases:
        assert phrase in out


def test_an_install_folder_replaced_by_a_symlink_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret").write_text("s")
    os.chmod(victim / "secret", 0o600)
    before = snapshot(victim)
    ws = make_workspace(
        tmp_path / "ws",
        nil_part(f'rmdir "$CRAFT_PART_INSTALL"\nln -s {victim} "$CRAFT_PART_INSTALL"'),
    )
    assert_refused(doit("stage", f"workspace={ws}", cwd=tmp_path), "not a folder")
    assert snapshot(victim) == before


def test_organize_never_reads_or_writes_through_a_symlinked_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("k")
    before = snapshot(outside)
    for organize, refused in (("{'lib/*': stolen/}", False), ("{data.txt: lib/data.txt}", True)):
        ws = make_workspace(
            tmp_path / "ws",
            nil_part(
                f'ln -s {outside} "$CRAFT_PART_INSTALL/lib"\n'
                'echo d > "$CRAFT_PART_INSTALL/data.txt"'
            )
            + f"    organize: {organize}\n",
        )
        result = doit("stage", f"workspace={ws}", cwd=tmp_path)
        if refused:  # writing through the link
            assert_refused(result, "organize")
        else:  # the link is an entry, never a way in: its glob matches nothing, so nothing moves
            assert result.returncode == 0, result.stdout + result.stderr
            assert "organize: nothing matches 'lib/*'" in result.stdout
            assert not (ws.parent / "build/stage/stolen").exists()
        assert snapshot(outside) == before


def test_hard_links_in_an_output_leave_the_linked_file_alone(tmp_path):
    key = tmp_path / "id_key"
    key.write_text("private")
    os.chmod(key, 0o600)
    before = os.stat(key)
    ws = make_workspace(tmp_path / "ws", nil_part(f'ln {key} "$CRAFT_PART_INSTALL/id_key"'))
    # sealed, the build cannot see the key at all; unsealed (the opt-out), it can link it
    unsealed = {**os.environ, "PARTSMITH_UNSEALED": "1"}
    result = doit("stage", f"workspace={ws}", cwd=tmp_path, env=unsealed)
    assert result.returncode == 0, result.stdout + result.stderr
    after = os.stat(key)
    assert (stat.S_IMODE(after.st_mode), after.st_mtime_ns) == (0o600, before.st_mtime_ns)
    assert stat.S_IMODE(os.stat(tmp_path / "ws/build/stage/id_key").st_mode) == 0o644
    key.write_text("changed later")
    assert (tmp_path / "ws/build/parts/p/install/id_key").read_text() == "private"


@pytest.mark.parametrize("sealed", [True, False], ids=["sealed", "unsealed"])
def test_a_build_left_running_by_a_killed_doit_cannot_spoil_the_next_run(tmp_path, sealed):
    """Sealed, the build dies with doit (bwrap --die-with-parent); unsealed, it may outlive it,
    and holds the part's lock until it ends: the next run waits for it."""
    slow = 'for i in 1 2 3 4 5 6; do touch "$CRAFT_PART_INSTALL/stale-$i"; sleep 0.5; done'
    ws = make_workspace(tmp_path / "ws", nil_part(slow))
    env = {**os.environ, **({} if sealed else {"PARTSMITH_UNSEALED": "1"})}
    command = [
        sys.executable,
        "-m",
        "doit",
        "-f",
        str(REPO / "dodo.py"),
        "stage",
        f"workspace={ws}",
    ]
    first = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    deadline = time.monotonic() + 30
    while (
        not (tmp_path / "ws/build/sandbox/p/install/stale-1").exists()
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    ws.write_text(nil_part('echo fresh > "$CRAFT_PART_INSTALL/fresh"'))
    result = doit("stage", f"workspace={ws}", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    if not sealed:  # sealed, it may still be dying when the next run starts: no assertion
        assert "waiting for another run" in result.stdout
    assert sorted(os.listdir(tmp_path / "ws/build/stage")) == ["fresh"]


def test_read_only_folders_left_in_the_sandbox_do_not_block_the_part(tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        nil_part(
            'mkdir -p "$HOME/cache/mod" && touch "$HOME/cache/mod/f" '
            '&& chmod -R a-w "$HOME/cache"\n'
            'echo ok > "$CRAFT_PART_INSTALL/ok"'
        ),
        {"src/sub/f": "x"},
    )
    for _ in range(2):
        result = doit("-a", "stage", f"workspace={ws}", cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr


def built_runs(result) -> list[str]:
    return [line.split()[-1] for line in result.stdout.splitlines() if line.startswith(".  ")]


def test_a_new_epoch_restages_with_the_new_mtimes(tmp_path):
    ws = make_workspace(
        tmp_path,
        "name: e\nsource-date-epoch: 1591640328\nparts:\n  d: {plugin: dump, source: d}\n",
        {"d/f": "x"},
    )
    assert doit("stage", "workspace=parts.yaml", cwd=tmp_path).returncode == 0
    ws.write_text(ws.read_text().replace("1591640328", "1700000000"))
    result = doit("stage", "workspace=parts.yaml", cwd=tmp_path)
    assert built_runs(result) == ["build:d", "stage"]
    assert os.stat(tmp_path / "build/stage/f").st_mtime == 1700000000


def test_chmod_plus_x_on_a_source_file_rebuilds(tmp_path):
    make_workspace(
        tmp_path, "name: m\nparts:\n  d: {plugin: dump, source: d}\n", {"d/tool": "#!/bin/sh\n"}
    )
    assert doit("stage", "workspace=parts.yaml", cwd=tmp_path).returncode == 0
    os.chmod(tmp_path / "d/tool", 0o755)
    result = doit("stage", "workspace=parts.yaml", cwd=tmp_path)
    assert built_runs(result) == ["build:d", "stage"]
    assert os.stat(tmp_path / "build/stage/tool").st_mode & 0o111


def test_new_bytes_with_the_old_mtime_rebuild(tmp_path):
    make_workspace(tmp_path, "name: t\nparts:\n  d: {plugin: dump, source: d}\n", {"d/f": "v1"})
    os.utime(tmp_path / "d/f", (1000000000, 1000000000))
    assert doit("stage", "workspace=parts.yaml", cwd=tmp_path).returncode == 0
    (tmp_path / "d/f").write_text("v2")  # same size, same mtime: only the content and ctime differ
    os.utime(tmp_path / "d/f", (1000000000, 1000000000))
    result = doit("stage", "workspace=parts.yaml", cwd=tmp_path)
    assert built_runs(result) == ["build:d", "stage"]
    assert (tmp_path / "build/stage/f").read_text() == "v2"


def test_reaching_the_workspace_through_a_symlink_rebuilds_nothing(tmp_path):
    make_workspace(
        tmp_path / "real", "name: l\nparts:\n  d: {plugin: dump, source: d}\n", {"d/f": "x"}
    )
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert doit("stage", f"workspace={tmp_path / 'real/parts.yaml'}", cwd=tmp_path).returncode == 0
    result = doit("stage", f"workspace={tmp_path / 'link/parts.yaml'}", cwd=tmp_path)
    assert result.returncode == 0 and built_runs(result) == []


def test_the_action_sees_no_checkout_path_umask_or_mtime(tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        nil_part(
            'stat -c "%a %Y" "$CRAFT_PART_SRC/f" "$HOME" "$TMPDIR" "$CRAFT_PART_BUILD" '
            '> "$CRAFT_PART_INSTALL/stat"\n'
            'ls -A "$CRAFT_PROJECT_DIR" > "$CRAFT_PART_INSTALL/project"'
        )
        + "    source: src\n",
        {"src/f": "x"},
    )
    os.chmod(tmp_path / "ws/src/f", 0o600)
    os.utime(tmp_path / "ws/src/f", (1234567890, 1234567890))
    result = doit("stage", f"workspace={ws}", cwd=tmp_path, umask=0o077)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (tmp_path / "ws/build/stage/stat").read_text().splitlines()
    assert lines[0] == "644 315532800"
    assert [line.split()[0] for line in lines[1:]] == ["755", "755", "755"]
    assert (tmp_path / "ws/build/stage/project").read_text() == ""


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "name: big\nsource-date-epoch: 99999999999999999999\nparts:\n  p: {plugin: nil}\n",
            "is after 2106",
        ),
        ("name: inside\nparts:\n  p: {plugin: dump, source: build/x}\n", "lies in the build root"),
        ("name: up\nbuild-root: ..\nparts:\n  p: {plugin: nil}\n", "holds the workspace folder"),
        (
            "name: tag\nbogus: 1\nparts:\n  p: {plugin: !!python/name:os.system nil}\n",
            "bogus: unknown key",
        ),
    ],
)
def test_workspace_mistakes_found_at_load_time(tmp_path, text, expected):
    (tmp_path / "build" / "x").mkdir(parents=True)
    make_workspace(tmp_path, text)
    assert_refused(doit("stage", "workspace=parts.yaml", cwd=tmp_path), expected)


def test_a_file_where_the_build_root_goes_is_a_clean_error(tmp_path):
    make_workspace(tmp_path, "name: f\nparts:\n  p: {plugin: nil}\n", {"build": "not a folder"})
    assert_refused(
        doit("stage", "workspace=parts.yaml", cwd=tmp_path), "cannot prepare the build root"
    )


def test_a_fifo_in_a_source_is_a_clean_error(tmp_path):
    make_workspace(tmp_path, "name: f\nparts:\n  d: {plugin: dump, source: d}\n", {"d/f": "x"})
    os.mkfifo(tmp_path / "d" / "pipe")
    assert_refused(
        doit("stage", "workspace=parts.yaml", cwd=tmp_path),
        "not files, folders or symlinks",
        "pipe",
    )


def test_yaml_merge_keys_work(tmp_path):
    make_workspace(
        tmp_path,
        """\
        name: merge
        parts:
          a: &common {plugin: dump, source: d, stage: [a-only]}
          b: {<<: *common, stage: [b]}
        """,
        {"d/a-only": "1", "d/b": "2"},
    )
    result = doit("stage", "workspace=parts.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(os.listdir(tmp_path / "build/stage")) == ["a-only", "b"]


def test_an_install_changed_by_hand_names_the_part_to_rebuild(tmp_path):
    make_workspace(
        tmp_path,
        """\
        name: hand
        parts:
          base: {plugin: dump, source: base}
          top: {plugin: dump, source: top, after: [base], override-build: craftctl default}
        """,
        {"base/etc/conf": "c", "top/bin/run": "r"},
    )  # a script: it gets $CRAFT_STAGE from base
    assert doit("stage", "workspace=parts.yaml", cwd=tmp_path).returncode == 0
    os.unlink(tmp_path / "build/parts/base/install/etc/conf")
    (tmp_path / "top/bin/run").write_text("r2")
    assert_refused(
        doit("stage", "workspace=parts.yaml", cwd=tmp_path),
        "part 'base''s output was changed by hand",
        "doit clean build:base",
    )
    assert doit("clean", "build:base", "workspace=parts.yaml", cwd=tmp_path).returncode == 0
    result = doit("stage", "workspace=parts.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "build/stage/etc/conf").read_text() == "c"


@pytest.mark.parametrize("damage", ["[]", '{"a.txt": 1', '{"a.txt": {"size": 1}}'])
def test_a_damaged_tree_file_names_the_part_and_the_way_back(tmp_path, damage):
    ws = make_workspace(
        tmp_path / "ws",
        "name: w\nparts:\n  base: {plugin: dump, source: base}\n"
        "  top:\n    plugin: dump\n    source: top\n    after: [base]\n",
        {"base/a.txt": "a\n", "top/t.txt": "t\n"},
    )
    assert doit("stage", f"workspace={ws}", cwd=tmp_path).returncode == 0
    (tmp_path / "ws/top/t.txt").write_text("edited\n")  # top's build reads base's Tree
    (tmp_path / "ws/build/parts/base/tree.json").write_text(damage)
    assert_refused(
        doit("stage", f"workspace={ws}", cwd=tmp_path),
        "base/tree.json is damaged",
        "doit clean build:base",
    )
    assert doit("clean", "build:base", f"workspace={ws}", cwd=tmp_path).returncode == 0
    result = doit("stage", f"workspace={ws}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "ws/build/stage/t.txt").read_text() == "edited\n"
