"""Model rules -> boxes.

A :class:`Domain` is built once per ruleset: it numbers the interface names and wildcard
prefixes the ruleset mentions (every interface falls in exactly one class), picks the mark
bits that matter, and resolves nft named sets whose elements are written in the file.
``Domain.compile(family, rule)`` gives the rule's match as disjoint boxes (the
over-approximation: unknown matches taken as true) and the texts of the unknown matches
(non-empty means the under-approximation is the empty set).
"""

from __future__ import annotations

import ipaddress
from typing import Final, Optional, Sequence

from ..model import (AddressMatch, CtStateMatch, FamilyMatch, IcmpTypeMatch, InterfaceMatch,
                     Match, MarkMatch, NamedSet, OpaqueMatch, PORT_PROTOCOLS, PortMatch, ProtocolMatch,
                     Rule, Ruleset, SetMatch, TcpFlagsMatch, PROTOCOL_NUMBERS)
from .space import (Box, CT_BASE, CT_MAX, DADDR, DPORT, FAMILY, ICMP, ICMP_MAX, IIF, LOCAL,
                    MARK, OIF, PORT_MAX, PROTOCOL, SADDR, SPORT, TCP_FLAG_BITS, TCPFLAGS, CT,
                    V4_MAX, V6_MAX, Intervals, iv_and, iv_sub, normalize, points)

# Final: a compiled build reads these as C globals, not by a dict lookup at each use
FAMILY_CODES: Final = {"ip": 0, "ip6": 1}
FAMILY_NAMES: Final = ("ip", "ip6")
_PORT_PROTOS: Final = points(PORT_PROTOCOLS)
_MAX_MARK_BITS: Final = 12
_NO_CONSTRAINT_MODULES: Final = frozenset({"comment"})
#: statements that may stop a rule before its verdict (nft ``limit rate 5/minute accept``)
_CONDITIONAL_STATEMENTS: Final = frozenset({"limit", "quota", "opaque"})
_ADDR_MAX: Final = {4: V4_MAX, 6: V6_MAX}
#: Protocol and port matches depend on nothing but their value, and are memoised per value:
#: files repeat them (``-p tcp``, ``--dport 443``), and the shared intervals make later
#: ``is`` tests of box operations succeed (compiling the 100k-rule benchmark: 1.03 -> 0.94 s).
#: Addresses are not: mostly distinct (one per service and endpoint), their memo held 13 MB.
#: The memo's key is a tuple of the fields the match's equality compares, not the match:
#: its dataclass ``__hash__`` and ``__eq__`` are interpreted Python even in a compiled build
#: (about 2,900 instructions a lookup against a few hundred).
#: the destination is (not) this host: one tuple each, not one per rule (a compiled build
#: builds a literal tuple anew each time)
_LOCAL: Intervals = ((1, 1),)
_NOT_LOCAL: Intervals = ((0, 0),)


class Compiled:
    """A rule's match: ``boxes`` with unknown matches taken as true; ``unknown`` their texts.

    Slotted: one per rule (100,003 on the 100k-rule benchmark, 5 MB less than with a
    ``__dict__`` each).  A plain class, not a frozen dataclass: a compiled build runs a
    dataclass's generated ``__init__`` as interpreted Python (a frozen one through
    ``object.__setattr__``), about 3,300 instructions per rule against about 100 for this
    one (compiling the rules of the 100k-rule benchmark: about 0.1 s of CPU)."""

    __slots__ = ("boxes", "unknown")

    boxes: tuple[Box, ...]
    unknown: tuple[str, ...]

    def __init__(self, boxes: tuple[Box, ...], unknown: tuple[str, ...]) -> None:
        self.boxes = boxes
        self.unknown = unknown

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Compiled):
            return NotImplemented
        return self.boxes == other.boxes and self.unknown == other.unknown

    def __hash__(self) -> int:
        return hash((self.boxes, self.unknown))

    def __repr__(self) -> str:
        return f"Compiled(boxes={self.boxes!r}, unknown={self.unknown!r})"

    @property
    def pure(self) -> bool:
        return not self.unknown


def _bits(mask: int) -> list[int]:
    return [i for i in range(32) if mask >> i & 1]


class Domain:
    """The value numbering of one ruleset (interfaces, marks, named sets)."""

    def __init__(self, ruleset: Ruleset) -> None:
        names: set[str] = set()
        prefixes: set[str] = set()
        mark_mask = 0
        mark_masks: set[int] = set()
        mark_values: set[int] = set()
        self.sets: dict[tuple[str, str], NamedSet] = {}
        for table in ruleset.tables:
            for named in table.sets:
                self.sets[(table.name, named.name)] = named
        for _, _, rule in ruleset.iter_rules():
            for match in rule.matches:
                if isinstance(match, InterfaceMatch):
                    for name, wild in zip(match.names, match.wildcard):
                        (prefixes if wild else names).add(name)
                elif isinstance(match, MarkMatch) and not match.conntrack:
                    mark_mask |= match.mask
                    mark_masks.add(match.mask)
                    mark_values.add(match.value & match.mask)
        self.if_names = tuple(sorted(names))
        self.if_prefixes = tuple(sorted(prefixes))
        # class 0: "other"; then one per name; then one per prefix ("prefix*, none of the names")
        self.if_labels = ("(other)",) + self.if_names + tuple(p + "*" for p in self.if_prefixes)
        self._if_class = {n: i + 1 for i, n in enumerate(self.if_names)}
        self._prefix_class = {p: i + 1 + len(self.if_names) for i, p in enumerate(self.if_prefixes)}
        self.if_max = len(self.if_labels) - 1
        # marks: the bits the matches look at when they are few; else, when every match uses
        # one mask, the values they compare with (class 0: any other value)
        bits = _bits(mark_mask)
        self.mark_bits = bits if len(bits) <= _MAX_MARK_BITS else None
        self.mark_mask = next(iter(mark_masks)) if len(mark_masks) == 1 else None
        self.mark_classes = {v: i + 1 for i, v in enumerate(sorted(mark_values))}
        if self.mark_bits is not None:
            self.mark_max = (1 << len(bits)) - 1
        elif self.mark_mask is not None:
            self.mark_max = len(self.mark_classes)
        else:
            self.mark_max = 0
        self._universe: dict[str, Box] = {}
        self._constraints: dict = {}

    # ---------------------------------------------------------------- value encodings

    def interface_class(self, name: str) -> int:
        if name in self._if_class:
            return self._if_class[name]
        best = None
        for prefix in self.if_prefixes:
            if name.startswith(prefix) and (best is None or len(prefix) > len(best)):
                best = prefix
        return self._prefix_class[best] if best is not None else 0

    def interface_set(self, name: str, wildcard: bool) -> Intervals:
        if not wildcard:
            return points((self.interface_class(name),))
        classes = [c for n, c in self._if_class.items() if n.startswith(name)]
        classes += [c for p, c in self._prefix_class.items() if p.startswith(name)]
        return points(classes)

    def mark_value(self, mark: int) -> int:
        if self.mark_bits is not None:
            return sum(1 << i for i, bit in enumerate(self.mark_bits) if mark >> bit & 1)
        if self.mark_mask is not None:
            return self.mark_classes.get(mark & self.mark_mask, 0)
        return 0

    def universe(self, family: str) -> Box:
        """Every packet of a family (ip or ip6)."""
        if family not in self._universe:
            addr = ((0, _ADDR_MAX[4 if family == "ip" else 6]),)
            code = FAMILY_CODES[family]
            self._universe[family] = (
                ((code, code),), ((0, 1),), ((0, self.if_max),), ((0, self.if_max),), addr, addr,
                ((0, 255),), ((0, PORT_MAX),), ((0, PORT_MAX),), ((0, ICMP_MAX),), ((0, 255),),
                ((0, CT_MAX),), ((0, self.mark_max),))
        return self._universe[family]

    # ---------------------------------------------------------------- rules

    def compile(self, family: str, rule: Rule, table: str = "") -> Compiled:
        """The rule's match in a table of ``family`` ("ip", "ip6" or "inet")."""
        families = ("ip", "ip6") if family == "inet" else (family,)
        boxes = [self.universe(f) for f in families if f in FAMILY_CODES]
        unknown: list[str] = []
        memo = self._constraints
        for match in rule.matches:
            if type(match) is OpaqueMatch and match.module in _NO_CONSTRAINT_MODULES:
                continue  # a comment (on nearly every kube-proxy rule): no constraint
            key = _memo_key(match)
            if key is not None:
                constraint = memo.get(key)
                if constraint is None:
                    constraint = memo[key] = self._constraint(match, table)
            else:
                constraint = self._constraint(match, table)
            if constraint is None:
                unknown.append(_match_text(match))
                continue
            if constraint == ():
                continue
            boxes = [c for b in boxes for part in constraint
                     if (c := _restrict(b, part)) is not None]
            if not boxes:
                break
        if rule.verdict is not None:
            unknown.extend(s.text or s.kind for s in rule.statements
                           if s.kind in _CONDITIONAL_STATEMENTS)
        return Compiled(tuple(boxes), tuple(unknown))

    def _constraint(self, match, table: str):
        """A list of alternatives, each a {field: intervals} dict (disjoint alternatives);
        () for no constraint; None for an unknown match."""
        neg = match.negated
        if isinstance(match, ProtocolMatch):
            return [{PROTOCOL: _maybe_not(points(match.protocols), 255, neg)}]
        if isinstance(match, FamilyMatch):
            code = FAMILY_CODES.get(match.family)
            if code is None:
                return None
            return [{FAMILY: _maybe_not(((code, code),), 1, neg)}]
        if isinstance(match, AddressMatch):
            field = SADDR if match.field == "saddr" else DADDR
            code = 0 if match.version == 4 else 1
            values = _maybe_not(_normal(match.intervals), _ADDR_MAX[match.version], neg)
            return [{FAMILY: ((code, code),), field: values}]
        if isinstance(match, PortMatch):
            values = normalize(match.ranges)
            if match.field == "port":
                if neg:
                    rest = _maybe_not(values, PORT_MAX, True)
                    return [{PROTOCOL: _PORT_PROTOS, SPORT: rest, DPORT: rest}]
                return [{PROTOCOL: _PORT_PROTOS, SPORT: values},
                        {PROTOCOL: _PORT_PROTOS, SPORT: iv_sub(((0, PORT_MAX),), values),
                         DPORT: values}]
            field = SPORT if match.field == "sport" else DPORT
            return [{PROTOCOL: _PORT_PROTOS, field: _maybe_not(values, PORT_MAX, neg)}]
        if isinstance(match, InterfaceMatch):
            values = normalize(iv for name, wild in zip(match.names, match.wildcard)
                               for iv in self.interface_set(name, wild))
            field = IIF if match.field == "iif" else OIF
            return [{field: _maybe_not(values, self.if_max, neg)}]
        if isinstance(match, CtStateMatch):
            return [{CT: _maybe_not(_ct_values(match.states), CT_MAX, neg)}]
        if isinstance(match, IcmpTypeMatch):
            proto = ((1, 1),) if match.version == 4 else ((58, 58),)
            values = normalize(
                (t * 256 + c_lo, t * 256 + c_hi)
                for t_lo, t_hi in match.types for t in range(t_lo, min(t_hi, 255) + 1)
                for c_lo, c_hi in (match.codes or ((0, 255),)))
            return [{PROTOCOL: proto, ICMP: _maybe_not(values, ICMP_MAX, neg)}]
        if isinstance(match, TcpFlagsMatch):
            mask = sum(TCP_FLAG_BITS.get(f, 0) for f in match.mask)
            comp = sum(TCP_FLAG_BITS.get(f, 0) for f in match.comp)
            values = points(v for v in range(256) if v & mask == comp)
            return [{PROTOCOL: ((6, 6),), TCPFLAGS: _maybe_not(values, 255, neg)}]
        if isinstance(match, MarkMatch):
            if match.conntrack:
                return None
            if self.mark_bits is not None:
                values = points(c for c in range(self.mark_max + 1)
                                if self._expand_mark(c) & match.mask == match.value & match.mask)
            elif self.mark_mask is not None:
                values = points((self.mark_classes[match.value & match.mask],))
            else:
                return None
            return [{MARK: _maybe_not(values, self.mark_max, neg)}]
        if isinstance(match, SetMatch):
            return self._set_constraint(match, table)
        if isinstance(match, OpaqueMatch):
            if match.module in _NO_CONSTRAINT_MODULES:
                return ()
            if match.module == "addrtype":
                opts = {o[0].lstrip("-"): o[1:] for o in match.options if o}
                if set(opts) == {"dst-type"} and tuple(opts["dst-type"]) == ("LOCAL",):
                    return [{LOCAL: _NOT_LOCAL if neg else _LOCAL}]
            if match.module == "fib" and _is_fib_daddr_local(match):
                return [{LOCAL: _NOT_LOCAL if neg else _LOCAL}]
            return None
        return None

    def _expand_mark(self, compressed: int) -> int:
        return sum(1 << bit for i, bit in enumerate(self.mark_bits or ()) if compressed >> i & 1)

    def _set_constraint(self, match: SetMatch, table: str):
        """An nft named set with its elements in the file, on one field; else unknown."""
        named = self.sets.get((table, match.name))
        if named is None or named.is_map or len(match.fields) != 1 or len(named.key_type) != 1:
            return None
        field_name = match.fields[0]
        key_type = named.key_type[0]
        found: list[tuple[int, int]] = []
        try:
            for element in named.elements:
                if len(element.key) != 1:
                    return None
                found.extend(_parse_set_value(element.key[0], key_type))
        except ValueError:
            return None
        values = normalize(found)
        neg = match.negated
        if key_type in ("ipv4_addr", "ipv6_addr") and field_name in ("saddr", "daddr"):
            version = 4 if key_type == "ipv4_addr" else 6
            code = 0 if version == 4 else 1
            return [{FAMILY: ((code, code),),
                     SADDR if field_name == "saddr" else DADDR:
                         _maybe_not(values, _ADDR_MAX[version], neg)}]
        if key_type == "inet_service" and field_name in ("sport", "dport"):
            return [{PROTOCOL: _PORT_PROTOS,
                     SPORT if field_name == "sport" else DPORT: _maybe_not(values, PORT_MAX, neg)}]
        if key_type == "inet_proto" and field_name == "protocol":
            return [{PROTOCOL: _maybe_not(values, 255, neg)}]
        return None


def _restrict(box: Box, constraint: dict[int, Intervals]) -> Optional[Box]:
    """``box`` narrowed by ``constraint``.  Where the field or the constraint's values hold
    the other whole, the intersection is that operand itself, not a copy (see
    :func:`_normal`; nearly every field of a rule's box is so)."""
    out = list(box)
    for field, values in constraint.items():
        current = out[field]
        v: Intervals
        # ``count``, not ``len(current) == 1`` in the test: mypy would narrow ``current`` to a
        # 1-tuple, which a compiled build unboxes, and ``v = current`` would box a new one
        count = len(current)
        if count == 1 and values:
            lo, hi = current[0]
            if _within(lo, hi, values):
                v = current  # the universe's, or an earlier match's: shared
            elif lo <= values[0][0] and values[-1][1] <= hi:
                v = values  # the match's own intervals: shared with the model
            else:
                v = iv_and(current, values)
        else:
            v = iv_and(current, values)
        if not v:
            return None
        out[field] = v
    return tuple(out)


def _memo_key(match: Match) -> Optional[tuple]:
    """For a protocol or port match, what its equality compares (its class, as a tag, and its
    fields, not its span or raw text); None for other matches (not memoised)."""
    if type(match) is ProtocolMatch:
        return ("protocol", match.protocols, match.negated)
    if type(match) is PortMatch:
        return ("port", match.field, match.ranges, match.negated)
    return None


def _within(lo: int, hi: int, values: Intervals) -> bool:
    """Whether ``[lo, hi]`` lies inside one interval of ``values``."""
    for v_lo, v_hi in values:
        if v_lo > lo:
            return False
        if hi <= v_hi:
            return True
    return False


def _normal(intervals: Sequence[tuple[int, int]]) -> Intervals:
    """``normalize(intervals)``, or ``intervals`` itself when it already is normal.

    The model's address intervals are nearly always one normal interval (a host or a CIDR),
    and nearly every rule has one, all different: shared with the model instead of copied
    (twice, by ``normalize`` and ``iv_and``), the boxes of the 100k-rule benchmark hold
    about 14 MB less (a compiled build boxes new ints for each copy, more than that)."""
    count = len(intervals)  # not tested inline: see ``_restrict``
    if isinstance(intervals, tuple) and count == 1:
        first = intervals[0]
        if isinstance(first, tuple) and len(first) == 2 and first[0] <= first[1]:
            return intervals
    return normalize(intervals)


def _maybe_not(values: Intervals, maximum: int, negated: bool) -> Intervals:
    return iv_sub(((0, maximum),), values) if negated else values


def _ct_values(states: frozenset[str]) -> Intervals:
    wanted = {s.lower() for s in states}
    out = []
    for value in range(CT_MAX + 1):
        base, dnat, snat = CT_BASE[value // 4], value & 2, value & 1
        if base in wanted or ("dnat" in wanted and dnat) or ("snat" in wanted and snat):
            out.append(value)
    return points(out)


def _is_fib_daddr_local(match: OpaqueMatch) -> bool:
    words = " ".join(" ".join(o) for o in match.options) + " " + match.text
    return "daddr" in words and "type" in words and "local" in words and "saddr" not in words


def _parse_set_value(text: str, key_type: str) -> list[tuple[int, int]]:
    text = text.strip()
    if key_type in ("ipv4_addr", "ipv6_addr"):
        if "-" in text:
            lo, hi = text.split("-", 1)
            return [(int(ipaddress.ip_address(lo.strip())), int(ipaddress.ip_address(hi.strip())))]
        net = ipaddress.ip_network(text, strict=False)
        return [(int(net.network_address), int(net.broadcast_address))]
    if key_type == "inet_service":
        if "-" in text:
            lo, hi = text.split("-", 1)
            return [(int(lo), int(hi))]
        return [(int(text), int(text))]
    if key_type == "inet_proto":
        number = PROTOCOL_NUMBERS.get(text)
        value = number if number is not None else int(text)
        return [(value, value)]
    raise ValueError(key_type)


def _match_text(match) -> str:
    text = getattr(match, "text", "")
    if text:
        return text
    if isinstance(match, SetMatch):
        return f"set {match.name}"
    if isinstance(match, MarkMatch):
        return f"{'ct ' if match.conntrack else ''}mark {match.value:#x}/{match.mask:#x}"
    if isinstance(match, OpaqueMatch):
        opts = " ".join(" ".join(o) for o in match.options)
        return f"-m {match.module} {opts}".strip()
    return type(match).__name__


def restrict_box(box: Box, field: int, values: Intervals) -> Optional[Box]:
    """``box`` with one field narrowed to ``values`` (None when empty)."""
    return _restrict(box, {field: values})


def with_field(box: Box, field: int, values: Intervals) -> Box:
    return box[:field] + (values,) + box[field + 1:]

