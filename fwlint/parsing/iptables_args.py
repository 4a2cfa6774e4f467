"""Parsers for the arguments of iptables options, by the argument kind named in
``fwlint.parsing.iptables_modules``.

Each parser takes the option's argument words and the address family (4 or 6) and returns
the value the model needs (numbers, intervals, names), or raises :class:`ArgError` with
what iptables would say.  They accept what iptables accepts and no more, so a rule that
``iptables-restore`` refuses is refused here too.
"""

from __future__ import annotations

import re
from functools import lru_cache
from _socket import AF_INET, AF_INET6, inet_pton  # socket.py costs 3 ms of import (enums)
from typing import Any, Callable, Optional


class ArgError(ValueError):
    """An option argument iptables would refuse."""


#: how many words each kind takes (kinds not listed take one; "" takes none)
ARITY = {"": 0, "tcpflags": 2, "setref": 2, "sctpchunks": 2}

# --------------------------------------------------------------------------- numbers

_INT_RE = re.compile(r"^(0[xX][0-9a-fA-F]+|[0-9]+)$")


def parse_uint(text: str, high: int, low: int = 0, what: str = "value") -> int:
    """An unsigned decimal or 0x-hex number within [low, high]."""
    if not _INT_RE.match(text):
        raise ArgError(f"invalid {what} {text!r}: expected a number {low}-{high}")
    value = int(text, 0) if text[:2].lower() == "0x" else int(text)
    if not low <= value <= high:
        raise ArgError(f"{what} {text} out of range {low}-{high}")
    return value


def _uint(high: int, low: int = 0) -> Callable:
    return lambda args, family: parse_uint(args[0], high, low)


def parse_range(text: str, high: int, what: str = "value") -> tuple[int, int]:
    """``a``, ``a:b``, ``a:``, ``:b`` or ``:`` as a closed interval; reversed is an error."""
    low_text, colon, high_text = text.partition(":")
    low = parse_uint(low_text, high, what=what) if low_text else 0
    top = (parse_uint(high_text, high, what=what) if high_text else high) if colon else low
    if low > top:
        raise ArgError(f"invalid {what} range {text!r}: start is after end")
    return (low, top)


def _range(high: int) -> Callable:
    return lambda args, family: parse_range(args[0], high)


# --------------------------------------------------------------------------- ports


@lru_cache(maxsize=4096)
def port_number(text: str) -> int:
    """A port number or a service name (the shipped service table, as iptables uses
    /etc/services).  Values above 65535 are returned as they are: see PortRange."""
    if text.isdigit():
        return int(text)
    from ..services import service_ports
    pairs = service_ports(text)
    if not pairs:
        raise ArgError(f"invalid port/service {text!r}")
    return pairs[0][1]


class PortRange(tuple):
    """(low, high), or an invalid range kept as written (``valid`` False) for FW206."""

    valid = True


def parse_port_range(text: str, separator: str = ":") -> PortRange:
    """A port range; out-of-range or reversed numbers give an invalid PortRange, not an
    error, because check FW206 reports them with a better message."""
    low_text, sep, high_text = text.partition(separator)
    low = port_number(low_text) if low_text else 0
    high = (port_number(high_text) if high_text else 65535) if sep else low
    result = PortRange((low, high))
    if low > high or high > 65535:
        result.valid = False
    return result


def _portr(args, family):
    return (parse_port_range(args[0]),)


def _port_range_strict(args, family):
    """A port range where an invalid one is an error (conntrack and ipvs ports: no check
    reports them later)."""
    ports = parse_port_range(args[0])
    if not ports.valid:
        raise ArgError(f"invalid port range {args[0]!r}: 0-65535, start not after end")
    return (ports,)


def _port(args, family):
    value = port_number(args[0])
    if value > 65535:
        raise ArgError(f"port {args[0]} out of range 0-65535")
    return value


def _ports(args, family):
    items = args[0].split(",")
    if len(items) > 15:
        raise ArgError("too many ports specified (at most 15)")
    return tuple(parse_port_range(item) for item in items)


# --------------------------------------------------------------------------- addresses


@lru_cache(maxsize=4096)
def parse_address(text: str, family: int) -> tuple[int, int, bool]:
    """``addr[/prefix|/mask]`` as (first, last, contiguous); a non-contiguous mask gives
    contiguous False (first/last are then meaningless)."""
    addr_text, slash, mask_text = text.partition("/")
    value, bits = _address_value(addr_text, family)
    if not slash:
        return value, value, True
    if mask_text.isdigit():
        prefix = int(mask_text)
        if prefix > bits:
            raise ArgError(f"invalid mask {mask_text!r} for {text!r}")
        mask = ((1 << prefix) - 1) << (bits - prefix)
    else:
        mask, _ = _address_value(mask_text, family)
    host = ((1 << bits) - 1) ^ mask
    if host & (host + 1):
        return value & mask, value & mask, False
    return value & mask, (value & mask) | host, True


def _address_value(text: str, family: int) -> tuple[int, int]:
    try:  # the C parser first; it refuses forms iptables takes (leading zeros), see below
        return int.from_bytes(inet_pton(AF_INET if family == 4 else AF_INET6, text), "big"), \
            (32 if family == 4 else 128)
    except OSError:
        pass
    if family == 4:
        parts = text.split(".")
        if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 for p in parts):
            a, b, c, d = (int(p) for p in parts)
            if a < 256 and b < 256 and c < 256 and d < 256:
                return (a << 24) | (b << 16) | (c << 8) | d, 32
        raise ArgError(f"invalid IPv4 address {text!r}")
    import ipaddress
    try:
        return int(ipaddress.IPv6Address(text)), 128
    except ValueError:
        raise ArgError(f"invalid IPv6 address {text!r}") from None


def _addr(args, family):
    return parse_address(args[0], family)


def _iprange(args, family):
    first, dash, last = args[0].partition("-")
    if not dash:
        raise ArgError(f"invalid range {args[0]!r}: expected FIRST-LAST")
    low, _ = _address_value(first, family)
    high, _ = _address_value(last, family)
    return (low, high)


def _prefix(args, family):
    if "/" not in args[0]:
        raise ArgError(f"{args[0]!r} needs a prefix length (ADDR/LEN)")
    return parse_address(args[0], family)


_MAC_RE = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$")


def _mac(args, family):
    if not _MAC_RE.match(args[0]):
        raise ArgError(f"invalid MAC address {args[0]!r}")
    return args[0].lower()


def _iface(args, family):
    if len(args[0]) > 15:
        raise ArgError(f"interface name {args[0]!r} is longer than 15 characters")
    return args[0]


# --------------------------------------------------------------------------- NAT


def parse_nat_to(text: str, family: int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """``ADDR[-ADDR][:PORT[-PORT][/BASE]]`` (IPv6 addresses in brackets when a port
    follows) as (address interval or None, port interval or None)."""
    if family == 6:
        if text.startswith("["):
            addr_text, bracket, rest = text[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ArgError(f"invalid address {text!r}")
            port_text = rest[1:] if rest else ""
            if rest and not port_text:
                raise ArgError(f"missing port after ':' in {text!r}")
        else:
            addr_text, port_text = text, ""
    else:
        addr_text, _, port_text = text.partition(":")
    addresses = None
    if addr_text:
        first, _, last = addr_text.partition("-")
        low = _address_value(first, family)[0]
        high = _address_value(last, family)[0] if last else low
        if low > high:
            raise ArgError(f"invalid address range {addr_text!r}")
        addresses = (low, high)
    ports = _nat_ports(port_text) if port_text else None
    return addresses, ports


def _nat_ports(text: str, offset: bool = True) -> tuple[int, int]:
    ports, slash, base = text.partition("/")
    if slash and not offset:
        raise ArgError(f"invalid port range {text!r}: no /offset allowed here")
    low_text, dash, high_text = ports.partition("-")
    if dash and not ports[0].isdigit():
        return (_port_strict(ports),) * 2
    low = _port_strict(low_text)
    high = _port_strict(high_text) if dash else low
    if dash and not (low_text.isdigit() and high_text.isdigit()):
        raise ArgError(f"invalid port range {ports!r}: use numbers for a range")
    if low > high:
        raise ArgError(f"invalid port range {ports!r}")
    if slash:
        if not dash:
            raise ArgError(f"port offset /{base} needs a port range")
        if not 1 <= _port_strict(base) <= 65535:
            raise ArgError(f"invalid port offset {base!r}")
    return (low, high)


def _port_strict(text: str) -> int:
    value = port_number(text)
    if value > 65535:
        raise ArgError(f"port {text} out of range 0-65535")
    return value


def _natto(args, family):
    return parse_nat_to(args[0], family)


def _natports(args, family):
    return _nat_ports(args[0], offset=False)


# --------------------------------------------------------------------------- names


def _names(table: dict[str, Any], what: str, many: bool = False,
           case: bool = False) -> Callable:
    def parse(args, family):
        values = []
        for item in (args[0].split(",") if many else [args[0]]):
            key = item if case else item.lower()
            if key not in table:
                raise ArgError(f"invalid {what} {item!r}; expected one of "
                               + ", ".join(sorted({str(k) for k in table})))
            values.append(table[key])
        return tuple(values) if many else values[0]
    return parse


def _enum(*names: str) -> dict[str, str]:
    return {n.lower(): n for n in names}


CT_STATE_NAMES = {"new": "new", "established": "established", "related": "related",
                  "invalid": "invalid", "untracked": "untracked", "snat": "snat",
                  "dnat": "dnat"}
TCP_FLAG_NAMES = {"fin": ("fin",), "syn": ("syn",), "rst": ("rst",), "psh": ("psh",),
                  "ack": ("ack",), "urg": ("urg",), "ece": ("ecn",), "cwr": ("cwr",),
                  "all": ("fin", "syn", "rst", "psh", "ack", "urg"), "none": ()}


def _tcpflags(args, family):
    return tuple(frozenset(f for item in _names(TCP_FLAG_NAMES, "TCP flag", many=True)(
        [arg], family) for f in item) for arg in args)


# ICMP names -> (type, low code, high code); code range 0-255 means any code.
ICMP4_TYPES = {
    "any": (255, 0, 255), "echo-reply": (0, 0, 255), "pong": (0, 0, 255),
    "destination-unreachable": (3, 0, 255), "network-unreachable": (3, 0, 0),
    "host-unreachable": (3, 1, 1), "protocol-unreachable": (3, 2, 2),
    "port-unreachable": (3, 3, 3), "fragmentation-needed": (3, 4, 4),
    "source-route-failed": (3, 5, 5), "network-unknown": (3, 6, 6),
    "host-unknown": (3, 7, 7), "network-prohibited": (3, 9, 9),
    "host-prohibited": (3, 10, 10), "tos-network-unreachable": (3, 11, 11),
    "tos-host-unreachable": (3, 12, 12), "communication-prohibited": (3, 13, 13),
    "host-precedence-violation": (3, 14, 14), "precedence-cutoff": (3, 15, 15),
    "source-quench": (4, 0, 255), "redirect": (5, 0, 255), "network-redirect": (5, 0, 0),
    "host-redirect": (5, 1, 1), "tos-network-redirect": (5, 2, 2),
    "tos-host-redirect": (5, 3, 3), "echo-request": (8, 0, 255), "ping": (8, 0, 255),
    "router-advertisement": (9, 0, 255), "router-solicitation": (10, 0, 255),
    "time-exceeded": (11, 0, 255), "ttl-exceeded": (11, 0, 255),
    "ttl-zero-during-transit": (11, 0, 0), "ttl-zero-during-reassembly": (11, 1, 1),
    "parameter-problem": (12, 0, 255), "ip-header-bad": (12, 0, 0),
    "required-option-missing": (12, 1, 1), "timestamp-request": (13, 0, 255),
    "timestamp-reply": (14, 0, 255), "address-mask-request": (17, 0, 255),
    "address-mask-reply": (18, 0, 255),
}
ICMP6_TYPES = {
    "destination-unreachable": (1, 0, 255), "no-route": (1, 0, 0),
    "communication-prohibited": (1, 1, 1), "beyond-scope": (1, 2, 2),
    "address-unreachable": (1, 3, 3), "port-unreachable": (1, 4, 4),
    "failed-policy": (1, 5, 5), "reject-route": (1, 6, 6), "packet-too-big": (2, 0, 255),
    "time-exceeded": (3, 0, 255), "ttl-exceeded": (3, 0, 255),
    "ttl-zero-during-transit": (3, 0, 0), "ttl-zero-during-reassembly": (3, 1, 1),
    "parameter-problem": (4, 0, 255), "bad-header": (4, 0, 0),
    "unknown-header-type": (4, 1, 1), "unknown-option": (4, 2, 2),
    "echo-request": (128, 0, 255), "ping": (128, 0, 255), "echo-reply": (129, 0, 255),
    "pong": (129, 0, 255), "mld-listener-query": (130, 0, 255),
    "mld-listener-report": (131, 0, 255), "mld-listener-done": (132, 0, 255),
    "mld-listener-reduction": (132, 0, 255), "router-solicitation": (133, 0, 255),
    "router-advertisement": (134, 0, 255), "neighbour-solicitation": (135, 0, 255),
    "neighbor-solicitation": (135, 0, 255), "neighbour-advertisement": (136, 0, 255),
    "neighbor-advertisement": (136, 0, 255), "redirect": (137, 0, 255),
}


def _icmp(table: dict[str, tuple[int, int, int]]) -> Callable:
    def parse(args, family):
        text = args[0]
        if text.lower() in table:
            return table[text.lower()]
        type_text, slash, code_text = text.partition("/")
        icmp_type = parse_uint(type_text, 255, what="ICMP type")
        low, high = parse_range(code_text, 255, what="ICMP code") if slash else (0, 255)
        return (icmp_type, low, high)
    return parse


REJECT4 = {"icmp-net-unreachable": "icmp-net-unreachable",
           "net-unreach": "icmp-net-unreachable",
           "icmp-host-unreachable": "icmp-host-unreachable",
           "host-unreach": "icmp-host-unreachable",
           "icmp-proto-unreachable": "icmp-proto-unreachable",
           "proto-unreach": "icmp-proto-unreachable",
           "icmp-port-unreachable": "icmp-port-unreachable",
           "port-unreach": "icmp-port-unreachable",
           "icmp-net-prohibited": "icmp-net-prohibited", "net-prohib": "icmp-net-prohibited",
           "icmp-host-prohibited": "icmp-host-prohibited",
           "host-prohib": "icmp-host-prohibited", "tcp-reset": "tcp-reset",
           "tcp-rst": "tcp-reset", "icmp-admin-prohibited": "icmp-admin-prohibited",
           "admin-prohib": "icmp-admin-prohibited"}
REJECT6 = {"icmp6-no-route": "icmp6-no-route", "no-route": "icmp6-no-route",
           "icmp6-adm-prohibited": "icmp6-adm-prohibited",
           "adm-prohibited": "icmp6-adm-prohibited",
           "icmp6-addr-unreachable": "icmp6-addr-unreachable",
           "addr-unreach": "icmp6-addr-unreachable",
           "icmp6-port-unreachable": "icmp6-port-unreachable",
           "port-unreach": "icmp6-port-unreachable",
           "icmp6-policy-fail": "icmp6-policy-fail", "policy-fail": "icmp6-policy-fail",
           "icmp6-reject-route": "icmp6-reject-route", "reject-route": "icmp6-reject-route",
           "tcp-reset": "tcp-reset", "tcp-rst": "tcp-reset"}


def _rejectwith(args, family):
    return _names(REJECT6 if family == 6 else REJECT4, "reject type")(args, family)


LOG_LEVELS = {"emerg": 0, "panic": 0, "alert": 1, "crit": 2, "err": 3, "error": 3,
              "warning": 4, "warn": 4, "notice": 5, "info": 6, "debug": 7}


def _loglevel(args, family):
    text = args[0].lower()
    if text in LOG_LEVELS:
        return LOG_LEVELS[text]
    return parse_uint(text, 7, what="log level")


def _string(max_len: int) -> Callable:
    def parse(args, family):
        if not args[0]:
            raise ArgError("empty string")
        if len(args[0]) > max_len:
            raise ArgError(f"string longer than {max_len} characters")
        return args[0]
    return parse


def _logprefix(args, family):
    if len(args[0]) > 29:
        raise ArgError("--log-prefix is longer than 29 characters")
    return args[0]


def _mark(args, family):
    value, slash, mask = args[0].partition("/")
    return (parse_uint(value, 0xFFFFFFFF, what="mark"),
            parse_uint(mask, 0xFFFFFFFF, what="mask") if slash else 0xFFFFFFFF)


def _setref(args, family):
    name, flags = args
    items = flags.split(",")
    if not all(item in ("src", "dst") for item in items) or len(items) > 6:
        raise ArgError(f"invalid set flags {flags!r}: expected src/dst, comma separated")
    return name, tuple(items)


def _rate(args, family):
    match = re.match(r"^(\d+)(/(s|sec|second|m|min|minute|h|hour|d|day))?$", args[0])
    if not match or int(match.group(1)) == 0:
        raise ArgError(f"invalid rate {args[0]!r}: expected N/sec, N/min, N/hour or N/day")
    return args[0]


def _hrate(args, family):
    if re.match(r"^\d+(/(s|sec|second|m|min|minute|h|hour|d|day))?$", args[0]) or \
            re.match(r"^\d+[kmg]?b/s$", args[0]):
        return args[0]
    raise ArgError(f"invalid rate {args[0]!r}")


def _hburst(args, family):
    if re.match(r"^\d+([kmg]?b)?$", args[0]):
        return args[0]
    raise ArgError(f"invalid burst {args[0]!r}")


def _idrange(args, family):
    text = args[0]
    low, dash, high = text.partition("-")
    if low.isdigit() and (not dash or high.isdigit()):
        if dash and int(low) > int(high):
            raise ArgError(f"invalid id range {text!r}")
        return text
    if dash or not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*\$?$", text):
        raise ArgError(f"invalid user/group {text!r}")
    return text


def _tos(args, family):
    names = {"minimize-delay": 0x10, "maximize-throughput": 0x08,
             "maximize-reliability": 0x04, "minimize-cost": 0x02, "normal-service": 0x00}
    if args[0].lower() in names:
        return (names[args[0].lower()], 0x3F)
    value, slash, mask = args[0].partition("/")
    return (parse_uint(value, 255, what="TOS value"),
            parse_uint(mask, 255, what="TOS mask") if slash else 0xFF)


DSCP_CLASSES = _enum("CS0", "CS1", "CS2", "CS3", "CS4", "CS5", "CS6", "CS7", "BE", "EF",
                     "AF11", "AF12", "AF13", "AF21", "AF22", "AF23", "AF31", "AF32", "AF33",
                     "AF41", "AF42", "AF43")


def _probability(args, family):
    try:
        value = float(args[0])
    except ValueError:
        raise ArgError(f"invalid probability {args[0]!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ArgError(f"probability {args[0]} out of range 0-1")
    return value


def _hexpattern(args, family):
    if not re.match(r"^[^|]*(\|[0-9a-fA-F ]*\|[^|]*)*$", args[0]):
        raise ArgError(f"invalid hex string {args[0]!r}")
    return args[0]


_TCP_OPTIONS = {"mss": 2, "wscale": 3, "sack-permitted": 4, "sack": 5, "timestamp": 8,
                "md5": 19}


def _tcpopts(args, family):
    values = []
    for item in args[0].split(","):
        value = _TCP_OPTIONS.get(item.lower())
        if value is None:
            value = parse_uint(item, 255, 2, what="TCP option")
        values.append(value)
    return tuple(values)


def _classid(args, family):
    major, colon, minor = args[0].partition(":")
    if not colon or not re.match(r"^[0-9a-fA-F]{1,4}$", major) or \
            not re.match(r"^[0-9a-fA-F]{1,4}$", minor):
        raise ArgError(f"invalid class {args[0]!r}: expected MAJOR:MINOR (hex)")
    return args[0]


def _qbalance(args, family):
    low_text, colon, high_text = args[0].partition(":")
    if not colon:
        raise ArgError("--queue-balance needs FIRST:LAST")
    low = parse_uint(low_text, 65535, what="queue") if low_text else 0
    high = parse_uint(high_text, 65534, what="queue") if high_text else 65534
    if low >= high:
        raise ArgError(f"invalid queue range {args[0]!r}")
    return (low, high)


def _sctpchunks(args, family):
    if args[0].lower() not in ("all", "any", "only"):
        raise ArgError(f"invalid chunk match {args[0]!r}: expected all, any or only")
    return tuple(args)


def _ctproto(args, family):
    from ..model import PROTOCOL_NUMBERS
    text = args[0].lower()
    value = PROTOCOL_NUMBERS.get(text)
    if value is None:
        value = parse_uint(text, 255, what="protocol")
    if value == 0:
        raise ArgError("protocol 0 cannot be matched")
    return value


def _any(args, family):
    return args[0]


_FULL = {"r8": 0xFF, "r16": 0xFFFF, "r32": 0xFFFFFFFF, "r64": 0xFFFFFFFFFFFFFFFF}


def canonical_args(kind: str, args: tuple[str, ...], value: Any, negated: bool
                   ) -> Optional[tuple[str, ...]]:
    """An option's arguments as iptables-save prints them (numbers for names, ``a:b``
    ranges with ``a`` when both ends are equal); None when the option is a no-op that
    iptables-save leaves out (a non-negated full range)."""
    if kind == "r64":  # connbytes: an open upper end is printed as the lower end alone
        low, high = value
        return (str(low) if high == _FULL[kind] else f"{low}:{high}",)
    if kind == "netmap":
        first, last, _ = value
        bits = 128 if ":" in args[0] else 32
        prefix = bits - (last - first).bit_length()
        return (f"{args[0].split('/')[0]}/{prefix}",)
    if kind in _FULL or kind in ("portr", "ctport"):
        low, high = value if kind in _FULL else value[0]
        if (low, high) == (0, _FULL.get(kind, 65535)) and not negated:
            return None
        return (str(low) if low == high else f"{low}:{high}",)
    if kind in ("port", "ctproto"):
        return (str(value),)
    if kind == "tos":
        return (f"0x{value[0]:02x}/0x{value[1]:02x}",)
    if kind == "qbalance":
        return (f"{value[0]}:{value[1]}",)
    return args


PARSERS: dict[str, Callable[[list[str], int], Any]] = {
    "": lambda args, family: None,
    "u8": _uint(0xFF), "u16": _uint(0xFFFF), "u32": _uint(0xFFFFFFFF),
    "u64": _uint(0xFFFFFFFFFFFFFFFF), "r8": _range(0xFF), "r16": _range(0xFFFF),
    "r32": _range(0xFFFFFFFF), "r64": _range(0xFFFFFFFFFFFFFFFF),
    "hitcount": _uint(255, 1), "ttlstep": _uint(255, 1), "osfttl": _uint(2),
    "osflog": _uint(2), "ect": _uint(3), "dscp": _uint(0x3F),
    "port": _port, "portr": _portr, "ctport": _port_range_strict, "ports": _ports, "tcpflags": _tcpflags,
    "addr": _addr, "netmap": _addr, "iprange": _iprange, "prefix": _prefix, "mac": _mac, "iface": _iface,
    "natto": _natto, "natports": _natports,
    "icmp4": _icmp(ICMP4_TYPES), "icmp6": _icmp(ICMP6_TYPES),
    "states": _names({k: v for k, v in CT_STATE_NAMES.items() if k not in ("snat", "dnat")},
                     "state", many=True),
    "ctstates": _names(CT_STATE_NAMES, "state", many=True),
    "ctstatus": _names(_enum("NONE", "EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED"),
                       "status", many=True),
    "ctdir": _names(_enum("ORIGINAL", "REPLY"), "direction"),
    "ctproto": _ctproto, "mark": _mark, "setref": _setref, "comment": _string(255),
    "str": _string(1024), "pattern": _string(128), "hexpattern": _hexpattern,
    "logprefix": _logprefix, "rate": _rate, "hrate": _hrate, "hburst": _hburst,
    "hmode": _names(_enum("srcip", "srcport", "dstip", "dstport"), "mode", many=True),
    "idrange": _idrange,
    "pkttype": _names(_enum("unicast", "broadcast", "multicast", "host", "otherhost"),
                      "packet type"),
    "addrtypes": _names(_enum("UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST",
                              "MULTICAST", "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW",
                              "NAT", "XRESOLVE"), "address type", many=True),
    "tos": _tos, "dscpclass": _names(DSCP_CLASSES, "DSCP class"),
    "statmode": _names(_enum("random", "nth"), "mode"), "probability": _probability,
    "algo": _names(_enum("bm", "kmp"), "algorithm"),
    "cbmode": _names(_enum("packets", "bytes", "avgpkt"), "mode"),
    "cbdir": _names(_enum("original", "reply", "both"), "direction"),
    "poldir": _names(_enum("in", "out"), "direction"),
    "pol": _names(_enum("none", "ipsec"), "policy"),
    "polproto": _names(_enum("ah", "esp", "ipcomp"), "protocol"),
    "polmode": _names(_enum("tunnel", "transport"), "mode"),
    "vmethod": _names(_enum("GATE", "IPIP", "MASQ"), "method"),
    "dccptypes": _names(_enum("REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ",
                              "CLOSE", "RESET", "SYNC", "SYNCACK", "INVALID"), "DCCP type",
                        many=True),
    "sctpchunks": _sctpchunks,
    "rejectwith": _rejectwith, "loglevel": _loglevel,
    "ctevents": _names(_enum("new", "related", "destroy", "reply", "assured", "protoinfo",
                             "helper", "mark", "natseqinfo", "secmark"), "event", many=True),
    "expevents": _names(_enum("new"), "event", many=True),
    "tcpopts": _tcpopts, "classid": _classid,
    "audittype": _names(_enum("accept", "drop", "reject"), "audit type"),
    "qbalance": _qbalance, "any": _any,
}
