"""Say what differs between two versions of one output file: sizes and digests always; a short
unified diff for text; for .pyc, the embedded constant, name or path that differs; for archives,
which members differ (in the spirit of diffoscope, much smaller)."""

from __future__ import annotations

import difflib
import hashlib
import io
import marshal
import tarfile
import types
import zipfile
from pathlib import Path

from rules.tree import Entry

DIFF_LINES = 12
ARCHIVES = (".whl", ".zip", ".jar", ".egg", ".tar", ".tar.gz", ".tgz")


def describe(path: str, old: Entry, new: Entry, old_file: Path, new_file: Path) -> list[str]:
    lines = [f"{path}: {old.describe()} vs {new.describe()}"]
    if old.kind != "file" or new.kind != "file" or old.digest == new.digest:
        return lines
    a, b = old_file.read_bytes(), new_file.read_bytes()
    if path.endswith(".pyc"):
        lines += [f"  {line}" for line in _pyc(a, b)]
    elif path.endswith(ARCHIVES):
        lines += [f"  {line}" for line in _archive(path, a, b)]
    elif _is_text(a) and _is_text(b):
        diff = difflib.unified_diff(
            a.decode().splitlines(),
            b.decode().splitlines(),
            "first build",
            "second build",
            lineterm="",
            n=1,
        )
        lines += [f"  {line}" for line in list(diff)[:DIFF_LINES]]
    return lines


def _is_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _pyc(a: bytes, b: bytes) -> list[str]:
    if a[:16] != b[:16]:
        return [
            f"header differs: {a[:16].hex()} vs {b[:16].hex()} (magic, flags, source hash or mtime)"
        ]
    try:
        first, second = marshal.loads(a[16:]), marshal.loads(b[16:])
    except (ValueError, EOFError, TypeError):
        return ["the code objects cannot be read by this Python"]
    found = _code_difference(first, second, "<module>")
    return (
        [found]
        if found
        else ["the marshalled bytes differ but the code objects compare equal (reference flags)"]
    )


def _code_difference(a: types.CodeType, b: types.CodeType, where: str) -> str | None:
    for field in (
        "co_filename",
        "co_name",
        "co_qualname",
        "co_names",
        "co_varnames",
        "co_flags",
        "co_firstlineno",
        "co_linetable",
        "co_code",
    ):
        if getattr(a, field) != getattr(b, field):
            return f"{where}: {field} {_short(getattr(a, field))} vs {_short(getattr(b, field))}"
    if len(a.co_consts) != len(b.co_consts):
        return f"{where}: {len(a.co_consts)} constants vs {len(b.co_consts)}"
    for x, y in zip(a.co_consts, b.co_consts, strict=True):  # same length: checked above
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            found = _code_difference(x, y, f"{where}.{x.co_name}")
            if found:
                return found
        elif x != y or type(x) is not type(y):
            return f"{where}: constant {_short(x)} vs {_short(y)}"
    return None


def _archive(path: str, a: bytes, b: bytes) -> list[str]:
    try:
        first, second = _members(path, a), _members(path, b)
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError):
        return ["not a readable archive"]
    lines = [f"member only in the first build: {name}" for name in sorted(set(first) - set(second))]
    lines += [
        f"member only in the second build: {name}" for name in sorted(set(second) - set(first))
    ]
    lines += [
        f"member differs: {name} ({first[name]} vs {second[name]})"
        for name in sorted(set(first) & set(second))
        if first[name] != second[name]
    ]
    return lines[:DIFF_LINES] or [
        "same members with the same contents: the archive's own metadata differs (times, order)"
    ]


def _members(path: str, data: bytes) -> dict[str, str]:
    if path.endswith((".tar", ".tar.gz", ".tgz")):
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            return {m.name: _tar_member(archive, m) for m in archive.getmembers()}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: f"crc {i.CRC:08x}, time {i.date_time}" for i in archive.infolist()}


def _tar_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    stream = archive.extractfile(member) if member.isfile() else None
    content = hashlib.sha256(stream.read()).hexdigest()[:12] if stream else member.linkname or "-"
    return (
        f"content {content}, size {member.size}, mtime {member.mtime}, mode {member.mode:o}, "
        f"owner {member.uid}:{member.gid} {member.uname or '-'}:{member.gname or '-'}"
    )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."
