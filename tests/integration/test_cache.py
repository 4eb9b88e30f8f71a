"""The action cache: keys, the store, restores, explain, bounds and crash safety."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.doit_runner import REPO, doit, killed_after
from helpers.workspaces import make_workspace, snapshot

from rules.build import key_record as keys
from rules.core.hashing import digest
from rules.python import records as pullrecord
from rules.workspace.loader import load_workspace

CHAIN = """\
name: chain
source-date-epoch: 1591640328
parts:
  base:
    plugin: dump
    source: base
  top:
    plugin: nil
    after: [base]
    build-environment: [{GREETING: hello}]
    override-build: |
      echo run >> "$COUNTER"
      cp "$CRAFT_STAGE/lib.txt" "$CRAFT_PART_INSTALL/copy.txt"
      echo "$GREETING" > "$CRAFT_PART_INSTALL/greeting"
"""


def chain(root: Path, counter: Path) -> Path:
    text = CHAIN.replace("[{GREETING: hello}]", f'[{{GREETING: hello}}, {{COUNTER: "{counter}"}}]')
    return make_workspace(root, text, {"base/lib.txt": "v1", "base/bin/tool": "#!/bin/sh\n"})


def runs(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def build_key(ws: Path, part: str = "base") -> str:
    return digest(keys.build_record(load_workspace(ws), part)[0])


def stage(ws: Path, *extra: str, env=None):
    result = doit("stage", *extra, f"workspace={ws}", cwd=ws.parent, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# -- the key ---------------------------------------------------------------------------------------


def test_the_key_follows_every_input_and_nothing_else(tmp_path, monkeypatch):
    ws = chain(tmp_path / "ws", tmp_path / "counts" / "counter")
    stage(ws)
    base, top = build_key(ws), build_key(ws, "top")

    os.utime(ws.parent / "base/lib.txt", (1, 1))  # an mtime-only touch
    monkeypatch.setenv("PIP_INDEX_URL", "http://nowhere")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert (build_key(ws), build_key(ws, "top")) == (base, top)
    shutil.copytree(ws.parent, tmp_path / "elsewhere" / "deeper", symlinks=True)
    moved = tmp_path / "elsewhere" / "deeper" / "parts.yaml"
    assert build_key(moved) == base  # the checkout path is not an input (top's names the counter)

    def changed(edit, part="base") -> bool:
        edit()
        try:
            return build_key(ws, part) != (base if part == "base" else top)
        finally:
            stage(ws)

    assert changed(lambda: (ws.parent / "base/lib.txt").write_text("v2"))
    assert changed(lambda: (ws.parent / "base/new").write_text("n"))
    assert changed(lambda: os.chmod(ws.parent / "base/lib.txt", 0o755))
    assert changed(
        lambda: ws.write_text(ws.read_text().replace("GREETING: hello", "GREETING: bye")), "top"
    )
    assert changed(
        lambda: ws.write_text(
            ws.read_text().replace("source-date-epoch: 1591640328", "source-date-epoch: 1591640329")
        )
    )
    base = build_key(ws)
    assert changed(lambda: monkeypatch.setattr(pullrecord, "uv_version", lambda: "0.0"))


def test_a_dependency_s_output_is_part_of_the_key(tmp_path):
    ws = chain(tmp_path / "ws", tmp_path / "counts" / "counter")
    stage(ws)
    top = build_key(ws, "top")
    (ws.parent / "base/lib.txt").write_text("v2")
    stage(ws)
    assert build_key(ws, "top") != top


# -- restore ---------------------------------------------------------------------------------------


def test_a_wiped_build_root_and_a_fresh_checkout_restore_without_running(tmp_path):
    counter = tmp_path / "counts" / "counter"
    ws = chain(tmp_path / "ws", counter)
    stage(ws)
    before = {
        p: snapshot(ws.parent / "build" / p)
        for p in ("parts/base/install", "parts/top/install", "stage")
    }
    assert runs(counter) == 1

    shutil.rmtree(ws.parent / "build")
    result = stage(ws)
    assert "build:base: restored" in result.stdout and "build:top: restored" in result.stdout
    assert "partsmith: parts 0 built, 2 restored, 0 up to date" in result.stdout
    assert runs(counter) == 1
    assert {p: snapshot(ws.parent / "build" / p) for p in before} == before

    other = tmp_path / "checkout2"
    shutil.copytree(ws.parent, other, symlinks=True, ignore=shutil.ignore_patterns("build"))
    result = stage(other / "parts.yaml")
    assert "build:base: restored" in result.stdout and runs(counter) == 1


def test_reverting_an_edit_restores_the_earlier_result(tmp_path):
    counter = tmp_path / "counts" / "counter"
    ws = chain(tmp_path / "ws", counter)
    stage(ws)
    (ws.parent / "base/lib.txt").write_text("v2")
    stage(ws)
    assert runs(counter) == 2
    (ws.parent / "base/lib.txt").write_text("v1")
    result = stage(ws)
    assert "build:top: restored" in result.stdout and runs(counter) == 2
    assert (ws.parent / "build/stage/copy.txt").read_text() == "v1"


def blobs(cache: Path) -> list[Path]:
    return [p for p in (cache / "cas").glob("*/*") if not p.name.endswith(".tmp")]


def test_a_corrupt_blob_is_never_restored_and_is_healed(tmp_path):
    counter = tmp_path / "counts" / "counter"
    ws = chain(tmp_path / "ws", counter)
    stage(ws)
    cache = Path(os.environ["PARTSMITH_CACHE_DIR"])
    lib = hashlib.sha256(b"v1").hexdigest()
    blob = cache / "cas" / lib[:2] / lib
    os.chmod(blob, 0o644)
    blob.write_bytes(b"v9")
    shutil.rmtree(ws.parent / "build")
    result = stage(ws)
    assert "build:base: built" in result.stdout  # the corrupt blob counted as missing
    assert (ws.parent / "build/stage/copy.txt").read_text() == "v1"
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == lib  # stored again, good bytes


def test_edits_in_stage_or_install_never_reach_a_cached_blob(tmp_path):
    ws = chain(tmp_path / "ws", tmp_path / "counts" / "counter")
    stage(ws)
    for path in (ws.parent / "build/stage/lib.txt", ws.parent / "build/parts/base/install/lib.txt"):
        with open(path, "w") as stream:
            stream.write("edited")
    cache = Path(os.environ["PARTSMITH_CACHE_DIR"])
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == p.name for p in blobs(cache))


# -- explain -------------------------------------------------------------------------------------


def test_explain_names_what_changed(tmp_path):
    ws = chain(tmp_path / "ws", tmp_path / "counts" / "counter")
    stage(ws)

    def explained(part):
        return doit(f"explain:{part}", f"workspace={ws}", cwd=ws.parent).stdout

    assert "explain:base: up to date" in explained("base")

    (ws.parent / "base/lib.txt").write_text("v2")
    (ws.parent / "base/added").write_text("a")
    os.unlink(ws.parent / "base/bin/tool")
    out = explained("base")
    assert "source files added: added" in out
    assert "source files removed: bin/tool" in out
    assert "source files changed: lib.txt" in out
    assert "after part base would rebuild first" in explained("top")

    ws.write_text(
        ws.read_text().replace("GREETING: hello", "GREETING: bye").replace("echo run", "echo again")
    )
    out = explained("top")
    assert "build-environment variable GREETING: value changed" in out
    assert "config override-build:" in out
    stage(ws)
    (ws.parent / "base/lib.txt").write_text("v1")
    assert doit("build:base", f"workspace={ws}", cwd=ws.parent).returncode == 0
    assert "after part base: its staged output changed" in explained("top")


def test_explain_names_a_toolchain_change(tmp_path):
    ws = chain(tmp_path / "ws", tmp_path / "counts" / "counter")
    stage(ws)
    part = ws.parent / "build/parts/base"
    recorded = json.loads((part / "record.json").read_text())
    recorded["record"]["toolchain"]["uv"] = "0.12.0"
    recorded["key"] = "0" * 64  # as if an older uv had made it
    (part / "record.json").write_text(json.dumps(recorded))
    result = json.loads((part / "result.json").read_text())
    (part / "result.json").write_text(json.dumps({**result, "key": "0" * 64}))
    out = doit("explain:base", f"workspace={ws}", cwd=ws.parent).stdout
    assert "toolchain uv: 0.12.0 -> 0.13.9" in out


# -- a bounded cache, the summary ------------------------------------------------------------------


def test_cache_shows_its_size_and_last_run_and_stays_within_its_bound(tmp_path):
    ws = chain(tmp_path / "ws", tmp_path / "counts" / "counter")
    stage(ws)
    shutil.rmtree(ws.parent / "build")
    stage(ws)
    shown = doit("cache", f"workspace={ws}", cwd=ws.parent).stdout
    assert "in 2 results and" in shown and "last run: 2 restored, 0 built (hit rate 100%)" in shown

    for version in range(3):  # results nobody uses any more pile up...
        (ws.parent / "base/lib.txt").write_text("x" * 4000 + str(version))
        stage(ws)
    cache = Path(os.environ["PARTSMITH_CACHE_DIR"])
    env = {**os.environ, "PARTSMITH_CACHE_MAX_SIZE": "12K"}
    assert (
        "partsmith: cache: evicted" in stage(ws, env=env).stdout
    )  # ...until a bound is set: the oldest go
    trimmed = doit("cache-trim", f"workspace={ws}", cwd=ws.parent, env=env)
    assert trimmed.returncode == 0 and "evicted" in trimmed.stdout
    size = sum(p.stat().st_size for p in blobs(cache)) + sum(
        p.stat().st_size for p in (cache / "ac").glob("*.json")
    )
    assert size <= 12 * 1024
    shutil.rmtree(ws.parent / "build")
    assert "2 restored" in stage(ws).stdout  # the newest results survived


def test_cache_trim_without_a_bound_is_a_clear_error(tmp_path):
    ws = chain(tmp_path / "ws", tmp_path / "counts" / "counter")
    env = {k: v for k, v in os.environ.items() if k != "PARTSMITH_CACHE_MAX_SIZE"}
    result = doit("cache-trim", f"workspace={ws}", cwd=ws.parent, env=env)
    assert result.returncode == 1 and "PARTSMITH_CACHE_MAX_SIZE" in result.stdout
    env["PARTSMITH_CACHE_MAX_SIZE"] = "lots"
    result = doit("stage", f"workspace={ws}", cwd=ws.parent, env=env)  # refused before any task
    assert (
        result.returncode == 3
        and "is not a size" in result.stderr
        and "Traceback" not in result.stderr
    )
    assert not (ws.parent / "build" / "parts").exists()


# -- several processes, crashes --------------------------------------------------------------------


def test_three_workspaces_share_one_store_at_once(tmp_path):
    files = {f"big/f{i}": f"file {i}\n" * 50 for i in range(300)}
    workspaces = [
        make_workspace(
            tmp_path / f"ws{n}", "name: s\nparts:\n  big: {plugin: dump, source: big}\n", files
        )
        for n in range(3)
    ]
    command = [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "-n", "2", "stage"]
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
    outputs = [process.communicate(timeout=300)[0] for process in running]
    assert [process.returncode for process in running] == [0, 0, 0], outputs
    stages = [snapshot(ws.parent / "build/stage") for ws in workspaces]
    assert stages[0] == stages[1] == stages[2] and len(stages[0]) == 300
    cache = Path(os.environ["PARTSMITH_CACHE_DIR"])
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == p.name for p in blobs(cache))


@pytest.mark.parametrize("delay", [0.25, 0.5, 0.75, 1.0, 1.25])
def test_kill_9_at_any_moment_leaves_nothing_a_later_run_trusts(tmp_path, delay):
    files = {
        f"big/d{i % 10}/f{i}": f"content {i}\n" * 200 for i in range(3000)
    }  # about 1.5 s of work
    text = (
        "name: k\nparts:\n  big: {plugin: dump, source: big}\n"
        "  after: {plugin: nil, after: [big], "
        "override-build: 'cp -r $CRAFT_STAGE/d1 $CRAFT_PART_INSTALL/'}\n"
    )
    clean = make_workspace(tmp_path / "clean", text, files)
    stage(clean, env={**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "clean-cache")})
    expected = snapshot(clean.parent / "build/stage")

    ws = make_workspace(tmp_path / "ws", text, files)
    killed_after(delay, "stage", f"workspace={ws}", cwd=tmp_path)  # mid-action or mid-write
    stage(ws)
    assert snapshot(ws.parent / "build/stage") == expected
    cache = Path(os.environ["PARTSMITH_CACHE_DIR"])
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == p.name for p in blobs(cache))


def test_stage_updates_only_what_changed_and_repairs_edits_by_hand(tmp_path):
    files = {f"d/f{i}": f"{i}\n" for i in range(20)}
    ws = make_workspace(
        tmp_path / "ws",
        "name: inc\nparts:\n  d: {plugin: dump, source: d}\n",
        {**{k.replace("d/", "d/sub/"): v for k, v in files.items()}, "d/gone": "g"},
    )
    stage(ws)
    staged = ws.parent / "build/stage"
    install = ws.parent / "build/parts/d/install"
    (ws.parent / "d/sub/f3").write_text("new\n")
    os.unlink(ws.parent / "d/gone")
    (ws.parent / "d/added").write_text("a")
    (staged / "sub/f7").write_text("edited by hand")  # through the link: the old install's file
    stage(ws)
    for path in (staged / "sub").iterdir():  # every staged file is the rebuilt install's file
        assert path.stat().st_ino == (install / "sub" / path.name).stat().st_ino
    assert (staged / "sub/f7").read_text() == "7\n" and (staged / "sub/f3").read_text() == "new\n"
    fresh = make_workspace(tmp_path / "fresh", ws.read_text(), {})
    shutil.copytree(ws.parent / "d", fresh.parent / "d")
    stage(fresh)
    assert snapshot(staged) == snapshot(fresh.parent / "build/stage")


# -- found by review: nothing edited by hand, or mid-build, may reach the cache ------------------


def test_an_after_part_edited_by_hand_never_reaches_a_dependent_or_the_cache(tmp_path):
    ws = chain(tmp_path / "ws", tmp_path / "counts" / "counter")
    stage(ws)
    (ws.parent / "build/parts/base/install/lib.txt").write_text("HANDEDIT")
    ws.write_text(ws.read_text().replace("echo run", "echo again"))  # top must build
    result = doit("stage", f"workspace={ws}", cwd=ws.parent)
    assert result.returncode == 1 and "Traceback" not in result.stdout
    assert "lib.txt was changed: part 'base''s output was changed by hand" in result.stdout
    assert doit("clean", "build:base", f"workspace={ws}", cwd=ws.parent).returncode == 0
    stage(ws)
    assert (ws.parent / "build/stage/copy.txt").read_text() == "v1"


def test_a_source_changed_during_its_build_is_not_stored_under_the_old_key(tmp_path):
    src = tmp_path / "ws" / "src"
    ws = make_workspace(
        tmp_path / "ws",
        f"""\
        name: race
        parts:
          p:
            plugin: dump
            source: src
            override-build: |
              craftctl default
              echo new > "{src}/a.txt"
        """,
        {"src/a.txt": "old\n"},
    )
    # sealed, the build cannot see the checkout; unsealed (the opt-out), it can write into it
    unsealed = {**os.environ, "PARTSMITH_UNSEALED": "1"}
    result = doit("stage", f"workspace={ws}", cwd=ws.parent, env=unsealed)
    assert result.returncode == 1 and "its source changed while it was being built" in result.stdout
    assert not (ws.parent / "build/parts/p/result.json").exists()
    assert not list((Path(os.environ["PARTSMITH_CACHE_DIR"]) / "ac").glob("*.json"))


def test_store_writers_share_the_store_lock_and_a_trim_waits_for_them(tmp_path):
    """`doit -n N` stores the outputs of parts built at once at once; cache-trim, which deletes
    blobs no result names yet, waits until no writer is between its first blob and its result."""
    from rules.cache.store import Store

    store = Store(tmp_path / "store")
    code = (
        "import sys; from pathlib import Path; from rules.cache.store import Store\n"
        "with getattr(Store(Path(sys.argv[1])), sys.argv[2])(): print('in', flush=True)"
    )

    def other(which: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", code, str(store.root), which],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )

    with store.writing():
        assert other("writing").communicate(timeout=60)[0] == "in\n"
        trim = other("trimming")
        time.sleep(0.5)
        assert trim.poll() is None  # still waiting for this writer
    assert trim.communicate(timeout=60)[0] == "in\n"


def test_a_new_wheel_in_a_find_links_folder_is_a_new_pull(tmp_path):
    from helpers.wheels import make_wheel

    root = tmp_path / "ws"
    make_wheel(root / "wheels", "demo", "1.0", {"demo.py": "V = 1\n"})
    ws = make_workspace(
        root,
        """\
        name: links
        python: {index-url: none, find-links: [wheels]}
        parts:
          py: {plugin: python, python-packages: [demo]}
        """,
    )
    assert "demo==1.0" in stage(ws).stdout
    make_wheel(root / "wheels", "demo", "2.0", {"demo.py": "V = 2\n"})
    assert "demo==2.0" in stage(ws).stdout


def test_stage_update_never_follows_a_symlink_made_by_hand_and_drops_extra_files(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_text("not ours")
    ws = make_workspace(
        tmp_path / "ws",
        "name: s\nparts:\n  d: {plugin: dump, source: d}\n",
        {"d/lib/x.txt": "x", "d/other": "o"},
    )
    stage(ws)
    staged = ws.parent / "build/stage"
    shutil.rmtree(staged / "lib")
    os.symlink(outside, staged / "lib")
    (staged / "EXTRA").write_text("extra")
    (ws.parent / "d/other").write_text("o2")
    stage(ws)
    assert (outside / "x.txt").read_text() == "not ours"
    assert not (staged / "lib").is_symlink() and (staged / "lib/x.txt").read_text() == "x"
    assert not (staged / "EXTRA").exists()


def test_damaged_action_results_are_misses(tmp_path):
    counter = tmp_path / "counts" / "counter"
    ws = chain(tmp_path / "ws", counter)
    stage(ws)
    cache = Path(os.environ["PARTSMITH_CACHE_DIR"])
    for number, result in enumerate(sorted((cache / "ac").glob("*.json"))):
        data = json.loads(result.read_text())
        data["tree"] = [] if number == 0 else {"../../escape": {"kind": "symlink", "target": "x"}}
        result.write_text(json.dumps(data))
    shutil.rmtree(ws.parent / "build")
    result = stage(ws)
    assert "parts 2 built, 0 restored" in result.stdout and runs(counter) == 2
    assert not (ws.parent.parent / "escape").exists()


def test_two_doit_processes_on_one_workspace_agree(tmp_path):
    files = {f"big/f{i}": f"{i}\n" * 100 for i in range(500)}
    ws = make_workspace(
        tmp_path / "ws", "name: two\nparts:\n  big: {plugin: dump, source: big}\n", files
    )
    command = [
        sys.executable,
        "-m",
        "doit",
        "-f",
        str(REPO / "dodo.py"),
        "stage",
        f"workspace={ws}",
    ]
    running = [
        subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300)[0] for process in running]
    assert [process.returncode for process in running] == [0, 0], outputs
    assert len(snapshot(ws.parent / "build/stage")) == 500
