"""make, autotools, cmake and meson parts, as snapcraft.yaml writes them: built with their tools
from build-packages, installed with DESTDIR, and the same bytes at any checkout path (the
compilers map the sandbox's path out of their debug information and __FILE__)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers.doit_runner import doit
from helpers.workspaces import snap_project, write_files

HELLO_C = "#include <stdio.h>\nint main(void) { puts(__FILE__); return 0; }\n"

SOURCES = {
    "make": {
        "Makefile": "all: hello\nhello: hello.c\n\t$(CC) $(CFLAGS) -g -o hello hello.c $(EXTRA)\n"
        "install:\n\tinstall -D hello $(DESTDIR)/usr/bin/hello\n",
    },
    "autotools": {
        "configure.ac": "AC_INIT([hello], [1.0])\nAM_INIT_AUTOMAKE([foreign])\nAC_PROG_CC\n"
        "AC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
        "Makefile.am": "bin_PROGRAMS = hello\nhello_SOURCES = hello.c\nhello_CFLAGS = -g\n",
    },
    "cmake": {
        "CMakeLists.txt": "cmake_minimum_required(VERSION 3.10)\nproject(hello C)\n"
        "add_executable(hello hello.c)\ninstall(TARGETS hello DESTINATION bin)\n",
    },
    "meson": {
        "meson.build": "project('hello', 'c')\nexecutable('hello', 'hello.c', install: true)\n"
    },
}
KEYS = {
    "make": "make-parameters: [EXTRA=-O0]",
    "autotools": "autotools-configure-parameters: [--prefix=/usr]",
    "cmake": "cmake-parameters: [-DCMAKE_INSTALL_PREFIX=/usr, -DCMAKE_BUILD_TYPE=Debug]",
    "meson": "meson-parameters: [--prefix=/usr, --buildtype=debug]",
}
TOOLS = {
    "make": ["make", "gcc"],
    "autotools": ["autoconf", "automake", "make", "gcc"],
    "cmake": ["cmake", "make", "gcc"],
    "meson": ["meson", "ninja-build", "gcc"],
}


def project(root: Path, plugin: str) -> Path:
    write_files(root / "src", {"hello.c": HELLO_C, **SOURCES[plugin]})
    return snap_project(
        root,
        f"""\
        name: native
        base: core24
        parts:
          hello:
            plugin: {plugin}
            source: src
            build-packages: [{", ".join(TOOLS[plugin])}]
            {KEYS[plugin]}
        """,
    )


@pytest.mark.parametrize("plugin", ["make", "autotools", "cmake", "meson"])
def test_a_native_part_builds_installs_and_names_no_sandbox(tmp_path, plugin):
    builds = {}
    for place in (tmp_path / "a" / "proj", tmp_path / "b" / "much" / "deeper" / "proj"):
        project(place, plugin)
        env = {**os.environ, "PARTSMITH_CACHE_DIR": str(place.parent / "cache")}
        result = doit("stage", "workspace=snap/snapcraft.yaml", cwd=place, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        (program,) = [p for p in (place / "build/stage").rglob("hello") if p.is_file()]
        ran = subprocess.run([program], capture_output=True, text=True, check=True)
        assert ran.stdout.strip().endswith("hello.c")
        assert str(place).encode() not in program.read_bytes()
        builds[place] = program.read_bytes()
    assert len(set(builds.values())) == 1  # the same bytes at two checkout paths


def test_a_native_plugin_s_keys_belong_to_it(tmp_path):
    """cmake-parameters on a make part is refused by name, as other plugins' keys are."""
    path = project(tmp_path / "proj", "make")
    path.write_text(path.read_text().replace("make-parameters:", "cmake-parameters:"))
    result = doit("stage", "workspace=snap/snapcraft.yaml", cwd=tmp_path / "proj")
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "parts.hello.cmake-parameters: only valid for plugin: cmake, not make" in result.stderr


def test_cmake_generator_is_one_craft_parts_knows(tmp_path):
    path = project(tmp_path / "proj", "cmake")
    path.write_text(
        path.read_text().replace(
            "cmake-parameters:", "cmake-generator: Xcode\n    cmake-parameters:"
        )
    )
    result = doit("stage", "workspace=snap/snapcraft.yaml", cwd=tmp_path / "proj")
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "parts.hello.cmake-generator: 'Xcode': choose Unix Makefiles or Ninja" in result.stderr


def test_source_subdir_is_where_the_build_runs(tmp_path):
    """dump copies only the subfolder; make builds there; the rest of the source is an input
    the build may read (../other), as in craft-parts."""
    root = tmp_path / "proj"
    write_files(
        root / "src",
        {
            "sub/a.txt": "in the subfolder\n",
            "sub/Makefile": "all:\n\tcat ../other/b.txt > made.txt\n"
            "install:\n\tinstall -D made.txt $(DESTDIR)/made.txt\n",
            "other/b.txt": "beside it\n",
        },
    )
    snap_project(
        root,
        """\
        name: subdirs
        base: core24
        parts:
          copied: {plugin: dump, source: src, source-subdir: sub, stage: ['*', -Makefile]}
          made: {plugin: make, source: src, source-subdir: sub, build-packages: [make]}
        """,
    )
    result = doit("stage", "workspace=snap/snapcraft.yaml", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    stage = root / "build/stage"
    assert sorted(p.name for p in stage.iterdir()) == ["a.txt", "made.txt"]
    assert (stage / "made.txt").read_text() == "beside it\n"
