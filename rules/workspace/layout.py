"""Where things go below a workspace's build root (SPEC.md, "Where things go")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sandbox:
    """The fixed folders of one action; every path an action sees lies below `root`."""

    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def install(self) -> Path:
        return self.root / "install"

    @property
    def stage(self) -> Path:
        return self.root / "stage"

    @property
    def prime(self) -> Path:
        """$CRAFT_PRIME: empty during a build; override-prime fills its own (stage.py)."""
        return self.root / "prime"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def tools(self) -> Path:
        return self.root / "tools"

    @property
    def project(self) -> Path:
        """$CRAFT_PROJECT_DIR: an empty folder. A build reads its part's `source` (an input the
        cache key covers), never the rest of the workspace, and never learns the checkout path."""
        return self.root / "project"

    @property
    def log(self) -> Path:
        return self.root / "build.log"

    @property
    def layer_upper(self) -> Path:
        """A build in layers (rules/build/layers.py): what it writes over the read-only layer
        below its install folder (overlayfs's upper folder). Hidden from the build itself."""
        return self.root / ".layer" / "upper"

    @property
    def layer_work(self) -> Path:
        """overlayfs's work folder, beside `layer_upper` (the same file system)."""
        return self.root / ".layer" / "work"


@dataclass(frozen=True)
class Layout:
    root: Path

    def part_dir(self, part: str) -> Path:
        return self.root / "parts" / part

    def install(self, part: str) -> Path:
        return self.part_dir(part) / "install"

    def manifest(self, part: str) -> Path:
        """The Tree of `install`, written after it; its presence means the part is built."""
        return self.part_dir(part) / "tree.json"

    def result(self, part: str) -> Path:
        """The key of the build that made `install` and what its scripts said (`craftctl set`):
        small, since every no-op reads it; written after `record`."""
        return self.part_dir(part) / "result.json"

    def record(self, part: str) -> Path:
        """The record and source manifest that key was computed from, for `doit explain`."""
        return self.part_dir(part) / "record.json"

    def built_values(self, part: str) -> dict[str, str]:
        """What the part's last build said with `craftctl set` (kept in its result.json)."""
        try:
            return dict(json.loads(self.result(part).read_text()).get("values", {}))
        except (OSError, ValueError, AttributeError):
            return {}

    def sandbox(self, part: str) -> Sandbox:
        return Sandbox(self.root / "sandbox" / part)

    def layer_sandbox(self, part: str) -> Sandbox:
        """Where the lower layer of a build in layers is built (rules/build/layers.py)."""
        return Sandbox(self.root / "sandbox" / f"{part}.layer")

    def layer(self, part: str) -> Path:
        """A python part's locked dependencies installed into its venv, without its project: the
        read-only layer its builds install the project over (rules/build/layers.py)."""
        return self.part_dir(part) / "layer"

    def layer_record(self, part: str) -> Path:
        """The key of `layer` and a digest of the stat data its entries had when it was made."""
        return self.part_dir(part) / "layer.json"

    def layer_tree(self, part: str) -> Path:
        """The Tree of `layer`, written before `layer_record`."""
        return self.part_dir(part) / "layer.tree.json"

    def pull_sandbox(self, part: str) -> Sandbox:
        return Sandbox(self.root / "sandbox" / f"{part}.pull")  # '.' is never in a part name

    def pulled(self, part: str) -> Path:
        """The part's pulled wheels, and pulled.json recording name, version and sha256 of each."""
        return self.part_dir(part) / "pulled"

    def pulled_verified(self, part: str) -> Path:
        """The stat each pulled wheel had when last hashed right (rules.cache.Verified records):
        a build hashes only those whose stat moved."""
        return self.part_dir(part) / "pulled.verified"

    def pull_result(self, part: str) -> Path:
        """The key and record of the pull that filled `pulled`."""
        return self.part_dir(part) / "pull-result.json"

    def pulled_source(self, part: str) -> Path:
        """A source pull made (fetched, and/or changed by override-pull): see pulledsource.py."""
        return self.part_dir(part) / "src"

    def declared_source(self, part: str) -> Path:
        """A python part's pulled source restored from the store without its files: only the
        files that declare its project and requirements (what pull reads), at their paths."""
        return self.part_dir(part) / "src-declared"

    def pulled_source_record(self, part: str) -> Path:
        return self.part_dir(part) / "src.json"

    def debs(self, part: str) -> Path:
        """The part's downloaded stage-packages, and debs.json recording name, version and
        sha256."""
        return self.part_dir(part) / "debs"

    def lock(self, name: str) -> Path:
        return self.root / "locks" / f"{name}.lock"

    @property
    def stage(self) -> Path:
        return self.root / "stage"

    @property
    def prime(self) -> Path:
        return self.root / "prime"

    @property
    def stage_record(self) -> Path:
        return self.root / "stage.json"

    @property
    def stage_records(self) -> Path:
        """What each part placed in stage/ (linkfarm.py)."""
        return self.root / "stage.d"

    @property
    def prime_records(self) -> Path:
        return self.root / "prime.d"

    @property
    def prime_record(self) -> Path:
        return self.root / "prime.json"

    @property
    def doit_db(self) -> Path:
        return self.root / ".doit.db"
