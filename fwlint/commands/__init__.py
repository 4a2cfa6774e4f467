"""Subcommands of the ``fwlint`` CLI, one module each."""
