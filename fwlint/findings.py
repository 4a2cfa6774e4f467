"""Findings: what checks report, after the engine has stamped code and severity."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Optional

from .model import Span


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, name: str) -> "Severity":
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {name!r}; expected one of "
                             + ", ".join(s.name.lower() for s in cls)) from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Related:
    """Another location involved in a finding (a covering rule, a policy line)."""

    span: Span
    message: str


@dataclass(frozen=True, slots=True)
class Problem:
    """What a check yields: the engine turns it into a Finding.

    ``key`` identifies the offending thing independently of line numbers (for example
    "filter/INPUT/-p tcp --dport 22 -j ACCEPT"); the fingerprint is made from it.
    ``certainty`` is "definite" or "possible" (an unknown match may change the answer).
    """

    span: Span
    message: str
    related: tuple[Related, ...] = ()
    key: str = ""
    certainty: str = "definite"
    severity: Optional[Severity] = None  # only to override the check's default


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding is not counted: an inline directive, a file directive or a baseline."""

    kind: str  # "inline" | "comment" | "file" | "baseline" | "config"
    reason: str = ""
    span: Optional[Span] = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem stamped by the engine: which check, how severe, where, and its id."""

    code: str
    name: str
    severity: Severity
    message: str
    span: Span
    related: tuple[Related, ...] = ()
    certainty: str = "definite"
    fingerprint: str = ""
    suppressed: Optional[Suppression] = field(default=None)

    def sort_key(self) -> tuple:
        return (self.span.path, self.span.line, self.span.column, self.code, self.message)

    def with_suppression(self, suppression: Suppression) -> "Finding":
        return replace(self, suppressed=suppression)


def fingerprint(code: str, path: str, key: str, message: str) -> str:
    """A stable id for a finding that does not depend on line numbers."""
    digest = _sha256("\x1f".join((code, path, key or message)).encode()).hexdigest()
    return digest[:32]


try:
    # CPython's own SHA-256 (the same digest): importing hashlib loads OpenSSL's libcrypto,
    # 2.5 ms of a 0.15 s run on a small file
    from _sha256 import sha256 as _sha256
except ImportError:  # Python 3.12+ names it _sha2; other interpreters: hashlib
    try:
        from _sha2 import sha256 as _sha256
    except ImportError:
        from hashlib import sha256 as _sha256
