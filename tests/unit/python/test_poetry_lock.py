"""poetry.lock read without poetry: which packages a poetry part installs, pinned with hashes."""

from rules.python.poetry_lock import poetry_requirements

LOCK = """
[[package]]
name = "Click"
version = "8.1.7"
category = "main"
optional = false
markers = "python_version >= '3.8'"
files = [
    {file = "click-8.1.7-py3-none-any.whl", hash = "sha256:aaa"},
    {file = "c.tar.gz", hash = "sha256:bbb"},
]

[[package]]
name = "pytest"
version = "8.0.0"
category = "dev"
optional = false
files = []

[[package]]
name = "Rich_Text"
version = "1.0"
category = "main"
optional = true
files = [{file = "rich_text-1.0-py3-none-any.whl", hash = "sha256:ccc"}]

[extras]
fancy = ["rich-text (>=1.0)"]
"""


def test_an_old_format_lock_gives_main_pins_with_markers_and_hashes(tmp_path):
    lock = tmp_path / "poetry.lock"
    lock.write_text(LOCK)
    assert poetry_requirements("p", lock, (), ()) == (
        "Click==8.1.7 ; python_version >= '3.8' \\\n"
        "    --hash=sha256:aaa \\\n"
        "    --hash=sha256:bbb\n"
    )


def test_groups_and_extras_add_their_packages(tmp_path):
    lock = tmp_path / "poetry.lock"
    lock.write_text(LOCK)
    pins = poetry_requirements("p", lock, ("dev",), ("-E", "fancy"))
    assert [line for line in pins.splitlines() if "==" in line] == [
        "Click==8.1.7 ; python_version >= '3.8' \\",
        "pytest==8.0.0",
        "Rich_Text==1.0 \\",
    ]
    assert poetry_requirements("p", lock, (), ("--all-extras",)).count("Rich_Text==1.0") == 1


def test_a_lock_that_does_not_say_the_groups_or_takes_a_git_package_is_refused(tmp_path):
    import pytest

    from rules.python.errors import PythonError

    lock = tmp_path / "poetry.lock"
    lock.write_text('[[package]]\nname = "a"\nversion = "1"\n\n[metadata]\nlock-version = "2.0"\n')
    with pytest.raises(PythonError, match=r"lock-version 2.0\) does not say which group"):
        poetry_requirements("p", lock, (), ())
    lock.write_text(
        '[[package]]\nname = "a"\nversion = "1"\ngroups = ["main"]\n'
        'source = {type = "git", url = "https://example.com/a.git"}\n'
    )
    with pytest.raises(PythonError, match="package a comes from a git source in poetry.lock"):
        poetry_requirements("p", lock, (), ())


def test_markers_per_group_are_those_of_the_groups_installed(tmp_path):
    lock = tmp_path / "poetry.lock"
    lock.write_text(
        '[[package]]\nname = "w"\nversion = "1"\ngroups = ["main", "dev"]\n'
        "markers = {main = \"sys_platform == 'win32'\", dev = \"python_version < '3.12'\"}\n"
    )
    assert poetry_requirements("p", lock, (), ()) == "w==1 ; (sys_platform == 'win32')\n"
