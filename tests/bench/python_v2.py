"""Benchmark: python parts v2 (uv, PEP 751 locks, locked files in the store by sha256).

Run as a script: `.venv/bin/python tests/bench/python_v2.py [--rounds 3] [--quick-rounds 5]
[--large-rounds 3] [--only 1,3] [--keep] [--git REPO]`. It measures the checkout it lies in (its
dodo.py and rules/); to measure a commit while the working tree is being edited, run a copy of
this file inside `git archive <commit>` unpacked on tmpfs, with `--git` naming the repository the
old commit comes from. Every figure is set against a floor measured in the same run, as medians;
everything runs on tmpfs (/dev/shm/partsmith-bench-v2-*, removed at the end; --keep leaves it).
The wheelhouses are downloaded once (`pip download`, from PyPI) into
~/.cache/partsmith-bench (or $XDG_CACHE_HOME/partsmith-bench) and copied to tmpfs each run, so a
rerun reaches the network only where a figure says so (1 and 6). The caller's PIP_*/UV_*
variables and pip.conf are kept from every command (partsmith's own actions drop them anyway).

  1  cold `doit stage` of the default workspace (a copy, its committed lock, PyPI), empty cache,
     against the same with the code before this change (5fe4e43, pip-based: `git archive` into
     tmpfs, its own venv with `pip install -e`), rounds alternating old/new.   target <= 0.5x
  2  cold `doit stage` of two python parts with the same locked packages (the default workspace's
     8 flask wheels, a local wheelhouse) against one such part, empty cache; the figure is the
     median of the rounds' differences (each round runs both).               target +<= 0.3 s
  3  a large part (~50 wheels: numpy, pandas, matplotlib, scipy, ...; local wheelhouse, index
     none): `doit lock` once, then per round, with an empty cache, `doit pull:big`, `doit
     build:big` and `doit stage` timed apart; floor: `uv venv` + `uv pip install
     --compile-bytecode --no-index --find-links` of the same pins, empty UV_CACHE_DIR (cold),
     and again into a new venv with that cache (warm).        target build <= 1.3x cold floor
     The part has a small project of its own (source: proj, an in-tree backend). After the
     cold stage: one edit of the project's code and `doit stage`, against the cold build
     (target <= 0.2x; the pyc cache is warm, as in a developer's loop; a python part with a
     project is built in two layers, and this first edit restores the dependencies' layer
     that the cold build used up), and a second edit (info: the layer is kept); then
     `rm -rf build` and `doit stage`, against `cp -a` of the install folder just read (target
     <= 1.5x; also against this design's floor, measured beside it: `doit list` of the
     workspace + that `cp -a` + `cp -al` of the copy, as the stage links the install folder);
     then one more edit, the first build after a restore (info: it copies the pulled wheels
     out of the store, and restores the layer, once).
  4  `doit build:NAME` of one part of the 8 flask wheels, against `uv venv` + `uv pip install`
     (no compile) of the same wheels; both with a cold and with a warm uv cache. target <= 1.3x
     What isolates the build: the part is pulled once; each round removes its install folder and
     runs with a new PARTSMITH_CACHE_DIR. `doit forget` + removing the install is not enough: the
     store still holds the build's result under the same key, so that would measure a restore.
     A new cache does not disturb the pull: pull's up-to-date check reads only the part's pull
     result and pulled.json in the build root. The warm variant's new cache holds a copy of the
     uv cache a first build filled (uv unpacks a wheel there once, then copies out of it).
     Information rows: the warm build against floors with `--link-mode copy` (what partsmith
     passes) and with `--compile-bytecode` (partsmith compiles every .py, checked-hash), and the
     warm build less `doit list` of the same workspace (doit's start-up and the workspace load).
  5  `rm -rf build` then `doit pull:<every python part>` of the default workspace whose files
     are all in the store, against `doit list` of the same workspace (a trivial doit run: start-up
     and workspace load); raw and net per part.                 target net <= 0.1 s a part
  6  `doit lock` of the default workspace with a warm uv cache (run once first, then parts.lock
     removed before each round), against `uv pip compile --format pylock.toml` of each python
     part's packages and project with the same cache.                      target <= 2 s
Figures 2, 4, 5, 6 are cheap: they take medians of --quick-rounds (default 5); 1 and 3 of
--rounds / --large-rounds (default 3).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DODO = REPO / "dodo.py"
OLD_COMMIT = "5fe4e43"
GIT = [REPO]  # the repository OLD_COMMIT is taken from (--git)
PYTHON = os.path.realpath(
    getattr(sys, "_base_executable", sys.executable)
)  # what partsmith makes venvs with
DOIT = [sys.executable, "-m", "doit"]
PINS = [
    "flask==3.0.3",
    "click==8.1.7",
    "certifi==2024.8.30",
    "werkzeug==3.0.6",
    "jinja2==3.1.4",
    "markupsafe==2.1.5",
    "itsdangerous==2.2.0",
    "blinker==1.8.2",
]
# The large part: what the brief names plus common libraries, top levels pinned (their
# dependencies are resolved once by pip download and then fixed by the cached wheelhouse).
LARGE = [
    "numpy==2.2.1",
    "pandas==2.2.3",
    "matplotlib==3.10.0",
    "scipy==1.14.1",
    "seaborn==0.13.2",
    "openpyxl==3.1.5",
    "python-docx==1.1.2",
    "reportlab==4.2.5",
    "requests==2.32.3",
    "jinja2==3.1.4",
    "pyyaml==6.0.2",
    "flask==3.0.3",
    "pydantic==2.10.3",
    "rich==13.9.4",
    "beautifulsoup4==4.12.3",
    "sqlalchemy==2.0.36",
    "tqdm==4.67.1",
    "networkx==3.4.2",
    "attrs==24.2.0",
    "tabulate==0.9.0",
    "xlsxwriter==3.2.0",
    "lxml==5.3.0",
    "pillow==11.0.0",
]
PYTHON_PARTS = ("openstack-projects", "cluster")  # the default workspace's


# -- running things ------------------------------------------------------------------------------


class Failed(Exception):
    pass


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "PARTSMITH_"))
        and k not in ("VIRTUAL_ENV", "PYTHONPATH", "CI")
    }
    env.update(PIP_CONFIG_FILE=os.devnull, TMPDIR=str(tmp))
    env.update(extra)
    return env


@dataclass
class Runner:
    work: Path
    logs: list[str] = field(default_factory=list)
    count: int = 0

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(self.work / "tmp", **extra)

    def run(
        self, command: list[str], cwd: Path | None = None, env: dict | None = None
    ) -> tuple[float, str]:
        """Run `command`; returns its wall time and its output (stdout and stderr)."""
        self.count += 1
        start = time.perf_counter()
        done = subprocess.run(
            command,
            cwd=cwd or self.work,
            env=env or self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            tail = "\n".join(done.stdout.splitlines()[-30:])
            raise Failed(f"exit {done.returncode}: {' '.join(map(str, command))}\n{tail}")
        return seconds, done.stdout

    def doit(
        self,
        args: list[str],
        workspace: Path,
        cache: Path,
        doit: list[str] | None = None,
        dodo: Path = DODO,
    ) -> tuple[float, str]:
        command = [*(doit or DOIT), "-f", str(dodo), *args, f"workspace={workspace}"]
        return self.run(command, cwd=workspace.parent, env=self.env(PARTSMITH_CACHE_DIR=str(cache)))


def expect(output: str, *patterns: str) -> None:
    for pattern in patterns:
        if not re.search(pattern, output, re.MULTILINE):
            raise Failed(
                f"expected /{pattern}/ in doit's output:\n" + "\n".join(output.splitlines()[-25:])
            )


def summary_line(output: str) -> str:
    return next(
        (line for line in reversed(output.splitlines()) if line.startswith("partsmith:")), ""
    )


def child_cpu() -> float:
    """User + system seconds of every finished child (and what they waited for): less moved by
    the machine's other load than wall time, a check on the wall-time ratios."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median(values: list[float]) -> float:
    return statistics.median(values)


def shown(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def remove(path: Path) -> None:
    def writable(function, name, _info):  # store blobs are read-only
        os.chmod(os.path.dirname(name), 0o755)
        function(name)

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onerror=writable)


def copy_workspace(source: Path, dest: Path) -> Path:
    """A workspace folder without its build root; returns its parts.yaml."""
    shutil.copytree(
        source,
        dest,
        symlinks=True,
        ignore=lambda folder, names: (
            ["build"] if Path(folder) == source else [n for n in names if n == "__pycache__"]
        ),
    )
    return dest / "parts.yaml"


def uv_bin() -> str:
    from uv import find_uv_bin  # the same binary partsmith runs

    return find_uv_bin()


def uv(*args: str, cache: Path) -> list[str]:
    sub = 2 if args[0] == "pip" else 1
    return [
        uv_bin(),
        *args[:sub],
        "-q",
        "--no-config",
        "--no-python-downloads",
        "--cache-dir",
        str(cache),
        *args[sub:],
    ]


def uv_floor(
    runner: Runner, venv: Path, cache: Path, wheels: Path, pins: list[str], *extra: str
) -> float:
    """`uv venv` + `uv pip install --no-index --find-links` of `pins`: the time of both."""
    made, _ = runner.run(uv("venv", "--python", PYTHON, str(venv), cache=cache))
    installed, _ = runner.run(
        uv(
            "pip",
            "install",
            "--python",
            str(venv / "bin/python"),
            "--no-index",
            "--find-links",
            str(wheels),
            *extra,
            *pins,
            cache=cache,
        )
    )
    return made + installed


# -- wheelhouses ---------------------------------------------------------------------------------


def bench_cache() -> Path:
    base = (
        Path(os.environ["XDG_CACHE_HOME"])
        if os.environ.get("XDG_CACHE_HOME")
        else Path.home() / ".cache"
    )
    return base / "partsmith-bench"


def wheelhouse(runner: Runner, label: str, requirements: list[str]) -> tuple[Path, list[str]]:
    """The wheels of `requirements` for this interpreter, downloaded once into the bench cache,
    copied to tmpfs; returns the copy and one `name==version` pin per wheel."""
    tag = hashlib.sha256("\n".join([PYTHON, *requirements]).encode()).hexdigest()[:12]
    kept = bench_cache() / f"wheelhouse-{label}-{tag}"
    if not (kept / ".complete").is_file():
        remove(kept)
        partial = kept.with_name(kept.name + ".partial")
        remove(partial)
        print(f"  downloading the {label} wheelhouse into {kept} (once)", flush=True)
        runner.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--disable-pip-version-check",
                "--only-binary",
                ":all:",
                "-d",
                str(partial),
                *requirements,
            ],
            env=runner.env(),
        )
        (partial / ".complete").write_text("\n".join(requirements) + "\n")
        partial.rename(kept)
    copy = runner.work / f"wheels-{label}"
    shutil.copytree(kept, copy)
    (copy / ".complete").unlink()
    pins = []
    for wheel in sorted(copy.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        pins.append(f"{re.sub(r'[-_.]+', '-', name).lower()}=={version}")
    return copy, pins


def workspace_text(name: str, wheels: Path, parts: dict[str, list[str]]) -> str:
    lines = [f"name: {name}", f"python: {{index-url: none, find-links: [{wheels}]}}", "parts:"]
    lines += [
        f"  {part}: {{plugin: python, python-packages: [{', '.join(pins)}]}}"
        for part, pins in parts.items()
    ]
    return "\n".join(lines) + "\n"


def locked_workspace(runner: Runner, folder: Path, text: str) -> Path:
    """A workspace with its lock written (by `doit lock`, with a cache of its own)."""
    folder.mkdir(parents=True)
    (folder / "parts.yaml").write_text(text)
    _, out = runner.doit(["lock"], folder / "parts.yaml", runner.work / "lock-cache")
    expect(out, r"^lock:\S+: wrote")
    return folder / "parts.yaml"


def fresh_copy(workspace: Path, dest: Path) -> Path:
    """parts.yaml, parts.lock and the project (if any) of a bench workspace, nothing built."""
    dest.mkdir(parents=True)
    shutil.copy2(workspace, dest / "parts.yaml")
    shutil.copytree(workspace.parent / "parts.lock", dest / "parts.lock")
    if (workspace.parent / "proj").is_dir():
        shutil.copytree(workspace.parent / "proj", dest / "proj")
    return dest / "parts.yaml"


# -- the figures ---------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    partsmith: float | None
    floor: float | None
    target: str
    result: str  # the figure the target is about, and whether it is met
    ok: bool | None


def ratio_row(figure: str, value: float, floor: float, limit: float | None) -> Row:
    ratio = value / floor
    if limit is None:
        return Row(figure, value, floor, "-", f"{ratio:.2f}x (info)", None)
    return Row(figure, value, floor, f"<= {limit:g}x", f"{ratio:.2f}x", ratio <= limit)


def setup_old(runner: Runner) -> tuple[list[str], Path]:
    """The code before this change, in tmpfs, with its own venv (it pins pip==26.3)."""
    old = runner.work / "old"
    old.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(GIT[0]), "archive", OLD_COMMIT], check=True, stdout=subprocess.PIPE
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    seconds, _ = runner.run([PYTHON, "-m", "venv", str(old / ".venv")])
    more, _ = runner.run(
        [
            str(old / ".venv/bin/python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-e",
            str(old),
        ]
    )
    print(
        f"  old code {OLD_COMMIT} set up in {seconds + more:.1f} s (venv + pip install -e)",
        flush=True,
    )
    return [str(old / ".venv/bin/python"), "-m", "doit"], old


def figure1(runner: Runner, rounds: int, state: dict) -> list[Row]:
    old_doit, old = setup_old(runner)
    times: dict[str, list[float]] = {"new": [], "old": []}
    for round_ in range(rounds):
        for which in ("old", "new") if round_ % 2 else ("new", "old"):
            top = runner.work / f"f1-{which}-{round_}"
            ws = copy_workspace((REPO if which == "new" else old) / "workspace", top / "ws")
            seconds, out = runner.doit(
                ["stage"],
                ws,
                top / "cache",
                **({} if which == "new" else {"doit": old_doit, "dodo": old / "dodo.py"}),
            )
            expect(out, r"parts 5 built, 0 restored")
            times[which].append(seconds)
            print(f"  1 round {round_} {which}: {seconds:.2f} s  ({summary_line(out)})", flush=True)
            if which == "new":  # figure 5 pulls from the last one's store
                if "default" in state:
                    remove(state["default"][0].parent.parent)
                state["default"] = (ws, top / "cache")
            else:
                remove(top)
    new, previous = median(times["new"]), median(times["old"])
    print(f"  1 new {shown(times['new'])}  old {shown(times['old'])}")
    return [ratio_row("1 cold stage, default ws (vs 5fe4e43 pip)", new, previous, 0.5)]


def figure2(runner: Runner, rounds: int, flask: tuple[Path, list[str]]) -> list[Row]:
    wheels, _ = flask
    spaces = {
        n: locked_workspace(
            runner,
            runner.work / f"f2-ws{n}",
            workspace_text(f"bench{n}", wheels, dict.fromkeys(("one", "two")[:n], PINS)),
        )
        for n in (1, 2)
    }
    times: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(rounds):
        for n in (2, 1) if round_ % 2 else (1, 2):
            top = runner.work / f"f2-{n}-{round_}"
            seconds, out = runner.doit(["stage"], fresh_copy(spaces[n], top / "ws"), top / "cache")
            expect(
                out, r"parts 1 built, 0 restored" if n == 1 else r"parts 1 built, 1 restored"
            )  # shared key
            times[n].append(seconds)
            remove(top)
    one, two = median(times[1]), median(times[2])
    # each round runs both back to back: the median of the rounds' differences is less moved by
    # the machine's other load than the difference of the medians (both printed)
    deltas = [b - a for a, b in zip(times[1], times[2], strict=False)]
    delta = median(deltas)
    print(
        f"  2 one part {shown(times[1])}  two parts {shown(times[2])}  "
        f"differences {shown(deltas)}; "
        f"difference of the medians {two - one:+.2f} s"
    )
    return [
        Row(
            "2 cold stage, 2 same-lock parts vs 1",
            two,
            one,
            "+<= 0.3 s",
            f"{delta:+.2f} s",
            delta <= 0.3,
        )
    ]


def figure3(runner: Runner, rounds: int) -> list[Row]:
    wheels, pins = wheelhouse(runner, "large", LARGE)
    size = sum(w.stat().st_size for w in wheels.glob("*.whl")) / 1e6
    print(f"  3 large part: {len(pins)} wheels, {size:.0f} MB", flush=True)
    ws = runner.work / "f3-ws"
    ws.mkdir()
    write_project(ws / "proj")  # the part's own project: what a developer edits
    text = workspace_text("large", wheels, {"big": pins}).replace(
        "{plugin: python,", "{plugin: python, source: proj,"
    )
    (ws / "parts.yaml").write_text(text)
    lock_seconds, out = runner.doit(["lock"], ws / "parts.yaml", runner.work / "f3-lock-cache")
    expect(out, r"^lock:big: wrote")
    print(f"  3 doit lock (cold uv cache, local wheelhouse): {lock_seconds:.2f} s", flush=True)
    times: dict[str, list[float]] = {
        k: []
        for k in (
            "pull",
            "build",
            "stage",
            "restore",
            "cp -a",
            "design floor",
            "edit",
            "second edit",
            "edit after restore",
            "floor cold",
            "floor warm",
        )
    }
    cpu: dict[str, list[float]] = {k: [] for k in ("build", "floor cold", "floor warm")}
    entries = ""
    for round_ in range(rounds):
        top = runner.work / f"f3-{round_}"
        copy, cache = fresh_copy(ws / "parts.yaml", top / "ws"), top / "cache"
        seconds, out = runner.doit(["pull:big"], copy, cache)
        expect(out, r"^pull:big: fetched")
        times["pull"].append(seconds)
        before = child_cpu()
        seconds, out = runner.doit(["build:big"], copy, cache)
        cpu["build"].append(child_cpu() - before)
        expect(out, r"^build:big: built", r"^-- pull:big")
        entries = re.search(r"built, (\d+) entries", out).group(1)
        times["build"].append(seconds)
        seconds, out = runner.doit(["stage"], copy, cache)
        times["stage"].append(seconds)
        restore_and_edit(runner, copy, cache, times)
        for kind in ("cold", "warm"):
            before = child_cpu()
            times[f"floor {kind}"].append(
                uv_floor(
                    runner, top / f"venv-{kind}", top / "uv", wheels, pins, "--compile-bytecode"
                )
            )
            cpu[f"floor {kind}"].append(child_cpu() - before)
        print(
            f"  3 round {round_}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
            flush=True,
        )
        remove(top)
    m = {k: median(v) for k, v in times.items()}
    print(f"  3 {entries} entries; " + "; ".join(f"{k} {shown(v)}" for k, v in times.items()))
    print(
        "  3 CPU seconds (user+sys): "
        + "; ".join(f"{k} {shown(v)}" for k, v in cpu.items())
        + "; build/floor cold per round "
        + shown([b / f for b, f in zip(cpu["build"], cpu["floor cold"], strict=False)])
    )
    cold_stage = m["pull"] + m["build"] + m["stage"]
    return [
        Row(f"3 large part ({len(pins)} wheels): pull", m["pull"], None, "-", "(info)", None),
        ratio_row("3 large part: build vs uv cold --compile", m["build"], m["floor cold"], 1.3),
        ratio_row(
            "3 restore after rm -rf build vs cp -a of install", m["restore"], m["cp -a"], 1.5
        ),
        ratio_row(
            "3 restore vs start-up + cp -a + cp -al of install",
            m["restore"],
            m["design floor"],
            None,
        ),
        ratio_row("3 one edit of its project: stage vs the cold build", m["edit"], m["build"], 0.2),
        ratio_row(
            "3 the next edit (its layer kept: a developer's loop)",
            m["second edit"],
            m["build"],
            None,
        ),
        ratio_row(
            "3 the same, the first build after the restore",
            m["edit after restore"],
            m["build"],
            None,
        ),
        ratio_row("3 large part: build vs uv warm --compile", m["build"], m["floor warm"], None),
        ratio_row(
            "3 (CPU seconds: build vs uv cold)",
            median(cpu["build"]),
            median(cpu["floor cold"]),
            None,
        ),
        ratio_row("3 large part: pull+build+stage vs uv cold", cold_stage, m["floor cold"], None),
    ]


PROJECT_BACKEND = """
\"\"\"An in-tree PEP 517 backend (offline: nothing to fetch), building the package alone.\"\"\"
import base64, hashlib, os, zipfile

def _files():
    for top, _, names in os.walk("bigproj"):
        for name in sorted(names):
            yield os.path.join(top, name)

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist, records = "bigproj-1.0.dist-info", []
    path = os.path.join(wheel_directory, "bigproj-1.0-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as wheel:
        def add(name, data):
            wheel.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append(f"{name},sha256={digest.decode()},{len(data)}")
        for name in _files():
            with open(name, "rb") as source:
                add(name, source.read())
        add(f"{dist}/METADATA", b"Metadata-Version: 2.1\\nName: bigproj\\nVersion: 1.0\\n")
        add(f"{dist}/WHEEL", b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
        wheel.writestr(f"{dist}/RECORD", "\\n".join([*records, f"{dist}/RECORD,,"]) + "\\n")
    return os.path.basename(path)
"""


def write_project(folder: Path) -> None:
    """A small project of its own for the large part (an in-tree backend: built offline)."""
    (folder / "bigproj").mkdir(parents=True)
    (folder / "backend.py").write_text(PROJECT_BACKEND)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "bigproj"\nversion = "1.0"\n'
    )
    for n in range(20):
        (folder / f"bigproj/mod{n}.py").write_text(f"def f():\n    return {n}\n")
    (folder / "bigproj/__init__.py").write_text("EDITS = 0\n")


def restore_and_edit(runner: Runner, ws: Path, cache: Path, times: dict[str, list[float]]) -> None:
    """After a cold stage: one edit of the project's code and stage (the pyc cache warm, as in a
    developer's loop; the cold build used its layer up, so this edit restores it), and a second
    edit (over the layer kept); then `rm -rf build` and stage (a restore), against `cp -a` of
    the install folder just read; then one more edit and stage, the first build after a restore
    (it also copies the pulled wheels out of the store, and restores the layer, once)."""
    build = ws.parent / "build"
    edit(runner, ws, cache, times["edit"])
    edit(runner, ws, cache, times["second edit"])
    install, copied = build / "parts/big/install", ws.parent / "install-copy"
    seconds, _ = runner.run(["cp", "-a", str(install), str(copied)])
    times["cp -a"].append(seconds)
    # what a restore cannot do without in this design: doit's start-up (a trivial run of the same
    # workspace), the install folder written (cp -a) and the stage's links to it (cp -al)
    linked = ws.parent / "install-links"
    start_up, _ = runner.doit(["list"], ws, cache)
    links, _ = runner.run(["cp", "-al", str(copied), str(linked)])
    times["design floor"].append(start_up + seconds + links)
    remove(linked)
    remove(copied)
    remove(build)
    seconds, out = runner.doit(["stage"], ws, cache)
    expect(out, r"^build:big: restored")
    times["restore"].append(seconds)
    edit(runner, ws, cache, times["edit after restore"])


def edit(runner: Runner, ws: Path, cache: Path, times: list[float]) -> None:
    init = ws.parent / "proj/bigproj/__init__.py"
    init.write_text(init.read_text() + "EDITS += 1\n")
    seconds, out = runner.doit(["stage"], ws, cache)
    expect(out, r"^build:big: built")
    times.append(seconds)


def figure4(runner: Runner, rounds: int, flask: tuple[Path, list[str]]) -> list[Row]:
    wheels, _ = flask
    ws = fresh_copy(
        locked_workspace(
            runner, runner.work / "f4-locked", workspace_text("b4", wheels, {"flask8": PINS})
        ),
        runner.work / "f4-ws",
    )
    _, out = runner.doit(["pull:flask8"], ws, runner.work / "f4-pull-cache")
    expect(out, r"^pull:flask8: fetched")
    warm_uv = runner.work / "f4-warm-uv"
    times: dict[str, list[float]] = {
        k: []
        for k in (
            "cold",
            "warm",
            "doit list",
            "floor cold",
            "floor warm",
            "floor warm copy",
            "floor warm compile",
        )
    }
    for round_ in range(rounds):
        for kind in ("cold", "warm"):
            cache = runner.work / f"f4-cache-{kind}-{round_}"
            if kind == "warm":
                shutil.copytree(warm_uv, cache / "uv", symlinks=True)
            remove(ws.parent / "build/parts/flask8/install")
            seconds, out = runner.doit(["build:flask8"], ws, cache)
            expect(out, r"^build:flask8: built", r"^-- pull:flask8")
            times[kind].append(seconds)
            if not warm_uv.exists():
                shutil.copytree(cache / "uv", warm_uv, symlinks=True)
            remove(cache)
        times["doit list"].append(runner.doit(["list"], ws, runner.work / "f4-pull-cache")[0])
        top = runner.work / f"f4-floor-{round_}"
        times["floor cold"].append(uv_floor(runner, top / "cold", top / "uv", wheels, PINS))
        times["floor warm"].append(uv_floor(runner, top / "warm", top / "uv", wheels, PINS))
        times["floor warm copy"].append(
            uv_floor(runner, top / "copy", top / "uv", wheels, PINS, "--link-mode", "copy")
        )
        times["floor warm compile"].append(
            uv_floor(runner, top / "compile", top / "uv", wheels, PINS, "--compile-bytecode")
        )
        remove(top)
    m = {k: median(v) for k, v in times.items()}
    print("  4 " + "; ".join(f"{k} {shown(v)}" for k, v in times.items()))
    return [
        ratio_row("4 build 8 wheels, cold uv cache", m["cold"], m["floor cold"], 1.3),
        ratio_row("4 build 8 wheels, warm uv cache", m["warm"], m["floor warm"], 1.3),
        ratio_row("4 (warm, floor with --link-mode copy)", m["warm"], m["floor warm copy"], None),
        ratio_row(
            "4 (warm, floor with --compile-bytecode)", m["warm"], m["floor warm compile"], None
        ),
        ratio_row(
            "4 (warm, net of doit list, vs compile)",
            m["warm"] - m["doit list"],
            m["floor warm compile"],
            None,
        ),
    ]


def figure5(runner: Runner, rounds: int, state: dict) -> list[Row]:
    if "default" not in state:
        raise Failed(
            "figure 5 pulls from the store figure 1's last new-code stage filled, "
            "and figure 1 failed"
        )
    ws, cache = state["default"]
    pulls = [f"pull:{name}" for name in PYTHON_PARTS]
    raw, trivial = [], []
    for _ in range(rounds):
        remove(ws.parent / "build")
        seconds, out = runner.doit(pulls, ws, cache)
        for name in PYTHON_PARTS:
            expect(out, rf"^pull:{name}: restored")
        raw.append(seconds)
        trivial.append(runner.doit(["list"], ws, cache)[0])
    per_part = (median(raw) - median(trivial)) / len(pulls)
    print(f"  5 pulls {shown(raw)}  doit list {shown(trivial)}")
    return [
        Row(
            f"5 pull from store: {len(pulls)} parts raw | net/part",
            median(raw),
            median(trivial),
            "<= 0.1 s/part",
            f"{per_part:.3f} s/part",
            per_part <= 0.1,
        )
    ]


def figure6(runner: Runner, rounds: int) -> list[Row]:
    top = runner.work / "f6"
    ws, cache = copy_workspace(REPO / "workspace", top / "ws"), top / "cache"
    remove(ws.parent / "parts.lock")
    first, out = runner.doit(["lock"], ws, cache)  # fills the uv cache
    expect(out, r"^lock:cluster: wrote")
    times, floors = [], []
    for _ in range(rounds):
        remove(ws.parent / "parts.lock")
        seconds, out = runner.doit(["lock"], ws, cache)
        expect(out, r"^lock:cluster: wrote", r"^lock:openstack-projects: wrote")
        times.append(seconds)
        total = 0.0
        for name in PYTHON_PARTS:
            folder = top / f"floor-{name}"
            remove(folder)
            shutil.copytree(REPO / "workspace" / name, folder)
            (folder / "requirements.in").write_text("".join(f"{p}\n" for p in PINS))
            total += runner.run(
                uv(
                    "pip",
                    "compile",
                    "--python",
                    PYTHON,
                    "--format",
                    "pylock.toml",
                    "-o",
                    "pylock.toml",
                    "requirements.in",
                    "pyproject.toml",
                    cache=cache / "uv",
                ),
                cwd=folder,
            )[0]
        floors.append(total)
    print(
        f"  6 first lock (cold uv cache, PyPI) {first:.2f} s; warm {shown(times)}; "
        f"uv pip compile x2 {shown(floors)}"
    )
    row = ratio_row("6 doit lock, default ws, warm uv cache", median(times), median(floors), None)
    row.target, row.ok = "<= 2 s", median(times) <= 2
    row.result = f"{median(times):.2f} s ({median(times) / median(floors):.1f}x)"
    return [row]


# -- the table -----------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    def s(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f} s"

    width = max(len(r.figure) for r in rows)
    lines = [
        f"{'figure':{width}s}  {'partsmith':>10s}  {'floor':>10s}  "
        f"{'ratio/figure':>18s}  {'target':>14s}",
        "-" * (width + 62),
    ]
    for r in rows:
        verdict = "" if r.ok is None else ("  ok" if r.ok else "  MISSED")
        lines.append(
            f"{r.figure:{width}s}  {s(r.partsmith):>10s}  {s(r.floor):>10s}  {r.result:>18s}  "
            f"{r.target:>14s}{verdict}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of figure 1")
    parser.add_argument("--large-rounds", type=int, default=3, help="rounds of figure 3")
    parser.add_argument("--quick-rounds", type=int, default=5, help="rounds of figures 2, 4, 5, 6")
    parser.add_argument(
        "--only", default="1,2,3,4,5,6", help="figures to run, e.g. 1,5 (5 needs 1)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the tmpfs folder for inspection")
    parser.add_argument(
        "--git",
        type=Path,
        default=REPO,
        help=f"the repository {OLD_COMMIT} is taken from (default: this checkout)",
    )
    options = parser.parse_args()
    wanted = {int(n) for n in options.only.split(",")}
    GIT[0] = options.git
    if 5 in wanted:
        wanted.add(1)
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="partsmith-bench-v2-", dir=shm if shm.is_dir() else None))
    (work / "tmp").mkdir()
    runner = Runner(work)
    rows: list[Row] = []
    state: dict = {}
    started = time.perf_counter()
    print(f"python parts v2 benchmark in {work}; {os.cpu_count()} cores; {PYTHON}", flush=True)
    try:
        flask = wheelhouse(runner, "flask", PINS) if wanted & {2, 4} else (Path(), [])
        figures = {
            1: lambda: figure1(runner, options.rounds, state),
            2: lambda: figure2(runner, options.quick_rounds, flask),
            3: lambda: figure3(runner, options.large_rounds),
            4: lambda: figure4(runner, options.quick_rounds, flask),
            5: lambda: figure5(runner, options.quick_rounds, state),
            6: lambda: figure6(runner, options.quick_rounds),
        }
        for number, function in figures.items():
            if number not in wanted:
                continue
            began = time.perf_counter()
            print(f"figure {number}", flush=True)
            try:
                rows += function()
            except Exception as err:  # one figure failing still leaves the others' numbers
                print(
                    f"  figure {number} FAILED: {err}"
                    if isinstance(err, Failed)
                    else traceback.format_exc(),
                    flush=True,
                )
                rows.append(Row(f"{number} (failed: see above)", None, None, "-", "ERROR", False))
            print(f"  figure {number} took {time.perf_counter() - began:.0f} s", flush=True)
    finally:
        if options.keep:
            print(f"kept {work}")
        else:
            remove(work)
    print()
    print(
        f"medians; figures 1: {options.rounds} rounds, 3: {options.large_rounds}, "
        f"2/4/5/6: {options.quick_rounds}; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
