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
