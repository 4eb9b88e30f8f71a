"""partsmith: hermetic build rules for snapcraft-style parts, scheduled by doit."""

RULES_VERSION = "0.1.0"
