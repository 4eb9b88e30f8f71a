"""The native plugins' parameters as craft-parts passes them: meson's quoted one by one
(craft_parts/plugins/meson_plugin.py: shlex.quote), make's, autotools' and cmake's joined as
written; autotools' bootstrap parameters and disable-parallel as its plugin uses them."""

from __future__ import annotations

import shlex
from pathlib import Path

from rules.build.plugins import default_build
from rules.build.plugins.context import BuildContext
from rules.workspace.model import Part

CONTEXT = BuildContext(Path("/usr/bin/python3"), ("/uv",))
MESON_BUILD = '"${CRAFT_PART_BUILD%/build}/meson-build"'


def test_meson_parameters_are_quoted_each_as_craft_parts_does():
    part = Part(
        "n",
        "meson",
        meson_parameters=("--prefix=/opt/my app", "-Dlibdir=$CRAFT_STAGE/lib", "--buildtype=debug"),
    )
    setup = default_build(part, CONTEXT)[1]
    assert setup == (
        "meson setup '--prefix=/opt/my app' '-Dlibdir=$CRAFT_STAGE/lib' --buildtype=debug "
        f"{MESON_BUILD} ."
    )
    # what the shell hands meson: each parameter one word, as written
    assert shlex.split(setup)[2:5] == list(part.meson_parameters)


def test_make_autotools_and_cmake_parameters_stay_joined_as_written():
    params = ("A=a b", "B=$CRAFT_STAGE")
    assert default_build(Part("m", "make", make_parameters=params), CONTEXT)[1] == (
        'make -j"$CRAFT_PARALLEL_BUILD_COUNT" A=a b B=$CRAFT_STAGE'
    )
    autotools = Part("a", "autotools", autotools_configure_parameters=params)
    assert "./configure A=a b B=$CRAFT_STAGE" in default_build(autotools, CONTEXT)
    cmake = Part("c", "cmake", cmake_parameters=params)
    assert default_build(cmake, CONTEXT)[1].endswith("-G 'Unix Makefiles' A=a b B=$CRAFT_STAGE")


def test_autotools_bootstrap_parameters_go_to_bootstrap_only():
    part = Part("a", "autotools", autotools_bootstrap_parameters=("--skip-po", "--gnulib=$X"))
    plan = default_build(part, CONTEXT)
    assert plan[1:4] == (
        "if [ ! -f ./configure ] && [ -f ./autogen.sh ]; then env NOCONFIGURE=1 ./autogen.sh; fi",
        "if [ ! -f ./configure ] && [ -f ./bootstrap ]; "
        "then env NOCONFIGURE=1 ./bootstrap --skip-po --gnulib=$X; fi",
        "if [ ! -f ./configure ]; then autoreconf --install; fi",
    )


def test_disable_parallel_drops_the_job_count_from_autotools_make_only():
    plain = default_build(Part("a", "autotools"), CONTEXT)
    serial = default_build(Part("a", "autotools", disable_parallel=True), CONTEXT)
    assert plain[-2] == 'make -j"$CRAFT_PARALLEL_BUILD_COUNT"'
    assert serial[-2:] == ("make", 'make install DESTDIR="$CRAFT_PART_INSTALL"')
    for plugin in ("make", "cmake", "meson"):  # craft-parts reads the key in autotools only
        assert default_build(Part("p", plugin, disable_parallel=True), CONTEXT) == default_build(
            Part("p", plugin), CONTEXT
        )
