"""Typed constants of the nft language: addresses, ports, protocols and symbolic names.

Values are read by the type of the expression they are compared with, as nft does
(``tcp dport ssh`` is a service, ``meta l4proto tcp`` a protocol); a value that does not fit
its type raises :class:`ValueProblem`, which the rule reader turns into a ParseError.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Optional

from ..model import PROTOCOL_NUMBERS


class ValueProblem(ValueError):
    """A constant that does not fit the type of the expression it is compared with."""


ICMP_TYPES = {
    "echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5,
    "echo-request": 8, "router-advertisement": 9, "router-solicitation": 10,
    "time-exceeded": 11, "parameter-problem": 12, "timestamp-request": 13,
    "timestamp-reply": 14, "info-request": 15, "info-reply": 16,
    "address-mask-request": 17, "address-mask-reply": 18,
}
ICMPV6_TYPES = {
    "destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3,
    "parameter-problem": 4, "echo-request": 128, "echo-reply": 129,
    "mld-listener-query": 130, "mld-listener-report": 131, "mld-listener-done": 132,
    "mld-listener-reduction": 132, "nd-router-solicit": 133, "nd-router-advert": 134,
    "nd-neighbor-solicit": 135, "nd-neighbor-advert": 136, "nd-redirect": 137,
    "router-renumbering": 138, "ind-neighbor-solicit": 141, "ind-neighbor-advert": 142,
    "mld2-listener-report": 143,
}
ICMP_CODES = {
    "net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2,
    "port-unreachable": 3, "frag-needed": 4, "net-prohibited": 9, "host-prohibited": 10,
    "admin-prohibited": 13,
}
ICMPV6_CODES = {
    "no-route": 0, "admin-prohibited": 1, "addr-unreachable": 3, "port-unreachable": 4,
    "policy-fail": 5, "reject-route": 6,
}
ICMPX_CODES = ("port-unreachable", "admin-prohibited", "no-route", "host-unreachable")
CT_STATE_NAMES = frozenset({"new", "established", "related", "invalid", "untracked"})
CT_STATUS_NAMES = frozenset({"expected", "seen-reply", "assured", "confirmed", "snat",
                             "dnat", "dying"})
CT_EVENTS = frozenset({"new", "related", "destroy", "reply", "assured", "protoinfo", "helper",
                       "mark", "seqadj", "secmark", "label"})
#: value type -> its symbolic names (numbers are accepted too)
SYMBOLS = {
    "ct_dir": frozenset({"original", "reply"}),
    "pkttype": frozenset({"host", "unicast", "broadcast", "multicast", "other"}),
}
TCP_FLAGS = ("fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr")
NFPROTO = {"ipv4": "ip", "ipv6": "ip6"}
ETHER_TYPES = {"ip": 0x0800, "ip6": 0x86DD, "arp": 0x0806, "vlan": 0x8100, "8021q": 0x8100,
               "8021ad": 0x88A8}
EXTRA_PROTOCOLS = {"ip": 0, "hopopt": 0, "ggp": 3, "st": 5, "cbt": 7, "igp": 9, "pup": 12,
                   "hmp": 20, "xns-idp": 22, "rdp": 27, "iso-tp4": 29, "xtp": 36, "ddp": 37,
                   "idpr-cmtp": 38, "idrp": 45, "skip": 57, "ipv6-icmp": 58,
                   "eigrp": 88, "ax.25": 93, "ipencap": 4, "encap": 98, "ipcomp": 108,
                   "isis": 124, "fc": 133, "mpls-in-ip": 137, "manet": 138, "hip": 139,
                   "shim6": 140, "wesp": 141, "rohc": 142, "ethernet": 143, "mptcp": 262,
                   "comp": 108}

DSCP = {"cs0": 0, "cs1": 8, "cs2": 16, "cs3": 24, "cs4": 32, "cs5": 40, "cs6": 48, "cs7": 56,
        "af11": 10, "af12": 12, "af13": 14, "af21": 18, "af22": 20, "af23": 22, "af31": 26,
        "af32": 28, "af33": 30, "af41": 34, "af42": 36, "af43": 38, "ef": 46, "va": 44,
        "le": 1, "lephb": 1, "df": 0}

HEX_OR_INT = re.compile(r"^(0x[0-9a-fA-F]+|\d+)$")


def parse_int(text: str, bits: int = 32) -> int:
    """A decimal or 0x number that fits in ``bits`` bits."""
    if not HEX_OR_INT.match(text):
        raise ValueProblem(f"{text!r} is not a number")
    value = int(text, 0)
    if value >= 1 << bits:
        raise ValueProblem(f"{text} does not fit in {bits} bits")
    return value


def _int_range(text: str, bits: int, names: Optional[dict[str, int]] = None) -> tuple[int, int]:
    def one(word: str) -> int:
        if names is not None and word in names:
            return names[word]
        return parse_int(word, bits)
    if names is None or text not in names:
        first, dash, last = text.partition("-")
        if dash and first and last:
            low, high = one(first), one(last)
            if low > high:
                raise ValueProblem(f"range {text} is reversed")
            return low, high
    value = one(text)
    return value, value


_DOTTED = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:/(\d{1,2}))?$")


def ipv4_interval(text: str) -> tuple[int, int]:
    """``10.0.0.0/8``, ``10.0.0.1``, ``10.0.0.1-10.0.0.9`` -> closed integer interval."""
    dotted = _DOTTED.match(text)
    if dotted:
        a, b, c, d, prefix = dotted.groups()
        if max(int(a), int(b), int(c), int(d)) < 256 and (prefix is None or int(prefix) <= 32) \
                and not any(len(x) > 1 and x[0] == "0" for x in (a, b, c, d)):
            value = (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
            if prefix is None:
                return value, value
            host_bits = 32 - int(prefix)
            low = value >> host_bits << host_bits
            return low, low | ((1 << host_bits) - 1)
    return _address_interval(text, ipaddress.IPv4Network, ipaddress.IPv4Address)


def ipv6_interval(text: str) -> tuple[int, int]:
    text = text.replace("[", "").replace("]", "")
    return _address_interval(text, ipaddress.IPv6Network, ipaddress.IPv6Address)


def _address_interval(text: str, network, address) -> tuple[int, int]:
    try:
        if "/" in text:
            net = network(text, strict=False)
            return int(net.network_address), int(net.broadcast_address)
        if "-" in text:
            first, _, last = text.partition("-")
            low, high = int(address(first)), int(address(last))
            if low > high:
                raise ValueProblem(f"address range {text} is reversed")
            return low, high
        value = int(address(text))
        return value, value
    except (ValueError, ipaddress.AddressValueError, ipaddress.NetmaskValueError) as exc:
        if isinstance(exc, ValueProblem):
            raise
        raise ValueProblem(f"{text!r} is not a valid address") from None


def port_range(text: str) -> tuple[int, int]:
    """``22``, ``ssh``, ``1024-65535`` -> closed port range."""
    if text[:1].isalpha():
        ports = service_port(text)
        return ports, ports
    return _int_range(text, 16)


def service_port(name: str) -> int:
    from ..services import service_ports
    found = service_ports(name)
    if not found:
        raise ValueProblem(f"unknown service name {name!r}")
    return found[0][1]


def protocol_number(text: str) -> int:
    name = text.lower()
    if name in PROTOCOL_NUMBERS:
        return PROTOCOL_NUMBERS[name]
    if name in EXTRA_PROTOCOLS:
        return EXTRA_PROTOCOLS[name]
    return parse_int(text, 8)


def protocol_numbers(text: str) -> range:
    """``tcp`` -> {6}; ``33-45`` -> 33..45."""
    first, dash, last = text.partition("-")
    if dash and first and last and text.lower() not in PROTOCOL_NUMBERS:
        low, high = protocol_number(first), protocol_number(last)
        if low > high:
            raise ValueProblem(f"range {text} is reversed")
        return range(low, high + 1)
    number = protocol_number(text)
    return range(number, number + 1)


def merge_ranges(ranges) -> tuple[tuple[int, int], ...]:
    """Sorted, merged closed ranges (adjacent ranges join)."""
    merged: list[list[int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple((low, high) for low, high in merged)


_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_MAC = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$")
_TIME = re.compile(r"^(\d+|(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?)$")


def check_value(kind: str, text: str) -> None:
    """Reject a constant that cannot be of ``kind`` (types fwlint does not model further)."""
    first, dash, last = text.partition("-")
    if dash and first and last and kind not in ("ipv4_addr", "ipv6_addr", "ether_addr", "date") \
            and not (kind == "inet_proto" and text.lower() in PROTOCOL_NUMBERS):
        check_value(kind, first)
        check_value(kind, last)
        if kind == "time" and seconds(first) > seconds(last):
            raise ValueProblem(f"time range {text} is reversed")
        return
    if kind.startswith("int"):
        bits = int(kind[3:] or 32)
        _int_range(text, bits)
    elif kind == "ether_addr":
        if not _MAC.match(text):
            raise ValueProblem(f"{text!r} is not an Ethernet address")
    elif kind == "ether_type":
        if text not in ETHER_TYPES:
            _int_range(text, 16)
    elif kind == "time":
        if not _TIME.match(text) or not text:
            raise ValueProblem(f"{text!r} is not a time")
    elif kind == "day":
        if text.lower() not in _DAYS and not (text.isdigit() and int(text) < 7):
            raise ValueProblem(f"{text!r} is not a day of the week")
    elif kind == "hour":
        clock = re.match(r"^(\d\d?):(\d\d)(:(\d\d))?$", text)
        if not clock or int(clock.group(1)) > 23 or int(clock.group(2)) > 59:
            raise ValueProblem(f"{text!r} is not a time of day (HH:MM)")
    elif kind == "date":
        date = r"\d{4}-\d\d-\d\d( \d\d:\d\d(:\d\d)?)?"
        if not re.match(f"^{date}(-{date})?$", text) and not text.isdigit():
            raise ValueProblem(f"{text!r} is not a date")
    elif kind == "ipv4_addr":
        ipv4_interval(text)
    elif kind == "ipv6_addr":
        ipv6_interval(text)
    elif kind == "inet_proto":
        protocol_number(text)
    elif kind == "inet_service":
        port_range(text)
    elif kind == "nf_proto":
        if text not in NFPROTO:
            raise ValueProblem(f"{text!r} is not ipv4 or ipv6")


_HEX_WORD = re.compile(r"(?<![\w:.-])0x[0-9a-fA-F]+(?![\w:.])")
_CLOCK = re.compile(r'"(\d\d:\d\d):00"')
_DSCP_WORD = re.compile(r"(?<![\w-])(" + "|".join(sorted(DSCP, key=len, reverse=True)) + r")(?![\w-])")


def canonical_text(text: str) -> str:
    """Text of an unmodelled expression or statement as nft lists it: one space between
    words, numbers in decimal, DSCP names as numbers, whole-minute clock times as HH:MM."""
    text = " ".join(text.replace("\\\n", " ").split())
    text = _HEX_WORD.sub(lambda m: str(int(m.group(), 16)), text)
    text = _CLOCK.sub(r'"\1"', text).replace(" burst 5 packets", "")
    if "dscp" in text:
        text = _DSCP_WORD.sub(lambda m: str(DSCP[m.group()]), text)
    return text


def seconds(text: str) -> float:
    """``1d2h3m4s`` -> seconds (a bare number is seconds)."""
    if text.isdigit():
        return float(text)
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|d|h|m|s)", text):
        total += int(number) * {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total
