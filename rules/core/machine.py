"""What machine partsmith builds on (it builds for the machine it runs on)."""

from __future__ import annotations

import platform
import sysconfig

# The Debian multiarch triplet and architecture of this machine, as snapcraft's ARCH_TRIPLET and
# ARCH_BUILD_FOR (partsmith builds for the machine it runs on).
ARCH_TRIPLET = sysconfig.get_config_var("MULTIARCH") or f"{platform.machine()}-linux-gnu"
DEB_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "armhf",
    "ppc64le": "ppc64el",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "i686": "i386",
}.get(platform.machine(), platform.machine())
