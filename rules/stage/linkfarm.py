"""The stage and prime folders: trees of hard links to the parts' install folders.

Each file is created once, in a part's install folder (by its build, or by a restore from the
store); stage and prime link to it, as craft-parts does (`link_or_copy`). A folder on another file
system gets copies, said once. The store is never linked to: it holds copies, mode 0444.

A link shares its inode with the install file, so a write made in stage/ by hand reaches the
install folder too. Each part has a record (`<dest>.d/<part>`, marshal), like one slice of git's
index: every path the part brings, whether it placed it (the first part in build order that
brings a path places it), and for a placed file the inode, ctime and link count seen after
linking; with them the stat data of the part's Tree file and its fileset, which decide what it
brings. Each run checks every placed entry with one lstat: a file whose inode is the one recorded
but whose size, mode, mtime (always SOURCE_DATE_EPOCH here) or ctime moved (a ctime moved by a
new link, which changes the link count, is not an edit) was written through the link: the part's
install folder is no longer what its key made, so `repair(part)` restores (or rebuilds) it before
its files are linked again; those bytes never reach the store or another part. A file replaced by
a new one (an editor's save-by-rename) is linked again. A folder whose mtime moved had entries
added or removed by hand: only such a folder is listed, and what does not belong there goes.

An edit costs what changed: only the Trees of parts whose Tree file or fileset changed are read,
only the paths they bring or brought are merged again (with what the other parts' records say they
bring) and touched, and only the records that changed are rewritten. The summary (`<dest>.json`)
is removed first and written last; a run that finds it missing, or a record missing, trusts no
record: it checks what the records it has say for writes through links, then builds the folder
anew beside the old one and swaps it in.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rules.core import remove_tree
from rules.tree import (
    Contribution,
    Entry,
    Owned,
    Tree,
    merge,
)

from .farm_check import INTACT, entry_states, found_intact
from .farm_files import place_entry, remove_entry, remove_strays, set_folder_times
from .farm_records import (
    OWNED,
    Outcome,
    PartRecord,
    Row,
    identity,
    new_row,
    read_records,
    read_summary,
    records_folder,
    summary_path,
    write_records,
)

Repair = Callable[
    [str], Path
]  # restores a part whose install was written through; returns its folder


# Hot loops below join plain strings: one lstat or link per entry is the whole cost wanted, and a
# pathlib join costs more than either.


@dataclass(frozen=True)
class Source:
    """One part's contribution as an update first sees it: the folder holding its bytes, its
    Tree (read only when needed), and what decides that Tree without reading it: the stat data of
    `decided_by` (its Tree file, replaced whenever the part is built or restored) and `selection`
    (its filesets). `decided_by=None`: read every time (override-prime's output is new each run)."""

    part: str
    root: Path
    tree: Callable[[], Tree]
    decided_by: Path | None = None
    selection: tuple = ()  # strings and tuples of strings (marshal keeps them)

    def fingerprint(self) -> tuple | None:
        if self.decided_by is None:
            return None
        info = os.stat(self.decided_by)
        return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, *self.selection)


@dataclass(frozen=True)
class Seen:
    """What decided a part's Tree when an assemble began: `Source.fingerprint` and `identity`."""

    fingerprint: tuple | None
    folder: tuple[int, int, int]


def assemble(dest: Path, step: str, sources: list[Source], epoch: int, repair: Repair) -> int:
    """Make `dest` hold the merge of `sources` (StageConflictError, with nothing touched, when
    they conflict); returns the number of entries."""
    root = str(dest)
    summary, found = read_summary(dest), found_intact.pop(root, None)
    if found is not None and summary is not None and found[0] == summary[0]:
        # this process's up-to-date check just found all intact (watchman may have vouched for
        # the records unread)
        records = found[1] if found[1] is not None else read_records(records_folder(dest))
        states: dict[str, str] = {}
    else:
        records = read_records(records_folder(dest)) if dest.is_dir() else {}
        states = entry_states(root, records, epoch)
    trusted = summary is not None and dest.is_dir() and set(records) == set(summary[1]["records"])
    sources, repaired = _repaired(root, sources, records, states, repair)
    # what decides each part's Tree, taken before any Tree is read: a build that publishes while
    # this runs leaves a record that differs from its new Tree file, so the next run reads it
    seen = {s.part: Seen(s.fingerprint(), identity(s.root)) for s in sources}
    if trusted:
        plan = _plan(step, sources, records, states, repaired, seen)
        summary_path(dest).unlink()  # from here until it is written again, dest is not trusted
        outcome = _update(dest, sources, records, states, plan, epoch)
    else:
        contributions = [Contribution(s.part, s.tree(), s.root) for s in sources]
        owned = merge(step, contributions)
        summary_path(dest).unlink(missing_ok=True)
        outcome = _replace_all(dest, contributions, owned, seen, epoch)
    return write_records(dest, outcome, records, summary[1] if trusted and summary else None)


# -- writes through links --------------------------------------------------------------------------


def _repaired(
    root: str,
    sources: list[Source],
    records: dict[str, PartRecord],
    states: dict[str, str],
    repair: Repair,
) -> tuple[list[Source], set[str]]:
    """Restore each part whose install was written through; its files come from the new folder.
    A part no longer in the workspace is not restored: its entries go."""
    present = {s.part for s in sources}
    written = sorted(path for path, state in states.items() if state == "written")
    owners = {
        path: part
        for part, record in records.items()
        if part in present
        for path in written
        if path in record.claims and record.claims[path][OWNED]
    }
    for path, part in sorted(owners.items()):
        print(
            f"partsmith: {root}/{path} was changed by hand: it is a link to part {part!r}'s file, "
            "so that part is restored"
        )
    parts = set(owners.values())
    folders = {part: repair(part) for part in sorted(parts)}
    return [
        Source(s.part, folders.get(s.part, s.root), s.tree, s.decided_by, s.selection)
        for s in sources
    ], parts


# -- a new folder ----------------------------------------------------------------------------------


def _replace_all(
    dest: Path, contributions: list[Contribution], owned: Owned, seen: dict[str, Seen], epoch: int
) -> Outcome:
    """The folder built beside `dest` from the merge of every part's Tree, then swapped in."""
    _replace(dest, owned, epoch)
    root, records = str(dest), {}
    for contribution in contributions:
        part = contribution.part
        claims = {
            path: new_row(root, path, entry, owned[path][2] == part)
            for path, entry in contribution.tree.items()
        }
        records[part] = PartRecord(seen[part].folder, seen[part].fingerprint, claims)
    return Outcome(records, set(records))


def _replace(dest: Path, owned: Owned, epoch: int) -> None:
    """Build the folder beside `dest`, then swap it in; a crash leaves the old or the new."""
    fresh, old = dest.with_name(f".{dest.name}.new"), dest.with_name(f".{dest.name}.old")
    if not os.path.lexists(dest) and os.path.lexists(old):  # a crash between the two renames
        os.rename(old, dest)
    for leftover in (fresh, old):
        remove_tree(leftover)
    remove_tree(records_folder(dest))
    fresh.mkdir(parents=True)
    into = str(fresh)
    for path in sorted(owned):
        place_entry(f"{into}/{path}", owned[path][0], f"{owned[path][1]}/{path}")
    set_folder_times(
        into, sorted(p for p, (entry, _, _) in owned.items() if entry.kind == "dir"), epoch
    )
    if os.path.lexists(dest):
        os.rename(dest, old)
    os.rename(fresh, dest)
    remove_tree(old)


# -- an update in place ----------------------------------------------------------------------------


@dataclass
class _Plan:
    """What an update touches: the parts whose Tree changed (with those Trees), the paths they
    bring or brought and those not intact on disk, and what each such path should become."""

    changed: set[str]
    seen: dict[str, Seen]
    trees: dict[str, Tree]
    affected: set[str]
    owned: Owned  # the merge of the affected paths: entry, folder and placing part of each
    old_owner: dict[str, str]  # the part that placed each affected path before
    keep: set[str]  # affected paths already as they should be


def _update(
    dest: Path,
    sources: list[Source],
    records: dict[str, PartRecord],
    states: dict[str, str],
    plan: _Plan,
    epoch: int,
) -> Outcome:
    root = str(dest)
    for path in sorted(plan.affected - plan.keep, reverse=True):  # children first
        if path in plan.old_owner and states.get(path) != "under":  # under: gone with its folder
            remove_entry(f"{root}/{path}")
    for path in sorted(plan.affected - plan.keep):
        if path in plan.owned:
            entry, folder, _ = plan.owned[path]
            if path not in plan.old_owner:
                remove_entry(
                    f"{root}/{path}"
                )  # a path no part placed before: what is there was put by hand
            place_entry(f"{root}/{path}", entry, f"{folder}/{path}")
    outcome = _records_after(root, sources, records, plan)
    changed_folders = sorted(path for path, state in states.items() if state == "changed")
    remove_strays(root, changed_folders, outcome.records, epoch)
    parents = {posixpath.dirname(path) for path in plan.affected} | set(changed_folders)
    set_folder_times(
        root, sorted(p for p in parents | plan.affected if _is_our_folder(p, plan)), epoch
    )
    return outcome


def _differs(seen: Seen, record: PartRecord | None) -> bool:
    return (
        record is None
        or seen.fingerprint is None
        or (record.fingerprint, record.folder) != (seen.fingerprint, seen.folder)
    )


def _plan(
    step: str,
    sources: list[Source],
    records: dict[str, PartRecord],
    states: dict[str, str],
    repaired: set[str],
    seen: dict[str, Seen],
) -> _Plan:
    """Read the Trees of the parts that changed, and merge again only the affected paths (with
    what every other part's record says it brings there). Nothing is touched yet."""
    changed = {
        s.part for s in sources if s.part in repaired or _differs(seen[s.part], records.get(s.part))
    }
    trees = {s.part: s.tree() for s in sources if s.part in changed}
    affected = {path for path, state in states.items() if state not in INTACT}
    gone = set(records) - {s.part for s in sources}
    for part in changed | gone:
        if part in records:
            affected.update(records[part].claims)
    for tree in trees.values():
        affected.update(tree)
    contributions = [
        Contribution(s.part, _claimed(s.part, trees, records, affected), s.root) for s in sources
    ]
    owned = merge(step, contributions)
    old_owner = {
        path: part
        for part, record in records.items()
        for path in record.claims.keys() & affected
        if record.claims[path][OWNED]
    }
    plan = _Plan(changed, seen, trees, affected, owned, old_owner, set())
    plan.keep = {path for path in affected if _kept(path, plan, records, states)}
    return plan


def _claimed(
    part: str, trees: dict[str, Tree], records: dict[str, PartRecord], affected: set[str]
) -> dict[str, Entry]:
    if part in trees:
        tree = trees[part]
        return {path: tree[path] for path in tree.keys() & affected}
    claims = records[part].claims
    return {path: Entry._make(claims[path][:5]) for path in claims.keys() & affected}


def _kept(path: str, plan: _Plan, records: dict[str, PartRecord], states: dict[str, str]) -> bool:
    new, old = plan.owned.get(path), plan.old_owner.get(path)
    if new is None or old is None or states.get(path, "intact") not in INTACT:
        return False
    entry, _, part = new
    row = records[old].claims[path]
    if entry.kind == "dir":
        return bool(row[0] == "dir")  # a folder is a folder, whichever part placed it
    return (
        part == old
        and records[old].folder == plan.seen[part].folder
        and tuple(row[:5]) == tuple(entry)
    )


def _records_after(
    root: str, sources: list[Source], records: dict[str, PartRecord], plan: _Plan
) -> Outcome:
    """Every part's record after the update. A part whose Tree changed gets a new one; any other
    keeps its record file unless a row of it at an affected path changed (a path it now places,
    or no longer places)."""
    outcome = Outcome({}, set())
    for source in sources:
        part = source.part
        if part in plan.changed:
            claims = {
                path: _row_after(root, part, path, entry, plan, records)
                for path, entry in plan.trees[part].items()
            }
            outcome.records[part] = PartRecord(
                plan.seen[part].folder, plan.seen[part].fingerprint, claims
            )
            outcome.rewritten.add(part)
            continue
        record = records[part]
        rows = {
            path: _row_after(root, part, path, Entry._make(record.claims[path][:5]), plan, records)
            for path in record.claims.keys() & plan.affected
        }
        rows = {path: row for path, row in rows.items() if row != record.claims[path]}
        if rows:
            record = PartRecord(record.folder, record.fingerprint, {**record.claims, **rows})
            outcome.rewritten.add(part)
        outcome.records[part] = record
    return outcome


def _row_after(
    root: str, part: str, path: str, entry: Entry, plan: _Plan, records: dict[str, PartRecord]
) -> Row:
    placing = path in plan.owned and plan.owned[path][2] == part
    if placing and path in plan.keep and entry.kind == "file":
        return records[part].claims[path]  # kept: the same part placed the same file
    return new_row(root, path, entry, placing)


def _is_our_folder(path: str, plan: _Plan) -> bool:
    """Whether `path` (an affected path, or the folder of one) is a folder of dest after the
    update; a folder of an affected path that is not affected itself was not touched: it is."""
    if path in plan.affected:
        return path in plan.owned and plan.owned[path][0].kind == "dir"
    return True


# -- placing ---------------------------------------------------------------------------------------


# -- records ---------------------------------------------------------------------------------------
