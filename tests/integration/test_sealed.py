"""The sealed sandbox (issue 19): a build sees its own folders at /partsmith, the toolchain
read-only and nothing else of the host; what it lets in is in the key; an opt-out says so."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from helpers.doit_runner import REPO, doit
from helpers.workspaces import make_workspace

PROBE = """\
for p in {paths}; do
  if [ -e "$p" ]; then echo "seen $p"; else echo "hidden $p"; fi
done | tr / : > "$CRAFT_PART_INSTALL/paths.txt"
ls / > "$CRAFT_PART_INSTALL/root.txt"
if touch /usr/partsmith-probe 2>/dev/null; then echo wrote; else echo refused; fi \\
  > "$CRAFT_PART_INSTALL/usr.txt"
if mount -o remount,rw,bind /usr 2>/dev/null; then echo remounted; else echo refused; fi \\
  > "$CRAFT_PART_INSTALL/remount.txt"
echo "$CRAFT_PART_INSTALL $PWD" | tr / : > "$CRAFT_PART_INSTALL/where.txt"  # no path: a leak
"""


def stage(ws: Path, *args: str, env: dict[str, str] | None = None):
    return doit("stage", *args, f"workspace={ws}", cwd=ws.parent, env=env)


def ok(result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def probe_part(name: str, paths: list[Path]) -> str:
    script = PROBE.format(paths=" ".join(str(p) for p in paths)).replace("\n", "\n      ")
    return f"  {name}:\n    plugin: nil\n    override-build: |\n      {script}\n"


def test_a_build_sees_none_of_the_host_and_only_its_own_folders(tmp_path):
    """The host's /tmp, the caller's $HOME, the checkout and another part's folders (built at
    the same time with -n 2) are not there; ls / shows the allowed list; /usr is read-only."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret").write_text("caller's\n")
    (tmp_path / "outside.txt").write_text("v1\n")
    root = tmp_path / "ws"
    targets = [tmp_path / "outside.txt", home / "secret", root / "parts.yaml"]
    targets += [root / "build/sandbox/b", root / "build/sandbox/a", root / "build/parts"]
    text = "name: sealed\nparts:\n" + probe_part("a", targets) + probe_part("b", targets)
    ws = make_workspace(root, text)
    env = {**os.environ, "HOME": str(home)}
    out = ok(doit("-n", "2", "stage", f"workspace={ws}", cwd=root, env=env))
    assert "unsealed" not in out
    for part in ("a", "b"):
        install = root / "build/parts" / part / "install"
        seen = (install / "paths.txt").read_text().splitlines()
        assert seen == [f"hidden {p}".replace("/", ":") for p in targets]
        assert (install / "usr.txt").read_text() == "refused\n"
        assert (install / "remount.txt").read_text() == "refused\n"  # no capability, even as root
        assert (install / "where.txt").read_text() == ":partsmith:install :partsmith:build\n"
        assert set((install / "root.txt").read_text().split()) <= allowed_top(tmp_path)
    assert not Path("/usr/partsmith-probe").exists()


def allowed_top(tmp_path: Path) -> set[str]:
    """What / may hold: the system's folders, the sandbox, and the first folder of each
    toolchain path (the interpreter's prefix, partsmith's venv and rules, uv's cache, the
    tests' writable counts folder)."""
    system = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev"}
    toolchain = [sys.base_prefix, sys.prefix, REPO, os.environ["PARTSMITH_CACHE_DIR"], tmp_path]
    return system | {"tmp", "partsmith"} | {Path(p).parts[1] for p in toolchain}


def test_a_file_outside_the_key_cannot_decide_an_output(tmp_path):
    """The issue's case: a script copying a file by its absolute path outside the workspace
    fails, naming the path, saying the sandbox hides it and what to do; nothing is cached."""
    outside = tmp_path / "x" / "outside.txt"
    outside.parent.mkdir()
    outside.write_text("v1\n")
    ws = make_workspace(
        tmp_path / "ws",
        "name: leak\nparts:\n  d:\n    plugin: nil\n    override-build: |\n"
        f'      cat {outside} > "$CRAFT_PART_INSTALL/copied.txt"\n',
    )
    result = stage(ws)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert f"{outside} exists on this machine, but the sealed sandbox hides it" in result.stdout
    assert "sandbox: extra-paths" in result.stdout
    assert not (tmp_path / "ws/build/parts/d/result.json").exists()


def test_extra_paths_are_readable_and_in_the_key_by_path(tmp_path):
    sdk = tmp_path / "opt" / "sdk"
    sdk.mkdir(parents=True)
    (sdk / "version").write_text("1.0\n")
    text = """\
name: sdk
sandbox: {{extra-paths: [{sdk}]}}
parts:
  d:
    plugin: nil
    override-build: cp {sdk}/version "$CRAFT_PART_INSTALL/"
"""
    ws = make_workspace(tmp_path / "ws", text.format(sdk=sdk))
    ok(stage(ws))
    assert (tmp_path / "ws/build/stage/version").read_text() == "1.0\n"
    # its contents are not in the key (README says so): only its path is
    (sdk / "version").write_text("2.0\n")
    assert "-- build:d" in ok(doit("build:d", f"workspace={ws}", cwd=tmp_path))
    moved = tmp_path / "opt" / "sdk2"
    sdk.rename(moved)
    ws.write_text(text.format(sdk=moved))
    ok(stage(ws))
    assert (tmp_path / "ws/build/stage/version").read_text() == "2.0\n"
    # the moved path is a new key: explain, asked before the stage, names it
    moved.rename(tmp_path / "opt" / "sdk3")
    ws.write_text(text.format(sdk=tmp_path / "opt" / "sdk3"))
    explained = ok(doit("explain", "part=d", f"workspace={ws}", cwd=tmp_path))
    assert "toolchain sandbox:" in explained and "sdk3" in explained, explained


def test_an_extra_path_that_is_not_absolute_or_not_there_is_a_load_error(tmp_path):
    ws = make_workspace(
        tmp_path / "ws", "name: bad\nsandbox: {extra-paths: [opt/sdk, /no/such/sdk]}\nparts: {}\n"
    )
    result = stage(ws)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "parts.yaml:2: sandbox.extra-paths: 'opt/sdk' is not an absolute host path" in (
        result.stdout + result.stderr
    )
    assert "'/no/such/sdk' does not exist on this machine" in result.stdout + result.stderr


def test_the_opt_out_says_unsealed_and_builds_under_other_keys(tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        "name: out\nparts:\n  d:\n    plugin: nil\n"
        "    override-build: 'pwd | tr / : > $CRAFT_PART_INSTALL/pwd'\n",
    )
    ok(stage(ws))
    assert (tmp_path / "ws/build/stage/pwd").read_text() == ":partsmith:build\n"
    out = ok(stage(ws, env={**os.environ, "PARTSMITH_UNSEALED": "1"}))
    assert "unsealed (PARTSMITH_UNSEALED=1: nothing uploaded)" in out
    assert "build:d: built" in out  # not the sealed result: another key
    assert (tmp_path / "ws/build/stage/pwd").read_text().strip().endswith(":sandbox:d:build")


def test_a_machine_that_cannot_make_the_sandbox_stops_with_the_cause_and_the_fix(tmp_path):
    ws = make_workspace(
        tmp_path / "ws", "name: nobwrap\nparts:\n  d: {plugin: nil, override-build: 'true'}\n"
    )
    result = stage(ws, env={**os.environ, "PARTSMITH_BWRAP": "/bin/false"})
    out = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in out
    assert "the sealed sandbox cannot be made" in out
    assert "PARTSMITH_UNSEALED=1" in out and "user namespaces" in out
