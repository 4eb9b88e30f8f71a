"""A project's requires-python checked against the interpreter before pull resolves anything."""

import pytest

from rules.python.errors import PythonError
from rules.python.requires_python import _allows, _release, check_requires_python


@pytest.mark.parametrize(
    ("specifiers", "allowed"),
    [
        (">=3.9", True),
        (">=3.12", False),
        (">=3.8, <4", True),
        ("<3.11", False),
        ("<=3.11", False),  # 3.11 means 3.11.0
        ("<3.12", True),
        (">3.11", True),
        ("==3.11.*", True),
        ("==3.10.*", False),
        ("!=3.11.*", False),
        ("!=3.10.*", True),
        ("~=3.10", True),
        ("~=3.10.2", False),
        ("==3.11.7", True),
        ("==3.11", False),
    ],
)
def test_release_specifiers(specifiers, allowed):
    assert _allows(specifiers, _release("3.11.7")) is allowed


@pytest.mark.parametrize("unread", [">=3.11.0rc1", "foo", ">=3.11+local"])
def test_a_specifier_it_cannot_read_refuses_nothing(unread):
    assert _allows(unread, _release("3.11.7")) is None


def test_a_project_that_excludes_the_interpreter_is_refused_naming_both(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\nrequires-python = ">=3.13"\n')
    with pytest.raises(PythonError) as refused:
        check_requires_python("app", tmp_path, "3.11.7", "CPython")
    assert refused.value.brief == (
        "part 'app': the project needs Python >=3.13 (requires-python in its pyproject.toml) "
        "and the interpreter is CPython 3.11.7"
    )
    assert "python.interpreter" in refused.value.resolution


def test_a_project_without_requires_python_or_pyproject_passes(tmp_path):
    check_requires_python("app", tmp_path, "3.11.7", "CPython")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\n')
    check_requires_python("app", tmp_path, "3.11.7", "CPython")
    check_requires_python("app", None, "3.11.7", "CPython")
