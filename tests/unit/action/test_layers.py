"""What a build in layers may have written over its layer (rules/action/layers.py) and what the
python rule refuses there (rules/python/venv_fixes.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rules.action import LayerRefused
from rules.action.layers import check_upper
from rules.python.venv_fixes import python_venv_top


def upper_with_files(tmp_path: Path) -> Path:
    upper = tmp_path / "upper"
    (upper / "lib/site-packages/tool").mkdir(parents=True)
    (upper / "lib/site-packages/tool/__init__.py").write_text("")
    (upper / "bin").mkdir()
    (upper / "bin/tool").write_text("#!/usr/bin/env python3\n")
    return upper


def test_new_and_changed_files_and_copied_up_folders_are_taken(tmp_path: Path) -> None:
    upper = upper_with_files(tmp_path)
    # what overlayfs marks on a folder it copied up to write in: says nothing was removed
    os.setxattr(upper / "lib", "user.overlay.origin", b"x")
    os.setxattr(upper / "lib/site-packages", "user.overlay.impure", b"y")
    check_upper(upper, tmp_path / "layer")


@pytest.mark.parametrize("mark", ["user.overlay.opaque", "trusted.overlay.redirect"])
def test_a_folder_made_again_or_renamed_is_refused(tmp_path: Path, mark: str) -> None:
    upper = upper_with_files(tmp_path)
    try:
        os.setxattr(upper / "lib/site-packages/tool", mark, b"y")
    except PermissionError:  # trusted.* needs CAP_SYS_ADMIN: the user.* form says the same
        os.setxattr(upper / "lib/site-packages/tool", "user.overlay.redirect", b"y")
    with pytest.raises(LayerRefused, match="made again or renamed"):
        check_upper(upper, tmp_path / "layer")


def test_a_removed_entry_is_refused(tmp_path: Path) -> None:
    upper = upper_with_files(tmp_path)
    whiteout = upper / "lib/site-packages/gone.py"
    if os.geteuid() == 0:
        os.mknod(whiteout, stat.S_IFCHR | 0o600, os.makedev(0, 0))  # as overlayfs writes it
    else:  # the form overlayfs writes where it cannot make devices
        whiteout.write_text("")
        os.setxattr(whiteout, "user.overlay.whiteout", b"")
    with pytest.raises(LayerRefused, match="gone.py"):
        check_upper(upper, tmp_path / "layer")


@pytest.mark.parametrize("made", ["pyvenv.cfg", "bin/python", "bin/python3.11", "bin/activate"])
def test_a_top_layer_that_writes_the_venv_itself_is_refused(tmp_path: Path, made: str) -> None:
    upper = upper_with_files(tmp_path)
    (upper / made).write_text("")
    with pytest.raises(LayerRefused, match="the venv itself"):
        python_venv_top(upper, Path("/partsmith"), Path("/usr/bin/python3"), {})


def test_a_folder_of_the_layer_replaced_by_a_symlink_is_refused(tmp_path: Path) -> None:
    upper, layer = upper_with_files(tmp_path), tmp_path / "layer"
    (layer / "lib/site-packages/dep/sub").mkdir(parents=True)
    (layer / "lib/site-packages/dep/sub/mod.py").write_text("")
    (upper / "lib/site-packages/dep").mkdir()
    (upper / "lib/site-packages/dep/sub").symlink_to(tmp_path / "outside")
    with pytest.raises(LayerRefused, match="replaces a folder of the layer"):
        check_upper(upper, layer)


def test_a_folder_the_check_cannot_list_is_refused(tmp_path: Path, monkeypatch) -> None:
    upper = upper_with_files(tmp_path)
    listed = os.scandir

    def refused(path):  # what a mode-000 folder answers a user other than root
        if str(path).endswith("site-packages"):
            raise PermissionError(13, "Permission denied", str(path))
        return listed(path)

    monkeypatch.setattr(os, "scandir", refused)
    with pytest.raises(LayerRefused, match="cannot list"):
        check_upper(upper, tmp_path / "layer")


def test_a_yes_from_the_overlay_probe_is_kept_and_a_no_asked_again(tmp_path: Path, monkeypatch):
    from rules.action import seal

    probes: list[bool] = []
    answer = [True]

    def probe(folder: Path) -> bool:
        probes.append(answer[0])
        return answer[0]

    monkeypatch.setattr(seal, "seal", lambda: seal.Seal("/opt/bwrap", "0.11.0"))
    monkeypatch.setattr(seal, "_overlay_probe", probe)
    asked = seal.overlays_here.__wrapped__  # without the per-process cache
    assert asked(tmp_path) and asked(tmp_path)
    assert probes == [True]  # the second process trusts the kept yes
    (tmp_path / ".overlays").write_text('["/opt/bwrap", "0.10.0"]')  # another bwrap said it
    answer[0] = False
    assert not asked(tmp_path) and not asked(tmp_path)
    assert probes == [True, False, False]  # a no is never kept
