"""A part's lock: PEP 751 `pylock.<part>.toml`, read and written by partsmith.

The file lists, per package, its name, version and the one file pull fetches for the part's
interpreter (a wheel, or an sdist when no wheel fits), with its URL or path, size and sha256.
`[tool.partsmith]` holds what the lock was resolved from (`inputs`, compared by pull like
`uv sync --locked`) and the build requirements of the part's own project (`build-packages`,
same shape as `packages`), so the project builds offline from locked files too.

The writer is ours, not uv's: sorted, no timestamps, no command line, paths inside the workspace
relative to the lock's folder, so `doit lock` twice with nothing new upstream changes no byte.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import PythonError

LOCK_VERSION = "1.0"
LOCK_FOLDER = "parts.lock"  # beside the workspace file
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class LockedFile:
    kind: Literal["wheel", "sdist"]
    name: str  # the file's name: what the build's installer sees
    url: str | None  # where pull fetches it, or
    path: str | None  # a local file: relative to the lock's folder, or absolute
    size: int | None
    sha256: str


@dataclass(frozen=True)
class LockedPackage:
    name: str  # normalized (PEP 503)
    version: str
    file: LockedFile

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Lock:
    packages: tuple[LockedPackage, ...]  # what the part installs
    build: tuple[LockedPackage, ...]  # what building the part's own project needs
    inputs: dict  # what it was resolved from

    def contents(self) -> dict:
        """What pull follows, as plain data: a pull key names it."""
        return {
            group: [[p.name, p.version, p.file.name, p.file.sha256] for p in packages]
            for group, packages in (("packages", self.packages), ("build", self.build))
        }


def lock_path(workspace_file: Path, part: str) -> Path:
    return workspace_file.parent / LOCK_FOLDER / f"pylock.{part}.toml"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# -- writing ---------------------------------------------------------------------------------------


def dumps(lock: Lock, part: str) -> str:
    lines = [
        f"# The lock of part {part!r} (PEP 751), written by `doit lock`; "
        "pull fetches exactly these",
        "# files and checks each sha256. Commit it; "
        "change it with `doit lock` (upgrade=PKG moves one).",
        f'lock-version = "{LOCK_VERSION}"',
        'created-by = "partsmith"',
        "",
    ]
    for package in lock.packages:
        lines += ["[[packages]]", *_package_lines(package), ""]
    lines += [
        "[tool.partsmith.inputs]  # what the lock was resolved from: pull compares it with the part"
    ]
    lines += [f"{_key(key)} = {_inline(value)}" for key, value in lock.inputs.items()] + [""]
    for package in lock.build:
        lines += ["[[tool.partsmith.build-packages]]", *_package_lines(package), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _package_lines(package: LockedPackage) -> list[str]:
    file = package.file
    entry = {
        "name": file.name,
        "url": file.url,
        "path": file.path,
        "size": file.size,
        "hashes": {"sha256": file.sha256},
    }
    entry = {key: value for key, value in entry.items() if value is not None}
    value = f"[{_inline(entry)}]" if file.kind == "wheel" else _inline(entry)
    return [
        f"name = {_string(package.name)}",
        f"version = {_string(package.version)}",
        f"{'wheels' if file.kind == 'wheel' else 'sdist'} = {value}",
    ]


def _inline(value: object) -> str:
    """TOML for plain data: inline tables and arrays, keys in the order given (callers sort)."""
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items()) + " }"
            if value
            else "{}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_inline(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return '""'
    return _string(str(value))


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


# -- reading ---------------------------------------------------------------------------------------


def load(path: Path) -> Lock:
    """The lock at `path`; a file that is not a lock partsmith can follow is a clear error."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise _bad(path, f"not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise _bad(path, "not UTF-8 text") from None
    if data.get("lock-version") != LOCK_VERSION:
        raise _bad(
            path,
            f"lock-version is {data.get('lock-version')!r}; partsmith follows {LOCK_VERSION!r}",
        )
    tool = data.get("tool", {}).get("partsmith", {}) if isinstance(data.get("tool"), dict) else {}
    if not isinstance(tool, dict) or not isinstance(tool.get("inputs"), dict):
        raise _bad(
            path, "[tool.partsmith] inputs is missing: this lock was not written by `doit lock`"
        )
    packages = tuple(
        _package(path, entry) for entry in _tables(path, data.get("packages", []), "packages")
    )
    build = tuple(
        _package(path, entry)
        for entry in _tables(path, tool.get("build-packages", []), "build-packages")
    )
    return Lock(packages, build, tool["inputs"])


def _tables(path: Path, value: object, key: str) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _bad(path, f"{key} must be an array of tables")
    return value


def _package(path: Path, entry: dict) -> LockedPackage:
    name = entry.get("name")
    if not isinstance(name, str) or not isinstance(entry.get("version"), str):
        raise _bad(path, f"a package without a name or version: {entry.get('name')!r}")
    wheels, sdist = entry.get("wheels"), entry.get("sdist")
    if isinstance(wheels, list) and wheels:
        return LockedPackage(
            normalized(name), entry["version"], _file(path, name, "wheel", wheels[0])
        )
    if isinstance(sdist, dict):
        return LockedPackage(normalized(name), entry["version"], _file(path, name, "sdist", sdist))
    raise _bad(path, f"package {name!r} lists neither a wheel nor an sdist")


def _file(path: Path, package: str, kind: Literal["wheel", "sdist"], entry: object) -> LockedFile:
    if not isinstance(entry, dict):
        raise _bad(path, f"package {package!r}: its {kind} must be a table")
    sha256 = (
        entry.get("hashes", {}).get("sha256") if isinstance(entry.get("hashes"), dict) else None
    )
    if not isinstance(sha256, str) or not SHA256.match(sha256):
        raise _bad(path, f"package {package!r}: its {kind} has no valid sha256 hash ({sha256!r})")
    url, local = entry.get("url"), entry.get("path")
    where = url if isinstance(url, str) else local if isinstance(local, str) else None
    if where is None:
        raise _bad(path, f"package {package!r}: its {kind} has neither a url nor a path")
    given = entry.get("name")
    name = given if isinstance(given, str) else where.rsplit("/", 1)[-1]
    if "/" in name or name in ("", ".", ".."):
        raise _bad(path, f"package {package!r}: {name!r} is not a file name")
    size = entry.get("size")
    return LockedFile(
        kind,
        name,
        url if isinstance(url, str) else None,
        local if url is None else None,
        size if isinstance(size, int) else None,
        sha256,
    )


def _bad(path: Path, message: str) -> PythonError:
    return PythonError(
        f"{path}: {message}",
        resolution="Run `doit lock` to write it again (your edits to it are not kept).",
    )


# -- comparing -------------------------------------------------------------------------------------


def lock_differences(locked: dict, current: dict) -> list[str]:
    """How the inputs a lock was resolved from differ from the part's: one line each."""
    lines = []
    for key in sorted(set(locked) | set(current)):
        old, new = locked.get(key), current.get(key)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list):
            added = [str(x) for x in new if x not in old]
            removed = [str(x) for x in old if x not in new]
            said = [f"added {', '.join(added)}"] * bool(added) + [
                f"removed {', '.join(removed)}"
            ] * bool(removed)
            lines.append(f"{key}: {'; '.join(said) or 'reordered'}")
        elif isinstance(old, dict) and isinstance(new, dict):
            changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            lines.append(f"{key}: {', '.join(changed)} changed")
        else:
            lines.append(f"{key}: was {old!r}, now {new!r}")
    return lines
