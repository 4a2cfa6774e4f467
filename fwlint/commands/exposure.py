"""``fwlint exposure FILE…``: what a NEW connection from outside can reach, after NAT."""

from __future__ import annotations

import json
import sys
from typing import Optional

FORMATS = ("text", "json", "markdown")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "exposure", help="list the protocol/port classes NEW packets from outside can reach")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", default=None, help="input format (default: detect from content)")
    p.add_argument("--output-format", choices=FORMATS, default="text",
                   help="text (default), json or markdown (for a pull-request comment)")
    p.add_argument("-I", "--include-dir", action="append", default=[], dest="include_dirs",
                   help="extra directory for nft include files")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..analysis import analyze
    from ..engine import read_source
    from ..files import expand_paths
    from ..limits import Limits, jump_depth_errors
    from ..parsing import parse_text

    limits = Limits.from_options(None)
    documents = []
    status = 0
    for path in expand_paths(args.paths):
        path, text, errors = read_source(path, limits)
        parsed = parse_text(text, path, args.format, include_dirs=tuple(args.include_dirs),
                            limits=limits)
        too_deep = tuple(jump_depth_errors(parsed.ruleset, limits))
        for error in errors + parsed.errors:
            print(f"{error.span}: warning: {error.message} (exposure computed from the rest)",
                  file=sys.stderr)
        if too_deep:
            print(f"{too_deep[0].span}: error: exposure not computed: {too_deep[0].message}",
                  file=sys.stderr)
            status = 2
            continue
        documents.append(file_document(path, analyze(parsed.ruleset).exposure()))
    render = {"text": render_text, "json": render_json, "markdown": render_markdown}
    sys.stdout.write(render[args.output_format](documents))
    return status


# --------------------------------------------------------------------------- data


def _address(value: int, family: str) -> str:
    import ipaddress
    return str(ipaddress.IPv4Address(value) if family == "ip" else ipaddress.IPv6Address(value))


def addresses(intervals, family: str) -> list[str]:
    """Address intervals as CIDRs; ["any"] for everything."""
    import ipaddress
    top = 2**32 - 1 if family == "ip" else 2**128 - 1
    if tuple(intervals) == ((0, top),):
        return ["any"]
    make = ipaddress.IPv4Address if family == "ip" else ipaddress.IPv6Address
    out = []
    for lo, hi in intervals:
        out.extend(str(n) for n in ipaddress.summarize_address_range(make(lo), make(hi)))
    return out


def _ports(ranges, protocol: int) -> list[dict]:
    from ..services import port_category, service_name
    out = []
    for lo, hi in ranges:
        item = {"first": lo, "last": hi, "category": port_category(lo)
                if port_category(lo) == port_category(hi)
                else f"{port_category(lo)}..{port_category(hi)}"}
        item["service"] = service_name(protocol, lo) if lo == hi else None
        out.append(item)
    return out


def _where(rule) -> dict:
    return {"path": rule.span.path, "line": rule.span.line, "text": rule.text}


def file_document(path: str, exposures) -> dict:
    """One file's exposure as JSON-ready data."""
    from ..model import PROTOCOL_NAMES
    items = []
    for e in exposures:
        items.append({
            "hook": e.hook, "family": e.family, "protocol": e.protocol,
            "protocol_name": PROTOCOL_NAMES.get(e.protocol, str(e.protocol)),
            "ports": _ports(e.ports, e.protocol),
            "internal_ports": _ports(e.internal_ports, e.protocol)
            if e.internal_ports is not None else None,
            "internal_addresses": addresses(e.internal_addresses, e.family)
            if e.internal_addresses is not None else None,
            "sources": addresses(e.sources, e.family),
            "interfaces": list(e.interfaces) if e.interfaces is not None else None,
            "certainty": e.certainty, "reason": e.reason,
            "rules": [_where(r) for r in e.rules],
            "nat_rules": [_where(r) for r in e.nat_rules],
        })
    return {"path": path, "exposures": items}


# --------------------------------------------------------------------------- rendering


def _port_text(items: Optional[list[dict]]) -> str:
    if not items:
        return "-"
    parts = []
    for p in items:
        number = str(p["first"]) if p["first"] == p["last"] else f"{p['first']}-{p['last']}"
        label = ", ".join(x for x in (p["service"], p["category"]) if x)
        parts.append(f"{number} ({label})")
    return ", ".join(parts)


def _row(item: dict) -> tuple[str, str, str, str, str, str]:
    ports = _port_text(item["ports"]) if item["ports"] else "(all)"
    if item["internal_ports"] is not None or item["internal_addresses"] is not None:
        target = ",".join(item["internal_addresses"] or [])
        inside = _port_text(item["internal_ports"]) if item["internal_ports"] else ""
        ports += " -> " + (f"{target}:{inside}" if target and inside else target or inside)
    sources = ", ".join(item["sources"])
    if item["interfaces"]:
        sources += " via " + ",".join(item["interfaces"])
    certainty = item["certainty"] + (f" ({item['reason']})" if item["reason"] else "")
    rules = ", ".join(f"{r['path']}:{r['line']}" for r in item["nat_rules"] + item["rules"]) \
        or "policy"
    return item["hook"], f"{item['protocol_name']}/{item['family']}", ports, sources, certainty, \
        rules


def render_text(documents: list[dict]) -> str:
    lines = []
    for doc in documents:
        lines.append(f"{doc['path']}:")
        if not doc["exposures"]:
            lines.append("  nothing reachable by NEW packets from outside")
        for item in doc["exposures"]:
            hook, proto, ports, sources, certainty, rules = _row(item)
            lines.append(f"  {hook:<7} {proto:<11} {ports}")
            lines.append(f"          from {sources}; {certainty}; opened by {rules}")
    return "\n".join(lines) + "\n"


def render_json(documents: list[dict]) -> str:
    return json.dumps({"files": documents}, indent=2) + "\n"


def render_markdown(documents: list[dict]) -> str:
    lines = []
    for doc in documents:
        lines.append(f"### Exposure of `{doc['path']}`\n")
        if not doc["exposures"]:
            lines.append("Nothing is reachable by NEW packets from outside.\n")
            continue
        lines.append("| hook | protocol | ports | sources | certainty | rules |")
        lines.append("|---|---|---|---|---|---|")
        for item in doc["exposures"]:
            cells = (c.replace("|", "\\|") for c in _row(item))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"
