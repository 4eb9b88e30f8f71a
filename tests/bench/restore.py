"""Store.restore and tree.materialize of 20,400 entries (20,000 small files), best of $N runs.

    python tests/bench/bench_restore.py [RULES_PARENT]

RULES_PARENT: a folder holding another `rules/` to time instead (`git archive main rules | tar -x
-C /tmp/base`), to compare a change against its base on the same machine in the same minute.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2]))
from rules.cache.store import Store
from rules.core.files import remove_tree
from rules.tree.tree import capture
from rules.tree.writing import materialize

base = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
src = base / "src"
for d in range(200):
    (src / f"d{d}").mkdir(parents=True)
    for f in range(100):
        (src / f"d{d}" / f"f{f}.py").write_text(f"print({d}, {f})\n" * 5)
    os.symlink(f"d{d}/f0.py", src / f"l{d}")
tree = capture(src, 0).tree
store = Store(base / "cache")
store.put("k" * 64, {}, tree, src)


def best(write) -> float:
    """The fastest of $N runs of `write(a new folder)`."""
    times = []
    for i in range(int(os.environ.get("N", "5"))):
        dest = base / f"out{i}"
        start = time.perf_counter()
        write(dest)
        times.append(time.perf_counter() - start)
        remove_tree(dest)
    return min(times)


r = best(lambda dest: store.restore(tree, dest, 0) or sys.exit("restore failed"))
m = best(lambda dest: materialize({p: (e, src) for p, e in tree.items()}, dest, 0))
floor = best(lambda dest: subprocess.run(["cp", "-a", str(src), str(dest)], check=True))
print(
    f"{len(tree)} entries: cp -a {floor:.3f} s; restore {r:.3f} s ({r / floor:.2f}x); "
    f"materialize {m:.3f} s ({m / floor:.2f}x)"
)
remove_tree(base)
