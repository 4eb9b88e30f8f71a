"""The source copy is one pass (no second walk to normalize); what it makes must be what
`shutil.copytree` (symlinks kept, copy2 or os.link) followed by `normalize_modes` made."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from rules.action import ActionError, copy_source
from rules.action.run import copy_part_source
from rules.tree import normalize_modes

EPOCH = 1591640328


def make_source(root: Path) -> Path:
    """Files of every mode a checkout has, nested and empty folders, links to files, folders,
    nowhere and up, the build root and .git inside (never copied)."""
    src = root / "src"
    (src / "pkg/deep/er").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "private").mkdir(mode=0o700)
    for name, mode, data in [
        ("a.txt", 0o644, b"a\n"),
        ("run.sh", 0o700, b"#!/bin/sh\n"),
        ("group-x", 0o750, b"x"),
        ("only-mine", 0o600, b""),
        ("pkg/mod.py", 0o664, b"X = 1\n" * 5000),
        ("pkg/deep/er/big.bin", 0o644, os.urandom(3 << 20)),
        ("private/secret", 0o640, b"s"),
        ("setuid", 0o4755, b"u"),
    ]:
        (src / name).write_bytes(data)
        (src / name).chmod(mode)
    (src / "link-file").symlink_to("a.txt")
    (src / "link-dir").symlink_to("pkg")
    (src / "dangling").symlink_to("nowhere")
    (src / "pkg/up").symlink_to("..")
    (src / "build/parts/p").mkdir(parents=True)
    (src / "build/parts/p/out").write_text("built")
    (src / ".git").mkdir()
    (src / ".git/HEAD").write_text("ref")
    (src / "pkg/.git").write_text("a file named .git deeper is a source file")
    os.utime(src / "a.txt", ns=(1_000_000_123, 2_000_000_456))
    return src


def picture(root: Path, with_atime: bool = True) -> dict:
    """Every entry's kind, mode, times, bytes or target."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = Path(folder, name)
            info = os.lstat(path)
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                seen[rel] = ("link", os.readlink(path), info.st_mtime_ns)
            elif stat.S_ISDIR(info.st_mode):
                seen[rel] = ("dir", stat.S_IMODE(info.st_mode), info.st_mtime_ns)
            else:
                times = (info.st_atime_ns, info.st_mtime_ns) if with_atime else info.st_mtime_ns
                seen[rel] = ("file", stat.S_IMODE(info.st_mode), times, path.read_bytes())
    top = os.lstat(root)
    seen["."] = ("dir", stat.S_IMODE(top.st_mode), top.st_mtime_ns)
    return seen


def old_copy(source: Path, dest: Path, skip: tuple[Path, ...], link: bool) -> None:
    shutil.copytree(
        source,
        dest,
        symlinks=True,
        ignore=lambda folder, names: [n for n in names if Path(folder, n) in skip],
        copy_function=os.link if link else shutil.copy2,
    )


@pytest.mark.parametrize("reverse", [False, True])
def test_a_normalized_copy_is_the_copy_then_normalize_it_replaced(tmp_path, reverse):
    src = make_source(tmp_path)
    skip = (src / "build", src / ".git")
    old_copy(src, tmp_path / "old", skip, link=False)
    normalize_modes(tmp_path / "old", EPOCH)
    copy_part_source(src, src / "build", tmp_path / "new", EPOCH, reverse=reverse)
    old, new = picture(tmp_path / "old"), picture(tmp_path / "new")
    assert new == old
    assert "build" not in new and ".git" not in new and "pkg/.git" in new
    assert new["run.sh"][1] == 0o755 and new["only-mine"][1] == 0o644 and new["setuid"][1] == 0o755
    assert new["private"][1] == 0o755


@pytest.mark.parametrize("link", [False, True])
def test_a_plain_copy_keeps_modes_and_times_as_copytree_did(tmp_path, link):
    """override-pull's copy (modes and times as the checkout's) and the build folder's links."""
    src = make_source(tmp_path)
    old_copy(src, tmp_path / "old", (src / "build",), link)
    copy_source(src, tmp_path / "new", skip=src / "build", link=link)
    # atimes: reading the source for one copy moves what the other finds
    assert picture(tmp_path / "new", False) == picture(tmp_path / "old", False)
    assert (tmp_path / "new/.git/HEAD").read_text() == "ref"
    if link:
        assert os.stat(tmp_path / "new/a.txt").st_ino == os.stat(src / "a.txt").st_ino


def test_a_copy_is_not_a_link_and_reverse_creates_entries_in_reverse(tmp_path):
    src = make_source(tmp_path)
    copy_source(src, tmp_path / "new", skip=(), reverse=True, epoch=EPOCH)
    (tmp_path / "new/a.txt").write_text("changed in the sandbox")
    assert (src / "a.txt").read_text() == "a\n"
    assert os.stat(tmp_path / "new/pkg/mod.py").st_ino != os.stat(src / "pkg/mod.py").st_ino


def test_a_fifo_in_the_source_is_refused_by_name(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    os.mkfifo(src / "pipe")
    with pytest.raises(ActionError, match="pipe is not a file, folder or symlink"):
        copy_source(src, tmp_path / "new", skip=())


def test_bytes_are_copied_when_the_kernel_cannot_copy_a_range(tmp_path, monkeypatch):
    src = make_source(tmp_path)

    def refuse(*_args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    copy_source(src, tmp_path / "new", skip=(src / "build",), epoch=EPOCH)
    for name in ("pkg/deep/er/big.bin", "pkg/mod.py", "only-mine"):
        assert (tmp_path / "new" / name).read_bytes() == (src / name).read_bytes()
