"""Capture of a build's output and its store write (Store.put), against `cp -a` of the same tree.

    python tests/bench/capture_store.py [RULES_PARENT] [--rounds N] [--tree FOLDER]

A tree shaped like a large venv (20,000 files: most a few KB, 30 of 1-6 MB; about 180 MB) on
/dev/shm, captured and put into an empty store each round, as a build's output is; then again
into a store that already holds every blob (a rebuild whose output did not change). Medians of
N rounds (default 5), each against `cp -a` of the tree measured in the same round; the CPU rows
(user + system seconds) are less moved by the machine's other load than the wall-time ones.
RULES_PARENT: a folder holding another `rules/` to time instead (`git archive <commit> rules |
tar -x -C /tmp/base`), to compare a change against its base on the same machine; code without
the store's spool captures, then puts (which reads every file again). --tree: a copy of FOLDER
instead (a real venv: the 51-wheel part of python_v2.py's figure 3 is 16,842 entries, 513 MB).
"""

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("rules_parent", nargs="?", default=str(Path(__file__).resolve().parents[2]))
parser.add_argument("--rounds", type=int, default=5)
parser.add_argument("--tree", help="measure a copy of this folder instead of a made-up one")
args = parser.parse_args()
sys.path.insert(0, args.rules_parent)

from rules.cache.store import Store  # noqa: E402
from rules.tree.tree import capture  # noqa: E402

SPOOLS = hasattr(Store, "spooling")


def make_tree(src: Path) -> None:
    rand = random.Random(20)
    data = rand.randbytes(8 << 20)
    for d in range(200):
        (src / f"pkg{d}" / "sub").mkdir(parents=True)
        for f in range(100):
            size = rand.randint(200, 8000) if f % 10 else rand.randint(8000, 40000)
            start = rand.randint(0, len(data) - size)
            where = "sub/" if f % 3 == 0 else ""
            (src / f"pkg{d}" / f"{where}m{f}.py").write_bytes(data[start : start + size])
    for n in range(30):
        (src / f"pkg{n}" / f"lib{n}.so").write_bytes(
            os.urandom(1 << 20) * rand.randint(1, 6)  # incompressible enough
        )


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def capture_and_put(src: Path, cache: Path) -> tuple[float, float, int, float]:
    """Seconds of the capture and of the put (what the builder does), the entries, CPU seconds."""
    store = Store(cache)
    cpu_start = cpu(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if SPOOLS:
        with store.spooling() as spool:
            tree = capture(src, 0, (b"/partsmith/install",), sink=spool).tree
            middle = time.perf_counter()
            store.put("k" * 64, {}, tree, src, spool=spool)
    else:
        tree = capture(src, 0, (b"/partsmith/install",)).tree
        middle = time.perf_counter()
        store.put("k" * 64, {}, tree, src)
    end = time.perf_counter()
    return middle - start, end - middle, len(tree), cpu(resource.RUSAGE_SELF) - cpu_start


def main() -> None:
    base = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        src = base / "src"
        if args.tree:
            subprocess.run(["cp", "-a", args.tree, str(src)], check=True)
        else:
            make_tree(src)
        size = sum(p.stat().st_size for p in src.rglob("*") if p.is_file()) / 1e6
        rows: dict[str, list[float]] = {"cold": [], "cold capture": [], "cold put": []}
        rows |= {"warm": [], "floor": [], "cold CPU": [], "warm CPU": [], "floor CPU": []}
        entries = 0
        for round_ in range(args.rounds):
            floor_start, floor_cpu = time.perf_counter(), cpu(resource.RUSAGE_CHILDREN)
            subprocess.run(["cp", "-a", str(src), str(base / "copy")], check=True)
            rows["floor"].append(time.perf_counter() - floor_start)
            rows["floor CPU"].append(cpu(resource.RUSAGE_CHILDREN) - floor_cpu)
            shutil.rmtree(base / "copy")
            cache = base / f"cache{round_}"
            took, put, entries, used = capture_and_put(src, cache)
            rows["cold"].append(took + put)
            rows["cold CPU"].append(used)
            rows["cold capture"].append(took)
            rows["cold put"].append(put)
            took, put, _, used = capture_and_put(src, cache)  # every blob held already
            rows["warm"].append(took + put)
            rows["warm CPU"].append(used)
            shutil.rmtree(cache)
        floors = {"": statistics.median(rows["floor"]), "CPU": statistics.median(rows["floor CPU"])}
        print(
            f"{entries} entries, {size:.0f} MB, {args.rounds} rounds, rules from "
            f"{args.rules_parent} ({'spooled' if SPOOLS else 'capture, then put'})"
        )
        for name, values in rows.items():
            shown = ", ".join(f"{v:.2f}" for v in values)
            median = statistics.median(values)
            floor = floors["CPU" if name.endswith("CPU") else ""]
            print(f"  {name:13} {median:6.3f} s  {median / floor:5.2f}x cp -a   [{shown}]")
    finally:
        shutil.rmtree(base)


main()
