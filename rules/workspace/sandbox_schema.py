"""The workspace's `sandbox:` mapping: `extra-paths`, host paths a sealed build may read, as Nix's
`extra-sandbox-paths` and Bazel's `--sandbox_add_mount_pair`. Each is in every key by its path;
its contents are not (README, "The sealed sandbox")."""

from __future__ import annotations

import os

import yaml

from .yaml_nodes import Reader

KEYS = ("extra-paths",)


def read_sandbox(reader: Reader, node: yaml.Node, key: str) -> tuple[str, ...]:
    entries = reader.mapping(node, key, KEYS)
    items = reader.optional(entries, "extra-paths", reader.string_list, f"{key}.extra-paths")
    paths = []
    for item, value in items or []:
        if not os.path.isabs(value):
            reader.problem(
                item,
                f"{key}.extra-paths",
                f"{value!r} is not an absolute host path (e.g. /opt/vendor-sdk)",
            )
        elif not os.path.exists(value):
            reader.problem(item, f"{key}.extra-paths", f"{value!r} does not exist on this machine")
        else:
            paths.append(os.path.normpath(value))
    return tuple(paths)


def read_platform(reader: Reader, node: yaml.Node, key: str) -> tuple[tuple[str, str], ...]:
    """`execution-platform:`: REAPI platform properties (OSFamily: linux, container-image: ...),
    name to string value, sent with every remotely executed action and part of every key."""
    pairs = []
    for name, (_, value_node) in reader.mapping(node, key, None).items():
        value = reader.string(value_node, f"{key}.{name}")
        if value is not None:
            pairs.append((name, value))
    return tuple(sorted(pairs))
