"""Seeded random rulesets, each rendered in iptables-save and in nft syntax with one meaning.

Only what both the kernel and fwlint's model understand: user chains with jumps, gotos and
returns (an acyclic call graph, as the kernel requires), negation, multiport lists and
anonymous sets, source CIDRs, receiver addresses, input interfaces (with wildcards),
conntrack state and the virtual DNAT state, ICMP echo types, the SYN flag test, packet
marks, nat PREROUTING REDIRECT/DNAT to local ports, and accept/drop policies.

``probes_for`` picks packets that sit on the edges the ruleset draws (mentioned ports and
their neighbours, addresses inside and just outside its CIDRs), plus random ones.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from typing import Optional, Sequence

from .oracle import INNER4, INNER6, ROUTER4, ROUTER6, RX4, RX6, Probe

INTERFACES = ("eth0", "eth1")
_IFACE_PATTERNS = ("eth0", "eth1", "eth+", "wan0", "e+")
_PORT_POOL = (22, 53, 80, 443, 2222, 8080, 3306, 1024, 5000, 65535, 1)
_SOURCE_NET = {"ip": ipaddress.ip_network("198.18.0.0/15"),
               "ip6": ipaddress.ip_network("fd00:f0f0::/48")}
_PREFIXES = {"ip": (15, 16, 17, 20, 24, 28, 31, 32), "ip6": (48, 56, 64, 96, 120, 128)}


@dataclass(frozen=True)
class Cond:
    """One match of a generated rule.

    ``field``: "proto" (values: protocol names), "sport"/"dport" (port ranges), "saddr"/
    "daddr" (CIDR strings), "iif" (one name, "+" suffix = prefix), "ctstate" (state names),
    "ctstatus" (("dnat",)), "icmptype" (("echo-request",) or ("echo-reply",)), "syn" (()),
    "mark" ((value,)).
    """

    field: str
    values: tuple
    negated: bool = False


@dataclass(frozen=True)
class GenRule:
    """``action``: accept, drop, reject, return, jump, goto, continue (no verdict),
    redirect (``target`` = port), dnat (``target`` = "address port")."""

    conds: tuple[Cond, ...]
    action: str
    target: Optional[str] = None


@dataclass(frozen=True)
class GenChain:
    name: str
    rules: tuple[GenRule, ...]
    policy: Optional[str] = None  # base chains only


@dataclass(frozen=True)
class GenRuleset:
    """Base chains (INPUT, optionally FORWARD; PREROUTING in nat) have a policy and come
    first; the rest are user chains.  Forwarded packets go to the inner host behind the
    receiver (``Oracle(router=True)``)."""

    seed: int
    family: str  # "ip" | "ip6"
    filter: tuple[GenChain, ...]
    nat: tuple[GenChain, ...] = ()

    @property
    def save_format(self) -> str:
        return "ip6tables-save" if self.family == "ip6" else "iptables-save"

    def render(self, format: str) -> str:
        return self.nft() if format == "nft" else self.iptables_save()

    # ------------------------------------------------------------ iptables-save

    def iptables_save(self) -> str:
        lines = [f"# fwlint differential ruleset seed={self.seed}"]
        for table, chains in (("nat", self.nat), ("filter", self.filter)):
            if not chains:
                continue
            lines.append(f"*{table}")
            for chain in chains:
                policy = chain.policy.upper() if chain.policy else "-"
                lines.append(f":{chain.name} {policy} [0:0]")
            for chain in chains:
                lines += [f"-A {chain.name} {_ipt_rule(rule, self.family)}".rstrip()
                          for rule in chain.rules]
            lines.append("COMMIT")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------ nft

    def nft(self) -> str:
        lines = [f"# fwlint differential ruleset seed={self.seed}"]
        for table, chains in (("nat", self.nat), ("filter", self.filter)):
            if not chains:
                continue
            lines.append(f"table {self.family} {table} {{")
            for chain in chains:
                lines.append(f"\tchain {chain.name} {{")
                if chain.policy:
                    hook = chain.name.lower()
                    priority = -100 if table == "nat" else 0
                    lines.append(f"\t\ttype {table} hook {hook} priority {priority}; "
                                 f"policy {chain.policy};")
                lines += [f"\t\t{_nft_rule(rule, self.family)}" for rule in chain.rules]
                lines.append("\t}")
            lines.append("}")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------ what it mentions

    def conds(self) -> list[Cond]:
        return [cond for chain in self.filter + self.nat for rule in chain.rules
                for cond in rule.conds]

    def mentioned_ports(self, field: str) -> list[int]:
        ports = {port for cond in self.conds() if cond.field == field
                 for low, high in cond.values for port in (low, high)}
        if field == "dport":
            ports |= {int(rule.target.split()[-1]) for chain in self.nat for rule in chain.rules
                      if rule.action in ("redirect", "dnat")}
        return sorted(ports)

    def mentioned_networks(self) -> list:
        return [ipaddress.ip_network(value) for cond in self.conds() if cond.field == "saddr"
                for value in cond.values]


# ---------------------------------------------------------------- rendering


def _ports_ipt(ranges: Sequence[tuple[int, int]]) -> str:
    return ",".join(str(low) if low == high else f"{low}:{high}" for low, high in ranges)


def _ports_nft(ranges: Sequence[tuple[int, int]]) -> str:
    items = [str(low) if low == high else f"{low}-{high}" for low, high in ranges]
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _protocol(cond_values: tuple, family: str) -> str:
    name = cond_values[0]
    if name == "icmp" and family == "ip6":
        return "ipv6-icmp"
    return name


def _ipt_rule(rule: GenRule, family: str) -> str:
    parts: list[str] = []
    proto = next((c for c in rule.conds if c.field == "proto"), None)
    for cond in rule.conds:
        bang = "! " if cond.negated else ""
        if cond.field == "proto":
            parts.append(f"{bang}-p {_protocol(cond.values, family)}")
        elif cond.field in ("saddr", "daddr"):
            flag = "-s" if cond.field == "saddr" else "-d"
            parts.append(f"{bang}{flag} {','.join(cond.values)}")
        elif cond.field == "iif":
            parts.append(f"{bang}-i {cond.values[0]}")
        elif cond.field in ("sport", "dport"):
            assert proto is not None
            if len(cond.values) == 1:
                parts.append(f"-m {proto.values[0]} {bang}--{cond.field} "
                             f"{_ports_ipt(cond.values)}")
            else:
                parts.append(f"-m multiport {bang}--{cond.field}s {_ports_ipt(cond.values)}")
        elif cond.field == "ctstate":
            parts.append(f"-m conntrack {bang}--ctstate "
                         f"{','.join(v.upper() for v in cond.values)}")
        elif cond.field == "ctstatus":
            parts.append(f"-m conntrack {bang}--ctstate DNAT")
        elif cond.field == "icmptype":
            number = {"echo-request": 8, "echo-reply": 0}[cond.values[0]]
            if family == "ip6":
                number = {8: 128, 0: 129}[number]
                parts.append(f"-m icmp6 {bang}--icmpv6-type {number}")
            else:
                parts.append(f"-m icmp {bang}--icmp-type {number}")
        elif cond.field == "syn":
            parts.append(f"-m tcp {bang}--syn")
        elif cond.field == "mark":
            parts.append(f"-m mark {bang}--mark {cond.values[0]:#x}")
    action = rule.action
    if action in ("accept", "drop", "reject", "return"):
        parts.append(f"-j {action.upper()}")
    elif action == "jump":
        parts.append(f"-j {rule.target}")
    elif action == "goto":
        parts.append(f"-g {rule.target}")
    elif action == "redirect":
        parts.append(f"-j REDIRECT --to-ports {rule.target}")
    elif action == "dnat":
        address, port = rule.target.split()
        host = f"[{address}]" if family == "ip6" else address
        parts.append(f"-j DNAT --to-destination {host}:{port}")
    return " ".join(parts)


def _nft_rule(rule: GenRule, family: str) -> str:
    parts: list[str] = []
    proto = next((c for c in rule.conds if c.field == "proto"), None)
    has_ports = any(c.field in ("sport", "dport") for c in rule.conds)
    layer3 = "ip6" if family == "ip6" else "ip"
    icmp = "icmpv6" if family == "ip6" else "icmp"
    for cond in rule.conds:
        op = "!= " if cond.negated else ""
        if cond.field == "proto" and not has_ports:
            name = icmp if cond.values[0] == "icmp" else cond.values[0]
            parts.append(f"meta l4proto {op}{name}")
        elif cond.field in ("saddr", "daddr"):
            value = cond.values[0] if len(cond.values) == 1 \
                else "{ " + ", ".join(cond.values) + " }"
            parts.append(f"{layer3} {cond.field} {op}{value}")
        elif cond.field == "iif":
            parts.append(f'iifname {op}"{cond.values[0].replace("+", "*")}"')
        elif cond.field in ("sport", "dport"):
            assert proto is not None
            parts.append(f"{proto.values[0]} {cond.field} {op}{_ports_nft(cond.values)}")
        elif cond.field == "ctstate":
            # nft 1.0.6 compiles "ct state != a,b" to an exact compare with a|b, which is
            # not "neither a nor b"; the set form is.
            value = ",".join(cond.values)
            if cond.negated and len(cond.values) > 1:
                value = "{ " + ", ".join(cond.values) + " }"
            parts.append(f"ct state {op}{value}")
        elif cond.field == "ctstatus":
            # "ct status != dnat" is an exact compare of the whole status word (always true
            # for a tracked packet); "!" is the bit test that matches iptables' ! --ctstate.
            parts.append(f"ct status {'! ' if cond.negated else ''}dnat")
        elif cond.field == "icmptype":
            parts.append(f"{icmp} type {op}{cond.values[0]}")
        elif cond.field == "syn":
            parts.append(f"tcp flags & (fin|syn|rst|ack) {op or '== '}syn")
        elif cond.field == "mark":
            parts.append(f"meta mark {op}{cond.values[0]:#x}")
    action = rule.action
    if action == "continue":
        parts.append("counter")
    elif action in ("jump", "goto"):
        parts.append(f"{action} {rule.target}")
    elif action == "redirect":
        parts.append(f"redirect to :{rule.target}")
    elif action == "dnat":
        address, port = rule.target.split()
        host = f"[{address}]" if family == "ip6" else address
        parts.append(f"dnat to {host}:{port}")
    else:
        parts.append(action)
    return " ".join(parts)


# ---------------------------------------------------------------- generation


def _port_ranges(rng: random.Random, many: bool) -> tuple[tuple[int, int], ...]:
    count = rng.randint(2, 4) if many else 1
    ranges = set()
    for _ in range(count):
        low = rng.choice(_PORT_POOL) if rng.random() < 0.7 else rng.randint(1, 65535)
        high = low if rng.random() < 0.7 else min(65535, low + rng.choice((1, 9, 100, 3000)))
        ranges.add((low, high))
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return tuple(merged)


def _network(rng: random.Random, family: str) -> str:
    space = _SOURCE_NET[family]
    address = int(space.network_address) + rng.randrange(space.num_addresses)
    prefix = rng.choice(_PREFIXES[family])
    return str(ipaddress.ip_network((address, prefix), strict=False))


def _rx_address(family: str, index: int) -> str:
    return (RX6 if family == "ip6" else RX4).format(index)


def _conds(rng: random.Random, family: str, nat: bool) -> tuple[Cond, ...]:
    conds: list[Cond] = []
    if rng.random() < 0.3:
        name = rng.choice(_IFACE_PATTERNS)
        conds.append(Cond("iif", (name,), rng.random() < 0.3))
    if rng.random() < 0.4:
        if rng.random() < 0.25:
            conds.append(Cond("saddr", tuple(_network(rng, family) for _ in range(2))))
        else:
            conds.append(Cond("saddr", (_network(rng, family),), rng.random() < 0.3))
    if not nat and rng.random() < 0.1:
        # iptables refuses "!" next to a multi-address -s
        single = all(len(c.values) == 1 for c in conds if c.field == "saddr")
        conds.append(Cond("daddr", (_rx_address(family, rng.randrange(2)),),
                          single and rng.random() < 0.3))
    roll = rng.random()
    if nat or roll < 0.75:
        protocol = rng.choice(("tcp", "tcp", "udp"))
        conds.append(Cond("proto", (protocol,)))
        if nat or rng.random() < 0.8:
            many = rng.random() < 0.3
            conds.append(Cond("dport", _port_ranges(rng, many), rng.random() < 0.2))
        if rng.random() < 0.1:
            # nft 1.0.6 merges "tcp sport != A tcp dport != B" into one 4-byte compare that
            # means "not both", so only one of the two is ever negated here.
            negatable = not conds[-1].negated or conds[-1].field != "dport"
            conds.append(Cond("sport", ((1024, 65535),) if rng.random() < 0.5
                              else _port_ranges(rng, False),
                              negatable and rng.random() < 0.3))
        if protocol == "tcp" and rng.random() < 0.1:
            conds.append(Cond("syn", (), rng.random() < 0.3))
    elif roll < 0.85:
        conds.append(Cond("proto", ("icmp",)))
        if rng.random() < 0.5:
            conds.append(Cond("icmptype", (rng.choice(("echo-request", "echo-reply")),),
                              rng.random() < 0.2))
    elif roll < 0.9:
        conds.append(Cond("proto", (rng.choice(("tcp", "udp", "icmp")),), True))
    if not nat and rng.random() < 0.2:
        if rng.random() < 0.5:
            conds.append(Cond("ctstatus", ("dnat",), rng.random() < 0.3))
        else:
            states = rng.choice((("new",), ("established", "related"), ("established",),
                                 ("new", "established")))
            conds.append(Cond("ctstate", states, rng.random() < 0.2))
    if rng.random() < 0.05:
        conds.append(Cond("mark", (rng.choice((0, 1)),), rng.random() < 0.3))
    return tuple(conds)


def _chains(rng: random.Random, family: str, nat: bool) -> tuple[GenChain, ...]:
    prefix = "N" if nat else "U"
    user_names = [f"{prefix}{i}" for i in range(rng.randint(0, 2 if nat else 3))]
    names = ["PREROUTING" if nat else "INPUT"] + user_names
    chains = []
    for position, name in enumerate(names):
        callees = names[position + 1:]
        rules = []
        for _ in range(rng.randint(1, 4) if nat else rng.randint(1 if position else 2, 7)):
            roll = rng.random()
            if callees and roll < 0.3:
                action = "jump" if rng.random() < 0.7 else "goto"
                rules.append(GenRule(_conds(rng, family, nat), action, rng.choice(callees)))
            elif nat and roll < 0.75:
                rules.append(_nat_rule(rng, family))
            elif roll < 0.4 and (position or rng.random() < 0.2):
                rules.append(GenRule(_conds(rng, family, nat), "return"))
            elif nat:
                rules.append(GenRule(_conds(rng, family, nat), "accept"))
            else:
                action = rng.choice(("accept", "accept", "drop", "reject", "continue"))
                rules.append(GenRule(_conds(rng, family, nat), action))
        policy = None
        if position == 0:
            policy = "accept" if nat else rng.choice(("accept", "drop", "drop"))
        chains.append(GenChain(name, tuple(rules), policy))
    return _call_every_chain(rng, family, nat, chains)


def _call_every_chain(rng: random.Random, family: str, nat: bool,
                      chains: list[GenChain]) -> tuple[GenChain, ...]:
    """Insert a jump to each user chain nobody calls, from an earlier chain."""
    for position in range(1, len(chains)):
        name = chains[position].name
        if any(rule.target == name for chain in chains[:position] for rule in chain.rules):
            continue
        caller = rng.randrange(position)
        rules = list(chains[caller].rules)
        rules.insert(rng.randint(0, len(rules)), GenRule(_conds(rng, family, nat), "jump", name))
        chains[caller] = GenChain(chains[caller].name, tuple(rules), chains[caller].policy)
    return tuple(chains)


def _nat_rule(rng: random.Random, family: str) -> GenRule:
    conds = _conds(rng, family, True)
    port = str(rng.choice(_PORT_POOL) if rng.random() < 0.8 else rng.randint(1, 65535))
    if rng.random() < 0.6:
        # REDIRECT goes to the input interface's primary address, which a ruleset does not
        # name: a packet already on that address and port would see no NAT at all (no DNAT
        # status).  So the rule never matches its own target port.
        dport = next(c for c in conds if c.field == "dport")
        ranges = dport.values
        while any(low <= int(port) <= high for low, high in ranges):
            port = str(rng.randint(1, 65535))
        conds = tuple(Cond("dport", ranges) if c is dport else c for c in conds)
        return GenRule(conds, "redirect", port)
    if rng.random() < 0.3:
        return GenRule(conds, "dnat", f"{INNER6 if family == 'ip6' else INNER4} {port}")
    # A DNAT to another of the host's own addresses is local delivery, which a ruleset alone
    # cannot tell from forwarding: the rule only rewrites the port of packets for its target.
    address = _rx_address(family, rng.randrange(2))
    at = next(i for i, c in enumerate(conds) if c.field == "proto")
    conds = conds[:at] + (Cond("daddr", (address,)),) + conds[at:]
    return GenRule(conds, "dnat", f"{address} {port}")


def generate(seed: int, family: Optional[str] = None) -> GenRuleset:
    """The ruleset for this seed (the same seed always gives the same ruleset)."""
    rng = random.Random(seed)
    family = family or ("ip6" if rng.random() < 0.3 else "ip")
    nat = _chains(rng, family, True) if rng.random() < 0.5 else ()
    filter = _chains(rng, family, False)
    if rng.random() < 0.3:
        filter = (filter[0], _forward_chain(rng, family)) + filter[1:]
    return GenRuleset(seed, family, filter, nat)


def _forward_chain(rng: random.Random, family: str) -> GenChain:
    """FORWARD: what reaches the inner host after a DNAT to it."""
    inner = INNER6 if family == "ip6" else INNER4
    rules = []
    for _ in range(rng.randint(1, 4)):
        conds = tuple(c for c in _conds(rng, family, False) if c.field != "daddr")
        if rng.random() < 0.5:
            single = all(len(c.values) == 1 for c in conds if c.field == "saddr")
            conds = (Cond("daddr", (inner,), single and rng.random() < 0.2),) + conds
        action = rng.choice(("accept", "accept", "drop", "reject", "continue"))
        rules.append(GenRule(conds, action))
    return GenChain("FORWARD", tuple(rules), rng.choice(("accept", "drop", "drop")))


# ---------------------------------------------------------------- packets


def _near(rng: random.Random, ports: Sequence[int]) -> int:
    port = rng.choice(ports) + rng.choice((-1, 0, 0, 1))
    return min(65535, max(1, port))


def _source(rng: random.Random, space, networks: Sequence, avoid: set[int]) -> str:
    """Inside a mentioned network, just outside one, or anywhere in the test range."""
    make = ipaddress.IPv6Address if space.version == 6 else ipaddress.IPv4Address
    low_space, high_space = int(space.network_address), int(space.broadcast_address)
    while True:
        roll = rng.random()
        if networks and roll < 0.5:
            low, high = rng.choice(networks)
            value = rng.randint(low, high)
        elif networks and roll < 0.7:
            low, high = rng.choice(networks)
            value = rng.choice((low - 1, high + 1))
        else:
            value = rng.randint(low_space, high_space)
        if low_space <= value <= high_space and value not in avoid \
                and not (space.version == 4 and value & 0xFF in (0, 255)):
            return str(make(value))


def probes_for(ruleset: GenRuleset, count: int, seed: int) -> list[Probe]:
    """``count`` distinct probes that exercise the edges of this ruleset."""
    rng = random.Random(seed)
    dports = ruleset.mentioned_ports("dport") or [22]
    sports = ruleset.mentioned_ports("sport")
    space = _SOURCE_NET[ruleset.family]
    networks = [(int(n.network_address), int(n.broadcast_address))
                for n in ruleset.mentioned_networks() if n.version == space.version]
    avoid = {int(ipaddress.ip_address(_rx_address(ruleset.family, i)))
             for i in range(len(INTERFACES))}
    avoid |= {int(ipaddress.ip_address(a)) for a in
              ((INNER6, ROUTER6) if ruleset.family == "ip6" else (INNER4, ROUTER4))}
    seen: set[tuple] = set()
    probes: list[Probe] = []
    while len(probes) < count:
        protocol = rng.choices(("tcp", "udp", "icmp"), (7, 2, 1))[0]
        index = rng.randrange(len(INTERFACES))
        iif = INTERFACES[index]
        # always the input interface's own address: REDIRECT rewrites the destination to it
        daddr = _rx_address(ruleset.family, index)
        saddr = _source(rng, space, networks, avoid)
        if protocol == "icmp":
            dport = sport = 0
        else:
            dport = _near(rng, dports) if rng.random() < 0.75 else rng.randint(1, 65535)
            sport = _near(rng, sports) if sports and rng.random() < 0.5 \
                else rng.randint(1024, 65535)
        key = (protocol, saddr, sport, dport, len(probes) if protocol == "icmp" else 0)
        if key in seen:
            continue
        seen.add(key)
        probes.append(Probe(ruleset.family, protocol, saddr, daddr, dport, sport, iif))
    return probes
