"""partsmith: hermetic build rules for snapcraft-style parts, scheduled by doit."""
