"""Store.restore (and tree.materialize) of a Tree, against `cp -a` of the same folder.

    python tests/bench/restore.py [RULES_PARENT] [--rounds N] [--tree FOLDER] [--profile]

The tree: 20,400 entries (20,000 small files) made up on /dev/shm, or with --tree a copy of
FOLDER (a real venv: the 51-wheel part of python_v2.py's figure 3 is 16,842 entries, 513 MB).
It is captured and put into a new store once; then each round restores it into a new folder
("restore": what `rm -rf build` then `doit stage` does for the part's files), materializes it
from the captured folder, and copies it with `cp -a` (the floor, page cache warm: the same tree
was just read). Medians of N rounds (default 5), each ratio against the floor of the same round's
median; the first restore after the put is shown apart ("restore, first"), since what the store
knows of its blobs can differ right after it wrote them, and so is a restore copying in one
thread (where the store copies in several).
RULES_PARENT: a folder holding another `rules/` to time instead (`git archive <commit> rules |
tar -x -C /tmp/base`), to compare a change against its base on the same machine in the same
minute. --profile: one more restore under cProfile, its top functions printed.
"""

import argparse
import cProfile
import os
import pstats
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
parser.add_argument("--tree", help="restore a copy of this folder instead of a made-up one")
parser.add_argument("--profile", action="store_true")
args = parser.parse_args()
sys.path.insert(0, args.rules_parent)

from rules.cache import store as store_module  # noqa: E402
from rules.cache.store import Store  # noqa: E402
from rules.tree.tree import capture  # noqa: E402
from rules.tree.writing import materialize  # noqa: E402


def make_tree(src: Path) -> None:
    for d in range(200):
        (src / f"d{d}").mkdir(parents=True)
        for f in range(100):
            (src / f"d{d}" / f"f{f}.py").write_text(f"print({d}, {f})\n" * 5)
        os.symlink(f"d{d}/f0.py", src / f"l{d}")


def cpu() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def timed(write, dest: Path) -> tuple[float, float]:
    """Wall and CPU seconds of `write(dest)` (dest a new folder), then dest removed."""
    cpu_start, start = cpu(), time.perf_counter()
    write(dest)
    took, used = time.perf_counter() - start, cpu() - cpu_start
    shutil.rmtree(dest)
    return took, used


def main() -> None:
    base = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        src = base / "src"
        if args.tree:
            subprocess.run(["cp", "-a", args.tree, str(src)], check=True)
        else:
            make_tree(src)
        tree = capture(src, 0).tree
        store = Store(base / "cache")
        store.put("k" * 64, {}, tree, src)

        def restore(dest: Path) -> None:
            if not store.restore(tree, dest, 0):
                sys.exit("restore failed")

        def restore_alone(dest: Path) -> None:
            threads, store_module.COPY_THREADS = store_module.COPY_THREADS, 1
            try:
                restore(dest)
            finally:
                store_module.COPY_THREADS = threads

        def floor(dest: Path) -> None:
            subprocess.run(["cp", "-a", str(src), str(dest)], check=True)

        placement = {path: (entry, src) for path, entry in tree.items()}
        rows: dict[str, list[tuple[float, float]]] = {"floor": [], "restore": []}
        rows |= {"materialize": [], "restore, first": []}
        rows["restore, first"].append(timed(restore, base / "first"))
        for _ in range(args.rounds):
            rows["floor"].append(timed(floor, base / "out"))
            rows["restore"].append(timed(restore, base / "out"))
            if hasattr(store_module, "COPY_THREADS"):
                rows.setdefault("restore, 1 thread", []).append(timed(restore_alone, base / "out"))
            rows["materialize"].append(timed(lambda d: materialize(placement, d, 0), base / "out"))
        size = sum(e.size for e in tree.values()) / 1e6
        print(
            f"{len(tree)} entries, {size:.0f} MB, {args.rounds} rounds, rules from "
            f"{args.rules_parent}"
        )
        wall = statistics.median(t for t, _ in rows["floor"])
        used = statistics.median(c for _, c in rows["floor"])
        for name, values in rows.items():
            took, spent = (statistics.median(v[i] for v in values) for i in (0, 1))
            shown = ", ".join(f"{t:.2f}" for t, _ in values)
            print(
                f"  {name:17} {took:6.3f} s {took / wall:5.2f}x cp -a  "
                f"CPU {spent:6.3f} s {spent / used:5.2f}x  [{shown}]"
            )
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(restore, base / "profiled")
            pstats.Stats(profile).sort_stats("tottime").print_stats(14)
    finally:
        shutil.rmtree(base)


main()
