"""The Linux kernel as the reference for what a ruleset means (differential tests)."""
