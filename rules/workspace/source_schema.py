"""A part's `source` and the keys that go with it: a local folder inside the project, or a git
repository or tar archive that pull fetches (source-type, -tag, -branch, -commit, -depth,
-checksum). They are read together: what each may say depends on what the source is."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from typing import Literal, TypeVar, cast

import yaml

from . import snapcraft
from .model import Fetch
from .yaml_nodes import Entries, Reader, is_string, suggestion

SOURCE_KEYS = (
    "source-type",
    "source-tag",
    "source-branch",
    "source-commit",
    "source-depth",
    "source-checksum",
    "source-submodules",
)
KEYS = ("source", *SOURCE_KEYS)
# source-checksum algorithms: those with a digest of fixed length, and that length in hex digits
HEX_LENGTHS = {
    name: hashlib.new(name).digest_size * 2
    for name in hashlib.algorithms_guaranteed
    if not name.startswith("shake_")
}

T = TypeVar("T")


def read_source(reader: Reader, entries: Entries, key: str) -> dict:
    """The Part fields `source` (a local folder) and `fetch` (what pull fetches)."""
    fetch = _fetch(reader, entries, key)
    source = (
        None
        if fetch is not None
        else reader.optional(entries, "source", lambda n, k: _local(reader, n, k), f"{key}.source")
    )
    return {"source": source, "fetch": fetch}


def _fetch(reader: Reader, entries: Entries, key: str) -> Fetch | None:
    """A git or tar source, or None for a local folder (or a broken entry, reported)."""
    node = entries["source"][1] if "source" in entries else None
    text = node.value if is_string(node) else None
    kind = _source_type(reader, entries, key, text)
    if not _keys_fit(reader, entries, key, kind) or kind is None:
        return None
    if text is None:
        reader.problem(
            entries["source-type"][0], f"{key}.source", f"required for source-type: {kind}"
        )
        return None
    assert node is not None  # the text was read from it

    def read(name: str, check: Callable[[Reader, yaml.Node, str], T]) -> T | None:
        return reader.optional(entries, name, lambda n, k: check(reader, n, k), f"{key}.{name}")

    return Fetch(
        cast(Literal["git", "tar", "file"], kind),  # _source_type answers these or None
        _url(reader, node, f"{key}.source", text, kind),
        tag=read("source-tag", Reader.string),
        branch=read("source-branch", Reader.string),
        commit=read("source-commit", _commit),
        depth=read("source-depth", _depth),
        checksum=read("source-checksum", _checksum),
        submodules=_submodules(reader, entries, key),
    )


def _submodules(reader: Reader, entries: Entries, key: str) -> tuple[str, ...] | None:
    """source-submodules: the submodule paths to fetch ([] for none); absent, all of them."""
    if "source-submodules" not in entries:
        return None
    items = reader.string_list(entries["source-submodules"][1], f"{key}.source-submodules")
    return tuple(value for _, value in items)


def _source_type(reader: Reader, entries: Entries, key: str, text: str | None) -> str | None:
    """git or tar; None for a local folder (or an unsupported source-type, reported)."""
    kind = reader.optional(entries, "source-type", reader.string, f"{key}.source-type")
    if kind is not None and kind not in snapcraft.SOURCE_TYPES:
        reader.problem(
            entries["source-type"][1],
            f"{key}.source-type",
            f"source-type {kind!r} is not supported: "
            f"use one of {', '.join(snapcraft.SOURCE_TYPES)}"
            + suggestion(kind, snapcraft.SOURCE_TYPES),
        )
        return None
    kind = kind or (guess_source_type(text) if text is not None else None)
    if kind in (None, "local") and text is not None and "://" in text:
        reader.problem(
            entries["source"][1],
            f"{key}.source",
            f"cannot tell what {text!r} is: set source-type: git or tar",
        )
    return None if kind == "local" else kind


def _keys_fit(reader: Reader, entries: Entries, key: str, kind: str | None) -> bool:
    """source-tag/-branch/-commit/-depth only for git, source-checksum only for tar, one ref."""
    allowed = {
        "git": (
            "source-tag",
            "source-branch",
            "source-commit",
            "source-depth",
            "source-submodules",
        ),
        "tar": ("source-checksum",),
        "file": ("source-checksum",),
    }.get(kind or "", ())
    fit = True
    for extra in (
        k for k in SOURCE_KEYS if k in entries and k != "source-type" and k not in allowed
    ):
        message = f"not valid for a {kind} source" if kind else "only valid for a git or tar source"
        reader.problem(entries[extra][0], f"{key}.{extra}", message)
        fit = False
    refs = [k for k in ("source-tag", "source-branch", "source-commit") if k in entries]
    if len(refs) > 1:
        reader.problem(
            entries[refs[1]][0], f"{key}.{refs[1]}", f"give one of {', '.join(refs)}, not several"
        )
    return fit


def _url(reader: Reader, node: yaml.Node, key: str, text: str, kind: str) -> str:
    """A URL as written; a path resolved against the project folder (a local archive must exist)."""
    if "://" in text or text.startswith("git@"):
        return text
    path = reader.top / text
    if kind in ("tar", "file") and not path.is_file():
        reader.problem(node, key, f"{text!r} is not an archive file in {reader.top}")
    return str(path)


def _depth(reader: Reader, node: yaml.Node, key: str) -> int | None:
    value = reader.integer(node, key, "a number of commits")
    if value is not None and value < 1:
        reader.problem(
            node,
            key,
            f"{value} commits: give 1 or more (or leave source-depth out for the whole history)",
        )
        return None
    return value


def _checksum(reader: Reader, node: yaml.Node, key: str) -> str | None:
    text = reader.string(node, key)
    algorithm, _, value = (text or "").partition("/")
    length = HEX_LENGTHS.get(algorithm)
    if text is not None and (length is None or not re.fullmatch(f"[0-9a-f]{{{length}}}", value)):
        reader.problem(
            node,
            key,
            f"{text!r} is not <algorithm>/<hex digest>: one of "
            f"{', '.join(sorted(HEX_LENGTHS))} with its full digest "
            "(e.g. sha256/ and 64 hex digits)",
        )
        return None
    return text


def _commit(reader: Reader, node: yaml.Node, key: str) -> str | None:
    text = reader.string(node, key)
    if text is not None and not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", text):
        reader.problem(node, key, f"{text!r} is not a full commit id (40 hex digits)")
        return None
    return text


def _local(reader: Reader, node: yaml.Node, key: str) -> str | None:
    """A folder inside the project, also once symbolic links are followed."""
    if is_string(node) and "://" in node.value:
        return None  # a URL whose type is unknown: _source_type said to set source-type
    value = reader.relative_path(node, key)
    if value is None:
        return None
    folder = reader.top / value
    if not folder.is_dir():
        where = (
            f"in the project folder {reader.top}"
            if reader.snapcraft
            else f"next to {reader.path.name}"
        )
        reader.problem(node, key, f"{value!r} is not a folder {where}: create it or fix the path")
        return None
    real_top = os.path.realpath(reader.top)
    if os.path.commonpath([real_top, os.path.realpath(folder)]) != real_top:
        reader.problem(
            node, key, f"{value!r} leads outside the workspace folder through a symbolic link"
        )
        return None
    return value


def guess_source_type(text: str) -> str:
    """As snapcraft: a `.git` URL or a git@/git:// address is git; an archive name is tar."""
    if text.endswith(".git") or text.startswith(("git@", "git://", "git+")):
        return "git"
    if text.endswith(snapcraft.TAR_SUFFIXES):
        return "tar"
    return "local"
