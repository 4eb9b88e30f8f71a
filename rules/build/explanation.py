"""`doit explain:<part>`: why a part would rebuild, read from the difference between the record
of its last build and the record of now (Bazel's --explain)."""

from __future__ import annotations

import json

from rules.cache import Store
from rules.core import cache_root, digest
from rules.workspace import Layout, Workspace

from . import pull_task as steps
from .builder import build_is_current
from .key_record import build_record

SHOWN = 10  # files listed per kind of change


def explain(workspace: Workspace, name: str) -> str:
    layout = Layout(workspace.build_root)
    try:
        previous = json.loads(layout.result(name).read_text())
        previous |= _recorded(layout, name, previous["key"])
    except (OSError, ValueError, KeyError):
        return (
            f"explain:{name}: not built in this build root yet: "
            "the next run builds it (or restores it from the cache)"
        )
    first = _first(workspace, name)
    try:
        record, manifest = build_record(workspace, name)
    except FileNotFoundError:
        return "\n".join([f"explain:{name}: what it depends on is not there yet:", *first])
    key = digest(record)
    if key == previous["key"]:
        if not (layout.install(name).is_dir() and layout.manifest(name).is_file()):
            first.append("  its install folder is gone: the next run restores it from the cache")
        return "\n".join([f"explain:{name}: up to date" + (" for now:" if first else ""), *first])
    cached = Store(cache_root()).result_path(key).is_file()
    then = "restore it from the cache" if cached else "build it"
    changes = record_differences(previous["record"], record, previous.get("source", {}), manifest)
    return "\n".join(
        [
            f"explain:{name}: inputs changed since the last build; the next run will {then}:",
            *[f"  {line}" for line in changes],
            *first,
        ]
    )


def _recorded(layout: Layout, name: str, key: str) -> dict:
    """The record and source manifest of the build that made the result (an empty record when
    they are gone or another build's: every field then shows as changed)."""
    try:
        recorded = json.loads(layout.record(name).read_text())
    except (OSError, ValueError):
        return {"record": {}}
    return recorded if isinstance(recorded, dict) and recorded.get("key") == key else {"record": {}}


def _first(workspace: Workspace, name: str) -> list[str]:
    """What runs before the part's build and may change its inputs."""
    lines = []
    part = workspace.parts[name]
    if steps.needs_pull(part) and not steps.pull_is_current(workspace, name):
        lines.append(
            f"  pull:{name} runs first: what it fetches ({', '.join(steps.pulled_things(part))}) "
            "changed, or it never ran here"
        )
    for dep in workspace.dependencies(name):
        if not build_is_current(workspace, dep):
            lines.append(
                f"  after part {dep} would rebuild first, which may change what {name} sees"
            )
    return lines


def record_differences(old: dict, new: dict, old_source: dict, new_source: dict) -> list[str]:
    changes: list[str] = []
    for field in (
        "rules-version",
        "source-date-epoch",
        "environment",
        "pulled-source",
        "build-packages",
        "stage-packages",
        "build-snaps",
        "git",
        "stage-default",
    ):
        if old.get(field) != new.get(field):
            changes.append(f"{field}: {_short(old.get(field))} -> {_short(new.get(field))}")
    changes += _config(old.get("part", {}), new.get("part", {}))
    if old.get("source") != new.get("source"):
        changes += _files(old_source, {path: list(entry) for path, entry in new_source.items()})
    if old.get("pulled") != new.get("pulled"):
        changes += _named(
            "pulled wheel",
            dict(old.get("pulled", [])),
            dict(new.get("pulled", [])),
        )
    changes += _named(
        "after part",
        old.get("after", {}),
        new.get("after", {}),
        changed="its staged output changed",
    )
    for field in sorted(set(old.get("toolchain", {})) | set(new.get("toolchain", {}))):
        before, after = old.get("toolchain", {}).get(field), new.get("toolchain", {}).get(field)
        if before != after:
            changes.append(f"toolchain {field}: {before} -> {after}")
    return changes or ["a field of the key record changed (rules version or record layout)"]


def _config(old: dict, new: dict) -> list[str]:
    changes = []
    for key in sorted(set(old) | set(new)):
        if key == "build-environment":
            changes += _named(
                "build-environment variable",
                dict(old.get(key, [])),
                dict(new.get(key, [])),
                changed="value changed",
            )
        elif old.get(key) != new.get(key):
            changes.append(f"config {key}: {_short(old.get(key))} -> {_short(new.get(key))}")
    return changes


def _files(old: dict, new: dict) -> list[str]:
    kinds = {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": sorted(path for path in set(old) & set(new) if old[path] != new[path]),
    }
    lines = []
    for kind, paths in kinds.items():
        if paths:
            more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
            lines.append(f"source files {kind}: {', '.join(paths[:SHOWN])}{more}")
    return lines or ["source: the source tree changed"]


def _named(noun: str, old: dict, new: dict, changed: str = "changed") -> list[str]:
    lines = [f"{noun} {name} added" for name in sorted(set(new) - set(old))]
    lines += [f"{noun} {name} removed" for name in sorted(set(old) - set(new))]
    lines += [
        f"{noun} {name}: {changed}"
        for name in sorted(set(old) & set(new))
        if old[name] != new[name]
    ]
    return lines


def _short(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
