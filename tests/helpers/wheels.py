"""Tiny wheels and projects made on the fly, so python tests run offline with --no-index."""

from __future__ import annotations

import base64
import hashlib
import json
import textwrap
import zipfile
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def wheel_files(
    name: str,
    version: str,
    modules: dict[str, str],
    requires: list[str] | None = None,
    scripts: dict[str, str] | None = None,
) -> dict[str, str]:
    """The files of a pure-python wheel: modules, METADATA, WHEEL, entry points (RECORD added
    later)."""
    dist = f"{name.replace('-', '_')}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {req}" for req in requires or []]
    files = dict(modules)
    files[f"{dist}/METADATA"] = "\n".join(metadata) + "\n"
    files[f"{dist}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: partsmith-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    if scripts:
        files[f"{dist}/entry_points.txt"] = "[console_scripts]\n" + "".join(
            f"{k} = {v}\n" for k, v in scripts.items()
        )
    return files


def write_wheel(path: Path, files: dict[str, str]) -> Path:
    """A wheel with a RECORD and fixed timestamps: the same bytes every time."""
    dist = next(name.split("/")[0] for name in files if name.endswith(".dist-info/METADATA"))
    rows = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            data = files[name].encode()
            archive.writestr(zipfile.ZipInfo(name, FIXED_TIME), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append(f"{name},sha256={digest},{len(data)}")
        rows.append(f"{dist}/RECORD,,")
        archive.writestr(zipfile.ZipInfo(f"{dist}/RECORD", FIXED_TIME), "\n".join(rows) + "\n")
    return path


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    modules: dict[str, str],
    requires: list[str] | None = None,
    scripts: dict[str, str] | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    return write_wheel(folder / filename, wheel_files(name, version, modules, requires, scripts))


def make_wheelhouse(folder: Path) -> Path:
    """alpha (a subpackage and a console script) needs beta, beta needs gamma; delta stands
    alone."""
    make_wheel(
        folder,
        "alpha",
        "1.0",
        {
            "alpha/__init__.py": (
                "from beta import shout\n\ndef main():\n    print(shout('alpha'))\n"
            ),
            "alpha/sub/__init__.py": "",
            "alpha/sub/deep.py": "VALUE = 42\n",
        },
        requires=["beta>=1"],
        scripts={"alpha": "alpha:main"},
    )
    make_wheel(
        folder,
        "beta",
        "2.0",
        {"beta.py": "import gamma\n\ndef shout(word):\n    return gamma.upper(word) + '!'\n"},
        requires=["gamma"],
        scripts={"beta-tool": "beta:shout"},
    )
    make_wheel(folder, "gamma", "3.0", {"gamma.py": "def upper(word):\n    return word.upper()\n"})
    make_wheel(folder, "delta", "0.1", {"delta.py": "NAME = 'delta'\n"})
    return folder


BACKEND = '''
"""An in-tree PEP 517 backend: builds this project's wheel from project.json, offline."""
import json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
from wheels import wheel_files, write_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    spec = json.load(open("project.json"))
    modules = {path: open(path).read() for path in spec["modules"]}
    files = wheel_files(spec["name"], spec["version"], modules, spec["requires"], spec["scripts"])
    name = f"{spec['name'].replace('-', '_')}-{spec['version']}-py3-none-any.whl"
    write_wheel(os.path.join(wheel_directory, name), files)
    return name
'''


def make_project(
    folder: Path, name: str, requires: list[str], scripts: dict[str, str], modules: dict[str, str]
) -> Path:
    """A local project built by an in-tree backend (no setuptools needed offline)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
        [build-system]
        requires = []
        build-backend = "backend"
        backend-path = ["."]

        [project]
        name = "{name}"
        version = "1.0"
        dependencies = {json.dumps(requires)}
        """)
    )
    (folder / "backend.py").write_text(BACKEND)
    (folder / "wheels.py").write_text(Path(__file__).read_text())
    spec = {
        "name": name,
        "version": "1.0",
        "requires": requires,
        "scripts": scripts,
        "modules": sorted(modules),
    }
    (folder / "project.json").write_text(json.dumps(spec))
    for path, text in modules.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return folder
