"""Corpus rulesets against the kernel: does ``exposure()`` say what Linux does?

For one corpus file the kernel can load: the receiver gets one veth per interface the
rules name (plus one no rule names, for "(other)"), the destination addresses the rules
match become its own, and TCP/UDP packets are sampled from fwlint's exposure classes (the
edges and middle of each port range, from an allowed source, on an allowed interface) and
just outside them (neighbouring ports, other interfaces, random ports).  A sample inside a
definite input class must arrive, on the class's port after NAT; a sample outside every
class must not.  A forward class that DNATs to one host is judged too: that host becomes an
address of the inner host behind the receiver.  Samples that only possible classes cover,
or forward classes to hosts not emulated, are counted, not judged.
"""

from __future__ import annotations

import ipaddress
import os
import random
from dataclasses import dataclass, field
from typing import Optional, Sequence

from .oracle import ROUTER4, ROUTER6, Oracle, OracleError, Probe

FORMATS = ("iptables-save", "ip6tables-save", "nft")
OTHER_INTERFACE = "fwlx0"
DEFAULT_SOURCE = {"ip": "198.18.200.10", "ip6": "fd00:f0f0:200::10"}
_PROTOCOLS = {6: "tcp", 17: "udp"}
_MAX_INTERFACES = 12


@dataclass
class CorpusResult:
    """``status``: "compared", or why not ("kernel refused", "parse errors", "no
    inbound base chain", "fwlint raised")."""

    path: str
    status: str
    detail: str = ""
    agreed: int = 0
    reachable: int = 0  # of the agreed samples, those that both say arrive
    uncertain: int = 0
    disagreements: list[str] = field(default_factory=list)


def eligible_rows(rows: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """Inventory rows the real tool accepts, in a format this harness can load."""
    return [row for row in rows if row.get("real_tool") == "ok" and row.get("format") in FORMATS]


@dataclass(frozen=True)
class _Interfaces:
    """fwlint's interface classes, and a real interface in each of them."""

    names: tuple[str, ...]
    prefixes: tuple[str, ...]
    created: tuple[str, ...]

    def label(self, interface: str) -> str:
        if interface in self.names:
            return interface
        matching = [p for p in self.prefixes if interface.startswith(p)]
        return max(matching, key=len) + "*" if matching else "(other)"

    def allowed(self, labels: Optional[tuple[str, ...]], interface: str) -> bool:
        if labels is None:
            return True
        label = self.label(interface)
        if all(item.startswith("!") for item in labels):
            return "!" + label not in labels
        return label in labels


def _interfaces(ruleset) -> _Interfaces:
    from fwlint.model import InterfaceMatch

    names, prefixes = set(), set()
    for _table, _chain, rule in ruleset.iter_rules():
        for match in rule.matches:
            if isinstance(match, InterfaceMatch):
                for name, wildcard in zip(match.names, match.wildcard):
                    (prefixes if wildcard else names).add(name)
    wanted = [n for n in sorted(names) if n != "lo" and _valid_interface_name(n)]
    wanted += [p + "q9" for p in sorted(prefixes) if _valid_interface_name(p + "q9")
               and p + "q9" not in names]
    created = tuple(dict.fromkeys(wanted[:_MAX_INTERFACES - 1] + [OTHER_INTERFACE]))
    return _Interfaces(tuple(sorted(names)), tuple(sorted(prefixes)), created)


def _valid_interface_name(name: str) -> bool:
    return 0 < len(name) <= 15 and not any(c in name for c in "/ \t\n:*") and name != "."


def _ordinary(address) -> bool:
    """A source the receiver's routing accepts from outside (no martians)."""
    return not (address.is_multicast or address.is_loopback or address.is_unspecified
                or address.is_reserved or address.is_link_local
                or (address.version == 4 and int(address) >> 24 == 0)
                or (address.version == 4 and address.packed[3] in (0, 255)))


def _pick_source(family: str, intervals, rng: random.Random,
                 local: Sequence[str]) -> Optional[str]:
    """An ordinary source inside the intervals that is not one of the receiver's own."""
    version = 6 if family == "ip6" else 4
    make = ipaddress.IPv6Address if version == 6 else ipaddress.IPv4Address
    default = ipaddress.ip_address(DEFAULT_SOURCE[family])
    if any(low <= int(default) <= high for low, high in intervals):
        return str(default)
    for low, high in intervals:
        for value in (low + 1, (low + high) // 2, high - 1, low, high,
                      rng.randint(low, high)):
            if low <= value <= high and _ordinary(make(value)) \
                    and str(make(value)) not in local:
                return str(make(value))
    return None


def _local_addresses(ruleset, family: str) -> list[str]:
    """One ordinary address inside each destination the inbound rules match (at most 4)."""
    from fwlint.model import AddressMatch

    version = 6 if family == "ip6" else 4
    make = ipaddress.IPv6Address if version == 6 else ipaddress.IPv4Address
    found: list[str] = []
    for _table, chain, rule in ruleset.iter_rules():
        if chain.hook in ("output", "postrouting"):
            continue
        for match in rule.matches:
            if isinstance(match, AddressMatch) and match.field == "daddr" \
                    and match.version == version and not match.negated:
                for low, high in match.intervals:
                    value = low if low == high else low + 1
                    if _ordinary(make(value)) and str(make(value)) not in found:
                        found.append(str(make(value)))
    return found[:4]


def _in(value: int, intervals) -> bool:
    return any(low <= value <= high for low, high in intervals)


def _internal(exposure, port: int) -> Optional[int]:
    if exposure.internal_ports is None:
        return port
    if len(exposure.internal_ports) == 1:
        low, high = exposure.internal_ports[0]
        if low == high:
            return low
    for (low, high), (to_low, _to_high) in zip(exposure.ports, exposure.internal_ports):
        if low <= port <= high:
            return to_low + port - low
    return None


@dataclass(frozen=True)
class _Sample:
    family: str
    protocol: int
    saddr: str
    dport: int
    iif: str
    sport: Optional[int] = None  # None: any (the harness picks a fresh one per probe)


def _source_port(exposure) -> Optional[int]:
    """A source port the opening rules accept (exposure classes do not carry it)."""
    from fwlint.model import PortMatch

    for rule in exposure.rules:
        for match in rule.matches:
            if isinstance(match, PortMatch) and match.field == "sport" and not match.negated:
                return match.ranges[0][0]
    return None


def _destination_unreachable(exposure, owned: set[int]) -> bool:
    """True when a rule that opens the class needs a destination no emulated host owns
    (multicast, broadcast, link-local): exposure classes do not carry destinations."""
    from fwlint.model import AddressMatch

    for rule in exposure.rules + exposure.nat_rules:
        for match in rule.matches:
            if isinstance(match, AddressMatch) and match.field == "daddr" \
                    and not match.negated and not any(_in(t, match.intervals) for t in owned):
                return True
    return False


def _inner_targets(exposure) -> list[int]:
    """The single hosts a forward class DNATs to (empty: routed traffic or a range)."""
    if exposure.hook != "forward" or not exposure.internal_addresses:
        return []
    if any(low != high for low, high in exposure.internal_addresses):
        return []
    return [low for low, _high in exposure.internal_addresses]


def _forward_hosts(exposures, family: str) -> list[str]:
    """Hosts that forward classes DNAT to, which the inner host will stand in for (at most 4)."""
    make = ipaddress.IPv6Address if family == "ip6" else ipaddress.IPv4Address
    hosts = {str(make(value)) for e in exposures if e.family == family
             for value in _inner_targets(e)}
    return sorted(h for h in hosts if _ordinary(make(h)) and h not in (ROUTER4, ROUTER6))[:4]


def _expectation(sample: _Sample, exposures, interfaces: _Interfaces, targets: Sequence[str],
                 inner: set[int]):
    """("arrive", {(host, port)}) | ("drop", None) | ("uncertain", reason).

    Forward classes without DNAT are about packets for other hosts, never about a sample
    sent to one of the receiver's own addresses, so they do not apply.
    """
    source = int(ipaddress.ip_address(sample.saddr))
    matching = [e for e in exposures
                if e.family == sample.family and e.protocol == sample.protocol
                and _in(sample.dport, e.ports) and _in(source, e.sources)
                and interfaces.allowed(e.interfaces, sample.iif)
                and (e.hook == "input" or e.internal_addresses)]
    forwarded = [set(_inner_targets(e)) for e in matching if e.hook != "input"]
    if any(not hosts or not hosts <= inner for hosts in forwarded):
        return "uncertain", "a forward class to a host the harness does not emulate covers it"
    definite = [e for e in matching if e.certainty == "definite"]
    owned = {int(ipaddress.ip_address(t)) for t in targets} | inner
    if any(_destination_unreachable(e, owned) for e in definite):
        return "uncertain", "the opening rule needs a destination the receiver cannot own"
    if definite:
        return "arrive", {("inner" if e.hook == "forward" else "rx", _internal(e, sample.dport))
                          for e in definite}
    if matching:
        return "uncertain", "only possible classes cover it: " + matching[0].reason
    return "drop", None


def _samples(exposures, interfaces: _Interfaces, families: Sequence[str],
             rng: random.Random, local: Sequence[str], random_ports: int = 6) -> list[_Sample]:
    samples: dict[_Sample, None] = {}
    for exposure in exposures:
        if exposure.protocol not in _PROTOCOLS or exposure.family not in families \
                or (exposure.hook != "input" and not _inner_targets(exposure)):
            continue
        source = _pick_source(exposure.family, exposure.sources, rng, local)
        if source is None:
            continue
        sport = _source_port(exposure)
        inside = [i for i in interfaces.created if interfaces.allowed(exposure.interfaces, i)]
        outside = [i for i in interfaces.created if i not in inside]
        if not inside:
            continue
        for low, high in exposure.ports[:4]:
            for port in dict.fromkeys((low, (low + high) // 2, high, low - 1, high + 1)):
                if 1 <= port <= 65535:
                    samples[_Sample(exposure.family, exposure.protocol, source, port,
                                    rng.choice(inside), sport)] = None
            if outside:
                samples[_Sample(exposure.family, exposure.protocol, source, low,
                                rng.choice(outside), sport)] = None
    for family in families:
        for _ in range(random_ports):
            samples[_Sample(family, rng.choice((6, 17)), DEFAULT_SOURCE[family],
                            rng.randint(1, 65535), rng.choice(interfaces.created))] = None
    return list(samples)


def _families(ruleset) -> list[str]:
    """Families with a base chain on the inbound path (prerouting or input).  A file with
    none says nothing about what a host lets in: the kernel then accepts everything, while
    fwlint reports no exposure for it; that difference is a choice, not a finding."""
    found = set()
    for table in ruleset.tables:
        if not any(chain.hook in ("prerouting", "input") for chain in table.chains):
            continue
        if table.family == "inet":
            found |= {"ip", "ip6"}
        elif table.family in ("ip", "ip6"):
            found.add(table.family)
    return sorted(found)


def compare_file(path: str, format: str, seed: int = 0,
                 corpus_root: str = "") -> CorpusResult:
    """Parse, analyse and load one corpus file, then judge the sampled packets."""
    from fwlint.analysis import analyze
    from fwlint.parsing import parse_text

    full = os.path.join(corpus_root, path)
    with open(full, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    parsed = parse_text(text, path, format, include_dirs=(os.path.dirname(full),))
    if parsed.errors:
        return CorpusResult(path, "parse errors", str(parsed.errors[0].message))
    try:
        exposures = analyze(parsed.ruleset).exposure()
    except Exception as error:  # reported as a result: the acceptance says it must finish
        return CorpusResult(path, "fwlint raised", repr(error))
    families = _families(parsed.ruleset)
    interfaces = _interfaces(parsed.ruleset)
    rng = random.Random(seed)
    forwarded = {family: _forward_hosts(exposures, family) for family in families}
    local = {family: [a for a in _local_addresses(parsed.ruleset, family)
                      if a not in forwarded[family]] for family in families}
    samples = _samples(exposures, interfaces, families, rng,
                       [a for addresses in (*local.values(), *forwarded.values())
                        for a in addresses])
    if not families:
        return CorpusResult(path, "no inbound base chain")
    result = CorpusResult(path, "compared")
    with Oracle(interfaces.created, router=True) as oracle:
        targets: dict[tuple[str, str], list[str]] = {}
        inner: set[int] = set()
        for family in families:
            extra = local[family]
            own = {oracle.address(i, family) for i in interfaces.created}
            extra = [a for a in extra if a not in own]
            oracle.add_addresses(extra, interfaces.created[0])
            hosts = [h for h in forwarded[family] if h not in own]
            oracle.add_inner_addresses(hosts)
            inner |= {int(ipaddress.ip_address(h)) for h in hosts}
            for interface in interfaces.created:
                targets[family, interface] = [oracle.address(interface, family)] + extra
        try:
            oracle.load(text, format, os.path.dirname(full))
        except OracleError as error:
            return CorpusResult(path, "kernel refused", str(error).splitlines()[0][:200])
        probes, owners = [], []
        for index, sample in enumerate(samples):
            for daddr in targets[sample.family, sample.iif]:
                sport = sample.sport or 20000 + len(probes) % 40000
                probes.append(Probe(sample.family, _PROTOCOLS[sample.protocol], sample.saddr,
                                    daddr, sample.dport, sport, sample.iif))
                owners.append(index)
        arrivals = oracle.send(probes)
    seen: dict[int, set] = {}
    for owner, arrival in zip(owners, arrivals):
        if arrival.arrived:
            seen.setdefault(owner, set()).add((arrival.host, arrival.dport))
    for index, sample in enumerate(samples):
        verdict, detail = _expectation(sample, exposures, interfaces,
                                       targets[sample.family, sample.iif], inner)
        kernel_ports = seen.get(index)
        if verdict == "uncertain":
            result.uncertain += 1
        elif verdict == "drop" and kernel_ports is None:
            result.agreed += 1
        elif verdict == "arrive" and kernel_ports and kernel_ports <= detail:
            result.agreed += 1
            result.reachable += 1
        else:
            expected = "not reachable" if verdict == "drop" else f"reachable on {sorted(detail)}"
            kernel = "not delivered" if kernel_ports is None \
                else f"delivered on {sorted(kernel_ports)}"
            result.disagreements.append(f"{sample}: fwlint exposure says {expected}, "
                                        f"kernel {kernel}")
    return result
