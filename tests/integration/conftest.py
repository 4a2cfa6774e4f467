"""Fixtures for the integration tests: run the real CLI in-process on files in a temp folder."""

from __future__ import annotations

import pytest

from fwlint.cli import main

from .helpers import Run


@pytest.fixture
def fwlint(capsys, monkeypatch):
    """``fwlint(*argv, cwd=folder) -> Run``: the CLI's exit code and output."""

    def run(*argv: str, cwd=None) -> Run:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
