"""`doit lock` and locked pulls: PEP 751 locks beside the workspace that pull follows exactly.

Everything runs offline in tmp_path (local find-links folders, or a wheelhouse served over HTTP on
127.0.0.1), with the tiny wheels and in-tree backends of helpers/wheels.py.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import textwrap
import threading
import tomllib
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.doit_runner import DODO, doit
from helpers.wheels import make_project, make_wheel, make_wheelhouse
from helpers.workspaces import make_workspace, snapshot

TWO_PARTS = """\
name: locked
source-date-epoch: 1591640328
python:
  index-url: none
  find-links: [wheels]
parts:
  first:
    plugin: python
    python-packages: [alpha==1.0, gamma]
  second:
    plugin: python
    python-packages: [alpha==1.0, delta]
"""


# -- helpers ---------------------------------------------------------------------------------------


def run(workspace: Path, *args: str):
    """doit ARGS on `workspace`, from the folder above it (so paths in messages are relative)."""
    return doit(*args, f"workspace={workspace}", cwd=workspace.parent)


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def refused(result):
    """A failure as the contract wants it: non-zero, no traceback; returns everything printed."""
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "Traceback" not in out, out
    return out


def lock_file(workspace: Path, part: str) -> Path:
    return workspace.parent / "parts.lock" / f"pylock.{part}.toml"


def read_lock(workspace: Path, part: str) -> dict:
    return tomllib.loads(lock_file(workspace, part).read_text())


def locked_versions(workspace: Path, part: str) -> dict[str, str]:
    return {p["name"]: p["version"] for p in read_lock(workspace, part)["packages"]}


def pulled(workspace: Path, part: str) -> dict:
    return json.loads((workspace.parent / "build/parts" / part / "pulled/pulled.json").read_text())


def pulled_pins(workspace: Path, part: str) -> list[str]:
    return [f"{w['name']}=={w['version']}" for w in pulled(workspace, part)["wheels"]]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def site_packages(root: Path) -> Path:
    return next(root.glob("lib/python*/site-packages"))


def pin_by_hand(workspace: Path, part: str, package: str, wheel: Path) -> None:
    """Edit the part's lock as a user would: point `package` at another wheel, sha256 kept right."""
    path = lock_file(workspace, part)
    version = wheel.name.split("-")[1]
    entry = (
        f'name = "{package}"\nversion = "{version}"\n'
        f'wheels = [{{ name = "{wheel.name}", path = "../wheels/{wheel.name}", '
        f"size = {wheel.stat().st_size}, "
        f'hashes = {{ sha256 = "{sha256(wheel)}" }} }}]\n'
    )
    text, count = re.subn(
        rf'name = "{package}"\nversion = "[^"]*"\nwheels = \[.*\]\n', entry, path.read_text()
    )
    assert count == 1
    path.write_text(text)


@pytest.fixture
def workspace(tmp_path) -> Path:
    """Two parts sharing alpha (-> beta -> gamma); gamma exists in 3.0 and an older 2.5."""
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    make_wheel(
        root / "wheels",
        "gamma",
        "2.5",
        {"gamma.py": "def upper(word):\n    return word.upper() + ' (2.5)'\n"},
    )
    return make_workspace(root, TWO_PARTS)


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder (a directory listing is an HTML find-links page) and counts GETs per path."""

    counts: Counter

    def do_GET(self):
        self.counts[self.path] += 1
        super().do_GET()

    def log_message(self, *args):
        pass


@contextmanager
def served(folder: Path):
    counts: Counter = Counter()
    handler = type("Handler", (CountingHandler,), {"counts": counts})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", counts
    finally:
        server.shutdown()
        server.server_close()


# A backend that counts its wheel builds in a file outside the sandbox (builds are hermetic: the
# path comes from the project's own `counter_path.txt`), asks for what `dynamic.txt` lists at
# build time (PEP 517 get_requires_for_build_wheel), and imports those helpers while building.
COUNTING_BACKEND = """
import json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
import backend_base


def _dynamic():
    return open("dynamic.txt").read().split() if os.path.exists("dynamic.txt") else []


def get_requires_for_build_wheel(config_settings=None):
    return _dynamic()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    marks = [__import__(name).MARK for name in _dynamic()]  # fails if the helper is not installed
    if marks:
        with open("built_with.py", "w") as out:
            out.write(f"MARKS = {marks!r}\\n")
    if os.path.exists("counter_path.txt"):
        with open(open("counter_path.txt").read().strip(), "a") as counter:
            counter.write("build_wheel\\n")
    return backend_base.build_wheel(wheel_directory, config_settings, metadata_directory)
"""


def make_counted_project(
    folder: Path, counter: Path | None, dynamic: list[str], static: list[str]
) -> Path:
    """A project `tool` (console script, needs delta) whose backend counts and may ask for more."""
    modules = {"tool_cli.py": "import delta\n\ndef main():\n    print('tool uses', delta.NAME)\n"}
    if dynamic:
        modules["built_with.py"] = (
            "MARKS = []\n"  # listed in project.json; rewritten by build_wheel
        )
    make_project(
        folder, "tool", requires=["delta"], scripts={"tool": "tool_cli:main"}, modules=modules
    )
    (folder / "backend_base.py").write_text((folder / "backend.py").read_text())
    (folder / "backend.py").write_text(COUNTING_BACKEND)
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("requires = []", f"requires = {json.dumps(static)}")
    )
    if counter is not None:
        (folder / "counter_path.txt").write_text(str(counter))
    if dynamic:
        (folder / "dynamic.txt").write_text("\n".join(dynamic) + "\n")
    return folder


def builds(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


SDIST_BACKEND = '''
"""Builds the wheel with the current time in every zip member: normalization must undo it."""
import base64, hashlib, os, time, zipfile

FILES = {"sdonly.py": "VALUE = 'built from an sdist'\\n",
         "sdonly-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: sdonly\\nVersion: 1.0\\n",
         "sdonly-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\n\
Root-Is-Purelib: true\\nTag: py3-none-any\\n"}


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "sdonly-1.0-py3-none-any.whl"
    rows = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, text in FILES.items():
            archive.writestr(zipfile.ZipInfo(path, time.localtime()[:6]), text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())\
.rstrip(b"=").decode()
            rows.append(f"{path},sha256={digest},{len(text.encode())}")
        rows.append("sdonly-1.0.dist-info/RECORD,,")
        archive.writestr(zipfile.ZipInfo("sdonly-1.0.dist-info/RECORD", time.localtime()[:6]), \
"\\n".join(rows) + "\\n")
    return name
'''


def make_sdist(folder: Path, counter: Path) -> Path:
    """sdonly-1.0.tar.gz: `sdonly-1.0/` with PKG-INFO and an in-tree backend that counts its
    builds in `counter`; depends on nothing."""
    counting = f"\n    open({str(counter)!r}, 'a').write('build_wheel\\n')\n"
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: sdonly\nVersion: 1.0\n",
        "pyproject.toml": textwrap.dedent("""\
            [build-system]
            requires = []
            build-backend = "sdist_backend"
            backend-path = ["."]

            [project]
            name = "sdonly"
            version = "1.0"
            dependencies = []
            """),
        "sdist_backend.py": SDIST_BACKEND.replace(
            "metadata_directory=None):\n", "metadata_directory=None):" + counting, 1
        ),
    }
    return write_sdist(folder, "sdonly-1.0", files)


def write_sdist(folder: Path, base: str, files: dict[str, str]) -> Path:
    """folder/<base>.tar.gz holding `files` below `<base>/`, at a fixed time, mode 0644."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{base}/{name}")
            info.size, info.mtime, info.mode = len(data), 315532800, 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


# -- writing locks ---------------------------------------------------------------------------------


def test_lock_writes_one_pep751_lock_per_part_with_paths_relative_to_the_lock(workspace):
    """Each part gets parts.lock/pylock.<part>.toml: every package with one file, its size and
    sha256 matching the wheel, the local path relative to the lock folder, and the inputs."""
    result = ok(run(workspace, "lock"))
    assert "lock:first: wrote 3 packages to" in result.stdout
    assert "lock:second: wrote 4 packages to" in result.stdout
    assert sorted(p.name for p in (workspace.parent / "parts.lock").iterdir()) == [
        "pylock.first.toml",
        "pylock.second.toml",
    ]

    lock = read_lock(workspace, "first")
    assert lock["lock-version"] == "1.0"
    assert [(p["name"], p["version"]) for p in lock["packages"]] == [
        ("alpha", "1.0"),
        ("beta", "2.0"),
        ("gamma", "3.0"),
    ]
    for package in lock["packages"]:
        (wheel,) = package["wheels"]
        local = workspace.parent / "wheels" / wheel["name"]
        assert wheel["path"] == f"../wheels/{wheel['name']}"
        assert (
            wheel["hashes"] == {"sha256": sha256(local)} and wheel["size"] == local.stat().st_size
        )
    inputs = lock["tool"]["partsmith"]["inputs"]
    assert inputs["python-packages"] == ["alpha==1.0", "gamma"]
    assert inputs["index-url"] == "none" and inputs["find-links"] == ["$WORKSPACE/wheels"]
    assert inputs["python"].startswith("CPython 3.")
    text = lock_file(workspace, "first").read_text()
    assert str(workspace.parent) not in text  # no checkout path: the lock is committed
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d", text)  # no timestamp


def test_locking_again_changes_no_byte_and_says_up_to_date(workspace):
    """A second `doit lock` with nothing changed rewrites nothing (bytes and mtime kept)."""
    ok(run(workspace, "lock"))
    before = {
        part: (
            lock_file(workspace, part).read_bytes(),
            lock_file(workspace, part).stat().st_mtime_ns,
        )
        for part in ("first", "second")
    }
    again = ok(run(workspace, "lock"))
    assert "lock:first: up to date, 3 packages in" in again.stdout
    assert "lock:second: up to date, 4 packages in" in again.stdout
    assert "wrote" not in again.stdout
    after = {
        part: (
            lock_file(workspace, part).read_bytes(),
            lock_file(workspace, part).stat().st_mtime_ns,
        )
        for part in ("first", "second")
    }
    assert after == before


def test_a_lock_does_not_depend_on_the_checkout_path(workspace, tmp_path):
    """A committed lock is up to date in any checkout: locking a copy elsewhere changes no byte."""
    ok(run(workspace, "lock"))
    other = tmp_path / "another" / "checkout"
    shutil.copytree(workspace.parent, other)
    again = ok(run(other / "parts.yaml", "lock"))
    assert "lock:first: up to date" in again.stdout and "lock:second: up to date" in again.stdout
    assert (
        lock_file(other / "parts.yaml", "first").read_bytes()
        == lock_file(workspace, "first").read_bytes()
    )


def test_relocking_a_changed_part_keeps_its_other_versions(workspace):
    """Adding delta to `first` adds delta; gamma stays at its locked 3.0 although 3.1 appeared."""
    ok(run(workspace, "lock"))
    make_wheel(workspace.parent / "wheels", "gamma", "3.1", {"gamma.py": ""})
    workspace.write_text(
        workspace.read_text().replace("[alpha==1.0, gamma]", "[alpha==1.0, gamma, delta]")
    )
    result = ok(run(workspace, "lock"))
    assert (
        "lock:first: wrote 4 packages to parts.lock/pylock.first.toml (added delta==0.1)"
        in result.stdout
    )
    assert locked_versions(workspace, "first") == {
        "alpha": "1.0",
        "beta": "2.0",
        "delta": "0.1",
        "gamma": "3.0",
    }
    assert "lock:second: up to date" in result.stdout


def test_a_failed_resolution_keeps_the_previous_lock(workspace):
    ok(run(workspace, "lock"))
    before = lock_file(workspace, "first").read_bytes()
    workspace.write_text(
        workspace.read_text().replace("[alpha==1.0, gamma]", "[alpha==1.0, gamma, nosuch]")
    )
    out = refused(run(workspace, "lock"))
    assert "part 'first'" in out and "nosuch" in out
    assert lock_file(workspace, "first").read_bytes() == before
    assert sorted(p.name for p in (workspace.parent / "parts.lock").iterdir()) == [
        "pylock.first.toml",
        "pylock.second.toml",
    ]


def test_lock_part_locks_that_part_only(workspace):
    result = ok(run(workspace, "lock", "part=second"))
    assert "lock:second: wrote" in result.stdout and "lock:first" not in result.stdout
    assert lock_file(workspace, "second").is_file() and not lock_file(workspace, "first").exists()
    unknown = refused(run(workspace, "lock", "part=nope"))
    assert "'nope' is not a python part" in unknown


def test_upgrade_moves_only_the_named_package(tmp_path):
    """New versions upstream move nothing (the lock's versions are uv's preferences) until
    `upgrade=gamma`, which moves gamma and keeps delta where it was."""
    root = tmp_path / "ws"
    make_wheel(root / "wheels", "gamma", "3.0", {"gamma.py": ""})
    make_wheel(root / "wheels", "delta", "0.1", {"delta.py": ""})
    workspace = make_workspace(
        root,
        """\
        name: upgrade
        python: {index-url: none, find-links: [wheels]}
        parts:
          p: {plugin: python, python-packages: [gamma, delta]}
        """,
    )
    ok(run(workspace, "lock"))
    make_wheel(root / "wheels", "gamma", "3.1", {"gamma.py": ""})
    make_wheel(root / "wheels", "delta", "0.2", {"delta.py": ""})
    before = lock_file(workspace, "p").read_bytes()
    assert "lock:p: up to date" in ok(run(workspace, "lock")).stdout
    assert lock_file(workspace, "p").read_bytes() == before

    moved = ok(run(workspace, "lock", "upgrade=gamma"))
    assert "gamma 3.0 -> 3.1" in moved.stdout and "delta" not in moved.stdout.split("(")[-1]
    assert locked_versions(workspace, "p") == {"delta": "0.1", "gamma": "3.1"}
    ok(run(workspace, "stage"))
    assert pulled_pins(workspace, "p") == ["delta==0.1", "gamma==3.1"]


def test_check_resolves_nothing_writes_nothing_and_fails_on_a_missing_or_outdated_lock(workspace):
    """check=1 is what CI runs: exit 1 naming the part and the difference, no lock written."""
    missing = refused(run(workspace, "lock", "check=1"))
    assert "first: no lock" in missing and "second: no lock" in missing
    assert not (workspace.parent / "parts.lock").exists()

    ok(run(workspace, "lock"))
    shutil.rmtree(workspace.parent / "wheels")  # resolving would fail now: check must not resolve
    assert "every python part's lock matches it" in ok(run(workspace, "lock", "check=1")).stdout

    workspace.write_text(
        workspace.read_text().replace("[alpha==1.0, gamma]", "[alpha==1.0, gamma, delta]")
    )
    locks = {part: lock_file(workspace, part).read_bytes() for part in ("first", "second")}
    outdated = refused(run(workspace, "lock", "check=1"))
    assert "first: python-packages: added delta" in outdated and "second:" not in outdated
    assert {part: lock_file(workspace, part).read_bytes() for part in ("first", "second")} == locks


# -- pull follows the lock -------------------------------------------------------------------------


def test_pull_installs_exactly_what_a_hand_edited_lock_says(workspace):
    """Resolving would pick gamma 3.0; the lock says 2.5, so 2.5 is what is pulled and installed."""
    ok(run(workspace, "lock"))
    pin_by_hand(workspace, "first", "gamma", workspace.parent / "wheels/gamma-2.5-py3-none-any.whl")
    result = ok(
        run(workspace, "build:first")
    )  # (staging would conflict: second installs gamma 3.0)
    assert "pull:first: fetched 3 wheels (alpha==1.0, beta==2.0, gamma==2.5)" in result.stdout
    assert "not locked" not in result.stdout
    assert pulled_pins(workspace, "first") == ["alpha==1.0", "beta==2.0", "gamma==2.5"]
    install = site_packages(workspace.parent / "build/parts/first/install")
    assert (install / "gamma-2.5.dist-info").is_dir() and not (
        install / "gamma-3.0.dist-info"
    ).exists()
    assert "(2.5)" in (install / "gamma.py").read_text()


def test_unlocked_parts_resolve_on_the_fly_and_say_so_until_locked(workspace):
    """Without a lock pull resolves and the summary names the unlocked parts; once locked, pull
    follows the lock (a new pull key) and takes every file from the store."""
    first = ok(run(workspace, "stage"))
    assert (
        "pull:first: fetched 3 wheels (alpha==1.0, beta==2.0, gamma==3.0); 3 files downloaded"
        in first.stdout
    )
    assert "; not locked: first, second (`doit lock` pins them)" in first.stdout

    ok(run(workspace, "lock"))
    locked = ok(run(workspace, "stage"))
    assert (
        "pull:first: fetched 3 wheels (alpha==1.0, beta==2.0, gamma==3.0); "
        "every file from the store" in locked.stdout
    )
    assert (
        "pull:second: fetched 4 wheels (alpha==1.0, beta==2.0, delta==0.1, gamma==3.0); "
        "every file from the store" in locked.stdout
    )
    assert "not locked" not in locked.stdout
    assert "not locked" not in ok(run(workspace, "stage")).stdout


def test_an_outdated_lock_stops_pull_and_keeps_the_previous_stage(workspace):
    ok(run(workspace, "lock"))
    ok(run(workspace, "stage"))
    stage = snapshot(workspace.parent / "build/stage")
    before = pulled(workspace, "first")
    workspace.write_text(
        workspace.read_text().replace("[alpha==1.0, gamma]", "[alpha==1.0, gamma, delta]")
    )
    out = refused(run(workspace, "stage"))
    assert "part 'first':" in out and "pylock.first.toml does not match the part" in out
    assert "python-packages: added delta" in out
    assert "Run `doit lock part=first`" in out
    assert snapshot(workspace.parent / "build/stage") == stage
    assert pulled(workspace, "first") == before


def test_a_locked_file_whose_bytes_changed_is_refused(workspace):
    """The lock points at gamma 2.5 (not yet in the store) whose bytes were then changed: pull
    fails naming the file, stores nothing under that sha256, and the stage is kept."""
    ok(run(workspace, "lock"))
    ok(run(workspace, "stage"))
    stage = snapshot(workspace.parent / "build/stage")
    wheel = workspace.parent / "wheels/gamma-2.5-py3-none-any.whl"
    pin_by_hand(workspace, "first", "gamma", wheel)
    locked_sha = sha256(wheel)
    wheel.write_bytes(wheel.read_bytes().replace(b"(2.5)", b"(evil)"))
    out = refused(run(workspace, "stage"))
    assert "gamma-2.5-py3-none-any.whl: its bytes do not match the lock" in out
    assert snapshot(workspace.parent / "build/stage") == stage
    assert pulled_pins(workspace, "first") == ["alpha==1.0", "beta==2.0", "gamma==3.0"]
    cas = Path(os.environ["PARTSMITH_CACHE_DIR"]) / "cas"
    assert not list(cas.glob(f"*/{locked_sha}*"))


def break_toml(text: str) -> str:
    return text.replace('lock-version = "1.0"', 'lock-version = "1.0')


def other_version(text: str) -> str:
    return text.replace('lock-version = "1.0"', 'lock-version = "2.0"')


def no_gamma_hash(text: str) -> str:
    return re.sub(
        r'(name = "gamma"\n.*?)hashes = \{ sha256 = "[0-9a-f]+" \}',
        r"\1hashes = {}",
        text,
        flags=re.S,
    )


def bad_gamma_hash(text: str) -> str:
    return re.sub(r'(name = "gamma"\n.*?sha256 = ")[0-9a-f]+"', r'\1nothex"', text, flags=re.S)


@pytest.mark.parametrize(
    "damage, said",
    [
        (break_toml, "not valid TOML"),
        (other_version, "lock-version is '2.0'; partsmith follows '1.0'"),
        (no_gamma_hash, "package 'gamma': its wheel has no valid sha256 hash"),
        (bad_gamma_hash, "package 'gamma': its wheel has no valid sha256 hash"),
    ],
)
def test_a_damaged_lock_is_one_short_message_and_keeps_the_stage(workspace, damage, said):
    ok(run(workspace, "lock"))
    ok(run(workspace, "stage"))
    stage = snapshot(workspace.parent / "build/stage")
    path = lock_file(workspace, "first")
    path.write_text(damage(path.read_text()))
    out = refused(run(workspace, "stage"))
    assert said in out and "pylock.first.toml" in out
    assert len(out.splitlines()) < 15, out
    assert snapshot(workspace.parent / "build/stage") == stage
    assert said in refused(run(workspace, "lock", "check=1"))
    assert (
        "lock:first: wrote 3 packages" in ok(run(workspace, "lock")).stdout
    )  # a damaged lock is written anew
    ok(run(workspace, "stage"))


# -- the store -------------------------------------------------------------------------------------


def test_each_locked_file_is_downloaded_once_for_every_part_and_workspace(tmp_path):
    """A wheelhouse over HTTP: after locking, staging two parts that share packages GETs each
    wheel exactly once, and a second workspace sharing the cache GETs nothing."""
    make_wheelhouse(tmp_path / "served")
    with served(tmp_path / "served") as (url, counts):
        workspace = make_workspace(
            tmp_path / "ws", TWO_PARTS.replace("find-links: [wheels]", f"find-links: ['{url}']")
        )
        ok(run(workspace, "lock"))
        urls = {w["url"] for p in read_lock(workspace, "second")["packages"] for w in p["wheels"]}
        assert urls == {
            f"{url}{name}"
            for name in (
                "alpha-1.0-py3-none-any.whl",
                "beta-2.0-py3-none-any.whl",
                "delta-0.1-py3-none-any.whl",
                "gamma-3.0-py3-none-any.whl",
            )
        }
        counts.clear()
        result = ok(run(workspace, "stage"))
        wheels = {path: n for path, n in counts.items() if path.endswith(".whl")}
        assert wheels == {
            "/alpha-1.0-py3-none-any.whl": 1,
            "/beta-2.0-py3-none-any.whl": 1,
            "/delta-0.1-py3-none-any.whl": 1,
            "/gamma-3.0-py3-none-any.whl": 1,
        }
        assert sum(counts.values()) == 4  # pull never resolved: not even the find-links page
        said = re.findall(r"; (\d+) files? downloaded", result.stdout)
        assert sorted(map(int, said)) == [1, 3]

        other = tmp_path / "elsewhere" / "ws"
        shutil.copytree(workspace.parent, other, ignore=shutil.ignore_patterns("build"))
        counts.clear()
        again = ok(run(other / "parts.yaml", "stage"))
        assert sum(counts.values()) == 0
        assert "every file from the store" in again.stdout or "restored" in again.stdout


def test_a_damaged_store_copy_of_a_locked_wheel_is_fetched_again_in_the_same_run(workspace):
    """pull knows each locked file's URL and sha256: a damaged store copy is fetched again and
    the run goes on, as a damaged build blob is simply rebuilt."""
    ok(run(workspace, "lock"))
    ok(run(workspace, "stage"))
    wheel = workspace.parent / "wheels" / "gamma-3.0-py3-none-any.whl"
    blob = Path(os.environ["PARTSMITH_CACHE_DIR"], "cas", sha256(wheel)[:2], sha256(wheel))
    os.chmod(blob, 0o644)
    blob.write_bytes(b"not a wheel any more")
    shutil.rmtree(workspace.parent / "build")
    shutil.rmtree(Path(os.environ["PARTSMITH_CACHE_DIR"], "ac"))  # the pulls must run again
    result = ok(run(workspace, "stage"))
    assert blob.read_bytes() == wheel.read_bytes()
    assert re.findall(r"; (\d+) files? downloaded", result.stdout) == ["1"]
    assert "gamma==3.0" in pulled_pins(workspace, "first")


# -- building the part's own project ---------------------------------------------------------------


def project_workspace(
    root: Path, counter: Path | None, dynamic: list[str], static: list[str]
) -> Path:
    make_wheelhouse(root / "wheels")
    make_wheel(root / "wheels", "tinyhelper", "1.0", {"tinyhelper.py": "MARK = 'helped'\n"})
    make_counted_project(root / "tool", counter, dynamic, static)
    return make_workspace(
        root,
        """\
        name: project
        source-date-epoch: 1591640328
        python: {index-url: none, find-links: [wheels]}
        parts:
          app: {plugin: python, source: tool, python-packages: [delta]}
        """,
    )


def test_the_project_is_built_once_per_stage_and_not_on_a_no_op(tmp_path):
    counter = tmp_path / "counts" / "counter.txt"
    workspace = project_workspace(tmp_path / "ws", counter, dynamic=[], static=["tinyhelper"])
    ok(run(workspace, "lock"))
    build = read_lock(workspace, "app")["tool"]["partsmith"]["build-packages"]
    assert [p["name"] for p in build] == [
        "tinyhelper"
    ]  # a static build-system.requires is locked too
    start = builds(counter)
    ok(run(workspace, "stage"))
    assert builds(counter) - start == 1
    ok(run(workspace, "stage"))
    assert builds(counter) - start == 1  # a no-op builds nothing
    (workspace.parent / "tool/tool_cli.py").write_text(
        "import delta\n\ndef main():\n    print('changed', delta.NAME)\n"
    )
    ok(run(workspace, "stage"))
    assert builds(counter) - start == 2
    stage = workspace.parent / "build/stage"
    assert "changed" in (site_packages(stage) / "tool_cli.py").read_text()


def test_a_dynamic_build_requirement_is_locked_and_the_project_builds_offline(tmp_path):
    """get_requires_for_build_wheel asks for tinyhelper: the lock lists it among the
    build-packages (not the installed packages) and the offline build imports it."""
    workspace = project_workspace(tmp_path / "ws", None, dynamic=["tinyhelper"], static=[])
    result = ok(run(workspace, "lock"))
    assert "lock:app: wrote 1 package and 1 package to build the project" in result.stdout
    lock = read_lock(workspace, "app")
    assert [(p["name"], p["version"]) for p in lock["packages"]] == [("delta", "0.1")]
    build = lock["tool"]["partsmith"]["build-packages"]
    assert [(p["name"], p["version"]) for p in build] == [("tinyhelper", "1.0")]
    assert build[0]["wheels"][0]["path"] == "../wheels/tinyhelper-1.0-py3-none-any.whl"

    ok(run(workspace, "stage"))
    assert [w["name"] for w in pulled(workspace, "app")["build-wheels"]] == ["tinyhelper"]
    site = site_packages(workspace.parent / "build/stage")
    assert (site / "built_with.py").read_text() == "MARKS = ['helped']\n"
    assert not (site / "tinyhelper.py").exists()  # a build requirement is not installed


def test_a_project_without_build_requirements_builds(tmp_path):
    """No build requirement at all: nothing is pulled into inputs/build-wheels, and the offline
    `uv build --find-links ../inputs/build-wheels` must still find that folder."""
    workspace = project_workspace(tmp_path / "ws", None, dynamic=[], static=[])
    ok(run(workspace, "lock"))
    assert "build-packages" not in read_lock(workspace, "app")["tool"]["partsmith"]
    ok(run(workspace, "stage"))


def test_an_sdist_only_dependency_is_locked_built_offline_and_reproducible(tmp_path):
    """An sdist in find-links is locked as `sdist = {...}`, built into a wheel at pull once for
    both parts (cached by its sha256; its backend stamps the current time, normalization removes
    it), and installed; another checkout path with an empty cache builds the very same wheel."""
    root = tmp_path / "ws"
    counter = tmp_path / "counts" / "sdist-builds.txt"
    make_wheel(root / "wheels", "delta", "0.1", {"delta.py": ""})
    sdist = make_sdist(root / "wheels", counter)
    workspace = make_workspace(
        root,
        """\
        name: sdists
        source-date-epoch: 1591640328
        python: {index-url: none, find-links: [wheels]}
        parts:
          p: {plugin: python, python-packages: [sdonly, delta]}
          q: {plugin: python, python-packages: [sdonly]}
        """,
    )
    ok(run(workspace, "lock"))
    (entry,) = [p for p in read_lock(workspace, "p")["packages"] if p["name"] == "sdonly"]
    assert "wheels" not in entry
    assert entry["sdist"]["path"] == "../wheels/sdonly-1.0.tar.gz"
    assert entry["sdist"]["hashes"] == {"sha256": sha256(sdist)}

    ok(run(workspace, "stage"))
    assert builds(counter) == 1
    site = site_packages(root / "build/stage")
    assert (site / "sdonly.py").read_text() == "VALUE = 'built from an sdist'\n"
    (built,) = [w for w in pulled(workspace, "p")["wheels"] if w["name"] == "sdonly"]
    assert built["file"] == "sdonly-1.0-py3-none-any.whl"

    other = tmp_path / "another" / "path" / "ws"
    shutil.copytree(root, other, ignore=shutil.ignore_patterns("build"))
    env = {**os.environ, "PARTSMITH_CACHE_DIR": str(tmp_path / "empty-cache")}
    ok(doit("stage", f"workspace={other / 'parts.yaml'}", cwd=other.parent, env=env))
    (again,) = [w for w in pulled(other / "parts.yaml", "p")["wheels"] if w["name"] == "sdonly"]
    assert again == built
    assert builds(counter) == 2


def test_uv_variables_of_a_part_choose_its_files_at_pull_and_its_build_installs_them(tmp_path):
    """UV_NO_BINARY_PACKAGE in build-environment: pull takes the sdist (not the wheel beside it)
    and builds it; the build installs what pull made, whatever the variable says. Without the
    variable the wheel of the same file name comes in: not uv's unpacked copy of the first."""
    root = tmp_path / "ws"
    make_sdist(root / "wheels", tmp_path / "counts" / "builds.txt")
    make_wheel(root / "wheels", "sdonly", "1.0", {"sdonly.py": "VALUE = 'the wheel'\n"})
    workspace = make_workspace(
        root,
        """\
        name: uvvars
        python: {index-url: none, find-links: [wheels]}
        parts:
          p:
            plugin: python
            python-packages: [sdonly]
            build-environment: [{UV_NO_BINARY_PACKAGE: sdonly}]
        """,
    )
    ok(run(workspace, "stage"))
    site = site_packages(root / "build/stage")
    assert (site / "sdonly.py").read_text() == "VALUE = 'built from an sdist'\n"
    workspace.write_text(workspace.read_text().replace("UV_NO_BINARY_PACKAGE: sdonly", "A: b"))
    ok(run(workspace, "stage"))
    assert (site / "sdonly.py").read_text() == "VALUE = 'the wheel'\n"


C_BACKEND = """
\"\"\"Compiles cext.c with gcc -g as setuptools does (CFLAGS from the environment, the source by its
absolute path), so the debug information names the folder the sdist was built in.\"\"\"
import base64, hashlib, os, subprocess, sysconfig, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    module = "cext" + sysconfig.get_config_var("EXT_SUFFIX")
    include = sysconfig.get_paths()["include"]
    flags = os.environ.get("CFLAGS", "").split()
    subprocess.run(["gcc", *flags, "-g", "-O0", "-shared", "-fPIC", f"-I{include}",
                    os.path.abspath("cext.c"), "-o", module], check=True)
    files = {module: open(module, "rb").read(),
             "cext-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: cext\\nVersion: 1.0\\n",
             "cext-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\n"
             b"Root-Is-Purelib: false\\nTag: py3-none-any\\n"}
    name, rows = "cext-1.0-py3-none-any.whl", []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
            sha = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append(f"{path},sha256={sha},{len(data)}")
        rows.append("cext-1.0.dist-info/RECORD,,")
        archive.writestr("cext-1.0.dist-info/RECORD", "\\n".join(rows) + "\\n")
    return name
"""

C_MODULE = """#include <Python.h>
static struct PyModuleDef cext = {PyModuleDef_HEAD_INIT, "cext", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_cext(void) { return PyModule_Create(&cext); }
"""


def make_c_sdist(folder: Path) -> Path:
    """cext-1.0.tar.gz: a C extension module and an in-tree backend that compiles it."""
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: cext\nVersion: 1.0\n",
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "c_backend"\n'
        'backend-path = ["."]\n\n[project]\nname = "cext"\nversion = "1.0"\n',
        "c_backend.py": C_BACKEND,
        "cext.c": C_MODULE,
    }
    return write_sdist(folder, "cext-1.0", files)


def test_an_sdist_with_a_c_extension_builds_at_any_path_to_the_same_wheel(tmp_path):
    """The compiler records where it ran (debug information): sdists are built at a fixed
    path that is mapped out of what they compile, so no output names the sandbox and two
    checkout paths build the same wheel bytes. The second build runs unsealed: sealed, both
    would compile at /partsmith, and only the prefix map makes another host path agree."""
    root = tmp_path / "ws"
    make_c_sdist(root / "wheels")
    text = """\
        name: cext
        source-date-epoch: 1591640328
        python: {index-url: none, find-links: [wheels]}
        parts:
          p: {plugin: python, python-packages: [cext]}
        """
    workspace = make_workspace(root, text)
    ok(run(workspace, "stage"))
    stage = root / "build/stage"
    (module,) = site_packages(stage).glob("cext*.so")
    assert str(root).encode() not in module.read_bytes()
    imported = subprocess.run(
        [stage / "bin/python", "-c", "import cext; print(cext.__name__)"],
        capture_output=True,
        text=True,
    )
    assert imported.stdout == "cext\n", imported.stderr
    (built,) = pulled(workspace, "p")["wheels"]

    other = tmp_path / "another" / "much" / "longer" / "path" / "ws"
    shutil.copytree(root, other, ignore=shutil.ignore_patterns("build"))
    cache = str(tmp_path / "empty-cache")
    env = {**os.environ, "PARTSMITH_CACHE_DIR": cache, "PARTSMITH_UNSEALED": "1"}
    ok(doit("stage", f"workspace={other / 'parts.yaml'}", cwd=other.parent, env=env))
    assert pulled(other / "parts.yaml", "p")["wheels"] == [built]


def test_verify_is_clean_on_a_uv_built_part(tmp_path):
    workspace = project_workspace(tmp_path / "ws", None, dynamic=["tinyhelper"], static=[])
    ok(run(workspace, "lock"))
    ok(run(workspace, "stage"))
    result = ok(run(workspace, "verify"))
    assert "verify: 1 part reproducible" in result.stdout


# -- what v2 fixes for real projects ---------------------------------------------------------------


def test_a_hash_pinned_requirements_file_and_the_local_project_work_in_one_part(tmp_path):
    """pip refused this combination (its hash-checking mode rejects the project's folder)."""
    root = tmp_path / "ws"
    wheels = make_wheelhouse(root / "wheels")
    gamma = sha256(wheels / "gamma-3.0-py3-none-any.whl")
    make_project(
        root / "app",
        "app",
        requires=["delta"],
        scripts={"app": "app_cli:main"},
        modules={
            "app_cli.py": "import delta, gamma\n\ndef main():\n    print(gamma.upper(delta.NAME))\n"
        },
    )
    (root / "app/requirements.txt").write_text(f"gamma==3.0 \\\n    --hash=sha256:{gamma}\n")
    workspace = make_workspace(
        root,
        """\
        name: pinned
        python: {index-url: none, find-links: [wheels]}
        parts:
          app: {plugin: python, source: app, python-requirements: [requirements.txt]}
        """,
    )
    ok(run(workspace, "lock"))
    assert locked_versions(workspace, "app") == {"delta": "0.1", "gamma": "3.0"}
    ok(run(workspace, "stage"))
    staged = root / "build/stage/bin/app"
    env = {"PATH": f"{staged.parent}:/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
    assert (
        subprocess.run([str(staged)], capture_output=True, text=True, env=env).stdout == "DELTA\n"
    )


BROKEN_BACKEND = """
import sys
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    print("checking for GTK+ - version >= 3.0.0... no")
    print("configure: error: Package requirements (gtk+-3.0) were not met", file=sys.stderr)
    for number in range(100):
        print(f"noise line {number}")
    raise SystemExit(1)
"""


NO_GIT_BACKEND = """
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    for number in range(100):
        print(f"noise line {number}")
    raise LookupError("setuptools-scm was unable to detect version for /src/broken-1.0.")
"""


@pytest.mark.parametrize(
    ("backend", "cause", "fix"),
    [
        (
            BROKEN_BACKEND,
            "configure: error: Package requirements (gtk+-3.0) were not met",
            "goes into the part's build-packages",
        ),
        (
            NO_GIT_BACKEND,
            "setuptools-scm was unable to detect version for /src/broken-1.0.",
            "takes its version from git, which the build does not see: give it in the part's "
            "build-environment (e.g. SETUPTOOLS_SCM_PRETEND_VERSION: 1.2.3)",
        ),
    ],
)
def test_an_sdist_that_fails_to_build_names_the_package_and_the_line_that_explains_it(
    tmp_path, backend, cause, fix
):
    root = tmp_path / "ws"
    folder = root / "wheels"
    folder.mkdir(parents=True)
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n",
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "b"\n'
        'backend-path = ["."]\n\n'
        '[project]\nname = "broken"\nversion = "1.0"\ndependencies = []\n',
        "b.py": backend,
    }
    with tarfile.open(folder / "broken-1.0.tar.gz", "w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(f"broken-1.0/{name}")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    workspace = make_workspace(
        root,
        """\
        name: broken
        python: {index-url: none, find-links: [wheels]}
        parts:
          gui: {plugin: python, python-packages: [broken==1.0]}
        """,
    )
    ok(run(workspace, "lock"))
    out = refused(run(workspace, "stage"))
    assert "part 'gui': package broken==1.0: its sdist broken-1.0.tar.gz failed to build" in out
    assert cause in out
    assert fix in out
    assert "noise line 50" not in out  # the cause, not the log


def test_a_package_with_no_file_for_the_interpreter_is_one_line_naming_both(tmp_path):
    root = tmp_path / "ws"
    make_wheel(root / "wheels", "delta", "0.1", {"delta.py": ""})
    old = root / "wheels" / "delta-0.1-py3-none-any.whl"
    old.rename(old.with_name("oldonly-1.0-cp27-cp27mu-manylinux1_x86_64.whl"))
    workspace = make_workspace(
        root,
        """\
        name: old
        python: {index-url: none, find-links: [wheels]}
        parts:
          p: {plugin: python, python-packages: [oldonly]}
        """,
    )
    out = refused(run(workspace, "lock"))
    assert (
        "part 'p': lock failed: no set of packages satisfies the part's requirements for CPython 3."
        in out
    )
    assert "oldonly" in out and "Traceback" not in out


def run_on_a_terminal(workspace: Path, *args: str) -> str:
    """doit ARGS with a pseudo-terminal as its output, as a user at a shell sees it."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    command = " ".join(
        shlex.quote(a)
        for a in [sys.executable, "-m", "doit", "-f", str(DODO), *args, f"workspace={workspace}"]
    )
    result = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        cwd=workspace.parent,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.skipif(
    shutil.which("script") is None, reason="needs util-linux's script for a terminal"
)
def test_progress_shows_on_a_terminal_and_nowhere_else(workspace):
    ok(run(workspace, "lock"))
    on_terminal = run_on_a_terminal(workspace, "stage")
    assert "\x1b[Kpull:first: downloading 0/3 (0 B of 3.8 kB)" in on_terminal
    assert "\x1b[Kpull:first: downloading 3/3 (3.8 kB of 3.8 kB)" in on_terminal
    shutil.rmtree(workspace.parent / "build")
    shutil.rmtree(os.environ["PARTSMITH_CACHE_DIR"])
    piped = ok(run(workspace, "stage"))
    assert "\x1b[K" not in piped.stdout + piped.stderr
    summary = [line for line in piped.stdout.splitlines() if line.startswith("partsmith: parts")]
    assert summary and summary[0].startswith("partsmith: parts 2 built, 0 restored, 0 up to date; ")


def test_a_second_part_asking_for_the_same_build_restores_the_first_ones(tmp_path):
    """Only a script can see a part's name: default builds of equal parts share one result."""
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    workspace = make_workspace(
        root,
        """\
        name: twins
        python: {index-url: none, find-links: [wheels]}
        parts:
          one: {plugin: python, python-packages: [alpha==1.0]}
          two: {plugin: python, python-packages: [alpha==1.0]}
          named:
            plugin: python
            python-packages: [alpha==1.0]
            build-environment: [{WHO: "$CRAFT_PART_NAME"}]
        """,
    )
    out = ok(run(workspace, "stage")).stdout
    assert (
        "build:one: built" in out and "build:two: restored" in out and "build:named: built" in out
    )
    build = root / "build/parts"
    assert (build / "one/tree.json").read_text() == (build / "two/tree.json").read_text()


def test_a_project_whose_requires_python_excludes_the_interpreter_stops_pull(tmp_path):
    """Refused at pull, before anything is resolved or fetched, not late in build."""
    workspace = make_workspace(
        tmp_path / "ws",
        """\
        name: rp
        python: {index-url: none}
        parts:
          app: {plugin: python, source: src}
        """,
        {
            "src/pyproject.toml": '[project]\nname = "app"\nversion = "1.0"\n'
            'requires-python = ">=3.99"\n'
        },
    )
    out = refused(run(workspace, "stage"))
    assert (
        "part 'app': the project needs Python >=3.99 (requires-python in its pyproject.toml)" in out
    )
    assert not (tmp_path / "ws/build/parts/app/pulled").exists()


# -- plugin: uv ------------------------------------------------------------------------------------

UV_PARTS = """\
name: uvparts
source-date-epoch: 1591640328
python: {{index-url: none, find-links: ['{url}']}}
parts:
  app: {{plugin: uv, source: proj, uv-extras: [cli], uv-groups: [tools]}}
  twin: {{plugin: uv, source: proj, uv-extras: [cli], uv-groups: [tools]}}
"""


def uv_project(folder: Path, url: str) -> Path:
    """A project needing alpha (-> beta -> gamma), with an extra, a dependency group and a dev
    group, locked by uv against the wheelhouse at `url`."""
    from rules.python.uv import uv_binary

    make_project(folder, "proj", ["alpha==1.0"], {"proj": "proj:main"}, {"proj.py": PROJ})
    with (folder / "pyproject.toml").open("a") as pyproject:
        pyproject.write(
            'requires-python = ">=3.8"\n\n[project.optional-dependencies]\ncli = ["delta"]\n\n'
            '[dependency-groups]\ndev = ["devonly"]\ntools = ["delta"]\n'
        )
    lock = [uv_binary(), "lock", "--no-config", "--no-index", "--find-links", url, "-q"]
    subprocess.run([*lock, "--python", sys.executable], cwd=folder, check=True)
    return folder / "uv.lock"


PROJ = "def main():\n    print('proj runs')\n"


def test_a_uv_part_follows_its_uv_lock_with_extras_and_groups_and_two_merge(tmp_path):
    """plugin: uv installs what `uv sync --no-dev --no-editable` of its uv.lock would (the
    extra and group asked for, not the dev group), the project built once as a wheel; two uv
    parts with the same packages stage without a conflict; a uv.lock that no longer matches its
    pyproject.toml stops pull with the part and `uv lock`, and the stage stays as it was."""
    served_folder = tmp_path / "served"
    make_wheelhouse(served_folder)
    make_wheel(served_folder, "devonly", "1.0", {"devonly.py": ""})
    with served(served_folder) as (url, _counts):
        workspace = make_workspace(tmp_path / "ws", UV_PARTS.format(url=url))
        uv_project(workspace.parent / "proj", url)
        result = ok(run(workspace, "stage"))
        assert "the versions of its uv.lock" in result.stdout
        assert pulled_pins(workspace, "app") == [
            "alpha==1.0",
            "beta==2.0",
            "delta==0.1",
            "gamma==3.0",
        ]
        stage = workspace.parent / "build/stage"
        site = site_packages(stage)
        assert (site / "delta.py").is_file() and not (site / "devonly.py").exists()
        ran = subprocess.run(
            [stage / "bin/python", stage / "bin/proj"], capture_output=True, text=True
        )
        assert ran.stdout == "proj runs\n", ran.stderr
        before = snapshot(stage)

        pyproject = workspace.parent / "proj/pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace('["alpha==1.0"]', '["alpha==1.0", "gamma"]')
        )
        out = refused(run(workspace, "stage"))
        assert "part 'app': its uv.lock no longer matches its pyproject.toml" in out
        assert "Run `uv lock` in the part's source and commit uv.lock." in out
        assert snapshot(stage) == before


UV_PART = """\
name: uvpart
python: {{index-url: none, find-links: ['{url}']}}
parts:
  app: {{plugin: uv, source: proj}}
"""


def test_a_uv_part_takes_from_its_universal_uv_lock_what_this_interpreter_installs(tmp_path):
    """uv.lock lists the files of every platform: the part installs the wheel that fits this
    interpreter (not the lock's first, which fits the machine that locked), and leaves out a
    package whose marker is false here."""
    from helpers.wheels import wheel_files, write_wheel

    served_folder = tmp_path / "served"
    served_folder.mkdir()
    # sorted first in the lock, and not installable on linux
    windows = wheel_files("plat", "1.0", {"plat.py": "KIND = 'windows'\n"})
    write_wheel(served_folder / "plat-1.0-cp311-cp311-win_amd64.whl", windows)
    make_wheel(served_folder, "plat", "1.0", {"plat.py": "KIND = 'any'\n"})
    make_wheel(served_folder, "winonly", "1.0", {"winonly.py": ""})
    with served(served_folder) as (url, _counts):
        workspace = make_workspace(tmp_path / "ws", UV_PART.format(url=url))
        project = workspace.parent / "proj"
        requires = ["plat==1.0", "winonly; sys_platform == 'win32'"]
        make_project(project, "proj", requires, {}, {"proj.py": PROJ})
        lock = [uv_binary_path(), "lock", "--no-config", "--no-index", "--find-links", url, "-q"]
        subprocess.run([*lock, "--python", sys.executable], cwd=project, check=True)
        # uv lists first the wheel that fits the machine that locked: as if locked on Windows
        lock_text = (project / "uv.lock").read_text()
        rows = re.findall(r"    \{ url = .*plat-1\.0-.*\n", lock_text)
        assert len(rows) == 2 and "win_amd64" in rows[1]
        (project / "uv.lock").write_text(lock_text.replace(rows[0] + rows[1], rows[1] + rows[0]))
        ok(run(workspace, "stage"))
    assert pulled(workspace, "app")["wheels"] == [
        {
            "file": "plat-1.0-py3-none-any.whl",
            "name": "plat",
            "sha256": sha256(served_folder / "plat-1.0-py3-none-any.whl"),
            "version": "1.0",
        }
    ]
    site = site_packages(workspace.parent / "build/stage")
    assert (site / "plat.py").read_text() == "KIND = 'any'\n"
    assert not (site / "winonly.py").exists()


def test_python_and_uv_parts_find_their_project_in_source_subdir(tmp_path):
    """source-subdir: the project, its requirements files and its uv.lock are in that folder of
    the source, and the build runs there."""
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    for part in ("app", "uvapp"):
        project = root / part / "sub/dir"
        make_project(project, part, ["alpha==1.0"], {part: f"{part}:main"}, {f"{part}.py": PROJ})
    (root / "app/sub/dir/requirements.txt").write_text("delta==0.1\n")
    with served(root / "wheels") as (url, _counts):
        lock = [uv_binary_path(), "lock", "--no-config", "--no-index", "--find-links", url, "-q"]
        subprocess.run([*lock, "--python", sys.executable], cwd=root / "uvapp/sub/dir", check=True)
        workspace = make_workspace(root, SUBDIR_PARTS.format(url=url))
        ok(run(workspace, "stage"))
        pins = ["alpha==1.0", "beta==2.0", "gamma==3.0"]
        assert pulled_pins(workspace, "app") == sorted([*pins, "delta==0.1"])
        assert pulled_pins(workspace, "uvapp") == pins
        stage = root / "build/stage"
        for part in ("app", "uvapp"):
            ran = subprocess.run([stage / "bin/python", stage / "bin" / part], capture_output=True)
            assert ran.stdout == b"proj runs\n", ran.stderr
        # the subdir's uv.lock is the lock: a change of the subdir's pyproject.toml stops pull
        pyproject = root / "uvapp/sub/dir/pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('"alpha==1.0"', '"alpha==1.0", "delta"'))
        out = refused(run(workspace, "stage"))
    assert "part 'uvapp': its uv.lock no longer matches its pyproject.toml" in out


SUBDIR_PARTS = """\
name: subdirs
python: {{index-url: none, find-links: ['{url}']}}
parts:
  app:
    plugin: python
    source: app
    source-subdir: sub/dir
    python-requirements: [requirements.txt]
  uvapp: {{plugin: uv, source: uvapp, source-subdir: sub/dir}}
"""


def uv_binary_path() -> str:
    from rules.python.uv import uv_binary

    return uv_binary()


# -- plugin: poetry --------------------------------------------------------------------------------


# poetry's content-hash of make_project's pyproject.toml with dependencies ["alpha==1.0"]
POETRY_HASH = 'content-hash = "0e89cbf4ad38a670d715d98c152c2ff6aea5deec812f032b96d810b42f30fdd4"'


def poetry_lock(wheels: Path, hashes: dict[str, str] | None = None) -> str:
    """A poetry.lock (format 2.1) over the wheelhouse: alpha -> beta -> gamma in main, delta
    only for the extra `cli`, devonly in the dev group, tool in the `tools` group."""
    groups = {"alpha": "main", "beta": "main", "gamma": "main", "delta": "main"}
    groups |= {"devonly": "dev", "tool": "tools"}
    lines = []
    for wheel in sorted(wheels.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        digest = (hashes or {}).get(name, sha256(wheel))
        lines += [
            "[[package]]",
            f'name = "{name}"',
            f'version = "{version}"',
            f'groups = ["{groups[name]}"]',
            f"optional = {'true' if name == 'delta' else 'false'}",
            f'files = [{{file = "{wheel.name}", hash = "sha256:{digest}"}}]',
            "",
        ]
    lines += [
        "[extras]",
        'cli = ["delta"]',
        "",
        "[metadata]",
        'lock-version = "2.1"',
        POETRY_HASH,
        "",
    ]
    return "\n".join(lines)


def test_a_poetry_part_installs_its_main_group_extras_and_with_groups_from_poetry_lock(tmp_path):
    root = tmp_path / "ws"
    make_wheelhouse(root / "wheels")
    make_wheel(root / "wheels", "devonly", "1.0", {"devonly.py": ""})
    make_wheel(root / "wheels", "tool", "1.0", {"tool.py": ""})
    make_project(root / "proj", "proj", ["alpha==1.0"], {"proj": "proj:main"}, {"proj.py": PROJ})
    (root / "proj/poetry.lock").write_text(poetry_lock(root / "wheels"))
    workspace = make_workspace(
        root,
        """\
        name: poetry
        python: {index-url: none, find-links: [wheels]}
        parts:
          app:
            plugin: poetry
            source: proj
            poetry-with: [tools]
            poetry-export-extra-args: [--extras, cli]
        """,
    )
    ok(run(workspace, "stage"))
    assert pulled_pins(workspace, "app") == [
        "alpha==1.0",
        "beta==2.0",
        "delta==0.1",
        "gamma==3.0",
        "tool==1.0",
    ]
    assert not (site_packages(root / "build/stage") / "devonly.py").exists()
    # the groups and extras are pull's inputs: without them, the pins are main's only
    workspace.write_text(
        workspace.read_text().replace("poetry-with: [tools]", "").replace("[--extras, cli]", "[]")
    )
    ok(run(workspace, "stage"))
    assert pulled_pins(workspace, "app") == ["alpha==1.0", "beta==2.0", "gamma==3.0"]
    assert not (site_packages(root / "build/stage") / "tool.py").exists()

    (root / "proj/poetry.lock").write_text(poetry_lock(root / "wheels", {"gamma": "0" * 64}))
    out = refused(run(workspace, "stage"))
    assert (
        "part 'app': package gamma==3.0: the file gamma-3.0-py3-none-any.whl (sha256 "
        f"{sha256(root / 'wheels/gamma-3.0-py3-none-any.whl')[:12]}) is not among the hashes its "
        "requirements file (or uv.lock, poetry.lock) pins" in out
    )
