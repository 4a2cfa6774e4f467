"""The loaded policy: frozen values, each entry with the Span of the policy line it came from,
so a finding can point at the rule that breaks the policy and at the policy line it breaks."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional

from ..findings import Severity
from ..model import PROTOCOL_NAMES, Span

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PortRanges = tuple[tuple[int, int], ...]

RANGE_ACTIONS = ("allow", "deny", "deny-unlisted", "warn-unlisted")


def format_ranges(ranges: PortRanges) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)


def format_protocols(protocols: tuple[int, ...]) -> str:
    return "/".join(PROTOCOL_NAMES.get(p, str(p)) for p in protocols)


def ranges_overlap(a: PortRanges, b: PortRanges) -> bool:
    return any(alo <= bhi and blo <= ahi for alo, ahi in a for blo, bhi in b)


@dataclass(frozen=True)
class ServicePolicy:
    """An allowed service.  ``ports`` is where it may listen; ``standard`` are the IANA
    (protocol, port) pairs of the name, which must stay closed when the service is remapped."""

    name: str
    protocols: tuple[int, ...]
    ports: PortRanges
    standard: tuple[tuple[int, int], ...]
    sources: tuple[Network, ...]  # empty: any source
    hooks: tuple[str, ...]
    span: Span
    description: str = ""

    @property
    def remapped(self) -> bool:
        """True when the policy moves the service off its IANA port (``ssh: {port: 2222}``)."""
        return bool(self.standard_closed)

    @property
    def standard_closed(self) -> tuple[tuple[int, int], ...]:
        """IANA (protocol, port) pairs of this service that must not be reachable (remap)."""
        return tuple((proto, port) for proto, port in self.standard
                     if proto in self.protocols
                     and not any(lo <= port <= hi for lo, hi in self.ports))

    def covers(self, protocol: int, port: int) -> bool:
        return protocol in self.protocols and any(lo <= port <= hi for lo, hi in self.ports)

    def label(self) -> str:
        sources = ", ".join(str(n) for n in self.sources) or "any source"
        return (f"policy allows {self.name} on {format_ranges(self.ports)}/"
                f"{format_protocols(self.protocols)} from {sources}")


@dataclass(frozen=True)
class ForbiddenPorts:
    """Ports that must never be reachable, by service name or by number."""

    protocols: tuple[int, ...]
    ports: PortRanges
    span: Span
    service: Optional[str] = None
    reason: str = ""
    world_open: bool = False  # forbidden only when reachable from most of the internet

    def covers(self, protocol: int, port: int) -> bool:
        return protocol in self.protocols and any(lo <= port <= hi for lo, hi in self.ports)

    def label(self) -> str:
        what = self.service or f"{format_ranges(self.ports)}/{format_protocols(self.protocols)}"
        scope = " open to the internet" if self.world_open else ""
        return f"policy forbids {what}{scope}" + (f": {self.reason}" if self.reason else "")


@dataclass(frozen=True)
class Setting:
    """One scalar policy setting (a range action, a required property, a hook) and its line."""

    value: str
    span: Span


@dataclass(frozen=True)
class SeverityOverride:
    """A policy's ``findings:`` entry: the severity one check's findings get."""

    check: str  # a code (FW201) or a name (shadowed-rule), as written
    severity: Severity
    span: Span
    code: str = ""  # the check's code, resolved when the policy is loaded


@dataclass(frozen=True)
class Policy:
    """A policy after ``extends``: what may be reachable, from where, and how findings are
    graded."""

    name: str
    description: str
    path: str
    span: Span
    services: tuple[ServicePolicy, ...] = ()
    forbidden: tuple[ForbiddenPorts, ...] = ()
    ports: tuple[tuple[str, Setting], ...] = ()  # (IANA range, action)
    default_deny: tuple[Setting, ...] = ()
    require: tuple[Setting, ...] = ()
    trusted_interfaces: tuple[Setting, ...] = ()
    trusted_sources: tuple[tuple[Network, Span], ...] = ()
    findings: tuple[SeverityOverride, ...] = ()
    files: tuple[str, ...] = ()  # this file first, then what it extends

    def range_action(self, category: str) -> Optional[Setting]:
        """The action for an IANA range, or None when the policy says nothing (allow)."""
        return dict(self.ports).get(category)

    def requirement(self, name: str) -> Optional[Setting]:
        return next((r for r in self.require if r.value == name), None)

    def severity_for(self, code: str, name: str) -> Optional[SeverityOverride]:
        """The ``findings:`` entry that re-grades check ``code``/``name``, if any."""
        return next((o for o in self.findings if o.code == code or o.check in (code, name)),
                    None)

    def regrade(self, findings: list, configured: dict) -> list:
        """Findings with the severity ``findings:`` gives their check (the policy line becomes
        a related location); checks whose severity the configuration sets keep it."""
        from dataclasses import replace

        from ..findings import Related

        if not self.findings:
            return findings
        result = []
        for finding in findings:
            override = None if finding.code in configured else \
                self.severity_for(finding.code, finding.name)
            if override is not None and override.severity != finding.severity:
                finding = replace(finding, severity=override.severity, related=finding.related + (
                    Related(override.span, f"policy {self.name} grades {override.check} as "
                                           f"{override.severity}"),))
            result.append(finding)
        return result

    def forbidding(self, protocol: int, port: int) -> tuple[ForbiddenPorts, ...]:
        return tuple(f for f in self.forbidden if f.covers(protocol, port))

    def to_data(self) -> dict:
        """The policy after ``extends``, as the plain data of a policy file."""
        data: dict = {"fwlint-policy": 1, "name": self.name}
        if self.description:
            data["description"] = self.description
        if self.default_deny:
            data["default-deny"] = [s.value for s in self.default_deny]
        if self.services:
            data["services"] = {s.name: _service_data(s) for s in self.services}
        if self.ports:
            data["ports"] = {category: s.value for category, s in self.ports}
        if self.forbidden:
            data["forbidden"] = [_forbidden_data(f) for f in self.forbidden]
        if self.require:
            data["require"] = [s.value for s in self.require]
        trusted: dict = {}
        if self.trusted_interfaces:
            trusted["interfaces"] = [s.value for s in self.trusted_interfaces]
        if self.trusted_sources:
            trusted["sources"] = [str(n) for n, _ in self.trusted_sources]
        if trusted:
            data["trusted"] = trusted
        if self.findings:
            data["findings"] = {o.check: str(o.severity) for o in self.findings}
        return data


def _port_data(ranges: PortRanges) -> list:
    return [lo if lo == hi else f"{lo}-{hi}" for lo, hi in ranges]


def _proto_data(protocols: tuple[int, ...]) -> list[str]:
    return [PROTOCOL_NAMES[p] for p in protocols]


def _service_data(service: ServicePolicy) -> dict:
    data: dict = {"ports": _port_data(service.ports), "proto": _proto_data(service.protocols)}
    if service.sources:
        data["from"] = [str(n) for n in service.sources]
    if service.hooks != ("input", "forward"):
        data["hooks"] = list(service.hooks)
    if service.description:
        data["description"] = service.description
    return data


def _forbidden_data(entry: ForbiddenPorts) -> dict:
    data: dict = {}
    if entry.service:
        data["service"] = entry.service
    data["ports"] = _port_data(entry.ports)
    data["proto"] = _proto_data(entry.protocols)
    if entry.reason:
        data["reason"] = entry.reason
    if entry.world_open:
        data["world-open"] = True
    return data
