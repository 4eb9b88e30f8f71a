"""The pyc cache (issue 21): a module is compiled once per interpreter for every part, workspace
and rebuild; what comes from the cache is byte for byte what compileall makes."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from helpers.doit_runner import REPO, doit
from helpers.wheels import make_wheel, make_wheelhouse
from helpers.workspaces import make_workspace

from rules.python import compiling
from rules.python.errors import PythonError
from rules.python.pyc_cache import evict_pyc, pyc_entries

PART = """\
name: {name}
python: {{index-url: none, find-links: [wheels]}}
parts:
  {name}: {{plugin: python, python-packages: [alpha==1.0{extra}]}}
"""


def stage(ws: Path, cache: Path) -> None:
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(cache)}
    result = doit("stage", f"workspace={ws}", cwd=ws.parent, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def entries(cache: Path) -> dict[str, int]:
    """The pyc cache's entries and their mtimes: a compiled module adds one, a copy none."""
    return {p.name: p.stat().st_mtime_ns for p in (cache / "pyc").glob("*/*")}


def pycs(ws: Path) -> dict[str, bytes]:
    install = next((ws.parent / "build/parts").iterdir()) / "install"
    return {str(p.relative_to(install)): p.read_bytes() for p in install.rglob("*.pyc")}


def world(root: Path, name: str, extra: str = "") -> Path:
    make_wheelhouse(root / "wheels")
    make_wheel(root / "wheels", "broken", "1.0", {"broken.py": "print 'py2 only'\n"})
    return make_workspace(root, PART.format(name=name, extra=extra))


def test_a_module_is_compiled_once_for_every_part_and_workspace(tmp_path):
    cache = tmp_path / "cache"
    first = world(tmp_path / "one", "first", ", broken==1.0")
    stage(first, cache)
    made = entries(cache)
    compiled = pycs(first)
    assert made and len(made) == len(compiled)  # one entry per module that compiles
    assert not any("broken" in path for path in compiled)  # it does not compile: no .pyc

    # another workspace, another part name, the same modules: every .pyc comes from the cache
    second = world(tmp_path / "two", "second", ", broken==1.0")
    shutil.rmtree(cache / "ac")  # no build result to restore: the build must run
    stage(second, cache)
    assert entries(cache) == made
    assert pycs(second) == compiled

    # a new module: only it is compiled
    make_wheel(tmp_path / "three/wheels", "delta", "0.2", {"delta.py": "NEW = 1\n"})
    third = world(tmp_path / "three", "third", ", delta==0.2")
    stage(third, cache)
    added = set(entries(cache)) - set(made)
    assert len(added) == 1


def test_every_pyc_is_what_compileall_makes_of_the_venv(tmp_path):
    """The driver compiles as compileall does, without compileall's overhead: each .pyc of a
    built venv is byte for byte what `compileall -s <venv> -p / --invalidation-mode
    checked-hash` writes for that source (the path compiled in, the checked-hash header, the
    reference flags of the name it holds), and the sources that do not compile have none."""
    ws = world(tmp_path / "one", "first", ", broken==1.0")
    stage(ws, tmp_path / "cache")
    install = ws.parent / "build/parts/first/install"
    built = pycs(ws)
    copy = tmp_path / "copy"
    shutil.copytree(install, copy, symlinks=True)
    for folder in list(copy.rglob("__pycache__")):
        shutil.rmtree(folder)
    compiled = subprocess.run(
        [str(copy / "bin/python"), "-I", "-S", "-m", "compileall", "-q"]
        + ["--invalidation-mode", "checked-hash", "-s", str(copy), "-p", "/", str(copy / "lib")],
        capture_output=True,
        text=True,
    )
    assert compiled.returncode == 1  # broken.py does not compile, in both
    made = {str(p.relative_to(copy)): p.read_bytes() for p in copy.rglob("*.pyc")}
    assert made == built and len(built) >= 4


def test_a_link_a_build_leaves_in_the_venv_is_never_written_through(tmp_path):
    """Bytecode is written on the host, outside the sandbox: a .pyc name or a __pycache__ folder
    that a script made a symlink (to a host file) is replaced, never followed; a dangling .py
    link is skipped and the other modules still compile."""
    cache = tmp_path / "cache"
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "file").write_text("keep me\n")
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    script = (
        "    override-build: |\n"
        "      craftctl default\n"
        '      site=$(echo "$CRAFT_PART_INSTALL"/lib/python3*/site-packages)\n'
        '      mkdir -p "$site/__pycache__"\n'
        f'      ln -sf {victim}/file "$site/__pycache__/gamma.$(python3 -c "import sys; '
        'print(sys.implementation.cache_tag)").pyc"\n'
        f'      ln -s {victim} "$site/alpha/sub/__pycache__"\n'
        '      ln -s nowhere.py "$site/dangling.py"\n'
    )
    ws = make_workspace(
        root,
        "name: links\npython: {index-url: none, find-links: [wheels]}\nparts:\n  links:\n"
        "    plugin: python\n    python-packages: [alpha==1.0]\n" + script,
    )
    stage(ws, cache)  # cold: every .pyc compiled
    shutil.rmtree(cache / "ac", ignore_errors=True)
    shutil.rmtree(root / "build")
    stage(ws, cache)  # built again: every .pyc from the cache
    assert sorted(os.listdir(victim)) == ["file"]
    assert (victim / "file").read_text() == "keep me\n"
    compiled = pycs(ws)
    assert any(path.endswith(".pyc") and "gamma" in path for path in compiled)
    assert any("deep" in path for path in compiled)  # alpha/sub/deep.py, its __pycache__ real


def test_a_compile_that_fails_fails_the_build_with_its_own_words(tmp_path):
    """The compile runs while the venv is captured: when it fails, the capture waits for it and
    the build fails with the driver's last lines, not a traceback, and nothing is published.
    (Unsealed: sealed, a bin/python the build made is refused before it runs, as below.)"""
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    ws = make_workspace(
        root,
        "name: broken\npython: {index-url: none, find-links: [wheels]}\nparts:\n  broken:\n"
        "    plugin: python\n    python-packages: [alpha==1.0]\n"
        "    override-build: |\n"
        "      craftctl default\n"
        '      rm "$CRAFT_PART_INSTALL/bin/python"\n'
        "      printf '#!/bin/sh\\necho the driver broke >&2\\nexit 3\\n' "
        '> "$CRAFT_PART_INSTALL/bin/python"\n'
        '      chmod +x "$CRAFT_PART_INSTALL/bin/python"\n',
    )
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "cache"), "PARTSMITH_UNSEALED": "1"}
    result = doit("stage", f"workspace={ws}", cwd=ws.parent, env=env)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "compiling the venv's bytecode failed" in out and "the driver broke" in out, out
    assert "Traceback" not in out
    assert not (root / "build/parts/broken/install").exists()


def test_a_sealed_build_never_has_a_python_it_made_run_outside_the_sandbox(tmp_path):
    """The compile runs on this machine, outside the sandbox: a bin/python the build wrote (or
    led to another interpreter, which the key does not name) is refused, never run."""
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    escaped = tmp_path / "escaped"  # what the build's python would write, run outside
    ws = make_workspace(
        root,
        "name: planted\npython: {index-url: none, find-links: [wheels]}\nparts:\n  planted:\n"
        "    plugin: python\n    python-packages: [alpha==1.0]\n"
        "    override-build: |\n"
        "      craftctl default\n"
        '      rm "$CRAFT_PART_INSTALL/bin/python"\n'
        f"      printf '#!/bin/sh\\ntouch {escaped}\\n' > \"$CRAFT_PART_INSTALL/bin/python\"\n"
        '      chmod +x "$CRAFT_PART_INSTALL/bin/python"\n',
    )
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("PARTSMITH_UNSEALED", None)
    result = doit("stage", f"workspace={ws}", cwd=ws.parent, env=env)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in out
    assert "bin/python is not the part's interpreter" in out, out
    assert not escaped.exists()
    assert not (root / "build/parts/planted/install").exists()


def test_a_sealed_build_cannot_give_the_compile_a_standard_library_it_wrote(tmp_path):
    """CPython takes its standard library from the `home` of the pyvenv.cfg beside the python it
    runs as: the compile runs the part's interpreter itself, never the venv's link, so a
    pyvenv.cfg the build pointed at a library it wrote runs nothing of it outside the sandbox."""
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    escaped = tmp_path / "escaped"
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    host = root / "build" / "sandbox" / "home" / "install"  # where the build's files lie
    planted = f'"$CRAFT_PART_INSTALL/evil/lib/{version}/encodings"'
    ws = make_workspace(
        root,
        "name: home\npython: {index-url: none, find-links: [wheels]}\nparts:\n  home:\n"
        "    plugin: python\n    python-packages: [alpha==1.0]\n"
        "    override-build: |\n"
        "      craftctl default\n"
        f'      mkdir -p "$CRAFT_PART_INSTALL/evil/bin" {planted}\n'
        f'      echo \'open("{escaped}", "w").close()\' > {planted}/__init__.py\n'
        f"      touch {planted}/../os.py\n"  # the landmark CPython looks for there
        f"      sed -i 's#^home = .*#home = {host}/evil/bin#' \"$CRAFT_PART_INSTALL/pyvenv.cfg\"\n",
    )
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("PARTSMITH_UNSEALED", None)
    result = doit("stage", f"workspace={ws}", cwd=ws.parent, env=env)
    out = result.stdout + result.stderr
    assert not escaped.exists(), "the build's own library ran outside the sandbox"
    # the compile ran (the part's interpreter) beside the capture, which refuses the output for
    # the host path the build wrote into pyvenv.cfg: a clear error, as for any such output
    assert result.returncode != 0 and "Traceback" not in out
    assert "pyvenv.cfg: holds the sandbox path" in out, out


def test_a_venv_without_its_python_fails_the_build_with_a_clear_error(tmp_path):
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    ws = make_workspace(
        root,
        "name: gone\npython: {index-url: none, find-links: [wheels]}\nparts:\n  gone:\n"
        "    plugin: python\n    python-packages: [alpha==1.0]\n"
        "    override-build: |\n"
        "      craftctl default\n"
        '      rm "$CRAFT_PART_INSTALL/bin/python"\n',
    )
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "cache")}
    result = doit("stage", f"workspace={ws}", cwd=ws.parent, env=env)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in out
    assert "bin/python is not the part's interpreter" in out and "bin/python is missing" in out
    assert "an override-build must leave it the venv's, the part's interpreter" in out


def test_a_compile_left_running_by_a_killed_doit_keeps_the_part_locked(tmp_path):
    """The compile runs outside the sandbox, beside the capture: killed with doit, it would go
    on writing .pyc files into the sandbox of the next run. It holds the part's lock as the
    build script does, so the next run waits for it to end."""
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    started = tmp_path / "compile-started"
    ws = make_workspace(
        root,
        "name: slow\npython: {index-url: none, find-links: [wheels]}\nparts:\n  slow:\n"
        "    plugin: python\n    python-packages: [alpha==1.0]\n"
        "    override-build: |\n"
        "      craftctl default\n"
        '      real=$(readlink -f "$CRAFT_PART_INSTALL/bin/python")\n'
        '      rm "$CRAFT_PART_INSTALL/bin/python"\n'
        f'      printf \'#!/bin/sh\\ntouch {started}\\nsleep 3\\nexec %s "$@"\\n\' "$real" '
        '> "$CRAFT_PART_INSTALL/bin/python"\n'
        '      chmod +x "$CRAFT_PART_INSTALL/bin/python"\n',
    )
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "cache"), "PARTSMITH_UNSEALED": "1"}
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
        command, cwd=ws.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not started.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), "the compile never started"
    first.send_signal(signal.SIGKILL)  # doit alone: its compile goes on, as after a crash
    first.wait()
    result = doit("stage", f"workspace={ws}", cwd=ws.parent, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting for another run" in result.stdout


def test_a_compile_stopped_midway_ends_with_its_workers_and_frees_the_lock(tmp_path, monkeypatch):
    """When the capture beside it fails, the compile is stopped: its driver and the workers it
    forked (all holding the part's lock) end together, so the next run is not kept waiting."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*")) / "site-packages"
    body = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(200))
    for n in range(400):
        (site / f"m{n}.py").write_text(body)
    lock = tmp_path / "lock"
    held = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    monkeypatch.setattr(compiling, "cores_per_task", lambda: 2)  # a driver with workers
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "cache")}
    running = compiling.compile_venv(venv, Path(sys.executable), env, keep_open=(held,))
    time.sleep(0.5)
    assert running.process.poll() is None  # still compiling
    running.stop()
    os.close(held)
    assert_freed(lock)


def assert_freed(lock: Path) -> None:
    """The lock can be taken within 5 s: no process of a stopped compile holds it."""
    other = os.open(lock, os.O_RDWR)
    deadline = time.monotonic() + 5
    try:
        while True:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                assert time.monotonic() < deadline, "a process of the stopped compile holds it"
                time.sleep(0.05)
    finally:
        os.close(other)


SLOW = "".join(f"def f{i}(x):\n    return [x + {i} for _ in range(3)]\n" for i in range(1500))


def a_venv(tmp_path: Path, folders: list[str], modules: int, last: str = "") -> Path:
    """A venv whose site-packages holds `folders`, each with `modules` small modules and, when
    `last` is given, a module z.py of that text (sorted last in its folder)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*")) / "site-packages"
    for name in folders:
        (site / name).mkdir()
        for m in range(modules):
            (site / name / f"m{m:02}.py").write_text(f"VALUE = {m}\n")
        if last:
            (site / name / "z.py").write_text(last)
    return venv


def test_the_driver_reports_each_folder_once_all_its_bytecode_is_written(tmp_path, monkeypatch):
    """The capture takes a `__pycache__` folder as soon as the driver reports it: at that moment
    every module of the folder must have its .pyc. Each folder's sources span two of the
    workers' batches (16 sources each), its last one slow to compile, so a report sent early
    finds it missing; one folder's name holds a newline (reports end with a NUL); nothing
    inside a `__pycache__` folder is compiled (as compileall); every folder with modules is
    reported once."""
    names = [f"pkg{p}" for p in range(6)] + ["odd\nlib"]
    venv = a_venv(tmp_path, names, 20, last=SLOW)
    site = next(venv.glob("lib/python*")) / "site-packages"
    (site / "pkg3" / "old.py").write_text("print 'py2 only'\n")  # never compiles: no .pyc
    (site / "pkg1" / "__pycache__").mkdir()
    (site / "pkg1" / "__pycache__" / "stray.py").write_text("X = 1\n")
    monkeypatch.setattr(compiling, "cores_per_task", lambda: 2)
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "cache")}
    running = compiling.compile_venv(venv, Path(sys.executable), env)
    tag, reported = sys.implementation.cache_tag, []
    try:
        for prefix in running.finished():
            folder = venv / prefix
            modules = {p.stem for p in folder.glob("*.py")} - {"old"}
            written = set(os.listdir(folder / "__pycache__")) - {"stray.py"}
            assert written == {f"{m}.{tag}.pyc" for m in modules}, prefix
            reported.append(prefix)
    finally:
        running.stop()
    assert sorted(reported) == sorted(str((site / n).relative_to(venv)) + "/" for n in names)
    assert not (site / "pkg1" / "__pycache__" / "__pycache__").exists()


def test_waiting_for_the_compile_reads_every_report(tmp_path, monkeypatch):
    """organize waits for the compile without taking its reports: they must still be read, or
    a venv with more folders than its pipe holds would leave the driver waiting for ever."""
    venv = a_venv(tmp_path, [f"p{n:04}" + "x" * 150 for n in range(700)], 1)
    monkeypatch.setattr(compiling, "_report_pipe", os.pipe)  # 64 KiB: ~400 such reports
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "cache")}
    running = compiling.compile_venv(venv, Path(sys.executable), env)
    waiting = threading.Thread(target=running.wait, daemon=True)
    waiting.start()
    waiting.join(120)
    alive = waiting.is_alive()
    running.stop()
    assert not alive, "wait() never returned: the driver is stuck on a full pipe"


def test_a_driver_killed_alone_ends_the_capture_and_frees_the_lock(tmp_path, monkeypatch):
    """Killed alone (the OOM killer), the driver leaves its workers orphaned: the reports must
    still end (the workers do not hold the pipe), the capture fail with a clear error, and
    `stop` end the workers, which hold the part's lock."""
    venv = a_venv(tmp_path, [f"pkg{p}" for p in range(30)], 3, last=SLOW)
    lock = tmp_path / "lock"
    held = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    monkeypatch.setattr(compiling, "cores_per_task", lambda: 2)
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "cache")}
    running = compiling.compile_venv(venv, Path(sys.executable), env, keep_open=(held,))
    os.close(held)
    outcome: list[BaseException | None] = []

    def capture() -> None:
        try:
            for n, _ in enumerate(running.finished()):
                if n == 0:
                    os.kill(running.process.pid, signal.SIGKILL)  # the driver alone
            outcome.append(None)
        except BaseException as err:
            outcome.append(err)

    taking = threading.Thread(target=capture, daemon=True)
    taking.start()
    taking.join(60)
    assert not taking.is_alive(), "the capture never ended: the reports never ended"
    assert isinstance(outcome[0], PythonError), outcome
    running.stop()
    assert_freed(lock)


# -- bounded with the store: `doit cache`, `doit cache-trim`, $PARTSMITH_CACHE_MAX_SIZE -----------


def store_bytes(cache: Path) -> int:
    blobs = [p for p in (cache / "cas").glob("*/*") if not p.name.endswith(".tmp")]
    return sum(p.stat().st_size for p in [*blobs, *(cache / "ac").glob("*.json")])


def pyc_bytes(cache: Path, names: list[str] | set[str]) -> int:
    return sum((cache / "pyc" / name[:2] / name).stat().st_size for name in names)


def age(cache: Path, names: list[str], days: int) -> None:
    then = time.time() - days * 86400
    for name in names:
        os.utime(cache / "pyc" / name[:2] / name, (then, then))


def test_cache_trim_evicts_the_least_recently_used_pyc_entries_and_a_rebuild_is_the_same(tmp_path):
    cache = tmp_path / "cache"
    ws = world(tmp_path / "one", "first")
    stage(ws, cache)
    made, compiled = entries(cache), pycs(ws)
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(cache)}
    shown = doit("cache", f"workspace={ws}", cwd=ws.parent, env=env).stdout
    assert f"pyc cache {cache / 'pyc'}: " in shown and f" in {len(made)} entries" in shown

    names = sorted(made)
    old, recent = names[: len(names) // 2], names[len(names) // 2 :]
    assert old and recent
    age(cache, old, 3)  # used before the results (built now): they go first, and only they
    age(cache, recent, 2)
    limit = store_bytes(cache) + pyc_bytes(cache, recent)
    env["PARTSMITH_CACHE_MAX_SIZE"] = str(limit)
    trimmed = doit("cache-trim", f"workspace={ws}", cwd=ws.parent, env=env)
    assert trimmed.returncode == 0, trimmed.stdout + trimmed.stderr
    assert f"cache-trim: evicted 0 results and {len(old)} pyc entries" in trimmed.stdout
    assert sorted(entries(cache)) == recent
    assert store_bytes(cache) + pyc_bytes(cache, recent) <= limit

    # built again (no result to restore): the evicted modules compiled, the others copied, and
    # touched (used now), the .pyc files byte for byte the same
    shutil.rmtree(cache / "ac")
    shutil.rmtree(ws.parent / "build")
    stage(ws, cache)
    assert pycs(ws) == compiled
    now = entries(cache)
    assert sorted(now) == names
    assert all(now[name] > (time.time() - 3600) * 1e9 for name in names)


def test_the_trim_after_a_stage_counts_the_pyc_cache_inside_the_bound(tmp_path):
    cache = tmp_path / "cache"
    ws = world(tmp_path / "one", "first")
    stage(ws, cache)
    names = sorted(entries(cache))
    age(cache, names, 3)
    env = {
        **os.environ,
        "PARTSMITH_CACHE_DIR": str(cache),
        "PARTSMITH_CACHE_MAX_SIZE": str(store_bytes(cache)),
    }
    done = doit("stage", f"workspace={ws}", cwd=ws.parent, env=env)  # nothing to build
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"partsmith: cache: evicted 0 least recently used results and {len(names)} pyc entries"
        in done.stdout
    )
    assert entries(cache) == {}
    shown = doit("cache", f"workspace={ws}", cwd=ws.parent, env=env).stdout
    assert " in 0 entries" in shown and "in 0 results" not in shown


def test_a_build_while_a_trim_evicts_its_entries_makes_the_same_bytes(tmp_path, monkeypatch):
    """An entry unlinked while the driver reads it is read whole; one gone before is a miss,
    compiled again: never a failed build, never other bytes."""
    cache = tmp_path / "cache"
    ws = world(tmp_path / "one", "first")
    stage(ws, cache)
    compiled = pycs(ws)
    monkeypatch.setenv("PARTSMITH_CACHE_DIR", str(cache))
    stop = threading.Event()

    def evict() -> None:
        while not stop.is_set():
            shown = pyc_entries()
            evict_pyc(shown[len(shown) // 2 :])  # some gone, some read: both paths
            time.sleep(0.005)

    trimmer = threading.Thread(target=evict)
    trimmer.start()
    try:
        for _ in range(2):
            shutil.rmtree(cache / "ac")
            shutil.rmtree(ws.parent / "build")
            stage(ws, cache)
            assert pycs(ws) == compiled
    finally:
        stop.set()
        trimmer.join()
