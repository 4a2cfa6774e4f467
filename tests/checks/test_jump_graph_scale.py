"""Jump-graph checks on long chains of chains: iterative, so no recursion limit (FW204, FW301)."""

from __future__ import annotations

import sys

from fwlint.checks import registry
from fwlint.checks.base import CheckContext
from fwlint.engine import run_checks
from fwlint.model import Chain, Rule, Ruleset, Span, Table, Verdict
from fwlint.settings import Settings

CHAINS = 3 * sys.getrecursionlimit()


def _ring(closed: bool) -> Ruleset:
    """INPUT -> C0 -> C1 -> ... -> C(n-1), and C(n-1) -> C0 when ``closed``."""
    def jump(source: int, target: str) -> Rule:
        return Rule((), verdict=Verdict("jump", target=target),
                    span=Span("ring.rules", source + 2, 1, source + 2, 10), text=f"-j {target}")
    chains = [Chain("INPUT", (jump(-1, "C0"),), hook="input", type="filter", policy="drop")]
    for i in range(CHAINS):
        last = i == CHAINS - 1
        if last and not closed:
            chains.append(Chain(f"C{i}", ()))
        else:
            chains.append(Chain(f"C{i}", (jump(i, "C0" if last else f"C{i + 1}"),)))
    return Ruleset("ring.rules", "iptables-save", (Table("ip", "filter", tuple(chains)),))


def _codes(ruleset: Ruleset, *codes: str) -> list:
    checks = [registry()[code] for code in codes]
    return run_checks(CheckContext(ruleset=ruleset), checks, Settings(policy=None))


def test_long_cycle_is_one_finding_naming_its_length():
    findings = _codes(_ring(closed=True), "FW204")
    assert [f.code for f in findings] == ["FW204"]
    assert f"{CHAINS} chains" in findings[0].message
    assert len(findings[0].related) == CHAINS - 1


def test_long_path_without_cycle():
    assert _codes(_ring(closed=False), "FW204", "FW301") == []
