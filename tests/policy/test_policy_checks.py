"""FW4xx check logic against exposure classes built by hand (the analysis API's own
dataclasses), so the policy side is tested apart from the parsers and the packet-space
engine.  End-to-end behaviour on real rule text is in tests/checks/cases/FW4xx.yaml."""

from __future__ import annotations

import importlib

import pytest

from fwlint.analysis import ANY_ADDRESS_V4, ANY_ADDRESS_V6, Exposure, Outcome, Packet
from fwlint.checks.base import CheckContext
from fwlint.findings import Severity
from fwlint.model import Chain, Rule, Ruleset, Span, Table, Verdict
from fwlint.policy import load_policy

TCP, UDP = 6, 17
PATH = "rules.v4"


def rule(line: int) -> Rule:
    return Rule(matches=(), verdict=Verdict("accept"), span=Span(PATH, line, 1, line, 30),
                text=f"rule at {line}")


def ruleset(families=("ip",), input_policy="drop", forward_policy="drop") -> Ruleset:
    tables = tuple(
        Table(family, "filter", chains=(
            Chain("INPUT", hook="input", type="filter", priority=0, policy=input_policy,
                  span=Span(PATH, 2, 1, 2, 20)),
            Chain("FORWARD", hook="forward", type="filter", priority=0, policy=forward_policy,
                  span=Span(PATH, 3, 1, 3, 20))))
        for family in families)
    return Ruleset(PATH, "iptables-save", tables=tables)


def exposure(port, line, protocol=TCP, family="ip", sources=None, internal=None, hook="input",
             nat_line=None, certainty="definite", interfaces=None):
    ports = port if isinstance(port, tuple) else ((port, port),)
    return Exposure(hook=hook, family=family, protocol=protocol, ports=ports,
                    internal_ports=internal, internal_addresses=None,
                    sources=sources or (ANY_ADDRESS_V6 if family == "ip6" else ANY_ADDRESS_V4),
                    interfaces=interfaces, certainty=certainty,
                    reason="" if certainty == "definite" else "-m recent",
                    rules=(rule(line),), nat_rules=(rule(nat_line),) if nat_line else ())


class FakeAnalysis:
    def __init__(self, exposures=(), refuse=()):
        self.exposures = tuple(exposures)
        self.refuse = refuse  # predicates on Packet: these are dropped by the rule at line 9

    def exposure(self):
        return self.exposures

    def verdict_for(self, packet: Packet) -> Outcome:
        if any(test(packet) for test in self.refuse):
            return Outcome("drop", "input", packet.daddr, packet.dport, (rule(9),), "definite")
        return Outcome("accept", "input", packet.daddr, packet.dport, (rule(4),), "definite")


def run(code, policy, exposures=(), rules=None, refuse=()):
    module = importlib.import_module("fwlint.checks." + {
        "FW401": "fw401_unlisted_port_open", "FW402": "fw402_forbidden_port_open",
        "FW403": "fw403_broken_port_remap", "FW404": "fw404_unlisted_service_source",
        "FW405": "fw405_service_protocol_mismatch", "FW406": "fw406_hook_without_default_deny",
        "FW407": "fw407_missing_loopback_accept", "FW408": "fw408_missing_established_accept",
        "FW409": "fw409_ipv6_exposure_exceeds_ipv4"}[code])
    ctx = CheckContext(ruleset=rules or ruleset(), policy=load_policy(policy),
                       _analysis=FakeAnalysis(exposures, refuse))
    return list(module.check(ctx))


SSH_REMAP = {"fwlint-policy": 1, "services": {"ssh": {"port": 2222}},
             "ports": {"well-known": "deny-unlisted"}}


def test_unlisted_port_names_rule_service_and_range():
    policy = {"fwlint-policy": 1, "services": {"https": {}},
              "ports": {"well-known": "deny-unlisted", "registered": "warn-unlisted"}}
    problems = run("FW401", policy, [exposure(443, 5), exposure(23, 6), exposure(8080, 7)])
    assert [(p.span.line, p.severity) for p in problems] == [(6, None), (7, Severity.MEDIUM)]
    assert "23/tcp (telnet)" in problems[0].message and "well-known" in problems[0].message
    assert "accepted by line 6" in problems[0].message
    assert problems[0].related[0].span.path == "<inline policy>"
    assert problems[0].related[0].span.line > 0


def test_unlisted_port_splits_a_wide_range_by_category():
    policy = {"fwlint-policy": 1, "services": {"ssh": {}},
              "ports": {"well-known": "deny-unlisted", "dynamic": "deny"}}
    problems = run("FW401", policy, [exposure(((1, 65535),), 5)])
    assert len(problems) == 2
    assert "1-21,23-1023/tcp" in problems[0].message
    assert "49152-65535/tcp" in problems[1].message


def test_allow_and_absent_range_rules_report_nothing():
    policy = {"fwlint-policy": 1, "ports": {"well-known": "allow"}}
    assert run("FW401", policy, [exposure(23, 5), exposure(8080, 6)]) == []


def test_trusted_sources_and_interfaces_are_not_exposure():
    policy = {"fwlint-policy": 1, "ports": {"well-known": "deny"},
              "trusted": {"interfaces": ["lan+"], "sources": ["10.0.0.0/8"]}}
    lan_only = exposure(53, 5, interfaces=("lan0",))
    private = exposure(53, 6, sources=((0x0A000000, 0x0AFFFFFF),))
    public = exposure(53, 7, interfaces=("wan0",))
    assert [p.span.line for p in run("FW401", policy, [lan_only, private, public])] == [7]


def test_forbidden_port_reachable_and_not_double_reported():
    policy = {"fwlint-policy": 1, "forbidden": ["telnet", {"port": 3389, "proto": "tcp",
                                                            "reason": "VPN only"}],
              "ports": {"well-known": "deny-unlisted", "registered": "deny-unlisted"}}
    exposures = [exposure(23, 5), exposure(3389, 6), exposure(3389, 7, protocol=UDP)]
    forbidden = run("FW402", policy, exposures)
    assert [p.span.line for p in forbidden] == [5, 6]
    assert "VPN only" in forbidden[1].message
    assert forbidden[0].related[0].span.line == 3  # "- telnet" in the dumped inline policy
    assert [p.span.line for p in run("FW401", policy, exposures)] == [7]


def test_world_open_forbidden_only_counts_public_sources():
    policy = "baseline"
    private = exposure(5432, 5, sources=((0xC0A80000, 0xC0A8FFFF),))
    public = exposure(5432, 6)
    assert [p.span.line for p in run("FW402", policy, [private, public])] == [6]


@pytest.mark.parametrize("scenario,exposures,expected", [
    ("2222 only", [exposure(2222, 5)], []),
    ("22 and 2222", [exposure(22, 5), exposure(2222, 6)], [(5, "still reachable")]),
    ("22 only", [exposure(22, 5)], [(5, "still reachable"), (2, "no rule lets")]),
    ("redirect, ctstate dnat", [exposure(2222, 6, internal=((22, 22),), nat_line=3)], []),
    ("redirect, 22 for all", [exposure(2222, 6, internal=((22, 22),), nat_line=3),
                              exposure(22, 6)], [(6, "still reachable")]),
])
def test_ssh_remap_scenarios(scenario, exposures, expected):
    problems = run("FW403", SSH_REMAP, exposures)
    assert [(p.span.line, next(t for t in ("still reachable", "no rule lets")
                                if t in p.message)) for p in problems] == expected
    assert all(p.related[0].span.line == 3 for p in problems)  # "ssh:" in the policy
    assert run("FW401", SSH_REMAP, exposures) == []


def test_remap_through_forward_dnat_passes_under_router():
    policy = {"fwlint-policy": 1, "extends": "router", "services": {"ssh": {"port": 2222}}}
    forwarded = exposure(2222, 8, hook="forward", internal=((22, 22),), nat_line=3)
    for code in ("FW401", "FW402", "FW403", "FW404"):
        assert run(code, policy, [forwarded]) == [], code


def test_source_beyond_from_names_extra_sources():
    policy = {"fwlint-policy": 1, "services": {"ssh": {"from": ["10.0.0.0/8"]}}}
    inside = exposure(22, 5, sources=((0x0A000000, 0x0AFFFFFF),))
    wide = exposure(22, 6, sources=((0x0A000000, 0x0BFFFFFF),))
    v6 = exposure(22, 7, family="ip6")
    problems = run("FW404", policy, [inside, wide, v6])
    assert [p.span.line for p in problems] == [6, 7]
    assert "11.0.0.0/8" in problems[0].message
    assert "any source" in problems[1].message


def test_protocol_mismatch_both_directions():
    policy = {"fwlint-policy": 1, "services": {"ntp": {}, "myapp": {"port": 9000, "proto": "tcp"}},
              "ports": {"well-known": "deny-unlisted", "registered": "deny-unlisted"}}
    exposures = [exposure(123, 5, protocol=TCP), exposure(9000, 6, protocol=UDP),
                 exposure(123, 7, protocol=UDP)]
    problems = run("FW405", policy, exposures)
    assert [p.span.line for p in problems] == [5, 6]
    assert "only on udp" in problems[0].message and "only on tcp" in problems[1].message
    assert run("FW401", policy, exposures) == []


def test_default_deny_per_required_hook():
    policy = {"fwlint-policy": 1, "default-deny": ["input", "forward"]}
    assert run("FW406", policy, rules=ruleset()) == []
    problems = run("FW406", policy, rules=ruleset(forward_policy="accept"))
    assert [p.span.line for p in problems] == [3] and "forward" in problems[0].message
    no_chains = Ruleset(PATH, "nft", tables=(Table("inet", "filter"),))
    assert len(run("FW406", policy, rules=no_chains)) == 4  # 2 hooks x 2 families


def test_loopback_and_established_requirements():
    policy = {"fwlint-policy": 1, "require": ["loopback-accept", "established-accept"]}
    assert run("FW407", policy) == [] and run("FW408", policy) == []
    lo_dropped = run("FW407", policy, refuse=[lambda p: p.iif == "lo"])
    assert [p.span.line for p in lo_dropped] == [9] and "dropped" in lo_dropped[0].message
    udp_replies = run("FW408", policy, refuse=[lambda p: p.protocol == UDP])
    assert len(udp_replies) == 1 and "udp" in udp_replies[0].message
    assert run("FW407", {"fwlint-policy": 1}, refuse=[lambda p: True]) == []


def test_ipv6_parity():
    policy = {"fwlint-policy": 1, "require": ["ipv6-parity"]}
    both = ruleset(("ip", "ip6"))
    same = [exposure(443, 5), exposure(443, 6, family="ip6")]
    more = same + [exposure(5432, 7, family="ip6")]
    assert run("FW409", policy, same, rules=both) == []
    problems = run("FW409", policy, more, rules=both)
    assert [p.span.line for p in problems] == [7] and "5432/tcp" in problems[0].message
    assert run("FW409", policy, more, rules=ruleset(("ip",))) == []  # nothing to compare


def test_possible_exposure_gives_possible_finding():
    policy = {"fwlint-policy": 1, "forbidden": ["telnet"]}
    (problem,) = run("FW402", policy, [exposure(23, 5, certainty="possible")])
    assert problem.certainty == "possible" and "-m recent" in problem.message
