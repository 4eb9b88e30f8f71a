"""make, autotools, cmake, meson: craft-parts' build commands for native code, as data. They run
in $CRAFT_PART_BUILD (a copy of the source) and install with DESTDIR=$CRAFT_PART_INSTALL; their
tools come from the part's build-packages. The compilers map the sandbox's path out of what
they record (debug information, __FILE__), so an output names no sandbox, as reproducible
Debian builds do."""

from __future__ import annotations

import shlex

from rules.workspace import Part

from .context import BuildContext

JOBS = '-j"$CRAFT_PARALLEL_BUILD_COUNT"'
DESTDIR = 'DESTDIR="$CRAFT_PART_INSTALL"'
# the sandbox is the folder above $CRAFT_PART_BUILD; the part's own flags come first
PREFIX_MAP = " ".join(
    f'{flags}="${{{flags}:-}} -ffile-prefix-map=${{CRAFT_PART_BUILD%/build}}=/build"'
    for flags in ("CFLAGS", "CXXFLAGS", "FFLAGS", "FCFLAGS")
)
COMPILERS = f"export {PREFIX_MAP}"
# build folders beside the build copy, in the sandbox (never inside the source: `cmake/` is often
# a folder of its modules, and with source-subdir `..` is still the copy)
CMAKE_BUILD = '"${CRAFT_PART_BUILD%/build}/cmake-build"'
MESON_BUILD = '"${CRAFT_PART_BUILD%/build}/meson-build"'


def _line(*words: str, params: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> str:
    """A command line: `words`, the part's parameters as craft-parts' make, autotools and cmake
    plugins join them (unquoted: `-DCMAKE_PREFIX_PATH=$CRAFT_STAGE` expands, `A B` is two words),
    then `after`."""
    return " ".join([*words, *params, *after])


def make(part: Part, context: BuildContext) -> tuple[str, ...]:
    params = part.make_parameters
    return (
        COMPILERS,
        _line("make", JOBS, params=params),
        _line("make", JOBS, "install", params=params, after=(DESTDIR,)),
    )


def autotools(part: Part, context: BuildContext) -> tuple[str, ...]:
    # as craft-parts: the bootstrap parameters go to ./bootstrap only (autogen.sh runs first,
    # without them), and disable-parallel drops -j from the build (MAKEFLAGS then decides)
    bootstrap = _line("env NOCONFIGURE=1 ./bootstrap", params=part.autotools_bootstrap_parameters)
    return (
        COMPILERS,
        "if [ ! -f ./configure ] && [ -f ./autogen.sh ]; then env NOCONFIGURE=1 ./autogen.sh; fi",
        f"if [ ! -f ./configure ] && [ -f ./bootstrap ]; then {bootstrap}; fi",
        "if [ ! -f ./configure ]; then autoreconf --install; fi",
        _line("./configure", params=part.autotools_configure_parameters),
        "make" if part.disable_parallel else f"make {JOBS}",
        f"make install {DESTDIR}",
    )


def cmake(part: Part, context: BuildContext) -> tuple[str, ...]:
    generator = shlex.quote(part.cmake_generator or "Unix Makefiles")
    return (
        COMPILERS,
        # as craft-parts: what the parts it is after staged is where find_package looks first
        _line(
            'CMAKE_PREFIX_PATH="$CRAFT_STAGE" cmake -S . -B',
            CMAKE_BUILD,
            "-G",
            generator,
            params=part.cmake_parameters,
        ),
        f"cmake --build {CMAKE_BUILD} -- {JOBS}",
        f"{DESTDIR} cmake --build {CMAKE_BUILD} --target install",
    )


def meson(part: Part, context: BuildContext) -> tuple[str, ...]:
    # craft-parts' meson plugin quotes each parameter (shlex.quote): `$VAR` stays as written
    params = tuple(shlex.quote(param) for param in part.meson_parameters)
    return (
        COMPILERS,
        _line("meson", "setup", params=params, after=(MESON_BUILD, ".")),
        f"ninja -C {MESON_BUILD} {JOBS}",
        f"{DESTDIR} ninja -C {MESON_BUILD} install",
    )
