"""A snapcraft.yaml written with what snapcraft and craft-parts accept (issue 18) builds with
`doit stage workspace=snap/snapcraft.yaml` as it stands: snapcraft's part names, project-level
build-snaps and grammar, ua-services and provenance, build-environment grammar, meson's quoted
parameters, autotools' bootstrap parameters and disable-parallel."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers.doit_runner import doit
from helpers.workspaces import snap_project, write_files

from rules.core.machine import DEB_ARCH

OTHER = "s390x" if DEB_ARCH != "s390x" else "amd64"

MESON = {
    "meson.build": "project('greeting')\n"
    "conf = configuration_data()\nconf.set('GREETING', get_option('greeting'))\n"
    "configure_file(input: 'greeting.txt.in', output: 'greeting.txt', configuration: conf,\n"
    "  install_dir: get_option('datadir'))\n",
    "meson_options.txt": "option('greeting', type: 'string', value: 'unset')\n",
    "greeting.txt.in": "@GREETING@\n",
}
AUTOTOOLS = {  # no configure, no autogen.sh: craft-parts runs ./bootstrap with its parameters
    "bootstrap": '#!/bin/sh\necho "$@" > bootstrap-args.txt\nexec autoreconf --install\n',
    "configure.ac": "AC_INIT([args], [1.0])\nAM_INIT_AUTOMAKE([foreign])\n"
    "AC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
    "Makefile.am": "data_DATA = bootstrap-args.txt\n",
}
SNAPCRAFT_YAML = f"""\
name: door
base: core24
ua-services: [esm-apps]
provenance: test-provenance
build-snaps: [astral-uv]
build-packages:
  - on {OTHER}: [no-such-package-anywhere]
  - else: [make]
parts:
  my_part:
    plugin: nil
    build-environment:
      - GREETING: hello
      - on {DEB_ARCH}: [{{WHERE: here}}]
      - else: [{{WHERE: elsewhere}}]
    override-build: |
      uv --version | cut -d' ' -f1 > "$CRAFT_PART_INSTALL/uv.txt"
      echo "$GREETING $WHERE" > "$CRAFT_PART_INSTALL/env.txt"
  Greeting+Meson:
    plugin: meson
    source: meson-src
    build-packages: [meson, ninja-build]
    build-environment:
      - NOT_EXPANDED: expanded
    meson-parameters: ["--prefix=/opt/my app", "-Dgreeting=$NOT_EXPANDED"]
  auto_tools:
    plugin: autotools
    source: auto-src
    build-packages: [autoconf, automake]
    autotools-bootstrap-parameters: [--flavour=plain, $CRAFT_PART_NAME]
    autotools-configure-parameters: [--prefix=/usr]
    disable-parallel: true
"""


def project(root: Path) -> Path:
    write_files(root / "meson-src", MESON)
    write_files(root / "auto-src", AUTOTOOLS)
    (root / "auto-src/bootstrap").chmod(0o755)
    return snap_project(root, SNAPCRAFT_YAML)


def stage(root: Path) -> subprocess.CompletedProcess:
    return doit("stage", "workspace=snap/snapcraft.yaml", cwd=root)


def test_a_snapcraft_file_of_what_craft_parts_accepts_builds_as_it_stands(tmp_path):
    root = tmp_path / "proj"
    project(root)
    result = stage(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not used for building: provenance, ua-services" in result.stderr
    for name in ("my_part", "Greeting+Meson", "auto_tools"):
        assert f"build:{name}: built" in result.stdout
    staged = root / "build/stage"
    # project-level build-snaps reach every part; build-environment's grammar chose this machine
    assert (staged / "uv.txt").read_text() == "uv\n"
    assert (staged / "env.txt").read_text() == "hello here\n"
    assert "build-snaps: astral-uv -> partsmith's pinned uv" in result.stdout
    # meson's parameters quoted one by one, as craft-parts: a space kept, $VAR as written
    assert (staged / "opt/my app/share/greeting.txt").read_text() == "$NOT_EXPANDED\n"
    # autotools' bootstrap parameters joined as craft-parts joins them: $VAR expands
    assert (staged / "usr/share/bootstrap-args.txt").read_text() == "--flavour=plain auto_tools\n"
    record = json.loads((root / "build/parts/my_part/record.json").read_text())["record"]
    assert "make" in record["build-packages"]  # the project's, resolved for this machine
    again = stage(root)
    assert again.returncode == 0 and "build:auto_tools: built" not in again.stdout


def test_a_craft_parts_plugin_partsmith_lacks_stops_the_load_by_name(tmp_path):
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    snap_project(
        root,
        """\
        name: door
        base: core24
        parts:
          java:
            plugin: gradle-use
            source: src
            gradle-parameters: [--offline]
        """,
    )
    result = stage(root)
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert (
        "snapcraft.yaml:5: parts.java.plugin: plugin 'gradle-use' is a snapcraft plugin "
        "partsmith does not support" in result.stderr
    )
    assert "gradle-parameters" not in result.stderr
    assert not (root / "build").exists()
