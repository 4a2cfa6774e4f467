"""The format-neutral model of a ruleset.

Every front end (iptables-save, iptables shell scripts, nftables) produces these frozen
dataclasses; every check and the analysis read only these.  Two rules that mean the same
thing are equal values whatever format they came from: spans, raw source text and counters
are excluded from equality (``compare=False``).

Conventions every front end follows:

- Matches are stored in canonical order (``Rule.matches`` is sorted by ``match_sort_key``),
  so ``-p tcp --dport 22 -s 10.0.0.1`` and ``-s 10.0.0.1/32 -p tcp -m tcp --dport 22`` give
  equal rules.
- Numeric values are normalised: addresses become integer intervals, ports become merged
  sorted ranges, protocols become IANA protocol numbers.
- Anything not modelled becomes an ``OpaqueMatch`` / ``OpaqueStatement`` that keeps the
  module name, its options and its span: never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

# --------------------------------------------------------------------------- positions


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A region of a source file: 1-based lines and columns, end inclusive of the last char."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


NO_SPAN = Span("<none>", 0, 0, 0, 0)

# A front end may store a one-line span in a model value as a packed int instead of a Span
# (see packed_line); reading ``.span`` unpacks it once into a Span and keeps that.
#
# Why: a 100,000-rule iptables-save file has about 400,000 spans.  A Span costs 0.6-0.9 us
# to build (five slots set through their descriptors) and 72 bytes; the packed int costs
# two integer operations and 32 bytes, and most spans are never read (only those of
# findings are).
_COLUMN_BITS = 20
_LINE_BITS = 32
#: the largest column a packed span can hold
MAX_PACKED_COLUMN = (1 << _COLUMN_BITS) - 1
_SPAN_PATHS: list[str] = []
_SPAN_PATH_NUMBERS: dict[str, int] = {}


def packed_line(path: str, line: int) -> int:
    """The packed span of columns 0-0 on ``line`` of ``path``: a front end ORs
    ``column << 20 | end_column`` into it (both at most MAX_PACKED_COLUMN) and stores the
    int where a Span goes, through the slot (SPAN_SLOTS)."""
    number = _SPAN_PATH_NUMBERS.get(path)
    if number is None:
        number = _SPAN_PATH_NUMBERS[path] = len(_SPAN_PATHS)
        _SPAN_PATHS.append(path)
    return (number << _LINE_BITS | line) << (2 * _COLUMN_BITS)


def unpack_span(packed: int) -> Span:
    """The Span a packed int stands for."""
    line = packed >> (2 * _COLUMN_BITS)
    number = line >> _LINE_BITS
    line &= (1 << _LINE_BITS) - 1
    return Span(_SPAN_PATHS[number], line, packed >> _COLUMN_BITS & MAX_PACKED_COLUMN, line,
                packed & MAX_PACKED_COLUMN)


def _span_field():
    return field(default=NO_SPAN, compare=False, repr=False)


# --------------------------------------------------------------------------- constants

FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")

#: IANA protocol numbers for the names front ends accept.
PROTOCOL_NUMBERS = {
    "icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "udp": 17, "ipv6": 41,
    "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51,
    "icmpv6": 58, "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ospf": 89,
    "ospfigp": 89, "pim": 103, "vrrp": 112, "l2tp": 115, "sctp": 132, "mh": 135,
    "ipv6-mh": 135, "udplite": 136, "dccp": 33,
}
PROTOCOL_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 132: "sctp", 33: "dccp",
                  136: "udplite", 47: "gre", 50: "esp", 51: "ah", 2: "igmp", 4: "ipip",
                  41: "ipv6", 89: "ospf", 103: "pim", 112: "vrrp", 115: "l2tp"}
#: Layer-4 protocols that carry ports.
PORT_PROTOCOLS = frozenset({6, 17, 132, 33, 136})

CT_STATES = ("new", "established", "related", "invalid", "untracked", "dnat", "snat")

# Built-in chains of each iptables table, with the nft hook, type and priority they map to.
IPTABLES_BUILTIN_CHAINS: dict[str, dict[str, tuple[str, str, int]]] = {
    "filter": {"INPUT": ("input", "filter", 0), "FORWARD": ("forward", "filter", 0),
               "OUTPUT": ("output", "filter", 0)},
    "nat": {"PREROUTING": ("prerouting", "nat", -100), "INPUT": ("input", "nat", 100),
            "OUTPUT": ("output", "nat", -100), "POSTROUTING": ("postrouting", "nat", 100)},
    "mangle": {"PREROUTING": ("prerouting", "filter", -150), "INPUT": ("input", "filter", -150),
               "FORWARD": ("forward", "filter", -150), "OUTPUT": ("output", "route", -150),
               "POSTROUTING": ("postrouting", "filter", -150)},
    "raw": {"PREROUTING": ("prerouting", "filter", -300), "OUTPUT": ("output", "filter", -300)},
    "security": {"INPUT": ("input", "filter", 50), "FORWARD": ("forward", "filter", 50),
                 "OUTPUT": ("output", "filter", 50)},
}

# --------------------------------------------------------------------------- matches


@dataclass(frozen=True, slots=True)
class ProtocolMatch:
    """Layer-4 protocol (``-p tcp``, ``meta l4proto tcp``, ``ip protocol { tcp, udp }``)."""

    protocols: frozenset[int]
    negated: bool = False
    span: Span = _span_field()


@dataclass(frozen=True, slots=True)
class FamilyMatch:
    """Narrows an inet/bridge/netdev rule to one address family (``meta nfproto ipv4``)."""

    family: str  # "ip" | "ip6"
    negated: bool = False
    span: Span = _span_field()


@dataclass(frozen=True, slots=True)
class AddressMatch:
    """Source or destination address as closed integer intervals (CIDRs, ranges, hosts)."""

    field: str  # "saddr" | "daddr"
    version: int  # 4 | 6
    intervals: tuple[tuple[int, int], ...]
    negated: bool = False
    span: Span = _span_field()
    #: the address text as written, e.g. "10.0.0.1/8" (host bits kept for the FW check)
    raw: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PortMatch:
    """Source or destination port as merged, sorted closed ranges.

    ``field`` is "sport", "dport" or "port" (multiport ``--ports``: either matches).
    ``raw`` keeps out-of-range or reversed values as written so checks can flag them.
    """

    field: str
    ranges: tuple[tuple[int, int], ...]
    negated: bool = False
    span: Span = _span_field()
    raw: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class InterfaceMatch:
    """Input or output interface; a name ending in ``+`` (iptables) or ``*`` (nft) is a prefix,
    stored as the prefix with ``wildcard=True``."""

    field: str  # "iif" | "oif"
    names: tuple[str, ...]
    wildcard: tuple[bool, ...]
    negated: bool = False
    span: Span = _span_field()


@dataclass(frozen=True, slots=True)
class CtStateMatch:
    """Conntrack state (``-m state``/``-m conntrack --ctstate``/``ct state``).

    ``states`` is drawn from CT_STATES; DNAT/SNAT are the virtual states of ``--ctstate``
    and nft ``ct status dnat``.  ``module`` keeps which iptables module wrote it
    ("state", "conntrack" or "ct" for nft) and is excluded from equality.
    """

    states: frozenset[str]
    negated: bool = False
    span: Span = _span_field()
    module: str = field(default="conntrack", compare=False)


@dataclass(frozen=True, slots=True)
class IcmpTypeMatch:
    """ICMP (version 4 or 6) type, with an optional code range; ``type_`` None means any."""

    version: int
    types: tuple[tuple[int, int], ...]  # type ranges
    codes: tuple[tuple[int, int], ...] = ()  # empty: any code
    negated: bool = False
    span: Span = _span_field()


@dataclass(frozen=True, slots=True)
class TcpFlagsMatch:
    """``--tcp-flags MASK COMP`` / ``--syn`` / nft ``tcp flags & (…) == …``."""

    mask: frozenset[str]
    comp: frozenset[str]
    negated: bool = False
    span: Span = _span_field()


@dataclass(frozen=True, slots=True)
class MarkMatch:
    """Packet mark (``-m mark --mark V/M``, ``meta mark``) or conntrack mark (``ct mark``)."""

    value: int
    mask: int = 0xFFFFFFFF
    negated: bool = False
    conntrack: bool = False
    span: Span = _span_field()


@dataclass(frozen=True, slots=True)
class SetMatch:
    """A reference to a named set: ipset ``-m set --match-set NAME src,dst`` or nft ``@name``.

    ``fields`` lists what is looked up, e.g. ("saddr",) or ("saddr", "dport").
    """

    name: str
    fields: tuple[str, ...]
    negated: bool = False
    span: Span = _span_field()


@dataclass(frozen=True, slots=True)
class OpaqueMatch:
    """A match fwlint does not model (limit, recent, string, owner, statistic, …).

    The analysis treats it as "may be true, may be false".
    """

    module: str
    options: tuple[tuple[str, ...], ...]  # e.g. (("--limit", "5/min"), ("--limit-burst", "10"))
    negated: bool = False
    span: Span = _span_field()
    text: str = field(default="", compare=False)


Match = Union[ProtocolMatch, FamilyMatch, AddressMatch, PortMatch, InterfaceMatch,
              CtStateMatch, IcmpTypeMatch, TcpFlagsMatch, MarkMatch, SetMatch, OpaqueMatch]

_MATCH_ORDER = {cls: i for i, cls in enumerate(
    (FamilyMatch, InterfaceMatch, AddressMatch, ProtocolMatch, PortMatch, IcmpTypeMatch,
     TcpFlagsMatch, CtStateMatch, MarkMatch, SetMatch, OpaqueMatch))}
_FIELD_ORDER = {"iif": 0, "oif": 1, "saddr": 0, "daddr": 1, "sport": 0, "dport": 1, "port": 2}


def match_sort_key(match: Match) -> tuple:
    """Canonical order of matches within a rule (see module docstring)."""
    name = getattr(match, "field", None) or getattr(match, "module", None) or ""
    return (_MATCH_ORDER[type(match)], _FIELD_ORDER.get(name, 9), name,
            repr(match))


# --------------------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Statement:
    """A non-terminating action: the packet goes on to the next rule.

    ``kind`` is one of "log", "counter", "mark", "ctmark", "notrack", "limit", "quota",
    "nflog", "tcpmss", "classify", "opaque"; ``options`` keeps the arguments.
    """

    kind: str
    options: tuple[tuple[str, ...], ...] = ()
    span: Span = _span_field()
    text: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a rule does with a matching packet when it ends evaluation (or jumps).

    ``kind``: "accept", "drop", "reject", "return", "jump", "goto", "queue", "continue",
    "dnat", "snat", "masquerade", "redirect", "opaque" (an unknown target that ends
    evaluation).  ``target`` is the chain of a jump/goto.  For NAT, ``to_addresses`` and
    ``to_ports`` are the rewrite (empty: unchanged / chosen by the kernel).
    """

    kind: str
    target: Optional[str] = None
    to_addresses: tuple[tuple[int, int], ...] = ()
    to_ports: tuple[tuple[int, int], ...] = ()
    options: tuple[tuple[str, ...], ...] = ()
    span: Span = _span_field()

    @property
    def ends_chain(self) -> bool:
        """True when a matching packet never reaches the next rule of this chain."""
        return self.kind not in ("jump", "continue")


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: all matches must hold; then statements run in order, then the verdict.

    ``verdict`` None means the packet continues (a rule of only statements, or no target).
    ``text`` is the rule as written (normalised whitespace), used for fingerprints.
    """

    matches: tuple[Match, ...]
    statements: tuple[Statement, ...] = ()
    verdict: Optional[Verdict] = None
    comment: Optional[str] = None
    span: Span = _span_field()
    text: str = field(default="", compare=False)
    counters: Optional[tuple[int, int]] = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Chain:
    """A chain.  Base chains have a ``hook`` ("prerouting", "input", "forward", "output",
    "postrouting", "ingress", "egress"), a ``type`` ("filter", "nat", "route") and a
    ``priority``; user chains have all three None.  ``policy`` is "accept"/"drop" on base
    chains (None on user chains)."""

    name: str
    rules: tuple[Rule, ...] = ()
    hook: Optional[str] = None
    type: Optional[str] = None
    priority: Optional[int] = None
    policy: Optional[str] = None
    device: Optional[str] = None
    span: Span = _span_field()

    @property
    def is_base(self) -> bool:
        return self.hook is not None


@dataclass(frozen=True, slots=True)
class SetElement:
    """One element of a named set or map; ``key`` per concatenated field, ``value`` for maps."""

    key: tuple[str, ...]
    value: Optional[str] = None
    span: Span = _span_field()


@dataclass(frozen=True, slots=True)
class NamedSet:
    """A named nft set or map (ipsets live outside the ruleset and are only referenced)."""

    name: str
    key_type: tuple[str, ...]
    elements: tuple[SetElement, ...] = ()
    flags: tuple[str, ...] = ()
    is_map: bool = False
    value_type: Optional[str] = None
    span: Span = _span_field()


@dataclass(frozen=True, slots=True)
class Table:
    """A table: iptables tables become family "ip" (iptables) or "ip6" (ip6tables)."""

    family: str
    name: str
    chains: tuple[Chain, ...] = ()
    sets: tuple[NamedSet, ...] = ()
    span: Span = _span_field()

    def chain(self, name: str) -> Optional[Chain]:
        for chain in self.chains:
            if chain.name == name:
                return chain
        return None


@dataclass(frozen=True, slots=True)
class Ruleset:
    """A whole parsed file (with its includes, for nft)."""

    path: str
    format: str  # "iptables-save" | "iptables-script" | "nft"
    tables: tuple[Table, ...] = ()
    span: Span = _span_field()
    #: shell-script lines that are not iptables commands (counted, not errors)
    skipped_lines: int = field(default=0, compare=False)
    #: every file read (the main file and nft includes), for suppression comments
    sources: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def iter_rules(self):
        """Yield (table, chain, rule) for every rule in file order."""
        for table in self.tables:
            for chain in table.chains:
                for rule in chain.rules:
                    yield table, chain, rule


@dataclass(frozen=True, slots=True)
class ParseError:
    """Something a front end could not read.  Becomes finding FW001."""

    span: Span
    message: str
    expected: tuple[str, ...] = ()
    found: str = ""
    source_line: str = ""
    #: the resource limit this reports (FW010, see fwlint.limits); empty for syntax errors
    limit: str = ""


@dataclass(frozen=True, slots=True)
class ParseResult:
    ruleset: Ruleset
    errors: tuple[ParseError, ...] = ()


# --------------------------------------------------------------------------- construction


def _fast_init(cls: type) -> None:
    """Give a frozen, slotted dataclass an ``__init__`` that fills the slots through their
    descriptors.  The generated one calls ``object.__setattr__`` by name per field, which
    makes it about twice as slow; a 100,000-rule file builds millions of these values.
    Same signature, defaults, fields, equality and immutability."""
    from dataclasses import MISSING, fields

    namespace: dict = {}
    params, body = [], []
    for f in fields(cls):
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(self, {f.name})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init


#: the slot descriptor behind ``span`` of each value that may hold a packed span
SPAN_SLOTS: dict[type, Any] = {}


def _lazy_span(cls: type) -> None:
    """Make ``span`` of ``cls`` a property that unpacks a packed span (see packed_line) the
    first time it is read and keeps the Span.  Equality, hashing and repr never read it."""
    slot = SPAN_SLOTS[cls] = cls.__dict__["span"]
    get, put = slot.__get__, slot.__set__

    def span(self) -> Span:
        value = get(self, cls)
        if value.__class__ is int:
            value = unpack_span(value)
            put(self, value)
        return value

    cls.span = property(span, put, doc="Where the value is written in its source file.")


for _cls in (Span, ProtocolMatch, FamilyMatch, AddressMatch, PortMatch, InterfaceMatch,
             CtStateMatch, IcmpTypeMatch, TcpFlagsMatch, MarkMatch, SetMatch, OpaqueMatch,
             Statement, Verdict, Rule, Chain, SetElement, NamedSet, Table, Ruleset,
             ParseError, ParseResult):
    _fast_init(_cls)
for _cls in (ProtocolMatch, FamilyMatch, AddressMatch, PortMatch, InterfaceMatch,
             CtStateMatch, IcmpTypeMatch, TcpFlagsMatch, MarkMatch, SetMatch, OpaqueMatch,
             Statement, Verdict, Rule, Chain):
    _lazy_span(_cls)
del _cls
