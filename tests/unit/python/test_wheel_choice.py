"""Which file of a universal lock an interpreter installs (rules/python/wheel_choice.py)."""

from __future__ import annotations

import pytest

from rules.python.errors import PythonError
from rules.python.wheel_choice import Target

LINUX_311 = Target(
    {"sys_platform": "linux", "python_version": "3.11", "python_full_version": "3.11.7"},
    (
        "cp311-cp311-manylinux_2_17_x86_64",
        "cp311-abi3-manylinux_2_17_x86_64",
        "py3-none-manylinux_2_17_x86_64",
        "cp311-none-any",
        "py3-none-any",
    ),
)
URL = "https://files.example/packages/aa/"


def test_a_marker_decides_whether_a_package_is_installed():
    assert LINUX_311.includes("colorama", None)
    assert not LINUX_311.includes("colorama", "sys_platform == 'win32'")
    assert LINUX_311.includes("tomli", "python_full_version < '3.12'")
    assert not LINUX_311.includes("tomli", "python_full_version < '3.11'")


def test_a_marker_that_names_no_known_variable_is_an_error_naming_the_package():
    with pytest.raises(PythonError, match="package 'odd': its marker"):
        LINUX_311.includes("odd", "no_such_variable == '1'")


def test_the_most_specific_fitting_wheel_wins_whatever_the_order_of_the_lock():
    wheels = [
        URL + "m-1.0-cp311-cp311-win_amd64.whl",  # first in the lock, and never installable here
        URL + "m-1.0-py3-none-any.whl",
        URL + "m-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        URL + "m-1.0-cp311-cp311-macosx_11_0_arm64.whl",
    ]
    assert LINUX_311.best_wheel(wheels) == 2
    assert LINUX_311.best_wheel(wheels[:2]) == 1


def test_no_fitting_wheel_is_none_so_the_sdist_is_taken():
    wheels = ["m-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "m-1.0-cp311-cp311-win_amd64.whl"]
    assert LINUX_311.best_wheel(wheels) is None
    assert LINUX_311.best_wheel(["not-a-wheel-name.zip"]) is None
    assert LINUX_311.best_wheel([]) is None


def test_a_parts_no_binary_variables_name_the_packages_built_from_their_sdist():
    from rules.python.wheel_choice import sdist_wanted

    assert not sdist_wanted(())("numpy")
    named = sdist_wanted((("UV_NO_BINARY_PACKAGE", "NumPy pyyaml"), ("PIP_NO_BINARY", "a_b,c")))
    assert [named(p) for p in ("numpy", "pyyaml", "a-b", "c", "flask")] == [1, 1, 1, 1, 0]
    assert sdist_wanted((("UV_NO_BINARY", "true"),))("flask")
    assert sdist_wanted((("PIP_NO_BINARY", ":all:"),))("flask")
    assert not sdist_wanted((("UV_NO_BINARY", "0"),))("flask")
