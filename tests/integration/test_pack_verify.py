"""Reproducible nightly builds: `doit pack` and `doit verify`."""

import hashlib
import os
import shutil
import tarfile

import pytest
from helpers.doit_runner import REPO, doit
from helpers.workspaces import make_workspace

PACKED = """\
name: packed
source-date-epoch: 1591640328
parts:
  files:
    plugin: dump
    source: files
  made:
    plugin: nil
    override-build: |
      mkdir -p "$CRAFT_PART_INSTALL/share/a/very/long/folder/name/that/goes/on/and/on/past/the/\
hundred/characters/of/a/ustar/name"
      echo deep > "$CRAFT_PART_INSTALL/share/a/very/long/folder/name/that/goes/on/and/on/past/the/\
hundred/characters/of/a/ustar/name/file.txt"
      ln -s ../files.txt "$CRAFT_PART_INSTALL/share/link"
"""
FILES = {
    "files/bin/run": "#!/bin/sh\necho run\n",
    "files/files.txt": "data\n",
    "files/z/last": "z\n",
}


def packed(root, env=None, umask=None):
    ws = make_workspace(root, PACKED, FILES)
    os.chmod(root / "files/bin/run", 0o700 if umask else 0o755)
    result = doit("pack", f"workspace={ws}", cwd=root, env=env, umask=umask)
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "build/dist/packed.tar.gz"


def test_the_archive_has_every_reproducibility_property(tmp_path):
    archive = packed(tmp_path / "ws")
    data = archive.read_bytes()
    assert data[:3] == b"\x1f\x8b\x08" and data[3] & 0x08 == 0  # gzip, no file name
    assert data[4:8] == b"\0\0\0\0" and data[8] == 2  # mtime 0, maximum compression
    assert (
        archive.parent / "packed.tar.gz.sha256"
    ).read_text() == f"{hashlib.sha256(data).hexdigest()}  packed.tar.gz\n"
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert {"bin", "share", "z"} <= {m.name for m in members if m.isdir()}  # folders included
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == 1591640328 and member.pax_headers == {}
        expected = (
            0o777
            if member.issym()
            else 0o755
            if member.isdir() or member.name == "bin/run"
            else 0o644
        )
        assert member.mode == expected, member.name
    deep = next(m for m in members if m.name.endswith("name/file.txt"))
    assert len(deep.name) > 100  # a GNU long name, not a PAX record
    assert next(m for m in members if m.name == "share/link").linkname == "../files.txt"


def test_two_checkouts_with_another_umask_and_tz_pack_the_same_bytes(tmp_path):
    first = packed(tmp_path / "one")
    env = {
        **os.environ,
        "TZ": "Asia/Kolkata",
        "LC_ALL": "C",
        "PARTSMITH_CACHE_DIR": str(tmp_path / "other-cache"),
    }
    second = packed(tmp_path / "elsewhere" / "two", env=env, umask=0o077)
    assert first.read_bytes() == second.read_bytes()


NONDETERMINISTIC = """\
name: noisy
parts:
  steady: {plugin: dump, source: steady}
  noisy:
    plugin: nil
    override-build: |
      echo stable > "$CRAFT_PART_INSTALL/stable"
      date > "$CRAFT_PART_INSTALL/date"
      echo $RANDOM > "$CRAFT_PART_INSTALL/random"
      echo $$ > "$CRAFT_PART_INSTALL/pid"
      pwd | sha256sum > "$CRAFT_PART_INSTALL/where"
"""


def test_verify_names_every_nondeterministic_file_and_no_stable_one(tmp_path):
    ws = make_workspace(tmp_path, NONDETERMINISTIC, {"steady/file": "same\n"})
    assert doit("stage", f"workspace={ws}", cwd=tmp_path).returncode == 0
    result = doit("verify", f"workspace={ws}", cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 1 and "Traceback" not in out + result.stderr
    assert "verify: 1 of 2 parts not reproducible" in out
    assert "part 'noisy': 2 paths differ between two builds:" in out
    for name in ("date", "random"):
        assert f"    {name}: regular file" in out
    # sealed, the build's pid (a pid namespace of its own) and folder (/partsmith/build) are the
    # same in every build: what used to differ no longer does
    for name in ("stable", "file", "pid", "where"):
        assert f"{name}:" not in out
    assert (
        "-Mon" in out
        or "-Tue" in out
        or "-Wed" in out
        or "-Thu" in out
        or "-Fri" in out
        or "-Sat" in out
        or "-Sun" in out
    )

    steady = doit("verify", "part=steady", f"workspace={ws}", cwd=tmp_path)
    assert steady.returncode == 0
    assert "verify: 1 part reproducible" in steady.stdout


def test_verify_catches_the_hostname_when_it_can_change_it(tmp_path):
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare to give the second build another hostname")
    ws = make_workspace(
        tmp_path,
        "name: h\nparts:\n  h:\n    plugin: nil\n"
        '    override-build: hostname > "$CRAFT_PART_INSTALL/host"\n',
    )
    assert doit("stage", f"workspace={ws}", cwd=tmp_path).returncode == 0
    result = doit("verify", f"workspace={ws}", cwd=tmp_path)
    assert result.returncode == 1 and "+partsmith-verify" in result.stdout


def test_verify_of_an_unknown_part_is_a_clear_error(tmp_path):
    ws = make_workspace(tmp_path, NONDETERMINISTIC, {"steady/file": "same\n"})
    result = doit("verify", "part=nope", f"workspace={ws}", cwd=tmp_path)
    assert result.returncode != 0 and "no part named 'nope'" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.network
def test_verify_passes_on_the_default_workspace(tmp_path):
    shutil.copytree(
        REPO / "workspace", tmp_path / "ws", ignore=shutil.ignore_patterns("build"), symlinks=True
    )
    assert doit("stage", "workspace=ws/parts.yaml", cwd=tmp_path).returncode == 0
    result = doit("verify", "workspace=ws/parts.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verify: 5 parts reproducible" in result.stdout


def test_a_build_cannot_learn_the_checkout_path_through_git(tmp_path):
    import subprocess

    ws = make_workspace(
        tmp_path / "repo",
        "name: g\nparts:\n  g:\n    plugin: nil\n    override-build: |\n"
        '      git rev-parse --show-toplevel > "$CRAFT_PART_INSTALL/top" 2>&1 '
        '|| echo none > "$CRAFT_PART_INSTALL/top"\n',
    )
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    result = doit("stage", f"workspace={ws}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "repo/build/stage/top").read_text() == "none\n"


def test_pack_rewrites_an_archive_changed_after_it_was_made(tmp_path):
    archive = packed(tmp_path / "ws")
    good = archive.read_bytes()
    archive.write_bytes(b"garbage")
    result = doit("pack", f"workspace={tmp_path / 'ws' / 'parts.yaml'}", cwd=tmp_path)
    assert result.returncode == 0 and ".  pack" in result.stdout
    assert archive.read_bytes() == good
