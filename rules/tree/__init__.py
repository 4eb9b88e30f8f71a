"""Layer 1: Trees (the manifest of an output: path -> kind, sha256, size, mode, link target),
filesets and the merge of several parts' Trees.
"""

from .errors import ChangedSince, Conflict, StageConflictError, TreeError
from .filesets import organize, select
from .merge_parts import Contribution, Owned, merge
from .migrate import migrate, migrate_command
from .reading import BlobSink, BlobStream, captured_into, hash_file
from .tree import (
    Capture,
    Deferred,
    Entry,
    Tree,
    capture,
    from_data,
    link_escapes,
    normalize_modes,
    read_manifest,
    to_json,
    tree_digest,
    with_parents,
    write_manifest,
)
from .updating import Take, copied_from, holds_folders, moved_from, update_in_place
from .writing import (
    Placement,
    copy_captured,
    copy_checked,
    copy_hashed_from,
    copy_known,
    file_mode,
    materialize,
    write_tree,
)

__all__ = [
    "BlobSink",
    "BlobStream",
    "Capture",
    "ChangedSince",
    "Conflict",
    "Contribution",
    "Deferred",
    "Entry",
    "Owned",
    "Placement",
    "StageConflictError",
    "Take",
    "Tree",
    "TreeError",
    "capture",
    "captured_into",
    "copied_from",
    "copy_captured",
    "copy_checked",
    "copy_hashed_from",
    "copy_known",
    "file_mode",
    "from_data",
    "hash_file",
    "holds_folders",
    "link_escapes",
    "materialize",
    "merge",
    "migrate",
    "migrate_command",
    "moved_from",
    "normalize_modes",
    "organize",
    "read_manifest",
    "select",
    "to_json",
    "tree_digest",
    "update_in_place",
    "with_parents",
    "write_manifest",
    "write_tree",
]
