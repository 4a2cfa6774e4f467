"""Helpers shared by the integration tests."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass

import pytest


PARSERS = {"iptables": "fwlint.parsing.iptables", "nft": "fwlint.parsing.nft"}


def require_parser(name: str) -> None:
    """Skip when a front end is not in the tree yet (the tests need real rule text parsed)."""
    try:
        missing = importlib.util.find_spec(PARSERS[name]) is None
    except ModuleNotFoundError:
        missing = True
    if missing:
        pytest.skip(f"the {name} parser ({PARSERS[name]}) is not in the tree yet")


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)

    def findings(self) -> list[dict]:
        return self.json()["findings"]


def active(findings: list[dict]) -> list[tuple[str, int]]:
    """(code, line) of the unsuppressed findings."""
    return sorted((f["code"], f["location"]["line"]) for f in findings if "suppressed" not in f)


def suppressed(findings: list[dict]) -> list[tuple[str, int, str]]:
    """(code, line, kind) of the suppressed findings."""
    return sorted((f["code"], f["location"]["line"], f["suppressed"]["kind"])
                  for f in findings if "suppressed" in f)
