"""What each plugin's default build runs."""

from helpers.workspaces import make_workspace

from rules.workspace.loader import load_workspace


def test_python_plan_installs_offline_every_pulled_wheel_by_name(tmp_path):
    from pathlib import Path as P

    from rules.build.plugins import default_build
    from rules.build.plugins.context import BuildContext
    from rules.python.python_pull import Pulled, Wheel

    workspace = load_workspace(
        make_workspace(
            tmp_path,
            """\
        name: w
        parts:
          app: {plugin: python, source: app}
        """,
            {"app/pyproject.toml": "[project]\nname = 'app'\n"},
        )
    )
    pulled = Pulled(
        P("/pulled"),
        (
            Wheel("flask", "3.0.3", "flask-3.0.3-py3-none-any.whl", "a" * 64),
            Wheel("click", "8.1.7", "click-8.1.7-py3-none-any.whl", "b" * 64),
        ),
        (Wheel("setuptools", "80.0", "setuptools-80.0-py3-none-any.whl", "c" * 64),),
    )
    context = BuildContext(P("/usr/bin/python3.11"), ("/uv", "--no-config"), pulled, project=True)
    assert default_build(workspace.parts["app"], context) == (
        "unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_NO_BINARY UV_INDEX_URL "
        "UV_EXTRA_INDEX_URL UV_FIND_LINKS UV_INDEX UV_DEFAULT_INDEX UV_NO_BINARY "
        "UV_NO_BINARY_PACKAGE UV_ONLY_BINARY UV_NO_BUILD UV_NO_BUILD_PACKAGE",
        '/usr/bin/python3.11 -m venv --without-pip --clear "$CRAFT_PART_INSTALL"',
        "echo 'partsmith: building the project'",
        "/uv --no-config build --wheel -q --python /usr/bin/python3.11 --offline --no-index "
        "--find-links ../inputs/build-wheels/cccccccccccccccc --out-dir ../dist .",
        "echo 'partsmith: installing 3 wheels'",
        '/uv --no-config pip install -q --python "$CRAFT_PART_INSTALL/bin/python" --offline '
        "--no-index --link-mode copy --find-links ../inputs/wheels/aaaaaaaaaaaaaaaa "
        "--find-links ../inputs/wheels/bbbbbbbbbbbbbbbb flask==3.0.3 click==8.1.7 "
        "../dist/*.whl",
    )


def test_native_plans_are_craft_parts_commands_with_the_sandbox_mapped_out():
    from pathlib import Path as P

    from rules.build.plugins import default_build
    from rules.build.plugins.context import BuildContext
    from rules.workspace.model import Part

    context = BuildContext(P("/usr/bin/python3.11"), ("/uv",))
    mapped = (
        'export CFLAGS="${CFLAGS:-} -ffile-prefix-map=${CRAFT_PART_BUILD%/build}=/build" '
        'CXXFLAGS="${CXXFLAGS:-} -ffile-prefix-map=${CRAFT_PART_BUILD%/build}=/build" '
        'FFLAGS="${FFLAGS:-} -ffile-prefix-map=${CRAFT_PART_BUILD%/build}=/build" '
        'FCFLAGS="${FCFLAGS:-} -ffile-prefix-map=${CRAFT_PART_BUILD%/build}=/build"'
    )
    make = Part("m", "make", make_parameters=("PREFIX=/usr", "LDFLAGS=-L$CRAFT_STAGE/lib"))
    assert default_build(make, context) == (  # parameters joined as craft-parts: $VAR expands
        mapped,
        'make -j"$CRAFT_PARALLEL_BUILD_COUNT" PREFIX=/usr LDFLAGS=-L$CRAFT_STAGE/lib',
        'make -j"$CRAFT_PARALLEL_BUILD_COUNT" install PREFIX=/usr LDFLAGS=-L$CRAFT_STAGE/lib '
        'DESTDIR="$CRAFT_PART_INSTALL"',
    )
    cmake = Part("c", "cmake", cmake_parameters=("-DX=1",), cmake_generator="Ninja")
    cmake_build = '"${CRAFT_PART_BUILD%/build}/cmake-build"'
    assert default_build(cmake, context)[1:] == (
        f'CMAKE_PREFIX_PATH="$CRAFT_STAGE" cmake -S . -B {cmake_build} -G Ninja -DX=1',
        f'cmake --build {cmake_build} -- -j"$CRAFT_PARALLEL_BUILD_COUNT"',
        f'DESTDIR="$CRAFT_PART_INSTALL" cmake --build {cmake_build} --target install',
    )
    meson_build = '"${CRAFT_PART_BUILD%/build}/meson-build"'
    assert default_build(Part("n", "meson"), context)[1:] == (
        f"meson setup {meson_build} .",
        f'ninja -C {meson_build} -j"$CRAFT_PARALLEL_BUILD_COUNT"',
        f'DESTDIR="$CRAFT_PART_INSTALL" ninja -C {meson_build} install',
    )
    assert default_build(Part("a", "autotools"), context)[4:] == (
        "./configure",
        'make -j"$CRAFT_PARALLEL_BUILD_COUNT"',
        'make install DESTDIR="$CRAFT_PART_INSTALL"',
    )
