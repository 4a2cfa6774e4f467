"""Packet-space analysis: which packets each rule really sees, what a NEW packet meets
after NAT, and what is exposed.

Public API (used by the analysis checks, ``fwlint exposure``, the policy checks and the
kernel differential test)::

    analysis = analyze(ruleset)
    analysis.verdict_for(Packet(...)) -> Outcome
    analysis.exposure() -> tuple[Exposure, ...]
    analysis.rule_results() -> tuple[RuleResult, ...]   # shadowing / redundancy per rule
    analysis.nat_rules() -> tuple[NatRule, ...]          # DNAT/REDIRECT rules with their space

How it works is in :mod:`fwlint.analysis.space` (the representation, with the measured
numbers that chose it) and :mod:`fwlint.analysis.evaluate` (chains, views, NAT).
"""

from __future__ import annotations

import functools
import gc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, TypeVar

from ..model import Rule, Ruleset

if TYPE_CHECKING:
    from .evaluate import Evaluation

ANY_ADDRESS_V4 = ((0, 2**32 - 1),)
ANY_ADDRESS_V6 = ((0, 2**128 - 1),)


@dataclass(frozen=True)
class Packet:
    """A concrete NEW packet arriving from outside (the question ``verdict_for`` answers)."""

    family: str  # "ip" | "ip6"
    protocol: int  # 6 tcp, 17 udp, 1 icmp, 58 icmpv6
    saddr: str
    daddr: str
    sport: Optional[int] = None
    dport: Optional[int] = None
    iif: str = "eth0"
    ct_state: str = "new"
    icmp_type: Optional[int] = None
    tcp_flags: frozenset[str] = frozenset({"SYN"})
    mark: int = 0
    local: bool = True  # daddr is this host (prerouting -> input), else routed (-> forward)


@dataclass(frozen=True)
class Outcome:
    """What happens to a packet after nat prerouting and filter input/forward."""

    verdict: str  # "accept" | "drop" | "reject"
    hook: str  # "input" | "forward": where the filter verdict was taken
    daddr: str  # destination after NAT
    dport: Optional[int]
    rules: tuple[Rule, ...]  # the rules that decided (nat and filter)
    certainty: str  # "definite" | "possible" (an unknown match on the path could change it)


@dataclass(frozen=True)
class Exposure:
    """One class of NEW packets from outside that is accepted."""

    hook: str
    family: str
    protocol: int
    ports: tuple[tuple[int, int], ...]  # destination ports on the wire
    internal_ports: Optional[tuple[tuple[int, int], ...]]  # after DNAT/REDIRECT, None if unchanged
    internal_addresses: Optional[tuple[tuple[int, int], ...]]
    sources: tuple[tuple[int, int], ...]  # allowed source intervals; ANY_ADDRESS_V4/V6 = any
    interfaces: Optional[tuple[str, ...]]  # None = any input interface
    certainty: str
    reason: str  # which unknown match makes it possible ("" when definite)
    rules: tuple[Rule, ...]
    nat_rules: tuple[Rule, ...]

    @property
    def any_source(self) -> bool:
        return self.sources in (ANY_ADDRESS_V4, ANY_ADDRESS_V6)


@dataclass(frozen=True)
class RuleResult:
    """What the analysis knows about one rule of one chain (all call sites together).

    ``shadowed``: no packet can reach and match it (``covering`` are the fewest earlier rules
    that together cover it, with one of a different verdict when there is one).
    ``redundant``: removing it changes no verdict (``covering`` then names the later rules or
    the policy that give the same verdict).  ``correlated``: earlier rules with a different
    verdict that partly overlap it (NEW packets only).
    """

    table: str
    family: str
    chain: str
    index: int
    rule: Rule
    shadowed: bool = False
    conflict: bool = False
    redundant: bool = False
    covering: tuple[Rule, ...] = ()
    correlated: tuple[Rule, ...] = ()
    certainty: str = "definite"
    reason: str = ""


@dataclass(frozen=True)
class NatRule:
    """A DNAT/REDIRECT rule of a prerouting nat chain and what it matches there."""

    table: str
    family: str
    chain: str
    rule: Rule
    protocols: tuple[tuple[int, int], ...]
    daddrs: tuple[tuple[int, int], ...]
    dports: tuple[tuple[int, int], ...]
    target: str  # "addr:port" as written, for messages and comparison
    #: boxes of :mod:`fwlint.analysis.space`: the packets that reach the rule's chain and
    #: match it (other NAT rules before it not subtracted), and those it certainly translates
    boxes: tuple = field(default=(), compare=False, repr=False)
    definite: tuple = field(default=(), compare=False, repr=False)


_Result = TypeVar("_Result")


def _without_cyclic_gc(method: Callable[..., _Result]) -> Callable[..., _Result]:
    """Run an analysis step with the cyclic garbage collector paused, then move what it
    built (long-lived views, decisions, results) out of the collector's reach.

    The analysis builds millions of small tuples that live as long as the analysis; each
    full collection walks them all.  On the 100k-rule benchmark the collector took 2.7 s
    of the 11.4 s of exposure, rule results and NAT rules (15 full collections).  The
    parser does the same (``fwlint.parsing.iptables``).
    """
    @functools.wraps(method)
    def paused(*args, **kwargs) -> _Result:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return method(*args, **kwargs)
        finally:
            if enabled:
                gc.freeze()
                gc.enable()
    return paused


class Analysis:
    """The packet-space analysis of one ruleset (computed lazily, piece by piece)."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self._evaluation: Optional["Evaluation"] = None

    @property
    def evaluation(self) -> "Evaluation":
        if self._evaluation is None:
            from .evaluate import Evaluation
            self._evaluation = Evaluation(self.ruleset)
        return self._evaluation

    def verdict_for(self, packet: Packet) -> Outcome:
        """The outcome for one packet: the point is located in the computed spaces."""
        return self.evaluation.verdict_for(packet)

    @_without_cyclic_gc
    def exposure(self) -> tuple[Exposure, ...]:
        """Every class of NEW packets from outside that input or forward accepts."""
        return self.evaluation.exposure()

    @_without_cyclic_gc
    def rule_results(self) -> tuple[RuleResult, ...]:
        """Shadowing, redundancy and correlation of every rule reachable from a base chain."""
        return self.evaluation.rule_results()

    @_without_cyclic_gc
    def nat_rules(self) -> tuple[NatRule, ...]:
        """DNAT/REDIRECT rules of prerouting nat chains, in evaluation order."""
        return self.evaluation.nat_rules()


def analyze(ruleset: Ruleset) -> Analysis:
    """Analyse a ruleset (cheap: the work happens on first use of each result)."""
    return Analysis(ruleset)
