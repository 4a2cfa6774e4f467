"""Load a policy: YAML (with positions) -> JSON-Schema validation -> typed entries ->
``extends`` merged -> conflicts checked.  Every problem is a UsageError whose lines start
with file:line:column, so ``fwlint`` exits 2 with a message and never a traceback."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Optional, Union

from ..errors import UsageError
from ..findings import Severity
from ..model import PROTOCOL_NAMES, PROTOCOL_NUMBERS, Span
from ..resources import policies_dir
from .model import (ForbiddenPorts, Network, Policy, PortRanges, ServicePolicy, Setting,
                    SeverityOverride, format_protocols, format_ranges, ranges_overlap)
from .yamldoc import Document, DocumentError, read_document

PolicyRef = Union[str, "os.PathLike[str]", Mapping[str, Any], Policy]
DEFAULT_HOOKS = ("input", "forward")


def builtin_policies() -> tuple[str, ...]:
    """Names of the policies shipped in ``policies/``."""
    return tuple(sorted(p.stem for p in policies_dir().glob("*.yaml")))


def load_policy(ref: PolicyRef, strict: bool = False) -> Policy:
    """A policy from a built-in name, a file path, or an inline mapping (tests).

    Built-in policies skip JSON-Schema validation (importing jsonschema costs a pre-commit
    run about 0.1 s; the test suite validates them) unless ``strict``."""
    if isinstance(ref, Policy):
        return ref
    if isinstance(ref, Mapping):
        import yaml
        text = yaml.safe_dump(dict(ref), sort_keys=False)
        return _load_text(text, "<inline policy>", os.getcwd(), (), strict)
    return _load_path(resolve_policy_path(os.fspath(ref), os.getcwd()), strict)


def resolve_policy_path(ref: str, base_dir: str, where: Optional[Span] = None) -> str:
    """A built-in name or a path (relative to ``base_dir``) -> an absolute file path."""
    is_name = "/" not in ref and os.sep not in ref and not ref.endswith((".yaml", ".yml"))
    if is_name:
        candidate = policies_dir() / f"{ref}.yaml"
        if candidate.is_file():
            return str(candidate)
    path = os.path.abspath(os.path.join(base_dir, os.path.expanduser(ref)))
    if os.path.isfile(path):
        return os.path.realpath(path)
    prefix = f"{where}: " if where else ""
    raise UsageError(f"{prefix}policy {ref!r}: no such file or built-in policy "
                     f"(built-in: {', '.join(builtin_policies())})")


@lru_cache(maxsize=64)
def _load_path(path: str, strict: bool) -> Policy:
    return _load_file(path, (), strict)


def _load_file(path: str, stack: tuple[str, ...], strict: bool) -> Policy:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read policy: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{_display(path)}:1:1: policy is not valid UTF-8 "
                         f"(byte offset {exc.start})") from None
    return _load_text(text, path, os.path.dirname(path), stack, strict)


def _display(path: str) -> str:
    """Paths in messages: relative to the working directory when that is shorter."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if len(rel) < len(path) else path


def _load_text(text: str, path: str, base_dir: str, stack: tuple[str, ...],
               strict: bool) -> Policy:
    shown = _display(path) if os.path.isabs(path) else path
    bundled = os.path.dirname(path) == str(policies_dir())
    try:
        document = read_document(text, shown, bundled=bundled)
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    if strict or not bundled:
        _raise(_schema_errors(document))
    layer = _Layer.build(document)
    draft = _Draft()
    for ref, span in layer.extends:
        parent_path = resolve_policy_path(ref, base_dir, span)
        if parent_path in stack or parent_path == path:
            cycle = " -> ".join(_display(p) for p in (*stack, path, parent_path))
            raise UsageError(f"{span}: extends cycle: {cycle}")
        draft.apply_policy(_load_file(parent_path, (*stack, path), strict))
    draft.apply_layer(layer)
    return draft.finish(document, shown, os.path.splitext(os.path.basename(path))[0])


def _raise(errors: list[DocumentError]) -> None:
    if errors:
        errors.sort(key=lambda e: (e.span.line, e.span.column))
        raise UsageError("\n".join(str(e) for e in errors))


# --------------------------------------------------------------------------- schema


@lru_cache(maxsize=1)
def schema() -> dict:
    import json

    with open(policies_dir() / "policy.schema.json", encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator
    return Draft202012Validator(schema())


def _schema_errors(document: Document) -> list[DocumentError]:
    from jsonschema.exceptions import best_match

    errors = []
    for top in _validator().iter_errors(document.data):
        error = _most_specific(best_match([top]))
        path = tuple(error.absolute_path)
        where = ".".join(str(p) for p in path) or "policy"
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = sorted(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in allowed:
                    errors.append(DocumentError(
                        document.span(path + (key,), key=True),
                        f"unknown key {key!r} in {where} (allowed: {', '.join(allowed)})"))
            continue
        span = document.span(path)
        if error.validator in ("propertyNames", "pattern") and error.instance in (
                document.data_at(path) if isinstance(document.data_at(path), dict) else {}):
            span = document.span(path + (error.instance,), key=True)
        errors.append(DocumentError(span, f"{where}: {_message(error)}"))
    return errors


def _most_specific(error):
    """For an anyOf failure, the branch error that says what is wrong (not "wrong type")."""
    from jsonschema.exceptions import best_match

    while error.validator in ("anyOf", "oneOf") and error.context:
        specific = [e for e in error.context if e.validator != "type"]
        if not specific or all(e.validator == "required" for e in specific):
            break
        error = best_match(specific)
    return error


def _message(error) -> str:
    """jsonschema's message, except for "one of these keys is required" alternatives."""
    required = [e for e in error.context or () if e.validator == "required"]
    if error.validator in ("anyOf", "oneOf") and required:
        keys = [e.validator_value[0] for e in required]
        return f"needs one of the keys {', '.join(keys)}"
    return error.message


# --------------------------------------------------------------------------- one file


def _port_ranges(value: Any, path: tuple, document: Document,
                 errors: list[DocumentError]) -> PortRanges:
    items = value if isinstance(value, list) else [value]
    ranges = []
    for i, item in enumerate(items):
        item_path = path + (i,) if isinstance(value, list) else path
        if isinstance(item, int):
            lo = hi = item
        else:
            lo, _, hi_text = str(item).partition("-")
            lo, hi = int(lo), int(hi_text or lo)
        if not 1 <= lo <= hi <= 65535:
            errors.append(DocumentError(document.span(item_path),
                                        f"port range {item!r} must be LOW-HIGH within 1-65535"))
            continue
        ranges.append((lo, hi))
    return _merge_ranges(ranges)


def _merge_ranges(ranges) -> PortRanges:
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def _protocols(value: Any) -> tuple[int, ...]:
    names = value if isinstance(value, list) else [value]
    return tuple(sorted({PROTOCOL_NUMBERS[name] for name in names}))


def _network(text: str, span: Span, errors: list[DocumentError]) -> Optional[Network]:
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        errors.append(DocumentError(span, f"bad address or CIDR {text!r}: {exc}"))
        return None


def _unknown_service(name: str) -> str:
    import difflib
    from ..services import service_names
    close = difflib.get_close_matches(name.lower(), service_names(), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"unknown service {name!r}{hint}; give port and proto for a custom service"


@dataclass
class _Layer:
    """What one policy file says, typed, before ``extends`` is merged in."""

    document: Document
    extends: list[tuple[str, Span]] = field(default_factory=list)
    name: Optional[str] = None
    description: Optional[str] = None
    services: list[ServicePolicy] = field(default_factory=list)
    forbidden: list[ForbiddenPorts] = field(default_factory=list)
    ports: dict[str, Setting] = field(default_factory=dict)
    default_deny: list[Setting] = field(default_factory=list)
    require: list[Setting] = field(default_factory=list)
    trusted_interfaces: list[Setting] = field(default_factory=list)
    trusted_sources: list[tuple[Network, Span]] = field(default_factory=list)
    findings: list[SeverityOverride] = field(default_factory=list)

    @classmethod
    def build(cls, document: Document) -> "_Layer":
        from ..services import service_ports

        data, span = document.data, document.span
        errors: list[DocumentError] = []
        layer = cls(document, name=data.get("name"), description=data.get("description"))
        extends = data.get("extends", [])
        for i, ref in enumerate(extends if isinstance(extends, list) else [extends]):
            layer.extends.append((ref, span(("extends", i) if isinstance(extends, list)
                                            else ("extends",))))
        for name, entry in (data.get("services") or {}).items():
            service = layer._service(name, entry or {}, ("services", name), service_ports, errors)
            if service is not None:
                layer.services.append(service)
        for i, entry in enumerate(data.get("forbidden") or []):
            forbidden = layer._forbidden(entry, ("forbidden", i), service_ports, errors)
            if forbidden is not None:
                layer.forbidden.append(forbidden)
        for category, action in (data.get("ports") or {}).items():
            layer.ports[category] = Setting(action, span(("ports", category)))
        layer.default_deny = [Setting(h, span(("default-deny", i)))
                              for i, h in enumerate(data.get("default-deny") or [])]
        layer.require = [Setting(r, span(("require", i)))
                         for i, r in enumerate(data.get("require") or [])]
        trusted = data.get("trusted") or {}
        layer.trusted_interfaces = [Setting(n, span(("trusted", "interfaces", i)))
                                    for i, n in enumerate(trusted.get("interfaces") or [])]
        for i, text in enumerate(trusted.get("sources") or []):
            where = span(("trusted", "sources", i))
            network = _network(text, where, errors)
            if network is not None:
                layer.trusted_sources.append((network, where))
        for check, severity in (data.get("findings") or {}).items():
            where = span(("findings", check), key=True)
            info = _lookup_check(check)
            if info is None:
                errors.append(DocumentError(where, f"findings: no check named {check!r} "
                                                   "(see 'fwlint rules')"))
                continue
            layer.findings.append(SeverityOverride(check, Severity.parse(severity), where,
                                                   code=info.code))
        layer._check_conflicts(errors)
        _raise(errors)
        return layer

    def _service(self, name, entry, path, service_ports, errors) -> Optional[ServicePolicy]:
        document = self.document
        where = document.span(path, key=True)
        standard = service_ports(name)
        protocols = _protocols(entry["proto"]) if "proto" in entry else \
            tuple(sorted({proto for proto, _ in standard}))
        if "port" in entry or "ports" in entry:
            key = "port" if "port" in entry else "ports"
            ports = _port_ranges(entry[key], path + (key,), document, errors)
            if not protocols:
                errors.append(DocumentError(where, f"{_unknown_service(name)} (custom service "
                                                   f"{name!r} needs proto)"))
                return None
        elif not standard:
            errors.append(DocumentError(where, _unknown_service(name)))
            return None
        else:
            ports = _merge_ranges((port, port) for proto, port in standard if proto in protocols)
            if not ports:
                errors.append(DocumentError(
                    document.span(path + ("proto",)),
                    f"service {name!r} has no IANA port on {format_protocols(protocols)} "
                    f"(it uses {_pairs_text(standard)}); give port"))
                return None
        sources = []
        for i, text in enumerate(entry.get("from") or []):
            if text == "any":
                sources = []
                break
            network = _network(text, document.span(path + ("from", i)), errors)
            if network is not None:
                sources.append(network)
        return ServicePolicy(name=name, protocols=protocols, ports=ports, standard=standard,
                             sources=tuple(sources), hooks=tuple(entry.get("hooks", DEFAULT_HOOKS)),
                             span=where, description=entry.get("description", ""))

    def _forbidden(self, entry, path, service_ports, errors) -> Optional[ForbiddenPorts]:
        document = self.document
        where = document.span(path)
        if isinstance(entry, str):
            entry = {"service": entry}
        name = entry.get("service")
        standard = service_ports(name) if name else ()
        if name and not standard and "port" not in entry and "ports" not in entry:
            errors.append(DocumentError(where, _unknown_service(name)))
            return None
        if "proto" in entry:
            protocols = _protocols(entry["proto"])
        elif standard:
            protocols = tuple(sorted({proto for proto, _ in standard}))
        else:
            protocols = (PROTOCOL_NUMBERS["tcp"], PROTOCOL_NUMBERS["udp"])
        if "port" in entry or "ports" in entry:
            key = "port" if "port" in entry else "ports"
            ports = _port_ranges(entry[key], path + (key,), document, errors)
        else:
            ports = _merge_ranges((port, port) for proto, port in standard if proto in protocols)
        return ForbiddenPorts(protocols=protocols, ports=ports, span=where, service=name,
                              reason=entry.get("reason", ""),
                              world_open=entry.get("world-open", False))

    def _check_conflicts(self, errors: list[DocumentError]) -> None:
        for service in self.services:
            for entry in self.forbidden:
                if entry.world_open and service.sources:
                    continue
                if _conflict(service.protocols, service.ports, entry.protocols, entry.ports):
                    errors.append(DocumentError(
                        service.span, f"service {service.name!r} is both allowed here and "
                                      f"forbidden at {entry.span} ({entry.label()})"))


def _lookup_check(check: str):
    from ..checks import lookup
    return lookup(check)


def _pairs_text(pairs) -> str:
    return ", ".join(f"{port}/{PROTOCOL_NAMES.get(proto, proto)}" for proto, port in pairs)


def _conflict(protocols_a, ports_a, protocols_b, ports_b) -> bool:
    return bool(set(protocols_a) & set(protocols_b)) and ranges_overlap(ports_a, ports_b)


# --------------------------------------------------------------------------- extends


@dataclass
class _Draft:
    """The merged policy so far; later layers override earlier ones key by key."""

    name: str = ""
    description: str = ""
    services: dict[str, ServicePolicy] = field(default_factory=dict)
    forbidden: list[ForbiddenPorts] = field(default_factory=list)
    ports: dict[str, Setting] = field(default_factory=dict)
    default_deny: dict[str, Setting] = field(default_factory=dict)
    require: dict[str, Setting] = field(default_factory=dict)
    trusted_interfaces: dict[str, Setting] = field(default_factory=dict)
    trusted_sources: dict[Network, Span] = field(default_factory=dict)
    findings: dict[str, SeverityOverride] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def _allow(self, services, forbidden) -> None:
        """Add a layer's services and forbidden entries: each overrides what it contradicts."""
        for entry in forbidden:
            self.services = {n: s for n, s in self.services.items()
                             if not _conflict(s.protocols, s.ports, entry.protocols, entry.ports)}
        self.forbidden = [f for f in self.forbidden
                          if not any(_conflict(s.protocols, s.ports, f.protocols, f.ports)
                                     for s in services)]
        for service in services:
            self.services.pop(service.name, None)
            self.services[service.name] = service
        self.forbidden.extend(forbidden)

    def apply_policy(self, policy: Policy) -> None:
        self.description = policy.description
        self._allow(policy.services, policy.forbidden)
        self.ports.update(policy.ports)
        self.default_deny.update((s.value, s) for s in policy.default_deny)
        self.require.update((s.value, s) for s in policy.require)
        self.trusted_interfaces.update((s.value, s) for s in policy.trusted_interfaces)
        self.trusted_sources.update(policy.trusted_sources)
        self.findings.update((o.check, o) for o in policy.findings)
        self.files.extend(f for f in policy.files if f not in self.files)

    def apply_layer(self, layer: _Layer) -> None:
        if layer.description is not None:
            self.description = layer.description
        self._allow(layer.services, layer.forbidden)
        self.ports.update(layer.ports)
        self.default_deny.update((s.value, s) for s in layer.default_deny)
        self.require.update((s.value, s) for s in layer.require)
        self.trusted_interfaces.update((s.value, s) for s in layer.trusted_interfaces)
        self.trusted_sources.update(layer.trusted_sources)
        self.findings.update((o.check, o) for o in layer.findings)
        self.name = layer.name or ""

    def finish(self, document: Document, shown: str, stem: str) -> Policy:
        services = tuple(self.services.values())
        errors = []
        for i, first in enumerate(services):
            for second in services[i + 1:]:
                shared = set(first.protocols) & set(second.protocols)
                if shared and ranges_overlap(first.ports, second.ports):
                    ports = sorted(set(_expand(first.ports)) & set(_expand(second.ports)))
                    errors.append(DocumentError(
                        second.span,
                        f"services {first.name!r} ({first.span}) and {second.name!r} both claim "
                        f"{format_ranges(_merge_ranges((p, p) for p in ports[:1000]))}/"
                        f"{format_protocols(tuple(sorted(shared)))}"))
        _raise(errors)
        return Policy(
            name=self.name or stem, description=self.description, path=shown,
            span=document.span(()), services=services, forbidden=tuple(self.forbidden),
            ports=tuple(sorted(self.ports.items(), key=lambda kv: _RANGE_ORDER[kv[0]])),
            default_deny=tuple(self.default_deny.values()), require=tuple(self.require.values()),
            trusted_interfaces=tuple(self.trusted_interfaces.values()),
            trusted_sources=tuple(self.trusted_sources.items()),
            findings=tuple(self.findings.values()), files=(shown, *self.files))


_RANGE_ORDER = {"well-known": 0, "registered": 1, "dynamic": 2}


def _expand(ranges: PortRanges):
    for lo, hi in ranges:
        yield from range(lo, hi + 1)
