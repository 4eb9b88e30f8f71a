"""Snapcraft's advanced grammar, resolved for the machine partsmith runs on.

    stage-packages:
      - libfoo                  # always
      - on amd64: [libbar]      # when building on amd64
      - to arm64: [libbaz]      # when building for arm64
      - on amd64 to arm64: [x]  # both
      - else: [libqux]          # when the statement above did not apply
      - else fail               # stop: the statement above must apply
    build-environment:
      - LANG: C.UTF-8           # a mapping without a statement's head is a value
      - on arm64: [{CFLAGS: -O1}]

partsmith does not cross-build, so the build-for architecture is the build-on one: the machine's
Debian architecture (env.DEB_ARCH). As in craft-grammar, a statement with several selectors
(`on amd64,arm64`) never applies, an `else` belongs to the statement just above it, and the
first `else` giving something wins. Every statement is checked, also those that do not apply
here, so a typo shows on every machine; only the branches that apply are resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import yaml

from rules.core import DEB_ARCH

from .yaml_nodes import Reader, is_string, kind, suggestion

ARCHITECTURES = ("amd64", "arm64", "armhf", "i386", "ppc64el", "riscv64", "s390x")
STATEMENT = re.compile(r"(?:on\s+(?P<on>\S+?))?\s*(?:to\s+(?P<to>\S+))?")
# what craft-grammar reads as a statement's head; any other key of a mapping is a value's
HEAD = re.compile(r"(?:on|to|for)\s.*|else|try", re.DOTALL)
# a list of values (packages), one value (source), or a list of one-entry mappings whose
# values are the mappings that are no statement (build-environment's `- VAR: value`)
Shape = Literal["list", "one", "maps"]
_Where = tuple[str, Shape]  # the architecture resolved for, and the shape of the values


@dataclass
class _Statement:
    """An `on`/`to` statement and the `else` branches after it (None: `else fail`)."""

    node: yaml.Node
    applies: bool
    body: yaml.Node
    elses: list[tuple[yaml.Node, yaml.Node | None]] = field(default_factory=list)


def uses_grammar(node: yaml.Node, shape: Shape = "list") -> bool:
    """A list with a statement in it; any other value is read as it is."""
    return isinstance(node, yaml.SequenceNode) and any(
        _is_statement(item, shape) for item in node.value
    )


def resolved(reader: Reader, node: yaml.Node, key: str, shape: Shape) -> yaml.Node | None:
    """`node` as written when it uses no grammar, else what its statements give on this
    machine (None: nothing, as if the key were not written)."""
    if not uses_grammar(node, shape):
        return node
    return resolve_grammar(reader, node, key, DEB_ARCH, shape)


def resolve_grammar(
    reader: Reader, node: yaml.Node, key: str, arch: str, shape: Shape
) -> yaml.Node | None:
    """The value `node` stands for on `arch`: a list node of the values that apply, or for
    `one`, the one value (None: none applies, as if the key were not written)."""
    values = _values(reader, node, key, (arch, shape), live=True)
    if shape != "one":
        return yaml.SequenceNode("tag:yaml.org,2002:seq", values, node.start_mark, node.end_mark)
    if len(values) > 1:
        reader.problem(values[1], key, f"{len(values)} values apply on {arch}: give one")
    return values[0] if values else None


def _values(
    reader: Reader, node: yaml.Node, key: str, where: _Where, live: bool
) -> list[yaml.Node]:
    """The values of a list that apply (when `live`; else only checked: a branch not taken).
    A statement ends at the next item that is neither an `else` nor malformed."""
    arch, shape = where
    values: list[yaml.Node] = []
    current: _Statement | None = None
    for item in node.value:
        if not _is_statement(item, shape):
            values += _taken(reader, current, key, where, live)
            current = None
            values.append(item)
            continue
        parsed = _parse(reader, item, key)
        if parsed is None:
            continue  # malformed: reported
        head, body = parsed
        if head != "else":
            assert body is not None  # only `else fail` has no body
            values += _taken(reader, current, key, where, live)
            current = _Statement(item, head == arch, body)
        elif current is None:
            reader.problem(item, key, "`else` must follow an `on` or `to` statement")
        else:
            current.elses.append((item, body))
    return values + _taken(reader, current, key, where, live)


def _taken(
    reader: Reader, statement: _Statement | None, key: str, where: _Where, live: bool
) -> list[yaml.Node]:
    """The values of the branch of `statement` that applies; every other branch is checked only."""
    if statement is None:
        return []
    chosen: list[yaml.Node] = []
    taken = live and statement.applies
    chosen += _body(reader, statement.body, key, where, taken)
    for else_node, body in statement.elses:
        pending = live and not statement.applies and not chosen
        if body is None:
            if pending:
                reader.problem(
                    else_node,
                    key,
                    f"no statement above applies on {where[0]}, and `else fail` says one must",
                )
            break
        chosen += _body(reader, body, key, where, pending)
    return chosen


def _body(reader: Reader, body: yaml.Node, key: str, where: _Where, live: bool) -> list[yaml.Node]:
    if isinstance(body, yaml.SequenceNode):
        values = _values(reader, body, key, where, live)
    elif isinstance(body, yaml.ScalarNode) and body.tag != "tag:yaml.org,2002:null":
        values = [body]
    elif where[1] == "maps" and not _is_statement(body, "maps"):
        values = [body]  # `- on amd64: {VAR: value}`: craft-grammar takes it as a list of one
    else:
        reader.problem(body, key, f"a statement's body is a list or a value, got {kind(body)}")
        values = []
    return values if live else []


def _parse(reader: Reader, item: yaml.Node, key: str) -> tuple[str, yaml.Node | None] | None:
    """("else", body), ("else", None) for `else fail`, or (the architecture the statement
    applies on, body): "" when it can apply nowhere (several selectors, or `on` and `to`
    naming different ones). None when it is malformed (reported)."""
    if _is_else_fail(item):
        return "else", None
    if len(item.value) != 1:
        reader.problem(
            item,
            key,
            "a grammar statement is a mapping of one key (on ARCH, to ARCH, "
            f"on ARCH to ARCH or else), got {len(item.value)} keys",
        )
        return None
    head_node, body = item.value[0]
    head = " ".join(head_node.value.split()) if is_string(head_node) else ""
    if head == "else":
        return "else", body
    match = STATEMENT.fullmatch(head)
    if match is None or not head:
        written = (
            repr(head) if is_string(head_node) else kind(head_node)
        )  # a bare `on:` is YAML's true
        reader.problem(
            head_node,
            key,
            f"{written} is not a statement partsmith supports: write `on ARCH`, "
            "`to ARCH`, `on ARCH to ARCH`, `else` or `else fail` "
            "(ARCH: a Debian architecture, e.g. amd64)",
        )
        return None
    selectors = [
        _selectors(reader, head_node, key, group) for group in match.groups() if group is not None
    ]
    if any(group is None for group in selectors):
        return None
    applies = {frozenset(group) for group in selectors}  # type: ignore[arg-type]
    only = next(iter(applies)) if len(applies) == 1 else frozenset()
    return (next(iter(only)) if len(only) == 1 else ""), body


def _selectors(reader: Reader, node: yaml.Node, key: str, text: str) -> set[str] | None:
    names = text.split(",")
    unknown = [name for name in names if name not in ARCHITECTURES]
    for name in unknown:
        reader.problem(
            node,
            key,
            f"{name!r} is not a Debian architecture: one of {', '.join(ARCHITECTURES)}"
            + suggestion(name, ARCHITECTURES),
        )
    return None if unknown else set(names)


def _is_statement(item: yaml.Node, shape: Shape) -> bool:
    """Any mapping in a list of values; in a list of mappings (build-environment), one with a
    statement's head among its keys, as craft-grammar tells them apart."""
    if _is_else_fail(item):
        return True
    if not isinstance(item, yaml.MappingNode):
        return False
    return shape != "maps" or any(
        is_string(head) and HEAD.fullmatch(" ".join(head.value.split())) for head, _ in item.value
    )


def _is_else_fail(item: yaml.Node) -> bool:
    return is_string(item) and " ".join(item.value.split()) == "else fail"
