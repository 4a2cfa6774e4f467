"""What the FW4xx checks share: the exposure seen through a policy (trusted traffic removed),
port and address interval arithmetic, and how a finding names its rule and policy line.

Compiled with mypyc where the build can (it must pass mypy, and its annotations must hold
at run time): the policy checks of bench/out/iptables-100000.rules (1,877 open classes, the
interval arithmetic on tuples of ints) took 0.10 s CPU pure, 0.037 s compiled.  The FW4xx
check modules themselves gained nothing compiled and are not.
"""

from __future__ import annotations

import ipaddress
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Iterator, Optional

from ..findings import Related
from ..model import PORT_PROTOCOLS, PROTOCOL_NAMES, Chain, Rule, Ruleset, Span
from .model import ForbiddenPorts, Policy, PortRanges, ServicePolicy, format_ranges

Intervals = tuple[tuple[int, int], ...]

_PRIVATE = {
    "ip": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
           "100.64.0.0/10", "0.0.0.0/8"),
    "ip6": ("fc00::/7", "fe80::/10", "::1/128", "::/128"),
}
_PAST = {"drop": "dropped", "reject": "rejected", "queue": "queued"}
_CATEGORIES = (("well-known", 0, 1023), ("registered", 1024, 49151), ("dynamic", 49152, 65535))


# --------------------------------------------------------------------------- intervals


def normalize(intervals: Iterable[tuple[int, int]]) -> Intervals:
    merged: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def intersect(a: Intervals, b: Intervals) -> Intervals:
    return normalize((max(alo, blo), min(ahi, bhi)) for alo, ahi in a for blo, bhi in b
                     if alo <= bhi and blo <= ahi)


def subtract(a: Intervals, b: Intervals) -> Intervals:
    result = list(normalize(a))
    for blo, bhi in normalize(b):
        pieces = []
        for lo, hi in result:
            if hi < blo or lo > bhi:
                pieces.append((lo, hi))
                continue
            if lo < blo:
                pieces.append((lo, blo - 1))
            if hi > bhi:
                pieces.append((bhi + 1, hi))
        result = pieces
    return tuple(result)


def network_intervals(networks, version: int) -> Intervals:
    return normalize((int(n.network_address), int(n.broadcast_address))
                     for n in networks if n.version == version)


def family_version(family: str) -> int:
    return 6 if family == "ip6" else 4


@lru_cache(maxsize=1024)
def describe_addresses(intervals: Intervals, family: str, limit: int = 4) -> str:
    """Address intervals as CIDRs: ``0.0.0.0/5, 8.0.0.0/7, … (12 networks)``."""
    cls = ipaddress.IPv6Address if family == "ip6" else ipaddress.IPv4Address
    networks = [n for lo, hi in intervals
                for n in ipaddress.summarize_address_range(cls(lo), cls(hi))]
    text = ", ".join(str(n) for n in networks[:limit])
    return text + (f", … ({len(networks)} networks)" if len(networks) > limit else "")


@lru_cache(maxsize=1024)
def public_sources(sources: Intervals, family: str) -> Intervals:
    """The part of ``sources`` that is globally routable (not private, loopback, link-local).

    Cached, like describe_addresses: FW401, FW402 and FW404 ask about the same few source
    sets for every port, and building the networks is most of a small file's policy
    checks (165 calls, 0.05 s of 0.09 s CPU on bench/out/small-50.rules)."""
    return subtract(sources, _private_intervals(family))


@lru_cache(maxsize=None)
def _private_intervals(family: str) -> Intervals:
    private = [ipaddress.ip_network(n) for n in _PRIVATE.get(family, ())]
    return network_intervals(private, family_version(family))


def categories(ports: PortRanges) -> Iterator[tuple[str, PortRanges]]:
    """``ports`` split by IANA range."""
    for name, lo, hi in _CATEGORIES:
        part = intersect(ports, ((lo, hi),))
        if part:
            yield name, part


def describe_ports(protocol: int, ports: PortRanges) -> str:
    """``23/tcp (telnet)`` for one port, ``135-139/tcp`` for ranges."""
    from ..services import service_name

    proto = PROTOCOL_NAMES.get(protocol, str(protocol))
    text = f"{format_ranges(ports[:8])}{',…' if len(ports) > 8 else ''}/{proto}"
    if len(ports) == 1 and ports[0][0] == ports[0][1]:
        name = service_name(protocol, ports[0][0])
        if name:
            text += f" ({name})"
    return text


# --------------------------------------------------------------------------- exposure


@dataclass(frozen=True)
class Open:
    """One exposure class as the policy checks see it: trusted sources already removed."""

    hook: str
    family: str
    protocol: int
    ports: PortRanges
    internal_ports: Optional[PortRanges]
    sources: Intervals
    certainty: str
    reason: str
    rules: tuple[Rule, ...]
    nat_rules: tuple[Rule, ...]

    @property
    def any_source(self) -> bool:
        full = (1 << (128 if self.family == "ip6" else 32)) - 1
        return self.sources == ((0, full),)


def _interface_trusted(name: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        if pattern[-1:] in "+*" and pattern[:-1] and name.rstrip("+*").startswith(pattern[:-1]):
            return True
        if name == pattern:
            return True
    return False


def open_classes(ctx, trusted: bool = True) -> tuple[Open, ...]:
    """NEW-connection exposure on input and forward, with ports, minus what the policy
    trusts (``trusted=False``: everything, for "is this reachable at all").

    Built once per analysis, policy and ``trusted``: FW401-FW405 and FW409 each ask, and
    on bench/out/iptables-100000.rules (1,877 classes) five builds took 0.17 s under
    cProfile."""
    policy: Policy = ctx.policy
    built = _OPEN_CLASSES.setdefault(ctx.analysis, {})
    entry = built.get((id(policy), trusted))
    if entry is None or entry[0] is not policy:
        entry = built[(id(policy), trusted)] = (policy, _open_classes(ctx, policy, trusted))
    return entry[1]


_OPEN_CLASSES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _open_classes(ctx, policy: Policy, trusted: bool) -> tuple[Open, ...]:
    trusted_names = tuple(s.value for s in policy.trusted_interfaces) if trusted else ()
    trusted_nets = [network for network, _ in policy.trusted_sources] if trusted else []
    result = []
    for exposure in _exposure(ctx.analysis):
        if exposure.hook not in ("input", "forward") or exposure.protocol not in PORT_PROTOCOLS:
            continue
        if exposure.interfaces and all(name == "lo" or _interface_trusted(name, trusted_names)
                                       for name in exposure.interfaces):
            continue
        sources = subtract(exposure.sources,
                           network_intervals(trusted_nets, family_version(exposure.family)))
        if not sources or not exposure.ports:
            continue
        result.append(Open(exposure.hook, exposure.family, exposure.protocol,
                           normalize(exposure.ports), exposure.internal_ports, sources,
                           exposure.certainty, exposure.reason, tuple(exposure.rules),
                           tuple(exposure.nat_rules)))
    return tuple(result)


_EXPOSURES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _exposure(analysis) -> tuple:
    """``analysis.exposure()`` once per analysis, however many FW4xx checks ask."""
    try:
        return _EXPOSURES[analysis]
    except KeyError:
        exposures = _EXPOSURES[analysis] = tuple(analysis.exposure())
        return exposures


def base_chains(ruleset: Ruleset, hook: str) -> Iterator[tuple[str, Chain]]:
    """(table family, chain) for every filter base chain on ``hook``."""
    for table in ruleset.tables:
        for chain in table.chains:
            if chain.hook == hook and chain.type in ("filter", None) and \
                    (ruleset.format == "nft" or table.name == "filter"):
                yield table.family, chain


def responsible_span(ctx, item: Open) -> Span:
    """The rule that lets ``item`` in; the base chain (its policy) when no rule does."""
    for rule in item.rules:
        if rule.span.line:
            return rule.span
    for rule in item.nat_rules:
        if rule.span.line:
            return rule.span
    return chain_span(ctx.ruleset, item.hook)


def chain_span(ruleset: Ruleset, hook: str) -> Span:
    """Where to report something about ``hook``: its base chain, else the first table."""
    for _, chain in base_chains(ruleset, hook):
        if chain.span.line:
            return chain.span
    for table in ruleset.tables:
        if table.span.line:
            return table.span
    return ruleset.span if ruleset.span.line else Span(ruleset.path, 1, 1, 1, 1)


def rules_related(item: Open, primary: Span) -> tuple[Related, ...]:
    related = []
    for rule in item.rules:
        if rule.span != primary and rule.span.line:
            related.append(Related(rule.span, "also accepts it"))
    for rule in item.nat_rules:
        if rule.span != primary and rule.span.line:
            related.append(Related(rule.span, "rewrites the destination (NAT)"))
    return tuple(related)


def accepted_by(item: Open) -> str:
    """``accepted by line 12`` / ``accepted by the input chain's policy``."""
    lines = sorted({r.span.line for r in item.rules if r.span.line})
    if lines:
        return "accepted by line" + ("s " if len(lines) > 1 else " ") + \
            ", ".join(str(n) for n in lines)
    return f"accepted by the {item.hook} chain's policy"


def nat_note(item: Open) -> str:
    if item.internal_ports is None or item.internal_ports == item.ports:
        return ""
    return f" (NAT to port {format_ranges(item.internal_ports)})"


def policy_ref(policy: Policy, span: Span) -> str:
    """``'web-server' (policies/web-server.yaml:9)``: the policy line, in the message too, so
    formats without related locations (concise, GitLab) still show it."""
    return f"{policy.name!r} ({span.path}:{span.line})"


def merge_key(span: Span, *parts) -> tuple:
    return (span.path, span.line, span.column, *parts)


@dataclass
class ServiceGroup:
    """Open classes one finding reports: same responsible rule, protocol and policy service."""

    span: Span
    service: ServicePolicy
    protocol: int
    items: list = field(default_factory=list)
    ports: list = field(default_factory=list)


def service_groups(ctx, items: Iterable[Open], hits) -> list[ServiceGroup]:
    """Group ``items`` by the policy services ``hits(policy, item)`` names for them."""
    groups: dict[tuple, ServiceGroup] = {}
    for item in items:
        for service, ports in hits(ctx.policy, item):
            span = responsible_span(ctx, item)
            group = groups.setdefault(merge_key(span, item.protocol, service.name),
                                      ServiceGroup(span, service, item.protocol))
            group.items.append(item)
            group.ports.extend(ports)
    return list(groups.values())


def service_related(policy: Policy, service: ServicePolicy, items: Iterable[Open],
                    span: Span) -> tuple[Related, ...]:
    """The policy line of ``service``, then the other rules that open ``items``."""
    related: tuple[Related, ...] = (
        Related(service.span, f"{service.label()} (policy {policy.name})"),)
    for item in items:
        related += tuple(r for r in rules_related(item, span) if r not in related)
    return related


def uncertain(items: Iterable[Open]) -> tuple[str, str]:
    """(certainty, reason) for a finding made of several exposure classes."""
    reasons = sorted({i.reason for i in items if i.certainty != "definite" and i.reason})
    certain = all(i.certainty == "definite" for i in items)
    return ("definite" if certain else "possible"), "; ".join(reasons)


# --------------------------------------------------------------------------- policy views
# Each port problem is reported by exactly one check: forbidden (FW402) before remap (FW403)
# before protocol mismatch (FW405) before "not listed" (FW401).


def forbidden_hits(policy: Policy, item: Open) -> list[tuple[ForbiddenPorts, PortRanges]]:
    """Forbidden entries ``item`` reaches, with the ports it reaches them on."""
    hits = []
    for entry in policy.forbidden:
        if item.protocol not in entry.protocols:
            continue
        if not any(lo <= entry_hi and entry_lo <= hi for lo, hi in item.ports
                   for entry_lo, entry_hi in entry.ports):
            continue  # most entries: no port in common, no intersection to build
        ports = intersect(item.ports, entry.ports)
        if ports and (not entry.world_open or world_open(item.sources, item.family)):
            hits.append((entry, ports))
    return hits


def world_open(sources: Intervals, family: str) -> bool:
    """Reachable from most of the internet: at least half of the public addresses (so
    ``-s 203.0.113.7`` is not world-open, and neither missing ``-s`` nor ``! -s X`` escapes)."""
    def size(intervals: Intervals) -> int:
        return sum(hi - lo + 1 for lo, hi in intervals)
    everything = ((0, (1 << (128 if family == "ip6" else 32)) - 1),)
    return 2 * size(public_sources(sources, family)) >= size(public_sources(everything, family))


def listed_ports(policy: Policy, protocol: int, hook: str) -> PortRanges:
    return normalize(r for s in policy.services if hook in s.hooks and protocol in s.protocols
                     for r in s.ports)


def remap_hits(policy: Policy, item: Open) -> list[tuple[ServicePolicy, PortRanges]]:
    """Remapped services whose standard port ``item`` reaches (and no service lists)."""
    hits = []
    listed = listed_ports(policy, item.protocol, item.hook)
    for service in policy.services:
        if item.hook not in service.hooks:
            continue
        standard = normalize((port, port) for proto, port in service.standard_closed
                             if proto == item.protocol)
        ports = subtract(intersect(item.ports, standard), listed)
        if ports:
            hits.append((service, ports))
    return hits


def mismatch_hits(policy: Policy, item: Open) -> list[tuple[ServicePolicy, PortRanges]]:
    """Services listed on another protocol for ports ``item`` opens on this one, when every
    unlisted port ``item`` opens is such a port (a wide-open class is FW401's business)."""
    listed = listed_ports(policy, item.protocol, item.hook)
    unlisted = subtract(item.ports, listed)
    others = [s for s in policy.services
              if item.hook in s.hooks and item.protocol not in s.protocols]
    if not unlisted or subtract(unlisted, normalize(r for s in others for r in s.ports)):
        return []
    hits = []
    for service in others:
        ports = intersect(unlisted, service.ports)
        if ports:
            hits.append((service, ports))
    return hits


def present_families(ruleset: Ruleset) -> tuple[str, ...]:
    """The address families the ruleset filters ("inet" counts as both)."""
    families: set[str] = set()
    for table in ruleset.tables:
        if table.family == "inet":
            families.update(("ip", "ip6"))
        elif table.family in ("ip", "ip6"):
            families.add(table.family)
    return tuple(sorted(families))


def required_packet_problems(ctx, requirement: str, packets, what: str) -> Iterator:
    """Problems for a ``require:`` property shown by packets that input must accept: one per
    rule (or chain policy) that refuses some of them, naming the families and protocols."""
    from ..findings import Problem

    policy: Policy = ctx.policy
    setting = policy.requirement(requirement)
    if setting is None:
        return
    groups: dict[Span, list] = {}
    for family in present_families(ctx.ruleset):
        for packet in packets(family):
            outcome = ctx.analysis.verdict_for(packet)
            if outcome.verdict == "accept":
                continue
            deciding = [r for r in outcome.rules if r.span.line]
            span = deciding[-1].span if deciding else chain_span(ctx.ruleset, "input")
            groups.setdefault(span, []).append((packet, outcome, bool(deciding)))
    for span, refused in groups.items():
        packet, outcome, by_rule = refused[0]
        names = "/".join(sorted({PROTOCOL_NAMES.get(p.protocol, str(p.protocol))
                                 for p, _, _ in refused}))
        families = " and ".join(sorted({"IPv6" if p.family == "ip6" else "IPv4"
                                        for p, _, _ in refused}))
        where = f"line {span.line}" if by_rule else f"the {outcome.hook} chain's policy"
        certain = all(o.certainty == "definite" for _, o, _ in refused)
        message = (f"{what.format(dport=packet.dport, protocol=names)} ({families}) are "
                   f"{_PAST.get(outcome.verdict, outcome.verdict)} by {where}; policy "
                   f"{policy_ref(policy, setting.span)} requires {requirement}")
        yield Problem(span=span, message=message,
                      certainty="definite" if certain else "possible",
                      related=(Related(setting.span, f"policy {policy.name} requires "
                                                     f"{requirement}"),),
                      key=f"{policy.name}|{requirement}|{families}")
