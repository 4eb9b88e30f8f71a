"""Layer 3: pulled sources (a local folder changed by override-pull, git, tar) and Debian packages
(build-packages checked, stage-packages downloaded).
"""

from .debian_packages import (
    build_packages_record,
    debs_are_current,
    debs_record,
    download_debs,
    ensure_build_packages,
    installed_versions,
    load_debs,
)
from .errors import PullError, Unreachable
from .kept_source import kept_manifest, materialize_source
from .pulled_source import needs_source_pull, pull_source, pulled_source_record, source_is_current

__all__ = [
    "PullError",
    "Unreachable",
    "build_packages_record",
    "debs_are_current",
    "debs_record",
    "download_debs",
    "ensure_build_packages",
    "installed_versions",
    "kept_manifest",
    "load_debs",
    "materialize_source",
    "needs_source_pull",
    "pull_source",
    "pulled_source_record",
    "source_is_current",
]
