"""The packet space: exact sets of packets as unions of disjoint boxes.

A *box* is a product of one interval set per field (FIELDS below); an interval set is a
sorted tuple of disjoint, non-adjacent closed integer intervals.  A *space* is a list of
pairwise disjoint boxes.  A firewall rule is almost always one box (each match constrains
one field; negation, multiport lists, CIDRs and ranges are interval sets), so a rule's
match costs one tuple, and "which earlier rules can overlap this one" is answered by
:class:`BoxIndex`, keyed on (protocol, destination port, destination host).

Why boxes and not BDDs (``dd``/CUDD), measured here (python 3.11, 2 shared cores):

- ``import dd`` costs about 0.26 s (DESIGN.md): more than fwlint's whole run on a small
  file in a pre-commit hook (about 0.15 s); boxes need no import and no variable ordering.
- A rule is one box almost always, built in about 40-90 us (``Domain.compile``); one box
  intersection costs about 5-15 us, one difference 20-60 us.  Rules overlap rarely in real
  files, so most rules meet only the few earlier boxes the index returns.
- Kube-proxy-like iptables-save files (``tests/analysis/test_scaling.py`` counts it): the
  box operations grow linearly, 28,624 for 100 services and 112,924 for 400.  Whole
  ``fwlint check`` (parsing and every check, policy checks included) took 3.4 s of CPU on
  10k rules, 10.7 s on 30k, of which parsing 1.0 s and 2.7 s.
- Issue 7, kube-proxy-like benchmark (``bench/out``): the analysis behind every check
  (exposure, rule results, NAT rules) took 21.2 s of CPU on 100k rules and 1.3 s on 10k;
  single-interval fast paths here, index queries that read their slots directly, work
  shared or skipped per DNAT and per decision (see exposure and evaluate) and the cyclic GC
  paused brought it to 8.5 s and 0.8 s, with boxes and the index kept.
- Issue 4, round 2 (``bench/phases.py``, "analysis"): 8.35 -> 6.77 s of CPU on 100k rules,
  0.73 -> 0.63 s on 10k, 0.74 -> 0.67 s on nft-10000; peak RSS of the 100k phases 387 ->
  354 MB; whole ``fwlint check`` of 100k rules 10.6 -> 9.2 s, 353 -> 319 MB.  Intersections
  only tested are no longer built (``box_meets``), ``box_and`` returns an operand that the
  other contains, the volumes and subtractions of the covering choice skip the fields one
  box leaves whole, a chain's last rule indexes no pieces.  Still there, measured after:
  compiling 0.96 s, views and flattening 1.5 s, exposure proper 1.85 s, rule results
  1.4 s (covering choice 0.7, nearly all in its first round), NAT rules 0.85 s (doubts
  0.35).  Tried and dropped (no gain): a compile memo on matches without comments
  (100,003 rules, 44,700 keys: hashing the matches cost what compiling did), building a
  rule's box once from all its constraints, sharing the accepted parts of equal DNAT
  images (24,839 of 29,854), and visiting later covering rounds by falling bound.
- Issue 4, round 3 (``bench/phases.py``, "analysis", same machine and load): 6.95 -> 6.32 s
  of CPU on 100k rules, 0.65 -> 0.61 s on 10k, 0.70 -> 0.68 s on nft-10000; peak RSS of the
  100k phases 354 -> 358 MB.  Interval sets of more than 8 meet one interval by bisection
  (exposure 1.90 -> 1.60 s: its remainders reach 700 intervals in a field), what a chain
  terminates is made only when a pure jump or a goto reads it (views 1.00 -> 0.86 s), and
  NAT rules ask a decision only whether it is certain (0.86 -> 0.70 s).  Tried and dropped:
  a per-chain decision index without the items exposure's parts cannot meet (NEW, SYN,
  mark 0; 12.6 -> 9.6 items a DNAT image; testing each part against that box cost what it
  saved, and leaving dead items out needed all 1,329 forward rules judged, 1.60 -> 1.82 s).
  Still there: compiling 0.98 s, views 0.86, flattening 0.46, exposure 1.57, rule results
  1.38 (covering choice about 0.5: 119,000 volumes for 1,209 shadowed KUBE-FORWARD rules),
  NAT rules 0.69.
- Issue 4/7, round 4, a mypyc-compiled build (``compute_exposure`` alone, after the views
  and decisions it reads; best of 6 on a loaded machine, and the instructions callgrind
  counts, which load does not change): exposure of 100k rules 0.46-0.60 -> 0.24-0.26 s of
  CPU, 7.97 -> 3.28 G instructions (two runs); 10k rules 853 -> 323 M; pure Python
  1.32 -> 0.67 s (best of 2, same load).  Whole analysis phase (``bench/phases.py``, best of 3) compiled 2.58 ->
  2.02 s, pure 5.87 -> 4.56 s; peak RSS 362 -> 349 MB.  What it took: constants the
  compiled code reads are ``Final`` (a module global is a dict lookup at each use there);
  no generators, closures or ``sorted(genexpr)`` in hot paths (a compiled generator is an
  object stepped through the generic iterator protocol); ``query`` returns a list and a
  point query skips the key shapes the index has none of; a field's length is not tested
  as ``len(x) == 1`` where ``x`` is then kept (mypyc narrows it to a 1-tuple and copies
  it, losing the identity the ``is`` tests use); exposure builds the DNAT index only for
  a remainder small enough to subtract from and each DNAT image as one tuple.
The cost of boxes is fragmentation when many boxes are subtracted from a wide one (a
catch-all rule after thousands of narrow ones).  So a rule's region is kept as "its match
minus the earlier pieces the index finds" and made explicit only when needed, decisions
along a call path likewise (``evaluate.Decision``), and the exposure skips subtractions that
cannot change a reported class (``exposure._keeps_projection``).
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from operator import itemgetter
from typing import Final, Iterable, Optional, Sequence

Intervals = tuple[tuple[int, int], ...]
Box = tuple[Intervals, ...]

FIELDS = ("family", "local", "iif", "oif", "saddr", "daddr", "protocol", "sport", "dport",
          "icmp", "tcpflags", "ct", "mark")
# the index of each field in a box; Final, so that a mypyc-compiled build reads them as
# constants instead of looking them up in the module's namespace at every use
FAMILY: Final = 0
LOCAL: Final = 1
IIF: Final = 2
OIF: Final = 3
SADDR: Final = 4
DADDR: Final = 5
PROTOCOL: Final = 6
SPORT: Final = 7
DPORT: Final = 8
ICMP: Final = 9
TCPFLAGS: Final = 10
CT: Final = 11
MARK: Final = 12

V4_MAX = 2**32 - 1
V6_MAX = 2**128 - 1
PORT_MAX = 65535
ICMP_MAX = 255 * 256 + 255  # type * 256 + code

TCP_FLAG_BITS = {"FIN": 1, "SYN": 2, "RST": 4, "PSH": 8, "ACK": 16, "URG": 32, "ECE": 64,
                 "CWR": 128}
#: conntrack value = base state * 4 + 2 * (DNAT done) + (SNAT done)
CT_BASE = ("new", "established", "related", "invalid", "untracked")
CT_MAX = len(CT_BASE) * 4 - 1


def ct_value(state: str, dnat: bool = False, snat: bool = False) -> int:
    return CT_BASE.index(state) * 4 + 2 * dnat + snat


# --------------------------------------------------------------------------- interval sets


def normalize(intervals: Iterable[tuple[int, int]]) -> Intervals:
    """Sort and merge overlapping or adjacent intervals; drop empty ones."""
    if isinstance(intervals, tuple) and len(intervals) == 1:  # a DNAT's address or port
        lo, hi = intervals[0]
        return ((lo, hi),) if lo <= hi else ()
    items = [i for i in intervals if i[0] <= i[1]]  # a list, not a generator: see query
    items.sort()
    if len(items) == 1:  # the common case (one port, one address, one protocol)
        lo, hi = items[0]
        return ((lo, hi),)
    out: list[list[int]] = []
    for lo, hi in items:
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    return tuple([(lo, hi) for lo, hi in out])


def points(values: Iterable[int]) -> Intervals:
    return normalize((v, v) for v in values)


#: above this many intervals, a set meets one interval by bisection instead of a scan
_BISECT_FROM: Final = 8
_lower = itemgetter(0)
_upper = itemgetter(1)


def _overlapping(a: Intervals, lo: int, hi: int) -> tuple[int, int]:
    """The slice ``a[i:k]`` of the intervals of ``a`` that meet ``[lo, hi]``.

    A field fragmented by many subtractions (the exposure's remainder of a chain after
    hundreds of narrow rules: up to 700 intervals) is met by one narrow interval at a time;
    sorted, disjoint intervals have increasing bounds, so two bisections find the slice
    (exposure of the 100k-rule benchmark, whose fields reach 700 intervals: 1.90 -> 1.60 s
    of CPU)."""
    return bisect_left(a, lo, key=_upper), bisect_right(a, hi, key=_lower)


def iv_and(a: Intervals, b: Intervals) -> Intervals:
    if a is b or a == b:
        return a
    if len(a) == 1 and len(b) == 1:
        lo = a[0][0] if a[0][0] > b[0][0] else b[0][0]
        hi = a[0][1] if a[0][1] < b[0][1] else b[0][1]
        return ((lo, hi),) if lo <= hi else ()
    if len(b) == 1 and len(a) > _BISECT_FROM or len(a) == 1 and len(b) > _BISECT_FROM:
        many, ((lo, hi),) = (a, b) if len(b) == 1 else (b, a)
        i, k = _overlapping(many, lo, hi)
        if i >= k:
            return ()
        met = list(many[i:k])
        if met[0][0] < lo:
            met[0] = (lo, met[0][1])
        if met[-1][1] > hi:
            met[-1] = (met[-1][0], hi)
        return tuple(met)
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def iv_sub(a: Intervals, b: Intervals) -> Intervals:
    if len(b) == 1 and len(a) > _BISECT_FROM:
        (lo, hi), = b
        i, k = _overlapping(a, lo, hi)
        if i >= k:
            return a
        left, right = a[i], a[k - 1]
        kept = []
        if left[0] < lo:
            kept.append((left[0], lo - 1))
        if right[1] > hi:
            kept.append((hi + 1, right[1]))
        return a[:i] + tuple(kept) + a[k:]
    out = []
    j = 0
    for lo, hi in a:
        while j < len(b) and b[j][1] < lo:
            j += 1
        k = j
        cur = lo
        while k < len(b) and b[k][0] <= hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def iv_or(a: Intervals, b: Intervals) -> Intervals:
    return normalize(a + b)


def iv_subset(a: Intervals, b: Intervals) -> bool:
    if a is b or not a:
        return True
    if len(b) == 1:  # within b's bounds is enough
        return a[0][0] >= b[0][0] and a[-1][1] <= b[0][1]
    return not iv_sub(a, b)


def iv_contains(a: Intervals, value: int) -> bool:
    for lo, hi in a:
        if lo <= value <= hi:
            return True
        if lo > value:
            return False
    return False


def iv_size(a: Intervals) -> int:
    size = 0
    for lo, hi in a:  # a loop, not sum() of a generator: see ``query``
        size += hi - lo + 1
    return size


# --------------------------------------------------------------------------- boxes


def box_and(a: Box, b: Box) -> Optional[Box]:
    """The intersection of two boxes, or None when they are disjoint.

    The hottest operation of the analysis (about a million calls on a 100k-rule file), so
    the common fields are done inline: a field shared by both boxes (the universe's, kept
    by identity) costs an ``is``, and two single intervals a comparison that returns one
    of the operands when it contains the other (keeping identities for later ``is``).
    Measured on the calls of the 10k-rule benchmark: 3.8 us a call before, 2.7 after.
    Most calls meet a box that contains the other (flattening a call path through a wider
    rule, a part through a catch-all; 187,000 of 239,000 calls on the 100k-rule benchmark):
    a first pass that allocates nothing finds that and returns the contained operand (no
    new tuple: peak RSS of the 100k-rule analysis 331 -> 311 MB, its time unchanged).
    """
    a_in_b = b_in_a = True
    for x, y in zip(a, b):
        if x is y:
            continue
        if len(x) != 1 or len(y) != 1:
            break
        (x_lo, x_hi), = x
        (y_lo, y_hi), = y
        if x_lo < y_lo or x_hi > y_hi:
            a_in_b = False
        if y_lo < x_lo or y_hi > x_hi:
            b_in_a = False
        if not (a_in_b or b_in_a):
            break
    else:
        return a if a_in_b else b
    out = []
    for x, y in zip(a, b):
        if x is y:
            out.append(x)
            continue
        # the lengths are not tested as ``len(x) == 1``: a mypyc-compiled build would narrow
        # ``x`` to a 1-tuple and append a copy, losing the identity later ``is`` tests use
        x_len = len(x)
        y_len = len(y)
        if x_len == 1 and y_len == 1:
            x_lo, x_hi = x[0]
            y_lo, y_hi = y[0]
            lo = x_lo if x_lo > y_lo else y_lo
            hi = x_hi if x_hi < y_hi else y_hi
            if lo > hi:
                return None
            if lo == x_lo and hi == x_hi:
                out.append(x)
            elif lo == y_lo and hi == y_hi:
                out.append(y)
            else:
                out.append(((lo, hi),))
        else:
            z = iv_and(x, y)
            if not z:
                return None
            out.append(z)
    return tuple(out)


#: the order ``box_meets`` compares fields in: those that tell rules apart first (ports and
#: hosts), so most disjoint pairs stop at the first field
_MEET_ORDER: Final[tuple[int, ...]] = (DPORT, DADDR, PROTOCOL, SADDR, CT, MARK, LOCAL, IIF,
                                       FAMILY, SPORT, ICMP, TCPFLAGS, OIF)


def box_meets(a: Box, b: Box) -> bool:
    """``box_and(a, b) is not None`` without building the intersection.

    Most intersections are only tested (which earlier pieces a rule meets, which decisions
    a part meets); building each as a tuple cost more than the test: on the 100k-rule
    benchmark 310,000 of box_and's 476,000 calls were such tests.
    """
    for f in _MEET_ORDER:
        x = a[f]
        y = b[f]
        if x is y:
            continue
        if len(x) == 1 and len(y) == 1:
            if x[0][0] > y[0][1] or y[0][0] > x[0][1]:
                return False
            continue
        i = j = 0
        while True:
            if x[i][1] < y[j][0]:
                i += 1
                if i == len(x):
                    return False
            elif y[j][1] < x[i][0]:
                j += 1
                if j == len(y):
                    return False
            else:
                break
    return True


def box_sub(a: Box, b: Box) -> list[Box]:
    """``a - b`` as disjoint boxes (at most one per field).

    Fields shared by identity and single intervals are done inline, and a field of ``a``
    inside ``b``'s leaves nothing, so only the fields where ``a`` sticks out are subtracted
    (the rule results of the 100k-rule benchmark, whose shadowed rules' regions and
    covering choice subtract, 2.0 -> 1.4 s of CPU; the whole analysis 7.5 -> 6.9 s).
    """
    inter = []
    for x, y in zip(a, b):
        if x is y:
            inter.append(x)
            continue
        x_len = len(x)  # not tested as ``len(x) == 1``: see ``box_and``
        if x_len == 1 and len(y) == 1:
            x_lo, x_hi = x[0]
            y_lo, y_hi = y[0]
            lo = x_lo if x_lo > y_lo else y_lo
            hi = x_hi if x_hi < y_hi else y_hi
            if lo > hi:
                return [a]
            inter.append(x if lo == x_lo and hi == x_hi else ((lo, hi),))
        else:
            z = iv_and(x, y)
            if not z:
                return [a]
            inter.append(z)
    out = []
    for i, x in enumerate(a):
        if inter[i] is x:  # x within b's field: nothing of it outside
            continue
        y = b[i]
        if len(x) == 1 and len(y) == 1:
            (x_lo, x_hi), = x
            (y_lo, y_hi), = y
            rest: Intervals
            if y_lo > x_lo:
                rest = ((x_lo, y_lo - 1), (y_hi + 1, x_hi)) if y_hi < x_hi else \
                    ((x_lo, y_lo - 1),)
            else:
                rest = ((y_hi + 1, x_hi),) if y_hi < x_hi else ()
        else:
            rest = iv_sub(x, y)
        if rest:
            out.append(tuple(inter[:i]) + (rest,) + a[i + 1:])
    return out


def box_subset(a: Box, b: Box) -> bool:
    for x, y in zip(a, b):
        if x is y:
            continue
        if len(y) == 1:  # fields are never empty: within y's bounds is enough
            if x[0][0] < y[0][0] or x[-1][1] > y[0][1]:
                return False
        elif iv_sub(x, y):
            return False
    return True


def box_contains(box: Box, point: Sequence[int]) -> bool:
    return all(iv_contains(x, v) for x, v in zip(box, point))


def box_volume(box: Box) -> int:
    volume = 1
    for x in box:
        if len(x) == 1:
            volume *= x[0][1] - x[0][0] + 1
        else:
            volume *= iv_size(x)
    return volume


def space_and(space: Sequence[Box], other: Sequence[Box]) -> list[Box]:
    out = []
    for a in space:
        for b in other:
            c = box_and(a, b)
            if c is not None:
                out.append(c)
    return out


def space_sub_box(space: Sequence[Box], b: Box) -> list[Box]:
    out: list[Box] = []
    for a in space:
        out.extend(box_sub(a, b))
    return out


def space_sub(space: Sequence[Box], other: Iterable[Box]) -> list[Box]:
    result = list(space)
    for b in other:
        if not result:
            break
        result = space_sub_box(result, b)
    return result


def space_volume(space: Iterable[Box]) -> int:
    volume = 0
    for b in space:
        volume += box_volume(b)
    return volume


def box_and_volume(a: Box, b: Box) -> int:
    """``box_volume(box_and(a, b))`` (0 when disjoint) without building the box: shadowing
    weighs each candidate rule so (1,720 shadowed rules with 39 candidates each on the
    100k-rule benchmark, 119,000 calls; the multiport fields, merged inline, took the
    covering choice from 1.25 to 0.76 s of CPU)."""
    volume = 1
    for x, y in zip(a, b):
        if len(x) == 1 and len(y) == 1:
            (x_lo, x_hi), = x
            (y_lo, y_hi), = y
            size = (x_hi if x_hi < y_hi else y_hi) - (x_lo if x_lo > y_lo else y_lo) + 1
            if size <= 0:
                return 0
        elif x is y:
            size = iv_size(x)
        else:  # iv_size(iv_and(x, y)), merged without building the intersection
            size = 0
            i = j = 0
            x_len, y_len = len(x), len(y)
            while i < x_len and j < y_len:
                x_lo, x_hi = x[i]
                y_lo, y_hi = y[j]
                lo = x_lo if x_lo > y_lo else y_lo
                hi = x_hi if x_hi < y_hi else y_hi
                if lo <= hi:
                    size += hi - lo + 1
                if x_hi < y_hi:
                    i += 1
                else:
                    j += 1
            if not size:
                return 0
        volume *= size
    return volume


def space_and_volume(space: Sequence[Box], other: Sequence[Box]) -> int:
    """``space_volume(space_and(space, other))``."""
    volume = 0
    for a in space:
        for b in other:
            volume += box_and_volume(a, b)
    return volume


def project(space: Iterable[Box], field: int) -> Intervals:
    """The values one field takes anywhere in the space."""
    out: list[tuple[int, int]] = []
    for box in space:
        out.extend(box[field])
    return normalize(out)


# --------------------------------------------------------------------------- the index

_MAX_INDEXED_PORTS: Final = 16
_WILD: Final = None


def _index_keys(box: Box) -> tuple[Optional[tuple[int, ...]], Optional[tuple[int, ...]],
                                   Optional[tuple[int, ...]]]:
    """(protocols, dports, dhosts) as value tuples, None where the box is too wide."""
    daddr = box[DADDR]
    hosts: Optional[tuple[int, ...]] = _WILD
    if len(daddr) == 1:
        lo, hi = daddr[0]
        if lo == hi:
            hosts = (lo,)
    elif len(daddr) <= 4:
        hosts = tuple([lo for lo, _ in daddr])
        for lo, hi in daddr:
            if lo != hi:
                hosts = _WILD
                break
    return _values(box[PROTOCOL], 4), _values(box[DPORT], _MAX_INDEXED_PORTS), hosts


def _values(field: Intervals, most: int) -> Optional[tuple[int, ...]]:
    """The values of an interval set, or None when it has more than ``most``."""
    if len(field) == 1:
        lo, hi = field[0]
        if lo == hi:  # the common case: one protocol, one port
            return (lo,)
        return tuple(range(lo, hi + 1)) if hi - lo < most else _WILD
    if iv_size(field) > most:
        return _WILD
    values: list[int] = []
    for lo, hi in field:
        values.extend(range(lo, hi + 1))
    return tuple(values)


def _shape(wild_protocol: bool, wild_port: bool, wild_host: bool) -> int:
    """The bit of a key's shape in ``BoxIndex._shapes``: 1 for (protocol, port, host), 2 for
    (protocol, port, wide), ... 128 for all wide (the order of ``_query_point``)."""
    return 1 << (4 * wild_protocol + 2 * wild_port + wild_host)


class BoxIndex:
    """Finds the stored boxes that may intersect a query box without scanning them all.

    Items are stored under (protocol, dport, dhost) keys with None for "wide".  A query
    looks up its own values and the wide slots; where the query itself is wide, secondary
    maps from the components it does give to the stored keys keep the lookup narrow.
    """

    __slots__ = ("_slots", "_by", "_count", "_shapes")

    def __init__(self) -> None:
        self._slots: dict[tuple, list] = {}
        self._by: Optional[dict[tuple[int, ...], dict[tuple, list[tuple]]]] = None  # on demand
        self._count = 0
        #: which of the 8 shapes of key the slots have, a bit each (``_shape``)
        self._shapes = 0

    def __len__(self) -> int:
        return self._count

    def add(self, box: Box, item) -> None:
        protos, ports, hosts = _index_keys(box)
        self._count += 1
        for p in protos or (_WILD,):
            for d in ports or (_WILD,):
                for h in hosts or (_WILD,):
                    key = (p, d, h)
                    slot = self._slots.get(key)
                    if slot is None:
                        slot = self._slots[key] = []
                        self._shapes |= _shape(p is _WILD, d is _WILD, h is _WILD)
                        if self._by is not None:
                            for given, stored in self._by.items():
                                stored.setdefault(tuple([key[i] for i in given]), []).append(key)
                    slot.append(item)

    def query(self, box: Box) -> list:
        """Items whose box may intersect ``box`` (each at most once, any order), as a new
        list (a generator, compiled by mypyc, cost more than the list)."""
        if not self._count:
            return []
        proto = box[PROTOCOL]
        dport = box[DPORT]
        daddr = box[DADDR]
        if len(proto) == 1 and len(dport) == 1 and len(daddr) == 1:
            p, p_hi = proto[0]
            d, d_hi = dport[0]
            h, h_hi = daddr[0]
            if p == p_hi and d == d_hi and h == h_hi:
                return self._query_point(p, d, h)
        return self.query_all((box,))

    def _query_point(self, p: int, d: int, h: int) -> list:
        """``query`` for one protocol, port and host (a packet, a DNAT's image, most rules):
        an item sits under at most one of these 8 keys, so no item repeats, the order is
        that of ``itertools.product`` (``_keys``), and no ``seen`` set is needed.  A key of
        a shape no slot has is not looked up (an index of rules that name no host reads 4
        keys, not 8); the keys are written out, as a loop over a tuple of them cost a
        compiled build a generic iteration and a Python call per key."""
        slots = self._slots
        shapes = self._shapes
        out: list = []
        if shapes & 1:
            slot = slots.get((p, d, h))
            if slot:
                out.extend(slot)
        if shapes & 2:
            slot = slots.get((p, d, _WILD))
            if slot:
                out.extend(slot)
        if shapes & 4:
            slot = slots.get((p, _WILD, h))
            if slot:
                out.extend(slot)
        if shapes & 8:
            slot = slots.get((p, _WILD, _WILD))
            if slot:
                out.extend(slot)
        if shapes & 16:
            slot = slots.get((_WILD, d, h))
            if slot:
                out.extend(slot)
        if shapes & 32:
            slot = slots.get((_WILD, d, _WILD))
            if slot:
                out.extend(slot)
        if shapes & 64:
            slot = slots.get((_WILD, _WILD, h))
            if slot:
                out.extend(slot)
        if shapes & 128:
            slot = slots.get((_WILD, _WILD, _WILD))
            if slot:
                out.extend(slot)
        return out

    def query_all(self, boxes: Iterable[Box]) -> list:
        """Items whose box may intersect one of ``boxes`` (each once, any order): the slots
        of all the boxes are gathered first, so an item many boxes meet is read once (a
        policy's remainder of 401 boxes against 30,111 DNAT decisions, on the 100k-rule
        benchmark)."""
        if not self._count:
            return []
        keys: dict[tuple, None] = {}
        for box in boxes:
            for key in self._keys(_index_keys(box)):
                keys[key] = None
        seen: set[int] = set()
        out = []
        slots = self._slots
        for key in keys:
            slot = slots.get(key)
            if slot:
                for item in slot:
                    if id(item) not in seen:
                        seen.add(id(item))
                        out.append(item)
        return out

    def _keys(self, values: tuple) -> list[tuple]:
        """The slot keys a query with these index values reads.

        Where the query is wide in some component, a secondary map from the components it
        gives to the stored keys is read, made on first use for that choice of components
        (the 100k-rule benchmark's DNAT index is read with 3 of the 7 choices)."""
        given = tuple([i for i in range(3) if values[i] is not _WILD])
        choices = [values[i] + (_WILD,) for i in given]
        if len(given) == 3:
            return list(itertools.product(*choices))
        if not given:
            return list(self._slots)
        if self._by is None:
            self._by = {}
        stored = self._by.get(given)
        if stored is None:
            stored = self._by[given] = {}
            for key in self._slots:
                stored.setdefault(tuple([key[i] for i in given]), []).append(key)
        out: list[tuple] = []
        for combo in itertools.product(*choices):
            keys = stored.get(combo)
            if keys:
                out.extend(keys)
        return out
