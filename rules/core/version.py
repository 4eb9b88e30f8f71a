"""The version of the rules, part of every key: move it when what the rules make changes."""

RULES_VERSION = "0.1.0"
