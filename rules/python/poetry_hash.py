"""Whether a poetry.lock still matches its pyproject.toml, as poetry decides it, without poetry.

poetry writes `[metadata] content-hash` into poetry.lock: the sha256 of
`json.dumps(relevant, sort_keys=True)` (json's default separators, ASCII escapes), `relevant`
being the pyproject.toml keys that decide the resolution (poetry's `Locker._get_content_hash`):

- poetry 1.2-1.8: the `[tool.poetry]` keys `dependencies`, `source`, `extras`,
  `dev-dependencies` (null when absent) and `group` (only when present), at the top level.
- poetry 2.0-2.2: the same, unless `[project]` has `requires-python`, `dependencies` or
  `optional-dependencies`: then `{"project": {those present}, "tool": {"poetry": {the five
  [tool.poetry] keys present}}}`.
- poetry 2.3 and later: also the top-level `[dependency-groups]` (PEP 735) when not empty, as
  `"dependency-groups"` beside `"project"`; either one makes the nested form.

The newest poetry reads every lock with its own algorithm, and since 2.3.0 forgives a lock whose
first line says an older poetry wrote it if the hash matches without `[dependency-groups]`. A
lock from poetry 1.x for a pyproject.toml with relevant `[project]` keys is stale to poetry 2
(poetry 1 did not read them): it is to partsmith too, which installs what poetry 2 would."""

from __future__ import annotations

import json
import re
import tomllib
from hashlib import sha256
from pathlib import Path
from typing import Any

from .errors import PythonError

LEGACY_KEYS = ("dependencies", "source", "extras", "dev-dependencies")
POETRY_KEYS = (*LEGACY_KEYS, "group")
PROJECT_KEYS = ("requires-python", "dependencies", "optional-dependencies")
RELOCK = "Run `poetry lock` in the part's source and commit poetry.lock."
FIX_PYPROJECT = "A poetry part's source needs a valid pyproject.toml beside its poetry.lock."


def content_hash(pyproject: dict[str, Any], *, dependency_groups: bool = True) -> str:
    """poetry's content-hash of a parsed pyproject.toml (poetry >= 2.3; without
    `dependency_groups`, poetry 2.0-2.2's, which is poetry 1.2-1.8's when `[project]` names no
    dependencies)."""
    project = _table(pyproject.get("project"))
    groups = _table(pyproject.get("dependency-groups")) if dependency_groups else {}
    tool_poetry = _table(_table(pyproject.get("tool")).get("poetry"))
    relevant_project = {k: project[k] for k in PROJECT_KEYS if project.get(k) is not None}
    nested = bool(relevant_project or groups)
    relevant_poetry = {
        key: tool_poetry.get(key)
        for key in POETRY_KEYS
        # the legacy keys are there as null when absent, for the hashes of old locks
        if tool_poetry.get(key) is not None or (key in LEGACY_KEYS and not nested)
    }
    relevant: dict[str, Any] = {}
    if relevant_project:
        relevant["project"] = relevant_project
    if groups:
        relevant["dependency-groups"] = groups
    if not nested:  # the old form: [tool.poetry]'s keys at the top level
        return _sha256_json(relevant_poetry)
    relevant["tool"] = {"poetry": relevant_poetry}
    return _sha256_json(relevant)


def lock_is_fresh(pyproject: dict[str, Any], lock: dict[str, Any], first_line: str) -> bool:
    """poetry's `Locker.is_fresh`: a lock without a content-hash is never fresh."""
    written = _table(lock.get("metadata")).get("content-hash")
    if written is None:
        return False
    if content_hash(pyproject) == written:
        return True
    # poetry < 2.3 left [dependency-groups] out of the hash: poetry forgives the locks it wrote
    return _written_before_2_3(first_line) and (
        content_hash(pyproject, dependency_groups=False) == written
    )


def check_poetry_lock_fresh(part: str, lock: Path) -> None:
    """Stop pull when the part's poetry.lock no longer matches the pyproject.toml beside it, as
    `poetry install` and `poetry export` stop (since poetry 1.8 and poetry-plugin-export 1.9)."""
    text, data = _read_toml(part, lock)
    _, pyproject = _read_toml(part, lock.with_name("pyproject.toml"))
    if "content-hash" not in _table(data.get("metadata")):
        # every poetry writes one; poetry treats a lock without it as stale (`is_fresh` is
        # False), so a hand-written lock proves nothing about pyproject.toml: stop, as poetry
        raise PythonError(
            f"part {part!r}: its poetry.lock has no content-hash, so nothing shows it matches "
            "its pyproject.toml",
            resolution=RELOCK,
        )
    if not lock_is_fresh(pyproject, data, text.partition("\n")[0]):
        raise PythonError(
            f"part {part!r}: its poetry.lock no longer matches its pyproject.toml",
            resolution=RELOCK,
        )


def _read_toml(part: str, path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
        return text, tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else err  # no machine path
        raise PythonError(
            f"part {part!r}: its {path.name} cannot be read: {reason}",
            resolution=RELOCK if path.name == "poetry.lock" else FIX_PYPROJECT,
        ) from None


def _sha256_json(value: object) -> str:
    # default=str only where poetry would fail (a TOML date in a dependency table): no lock
    # poetry wrote can match it, and the mismatch is reported instead of a traceback
    return sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _written_before_2_3(first_line: str) -> bool:
    """Whether the lock's `@generated by Poetry X` line names a version before 2.3.0 (PEP 440:
    2.3.0b1 is before); poetry skips the forgiveness when it names no version it can parse."""
    from packaging.version import InvalidVersion, Version  # only a poetry pull pays for it

    found = re.search("Poetry ([^ ]+)", first_line)
    try:
        return found is not None and Version(found.group(1)) < Version("2.3.0")
    except InvalidVersion:
        return False
