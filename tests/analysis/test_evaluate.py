"""Chain evaluation, shadowing and NAT against a brute-force interpreter written here.

Random rulesets over a few values per field (with negation, interface wildcards, conntrack
states, jumps, gotos and returns) are built as model values; every combination of those
values (plus one value outside them per field) is a packet.  The analysis answers by set
membership; the interpreter below walks the rules one by one.  They must agree on every
packet, and a rule is shadowed exactly when no packet reaches and matches it.
"""

from __future__ import annotations

import ipaddress
import itertools
import random

import pytest

from fwlint.analysis import Packet, analyze
from fwlint.model import (AddressMatch, Chain, CtStateMatch, InterfaceMatch, OpaqueMatch,
                          PortMatch, ProtocolMatch, Rule, Ruleset, Span, Table, Verdict)
from fwlint.parsing import parse_text

BASE = int(ipaddress.IPv4Address("10.0.0.0"))
SOURCES = [BASE + i for i in (0, 1, 2, 3, 9)]
PORTS = [22, 23, 80, 81, 9999]
PROTOCOLS = [6, 17]
INTERFACES = ["eth0", "eth1", "wlan0"]
STATES = ["new", "established"]  # rules use these; packets also "invalid" (every other state)
USER_CHAINS = ["U1", "U2"]


def random_rule(rnd: random.Random, chain: str, line: int) -> Rule:
    matches = []
    if rnd.random() < 0.5:
        lo = rnd.choice(SOURCES[:4])
        hi = rnd.choice([s for s in SOURCES[:4] if s >= lo])
        matches.append(AddressMatch("saddr", 4, ((lo, hi),), negated=rnd.random() < 0.3))
    if rnd.random() < 0.6:
        protocol = rnd.choice(PROTOCOLS)
        matches.append(ProtocolMatch(frozenset({protocol})))
        if rnd.random() < 0.7:
            ports = sorted(rnd.sample(PORTS[:4], rnd.randint(1, 3)))
            matches.append(PortMatch("dport", tuple((p, p) for p in ports),
                                     negated=rnd.random() < 0.3))
    if rnd.random() < 0.3:
        name, wildcard = rnd.choice([("eth0", False), ("eth1", False), ("eth", True)])
        matches.append(InterfaceMatch("iif", (name,), (wildcard,), negated=rnd.random() < 0.3))
    if rnd.random() < 0.3:
        matches.append(CtStateMatch(frozenset({rnd.choice(STATES)}), negated=rnd.random() < 0.3))
    later_chains = USER_CHAINS[USER_CHAINS.index(chain) + 1:] if chain in USER_CHAINS \
        else USER_CHAINS
    kinds = ["accept", "drop", "drop", "accept", None]
    if later_chains:
        kinds += ["jump", "goto"]
    if chain in USER_CHAINS:
        kinds.append("return")
    kind = rnd.choice(kinds)
    verdict = None if kind is None else Verdict(
        kind, target=rnd.choice(later_chains) if kind in ("jump", "goto") else None)
    return Rule(tuple(matches), verdict=verdict, span=Span("t", line, 1, line, 1),
                text=f"{chain} rule {line}")


def random_ruleset(seed: int) -> Ruleset:
    rnd = random.Random(seed)
    line = 0
    chains = []
    for name in ["INPUT"] + USER_CHAINS:
        rules = []
        for _ in range(rnd.randint(2, 8)):
            line += 1
            rules.append(random_rule(rnd, name, line))
        if name == "INPUT":
            chains.append(Chain(name, tuple(rules), hook="input", type="filter", priority=0,
                                policy=rnd.choice(["accept", "drop"])))
        else:
            chains.append(Chain(name, tuple(rules)))
    return Ruleset("t", "iptables-save", (Table("ip", "filter", tuple(chains)),))


# --------------------------------------------------------------------------- the reference


def matches(rule: Rule, p: Packet) -> bool:
    for m in rule.matches:
        if isinstance(m, AddressMatch):
            hit = any(lo <= int(ipaddress.IPv4Address(p.saddr)) <= hi for lo, hi in m.intervals)
        elif isinstance(m, ProtocolMatch):
            hit = p.protocol in m.protocols
        elif isinstance(m, PortMatch):
            hit = p.dport is not None and any(lo <= p.dport <= hi for lo, hi in m.ranges)
        elif isinstance(m, InterfaceMatch):
            hit = any(p.iif.startswith(n) if w else p.iif == n for n, w in zip(m.names, m.wildcard))
        elif isinstance(m, CtStateMatch):
            hit = p.ct_state in m.states
        else:
            raise AssertionError(m)
        if hit == m.negated:
            return False
    return True


def run_chain(table: Table, name: str, p: Packet, reached: set) -> str | None:
    """The verdict, or None when the packet returns from the chain."""
    for index, rule in enumerate(table.chain(name).rules):
        if not matches(rule, p):
            continue
        reached.add((name, index))
        v = rule.verdict
        if v is None:
            continue
        if v.kind in ("accept", "drop"):
            return v.kind
        if v.kind == "return":
            return None
        result = run_chain(table, v.target, p, reached)
        if v.kind == "goto" or result is not None:
            return result
    return None


def packets():
    for saddr, proto, dport, iif, state in itertools.product(SOURCES, PROTOCOLS + [1], PORTS,
                                                              INTERFACES, STATES + ["invalid"]):
        if proto == 1 and dport != PORTS[0]:
            continue
        yield Packet("ip", proto, str(ipaddress.IPv4Address(saddr)), "192.0.2.1",
                     40000 if proto != 1 else None, dport if proto != 1 else None,
                     iif=iif, ct_state=state, icmp_type=8 if proto == 1 else None)


@pytest.mark.parametrize("seed", range(25))
def test_verdicts_and_shadowing_match_the_interpreter(seed):
    ruleset = random_ruleset(seed)
    table = ruleset.tables[0]
    analysis = analyze(ruleset)
    policy = table.chain("INPUT").policy
    reached: set = set()
    for p in packets():
        expected = run_chain(table, "INPUT", p, reached) or policy
        outcome = analysis.verdict_for(p)
        assert (outcome.verdict, outcome.hook, outcome.certainty) == (expected, "input", "definite"), p
    for chain in ["U1", "U2"]:  # shadowing is judged for a chain's own start
        for p in packets():
            run_chain(table, chain, p, reached)
    shadowed = {(r.chain, r.index) for r in analysis.rule_results() if r.shadowed}
    every = {(c.name, i) for c in table.chains for i, rule in enumerate(c.rules)}
    assert shadowed == every - reached


def test_shadowed_rule_names_all_covering_rules():
    text = """*filter
:INPUT DROP [0:0]
-A INPUT -s 10.0.0.0/10 -p tcp --dport 80 -j ACCEPT
-A INPUT -s 10.64.0.0/10 -p tcp --dport 80 -j ACCEPT
-A INPUT -s 10.128.0.0/9 -p tcp --dport 80 -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p udp -j DROP
-A INPUT -s 10.0.0.0/8 -p tcp --dport 80 -j DROP
COMMIT
"""
    results = analyze(parse_text(text, "t").ruleset).rule_results()
    shadowed = [r for r in results if r.shadowed]
    assert [r.rule.span.line for r in shadowed] == [7]
    assert [r.span.line for r in shadowed[0].covering] == [3, 4, 5]
    assert shadowed[0].conflict


def test_unknown_match_makes_the_verdict_possible():
    text = """*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -m recent --rcheck --seconds 60 -j DROP
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
"""
    analysis = analyze(parse_text(text, "t").ruleset)
    ssh = analysis.verdict_for(Packet("ip", 6, "198.51.100.1", "192.0.2.1", 1000, 22))
    web = analysis.verdict_for(Packet("ip", 6, "198.51.100.1", "192.0.2.1", 1000, 80))
    assert ssh.certainty == "possible"
    assert (web.verdict, web.certainty) == ("drop", "definite")
    assert not [r for r in analysis.rule_results() if r.shadowed]
    exposure = [e for e in analysis.exposure() if e.protocol == 6]
    assert [(e.ports, e.certainty) for e in exposure] == [(((22, 22),), "possible")]
    assert "recent" in exposure[0].reason


def test_redirect_and_ctstate_dnat_open_the_outer_port():
    text = """*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22
-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A INPUT -p tcp --dport 22 -m conntrack --ctstate DNAT -j ACCEPT
-A FORWARD -d 10.0.0.5 -p tcp --dport 80 -j ACCEPT
COMMIT
"""
    analysis = analyze(parse_text(text, "t").ruleset)

    def send(port):
        return analysis.verdict_for(Packet("ip", 6, "198.51.100.1", "192.0.2.1", 1000, port))

    assert (send(2222).verdict, send(2222).dport, send(2222).hook) == ("accept", 22, "input")
    assert send(22).verdict == "drop"
    forwarded = send(8080)
    assert (forwarded.verdict, forwarded.hook, forwarded.daddr, forwarded.dport) == \
        ("accept", "forward", "10.0.0.5", 80)
    classes = {(e.hook, e.ports, e.internal_ports) for e in analysis.exposure()}
    assert classes == {("input", ((2222, 2222),), ((22, 22),)),
                       ("forward", ((8080, 8080),), ((80, 80),))}


def test_nft_named_set_and_interface_wildcard_exposure():
    text = """table inet filter {
  set web { type inet_service; elements = { 80, 443 } }
  chain input {
    type filter hook input priority 0; policy drop;
    iifname "lo" accept
    iifname "eth*" tcp dport @web accept
  }
}
"""
    analysis = analyze(parse_text(text, "t.nft", "nft").ruleset)
    tcp = [e for e in analysis.exposure() if e.protocol == 6 and e.family == "ip"]
    web = [e for e in tcp if e.ports == ((80, 80), (443, 443))]
    assert web and web[0].interfaces == ("eth*",) and web[0].certainty == "definite"
    ok = analysis.verdict_for(Packet("ip", 6, "198.51.100.1", "192.0.2.1", 1000, 443,
                                     iif="eth3"))
    no = analysis.verdict_for(Packet("ip", 6, "198.51.100.1", "192.0.2.1", 1000, 443,
                                     iif="wlan0"))
    assert (ok.verdict, no.verdict) == ("accept", "drop")


def test_established_accept_shadows_nothing_and_opaque_does_not_cover():
    rules = (
        Rule((CtStateMatch(frozenset({"established", "related"})),), verdict=Verdict("accept")),
        Rule((OpaqueMatch("limit", (("--limit", "1/s"),)),), verdict=Verdict("accept")),
        Rule((ProtocolMatch(frozenset({6})),), verdict=Verdict("drop")),
    )
    chain = Chain("INPUT", rules, hook="input", type="filter", priority=0, policy="drop")
    analysis = analyze(Ruleset("t", "iptables-save", (Table("ip", "filter", (chain,)),)))
    assert not [r for r in analysis.rule_results() if r.shadowed]


def _with_unknown_matches(ruleset: Ruleset, seed: int) -> Ruleset:
    """The ruleset with an unknown match added to about a third of its rules."""
    rnd = random.Random(seed)
    table = ruleset.tables[0]
    chains = []
    for chain in table.chains:
        rules = tuple(
            Rule(rule.matches + (OpaqueMatch("limit", (("--limit", "1/s"),)),),
                 verdict=rule.verdict, span=rule.span, text=rule.text)
            if rnd.random() < 0.35 else rule
            for rule in chain.rules)
        chains.append(Chain(chain.name, rules, hook=chain.hook, type=chain.type,
                            priority=chain.priority, policy=chain.policy))
    return Ruleset(ruleset.path, ruleset.format,
                   (Table(table.family, table.name, tuple(chains)),))


@pytest.mark.parametrize("seed", range(25))
def test_decision_certain_is_no_doubts(seed):
    ruleset = _with_unknown_matches(random_ruleset(seed), seed)
    evaluation = analyze(ruleset).evaluation
    decisions = evaluation.decisions((0, "INPUT"))
    answers = [d.certain() for d in decisions]  # before doubts() caches anything
    assert answers == [not d.doubts() for d in decisions]
    assert answers == [d.certain() for d in decisions]  # and from the cache
