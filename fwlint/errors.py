"""Exceptions that end a run with exit code 2 and a one-line message."""


class UsageError(Exception):
    """A problem with how fwlint was called or configured (exit code 2)."""
