"""Chain evaluation over boxes: regions, shadowing, NAT composed with filter, exposure.

Each chain is evaluated once, for the whole packet space of its table's family: a rule's
*region* is its match minus what the earlier rules of the chain take away (terminating
rules, returns, gotos, and the part of a jump that the called chain terminates).  Because
a chain treats each packet on its own, the region of a rule at one call site is the region
over the whole space intersected with what that call site sends in, so the call sites of
a user chain never need separate work; flattening a base chain (for verdicts and exposure)
intersects along the call path.

Unknown matches (OpaqueMatch, unresolved sets, nft ``limit`` before a verdict) in two views:
a rule's own match is over-approximated (the unknown match may be true), while earlier rules
take away only what they certainly take (a rule with an unknown match takes nothing, a jump
only what a chain without unknown matches surely ends).  So an empty region means the rule
is certainly never reached (definite shadowing), and a packet in a region may get that
rule's verdict.  Whether it certainly does is answered by ``Decision.doubts``: the unknown
matches on its path and those of earlier rules that overlap it (each chain keeps them in a
second index, ``ChainView.maybe``); none means definite.

Memory (issue 7: peak RSS at most 2x ``iptables-restore --test``, 275 MB on the 100k-rule
benchmark).  The analysis held about 190 MB at its peak in FW210, over a model of about
120 MB; now about 115 MB.  What went: per-rule lists in each of the 35,911 chain views (what
a rule ends, its hits even when it has none, its own match a second time), an index and an
empty cut set per view, the unknown matches' index of chains only asked yes or no, copies
of address intervals the model holds, jump targets equal to a chain key but not it, and
each decision's path next to its steps.  A compiled build also boxes a new tuple wherever
mypy narrows a tuple by ``len()`` or a fixed-length tuple type is stored (``ChainKey``).
Whole ``fwlint check`` of the 100k-rule file: 308.5 -> 251 MB pure, 333.7 -> 259 MB with
the analysis modules compiled; output identical.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from ..model import Chain, Rule, Ruleset, Table, Verdict
from . import Exposure, NatRule, Outcome, Packet, RuleResult
from .compile import Compiled, Domain, FAMILY_NAMES, restrict_box
from .space import (CT, CT_BASE, DADDR, DPORT, FAMILY, LOCAL, PROTOCOL, TCP_FLAG_BITS, Box,
                    BoxIndex, box_and_volume, box_contains, box_meets, box_subset,
                    ct_value, normalize, points, space_and, space_and_volume, space_sub,
                    space_sub_box, space_volume)

NAT_IN_KINDS = frozenset({"dnat", "redirect"})
#: a chain: (position of its table in the ruleset, chain name).  A plain tuple to a
#: compiled build: ``tuple[int, str]`` is unboxed there, and boxed anew (a new tuple) at
#: each store in the per-chain dicts (about 5 MB on the 100k-rule benchmark)
ChainKey = tuple
_MAX_COVER_CANDIDATES = 64
_NEVER = 2**62  # a rule position after every rule
_SMALL_CHAIN = 8  # pieces: below this a chain's later rules are scanned, not indexed
_NEW = points(range(4))  # ct base state "new", with or without the virtual dnat/snat


class Entry:
    """One rule of one chain, compiled.

    A plain slotted class, not a dataclass: a compiled build runs a dataclass's generated
    ``__init__`` as interpreted Python (about 2,000 instructions per rule, 100,003 rules on
    the 100k-rule benchmark)."""

    __slots__ = ("index", "rule", "kind", "comp", "target")

    index: int
    rule: Rule
    kind: str  # "term" | "return" | "jump" | "goto" | "none"
    comp: Compiled
    target: Optional[ChainKey]

    def __init__(self, index: int, rule: Rule, kind: str, comp: Compiled,
                 target: Optional[ChainKey] = None) -> None:
        self.index = index
        self.rule = rule
        self.kind = kind
        self.comp = comp
        self.target = target

    def __repr__(self) -> str:
        return (f"Entry(index={self.index!r}, rule={self.rule!r}, kind={self.kind!r}, "
                f"comp={self.comp!r}, target={self.target!r})")

    @property
    def verdict(self) -> Optional[Verdict]:
        return self.rule.verdict

    def effect(self) -> tuple:
        v = self.rule.verdict
        if v is None:
            return ("none",)
        return (v.kind, v.target, v.to_addresses, v.to_ports)


class Piece:
    """A box an earlier rule takes away from the rules after it (or, in ``maybe``, may take
    away, because of the unknown matches ``reasons``).  A plain slotted class, as ``Entry``
    and ``Decision`` are: a compiled build runs a dataclass's ``__init__`` as interpreted
    Python."""

    __slots__ = ("box", "entry", "reasons")

    box: Box
    entry: Entry
    reasons: tuple[str, ...]

    def __init__(self, box: Box, entry: Entry, reasons: tuple[str, ...] = ()) -> None:
        self.box = box
        self.entry = entry
        self.reasons = reasons

    def __repr__(self) -> str:
        return f"Piece(box={self.box!r}, entry={self.entry!r}, reasons={self.reasons!r})"


class ChainView:
    """One chain, evaluated once over the whole packet space of its family.

    A rule's region (its match minus what earlier rules take) is kept as the match plus the
    earlier pieces that intersect it (``hits``), and made explicit only on demand: a wide
    rule after thousands of narrow ones would otherwise fragment into thousands of boxes.
    Slotted, as are entries, pieces and decisions: a kube-proxy file has one view per
    service and endpoint (35,911 on the 100k-rule benchmark).  So a view holds only what
    differs from chain to chain: rules that meet no earlier piece (all but 1,844 of the
    100,003) have no ``hits`` entry, a chain without pieces shares one empty index, what a
    chain ends is made from its entries when first asked (a list of (rule, called view,
    meet) per rule held 15 MB), and its unknown matches are a plain list until an index of
    them is needed (most of the 7,173 chains that have some are only asked yes or no).
    """

    __slots__ = ("entries", "hits", "covers", "exits", "cut", "maybe_pieces", "_maybe",
                 "first_maybe", "_regions", "_reached", "_terminated", "_views")

    def __init__(self, entries: list[Entry], views: dict[ChainKey, "ChainView"]) -> None:
        #: the chain's rules, compiled (a rule's own match is ``entries[i].comp.boxes``)
        self.entries = entries
        #: rule position -> the earlier pieces that intersect its match, in rule order (only
        #: for rules that meet some; a shared empty dict until the chain has one)
        self.hits: dict[int, list[Piece]] = _NO_HITS
        #: the pieces each rule takes away from the rules after it
        self.covers = _NO_PIECES_INDEX
        #: a RETURN or goto in the chain: a rule ends only its region, not its whole match
        self.exits = False
        #: positions of jumps and gotos into a chain that was being evaluated (a jump
        #: cycle: not followed, the called chain counts as ending nothing)
        self.cut = _NO_CUT
        #: rules that may take packets, because of the unknown matches ``Piece.reasons``,
        #: in rule order; ``maybe`` indexes them
        self.maybe_pieces: list[Piece] = _NO_PIECES
        self._maybe: Optional[BoxIndex] = None
        self.first_maybe = _NEVER  # the position of the first rule in ``maybe_pieces``
        self._regions: Optional[dict[int, list[Box]]] = None
        self._reached: Optional[dict[int, bool]] = None
        self._terminated: Optional[list[Box]] = None
        self._views = views  # the evaluation's views, where ``terminated`` finds called chains

    @property
    def maybe(self) -> BoxIndex:
        """``maybe_pieces`` indexed (made on first use)."""
        if self._maybe is None:
            if not self.maybe_pieces:
                return _NO_PIECES_INDEX
            index = BoxIndex()
            for piece in self.maybe_pieces:
                index.add(piece.box, piece)
            self._maybe = index
        return self._maybe

    def hits_of(self, i: int) -> Sequence[Piece]:
        """The earlier pieces that intersect rule ``i``'s match."""
        return self.hits.get(i, ())

    def region(self, i: int) -> list[Box]:
        """The explicit region of rule ``i``."""
        hits = self.hits.get(i)
        if not hits:
            return list(self.entries[i].comp.boxes)
        if self._regions is None:
            self._regions = {}
        elif i in self._regions:
            return self._regions[i]
        region = list(self.entries[i].comp.boxes)
        for piece in hits:
            if not region:
                break
            region = space_sub_box(region, piece.box)
        self._regions[i] = region
        return region

    @property
    def terminated(self) -> list[Box]:
        """The packets this chain ends (with the chains it calls), made on first use.

        Only a pure jump's covers and the chains that goto here read it, so most chains
        never need it: kube-proxy's service dispatch jumps past ``statistic`` matches,
        which are not pure (views of the 100k-rule benchmark 1.00 -> 0.86 s of CPU)."""
        if self._terminated is None:
            out: list[Box] = []
            for e in self.entries:
                own = e.comp.boxes
                if not own:
                    continue
                if e.kind == "term":
                    out.extend(self.region(e.index) if self.exits else own)
                elif e.kind in ("jump", "goto"):
                    assert e.target is not None
                    called = NO_VIEW if e.index in self.cut else self._views[e.target]
                    out.extend(space_and(self.region(e.index) if self.exits else own,
                                         called.terminated))
            self._terminated = out
        return self._terminated

    def reached(self, i: int) -> bool:
        """Whether some packet reaches and matches rule ``i`` (cheap when the earlier
        pieces are too small to cover it, whatever their union)."""
        own = self.entries[i].comp.boxes
        if not own:
            return False
        hits = self.hits.get(i)
        if not hits:
            return True
        # memoised: the redundancy of each earlier rule asks again about the later rules
        # (102,678 calls for 37,663 rules of the 100k-rule benchmark, each summing volumes
        # over up to a thousand pieces of a chain of overlapping multiport rules)
        if self._reached is None:
            self._reached = {}
        else:
            known = self._reached.get(i)
            if known is not None:
                return known
        result = True
        volume = space_volume(own)
        taken = 0
        for piece in hits:
            for b in own:
                taken += box_and_volume(b, piece.box)
            if taken >= volume:
                result = bool(self.region(i))
                break
        self._reached[i] = result
        return result


_NO_HITS: dict[int, list[Piece]] = {}  # never added to
_NO_CUT: frozenset[int] = frozenset()  # not a singleton: 216 bytes a view if made each time
_NO_PIECES: list[Piece] = []  # never added to
_NO_PIECES_INDEX = BoxIndex()  # never added to
NO_VIEW = ChainView([], {})

#: what a flattened path subtracts: (chain view, rule position) = the pieces of that chain
#: before that rule
Minus = tuple[tuple[ChainView, int], ...]


def subtract(boxes: Iterable[Box], minus: Minus, keep=None,
             emptied: Optional[list] = None) -> list[Box]:
    """``boxes`` minus the earlier pieces ``minus`` names, found through each chain's index.

    ``keep(box, piece_box)`` True skips a piece (see exposure: pieces that cannot change
    what is reported).  ``emptied`` collects (view, piece) for each piece that took the
    last of a box (see :func:`taken_whole`)."""
    result = list(boxes)
    for view, limit in minus:
        out: list[Box] = []
        for b in result:
            parts = [b]
            for piece in view.covers.query(b):
                if piece.entry.index >= limit:
                    continue
                if keep is not None and keep(b, piece.box):
                    continue
                if box_meets(b, piece.box):
                    parts = space_sub_box(parts, piece.box)
                    if not parts:
                        if emptied is not None:
                            emptied.append((view, piece))
                        break  # a later piece of a long chain prefix cannot bring any back
            out.extend(parts)
        result = out
        if not result:
            break
    return result


def taken_whole(box: Box, minus: Minus, takers: Iterable[tuple["ChainView", Piece]]) -> bool:
    """True when one piece of ``takers`` contains ``box`` and is among the pieces ``minus``
    names: then ``subtract([box], minus, keep)`` is empty whatever ``keep`` (a piece that
    contains the box is never kept), without querying the chain indexes."""
    for view, piece in takers:
        if box_subset(box, piece.box):
            index = piece.entry.index
            for minus_view, limit in minus:
                if minus_view is view and index < limit:
                    return True
    return False


def minus_contains(minus: Minus, point: tuple[int, ...]) -> bool:
    point_box = tuple(((v, v),) for v in point)
    for view, limit in minus:
        for piece in view.covers.query(point_box):
            if piece.entry.index < limit and box_contains(piece.box, point):
                return True
    return False


class Decision:
    """Packets a base chain decides through one terminal rule (reached via ``path``):
    ``positive`` minus the earlier pieces ``minus``.  A plain slotted class (see ``Piece``)."""

    __slots__ = ("positive", "minus", "entry", "steps", "_space", "_doubts")

    positive: tuple[Box, ...]
    minus: Minus
    entry: Entry
    steps: tuple[tuple[ChainView, Entry], ...]
    _space: Optional[list[Box]]
    _doubts: Optional[tuple[str, ...]]

    def __init__(self, positive: tuple[Box, ...], minus: Minus, entry: Entry,
                 steps: tuple[tuple[ChainView, Entry], ...] = ()) -> None:
        self.positive = positive
        self.minus = minus
        self.entry = entry
        self.steps = steps
        self._space = None
        self._doubts = None

    def __repr__(self) -> str:
        return (f"Decision(positive={self.positive!r}, minus={self.minus!r}, "
                f"entry={self.entry!r}, steps={self.steps!r})")

    @property
    def verdict(self) -> Verdict:
        """The terminal rule's verdict (a decision is only ever made by one)."""
        verdict = self.entry.rule.verdict
        assert verdict is not None
        return verdict

    def doubts(self, boxes: Optional[Iterable[Box]] = None) -> tuple[str, ...]:
        """The unknown matches that may change this decision for ``boxes`` (default: all of
        it): on the path itself, or in earlier rules that overlap it.  () means definite."""
        if boxes is None:
            if self._doubts is None:
                self._doubts = self._find_doubts(self.positive)
            return self._doubts
        return self._find_doubts(list(boxes))

    def certain(self) -> bool:
        """``not self.doubts()``, stopping at the first doubt found.

        NAT rules only ask whether each DNAT decision is certain; exposure reads the doubts
        of few of them.  Kube-proxy's endpoint decisions all pass a ``statistic`` jump, so
        the answer is usually the first step with an unknown match, without collecting the
        rest (the 100k-rule benchmark's 27,972 DNAT decisions: NAT rules 0.86 -> 0.58 s of
        CPU)."""
        if self._doubts is not None:
            return not self._doubts
        if any(entry.comp.unknown for _, entry in self.steps):
            return False
        for view, entry in self.steps:
            if view.first_maybe >= entry.index:
                continue
            pieces = view.maybe_pieces
            for b in self.positive:
                # a yes or no needs no order: a few pieces are scanned, not indexed
                for piece in pieces if len(pieces) <= _SMALL_CHAIN else view.maybe.query(b):
                    if piece.entry.index < entry.index and piece.reasons and \
                            box_meets(piece.box, b):
                        return False
        return True

    def _find_doubts(self, boxes: Sequence[Box]) -> tuple[str, ...]:
        out: list[str] = []
        for view, entry in self.steps:
            out.extend(entry.comp.unknown)
            if view.first_maybe >= entry.index:
                continue  # no earlier rule of this chain has an unknown match
            for b in boxes:
                for piece in view.maybe.query(b):
                    if piece.entry.index < entry.index and box_meets(piece.box, b):
                        out.extend(piece.reasons)
        return tuple(dict.fromkeys(out))

    @property
    def path(self) -> tuple[Rule, ...]:
        """The rules from the base chain to the deciding rule (made when asked: the steps
        hold them, and 35,121 decisions of the 100k-rule benchmark held them twice)."""
        return tuple(entry.rule for _, entry in self.steps)

    @property
    def key(self) -> tuple[int, ...]:
        """The path by rule identity (equal rules on different lines differ here)."""
        return tuple(id(r) for r in self.path)

    @property
    def space(self) -> list[Box]:
        """The explicit space (computed once)."""
        if self._space is None:
            self._space = subtract(self.positive, self.minus)
        return self._space

    def contains(self, point: tuple[int, ...]) -> bool:
        return any(box_contains(b, point) for b in self.positive) and \
            not minus_contains(self.minus, point)


@dataclass
class _Hook:
    table: Table
    chain: Chain
    key: ChainKey


class Evaluation:
    """All evaluated chains of one ruleset (computed on demand, memoised)."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.domain = Domain(ruleset)
        self.tables: dict[ChainKey, tuple[Table, Chain]] = {}
        #: each key of ``tables`` by itself: a jump's target is that tuple, not an equal copy
        #: (69,891 jumps of the 100k-rule benchmark, 5 MB)
        self._keys: dict[ChainKey, ChainKey] = {}
        for t_index, table in enumerate(ruleset.tables):
            if table.family not in ("ip", "ip6", "inet"):
                continue
            for chain in table.chains:
                key = (t_index, chain.name)
                if key not in self.tables:
                    self.tables[key] = (table, chain)
                    self._keys[key] = key
        self._entries: dict[ChainKey, list[Entry]] = {}
        self._views: dict[ChainKey, ChainView] = {}
        self._unknowns: dict[ChainKey, tuple[str, ...]] = {}
        self._pure: dict[ChainKey, bool] = {}
        self._stack: set[ChainKey] = set()
        self._decisions: dict[ChainKey, list[Decision]] = {}
        self._decision_index: dict[ChainKey, BoxIndex] = {}
        self._effects: dict[ChainKey, frozenset] = {}
        self._terminal: dict[ChainKey, bool] = {}
        self._hooks: dict[tuple, list[_Hook]] = {}
        self._exposure: Optional[tuple[Exposure, ...]] = None
        #: exposure's memo: id of a decision index item -> taken whole in its chain
        self.dead_items: dict[int, bool] = {}
        self._rule_results: Optional[tuple[RuleResult, ...]] = None

    # ---------------------------------------------------------------- chains

    def entries(self, key: ChainKey) -> list[Entry]:
        if key not in self._entries:
            table, chain = self.tables[key]
            domain = self.domain
            family, table_name = table.family, table.name
            out = []
            for i, rule in enumerate(chain.rules):
                v = rule.verdict
                target = None
                if v is None or v.kind == "continue":
                    kind = "none"
                elif v.kind in ("jump", "goto"):
                    kind = v.kind
                    target = self._keys.get((key[0], v.target or ""))
                    if target is None:
                        kind = "none"
                elif v.kind == "return":
                    kind = "return"
                else:
                    kind = "term"
                out.append(Entry(i, rule, kind, domain.compile(family, rule, table_name), target))
            self._entries[key] = out
        return self._entries[key]

    def pure(self, key: ChainKey) -> bool:
        """No unknown match in the chain or in any chain it jumps to."""
        if key not in self._pure:
            self._pure[key] = True  # cycles: assume pure while visiting
            result = True
            for e in self.entries(key):
                if not e.comp.pure or (e.target is not None and not self.pure(e.target)):
                    result = False
                    break
            self._pure[key] = result
        return self._pure[key]

    def view(self, key: ChainKey) -> ChainView:
        if key in self._views:
            return self._views[key]
        if key in self._stack:
            return NO_VIEW  # a jump cycle: not followed (FW204 reports it)
        self._stack.add(key)
        try:
            result = self._evaluate(key)
        finally:
            self._stack.discard(key)
        self._views[key] = result
        return result

    def unknowns(self, key: ChainKey) -> tuple[str, ...]:
        """The unknown matches of a chain and of the chains it calls."""
        if key not in self._unknowns:
            self._unknowns[key] = ()
            out: list[str] = []
            for e in self.entries(key):
                out.extend(e.comp.unknown)
                if e.target is not None:
                    out.extend(self.unknowns(e.target))
            self._unknowns[key] = tuple(dict.fromkeys(out))
        return self._unknowns[key]

    def _evaluate(self, key: ChainKey) -> ChainView:
        entries = self.entries(key)
        view = ChainView(entries, self._views)
        index: Optional[BoxIndex] = None  # made with the first piece
        maybe: Optional[list[Piece]] = None
        cut: list[int] = []
        # without RETURN or goto, a packet matching a terminal rule ends in this chain (here
        # or earlier), so what the chain ends is the union of matches: no subtraction needed
        view.exits = any(e.kind in ("return", "goto") for e in entries)
        # the last rule's pieces are not indexed: every reader takes only the pieces before
        # a rule of the chain (a kube-proxy endpoint chain's DNAT is its last rule, so most
        # of its 36k chains keep an empty index: views and flattening 1.6 -> 1.5 s of CPU
        # on the 100k-rule benchmark)
        last = len(entries) - 1
        for e in entries:
            own = e.comp.boxes
            if own and index is not None:
                found: dict[int, Piece] = {}
                for b in own:
                    for piece in index.query(b):
                        found[id(piece)] = piece
                hits = [p for p in sorted(found.values(), key=lambda p: p.entry.index)
                        if any(box_meets(b, p.box) for b in own)]
                if hits:
                    if view.hits is _NO_HITS:
                        view.hits = {}
                    view.hits[e.index] = hits
            covers: list[Box] = []
            doubts: tuple[str, ...] = e.comp.unknown
            if e.kind in ("term", "return", "goto"):
                if e.comp.pure:
                    covers = list(own)
                if e.kind == "goto" and own:
                    assert e.target is not None
                    if self.view(e.target) is NO_VIEW:
                        cut.append(e.index)
            elif e.kind == "jump":
                assert e.target is not None
                called = self.view(e.target)
                if called is NO_VIEW:
                    cut.append(e.index)
                if e.comp.pure and self.pure(e.target):
                    covers = space_and(own, called.terminated)
                else:
                    extra = self.unknowns(e.target)
                    if extra or len(doubts) > 1:  # else the tuple is kept as it is
                        doubts = tuple(dict.fromkeys(doubts + extra))
            if e.index == last:
                break  # only rules after a piece read it (``subtract``, ``doubts``)
            for c in covers:
                if index is None:
                    index = view.covers = BoxIndex()
                index.add(c, Piece(c, e))
            if doubts and e.kind != "none":
                if maybe is None:
                    maybe = view.maybe_pieces = []
                    view.first_maybe = e.index
                for b in own:
                    maybe.append(Piece(b, e, doubts))
        if cut:
            view.cut = frozenset(cut)
        return view

    def effects(self, key: ChainKey) -> frozenset:
        """The terminal effects a chain (with the chains it calls) can have."""
        if key not in self._effects:
            self._effects[key] = frozenset()
            out: set[tuple] = set()
            for e in self.entries(key):
                if e.kind == "term":
                    out.add(e.effect())
                elif e.target is not None:
                    out |= self.effects(e.target)
            self._effects[key] = frozenset(out)
        return self._effects[key]

    def reaches_terminal(self, key: ChainKey) -> bool:
        """Whether a terminal rule is in the chain or a chain it calls (a walk over all of
        them, so a jump cycle cannot leave a partial answer behind)."""
        found = self._terminal.get(key)
        if found is None:
            found = self._terminal[key] = any(e.kind == "term" for _, e in self._walk(key))
        return found

    def _piece_effects(self, entry: Entry) -> frozenset:
        if entry.target is not None and entry.kind in ("jump", "goto"):
            return self.effects(entry.target)
        return frozenset({entry.effect()})

    # ---------------------------------------------------------------- per-rule results

    def rule_results(self) -> tuple[RuleResult, ...]:
        """Computed once: FW201, FW202 and FW209 each read every result."""
        if self._rule_results is None:
            out: list[RuleResult] = []
            for key, (table, chain) in self.tables.items():
                out.extend(self._chain_results(key, table, chain))
            self._rule_results = tuple(out)
        return self._rule_results

    def _chain_results(self, key, table: Table, chain: Chain) -> Iterable[RuleResult]:
        view = self.view(key)
        entries = self.entries(key)
        later_index: Optional[BoxIndex | list[Piece]] = None
        for e in entries:
            hits = view.hits_of(e.index)
            if not e.comp.boxes:
                continue
            if not view.reached(e.index):
                covering, conflict = self._covering(e, hits)
                yield RuleResult(table.name, table.family, chain.name, e.index, e.rule,
                                 shadowed=True, conflict=conflict, covering=covering)
                continue
            correlated = self._correlated(e, hits)
            redundant: tuple[Rule, ...] | None = None
            if e.kind == "term" and len(hits) <= _MAX_COVER_CANDIDATES:
                if later_index is None:
                    later = [Piece(b, other) for other in entries for b in other.comp.boxes]
                    if len(later) <= _SMALL_CHAIN:
                        later_index = later
                    else:
                        later_index = BoxIndex()
                        for piece in later:
                            later_index.add(piece.box, piece)
                redundant = self._redundant(e, view.region(e.index), later_index, chain, view)
            if redundant is not None or correlated:
                yield RuleResult(table.name, table.family, chain.name, e.index, e.rule,
                                 redundant=redundant is not None, covering=redundant or (),
                                 correlated=correlated)

    def _covering(self, e: Entry, hits: Sequence[Piece]) -> tuple[tuple[Rule, ...], bool]:
        """The fewest earlier rules that cover ``e`` (greedy), plus one that conflicts."""
        by_entry: dict[int, tuple[Entry, list[Box]]] = {}
        for piece in hits[:_MAX_COVER_CANDIDATES * 4]:
            by_entry.setdefault(id(piece.entry), (piece.entry, []))[1].append(piece.box)
        groups = list(by_entry.values())[:_MAX_COVER_CANDIDATES]
        remaining = list(e.comp.boxes)
        chosen: list[Entry] = []
        # lazy greedy: what a group covers of ``remaining`` only shrinks as ``remaining``
        # does, so last round's volume bounds this round's, and a group whose bound cannot
        # beat the best so far is not recomputed (the choice is the same: the first group
        # of greatest volume).  On the 100k-rule benchmark (1,720 shadowed rules, 39
        # candidate pieces each, 3.4 chosen) it halves the volumes computed.
        bounds: list[Optional[int]] = [None] * len(groups)
        # a group of one box takes at most all that remains, so the first group that takes
        # all of it is the choice and the later ones need no look (groups of several boxes
        # may overlap themselves: their volume may count a packet twice)
        single = all(len(group[1]) == 1 for group in groups)
        while remaining and groups:
            best, best_volume = None, 0
            whole = space_volume(remaining) if single else -1
            for position, group in enumerate(groups):
                bound = bounds[position]
                if bound is not None and bound <= best_volume:
                    continue
                volume = space_and_volume(remaining, group[1])
                bounds[position] = volume
                if volume > best_volume:
                    best, best_volume = position, volume
                    if volume == whole:
                        break
            if best is None:
                break
            chosen.append(groups[best][0])
            remaining = space_sub(remaining, groups[best][1])
            del groups[best]
            del bounds[best]
        mine = frozenset({e.effect()}) if e.kind == "term" else \
            (self.effects(e.target) if e.target is not None else frozenset({e.effect()}))
        if e.kind == "none":
            chosen.sort(key=lambda c: c.index)
            return tuple(c.rule for c in chosen), False
        differ = [c for c in chosen if self._piece_effects(c) != mine]
        if not differ:
            for group in groups:
                if self._piece_effects(group[0]) != mine:
                    chosen.append(group[0])
                    differ.append(group[0])
                    break
        chosen.sort(key=lambda c: c.index)
        return tuple(c.rule for c in chosen), bool(differ)

    def _correlated(self, e: Entry, hits: Sequence[Piece]) -> tuple[Rule, ...]:
        """Earlier terminal rules with another verdict that overlap ``e`` only in part."""
        if e.kind != "term":
            return ()
        mine = [b for b in (restrict_box(b, CT, _NEW) for b in e.comp.boxes) if b is not None]
        if not mine:
            return ()
        mine_volume = space_volume(mine)
        effect = e.effect()
        out: list[Rule] = []
        for piece in hits:
            other = piece.entry
            if other.kind != "term" or other.effect() == effect or other.rule in out:
                continue
            theirs = [b for b in (restrict_box(b, CT, _NEW) for b in other.comp.boxes)
                      if b is not None]
            common = space_and_volume(mine, theirs)
            if 0 < common < mine_volume and common < space_volume(theirs):
                out.append(other.rule)
        return tuple(out)

    def _redundant(self, e: Entry, region: list[Box], later: BoxIndex | list[Piece],
                   chain: Chain, view: ChainView) -> Optional[tuple[Rule, ...]]:
        """Later rules (or the policy) giving the same verdict to every packet of ``e``.

        ``later``: the chain's pieces, indexed, or as a plain list for a small chain (an
        index per chain of kube-proxy's 36k two- and three-rule chains cost more than it
        saved: 0.93 -> 0.41 s on the 100k-rule benchmark)."""
        rest = list(region)
        found: dict[int, Piece] = {}
        if isinstance(later, list):
            for piece in later:
                if piece.entry.index > e.index:
                    found[id(piece)] = piece
        else:
            for b in rest:
                for piece in later.query(b):
                    if piece.entry.index > e.index:
                        found[id(piece)] = piece
        same: list[Rule] = []
        for piece in sorted(found.values(), key=lambda p: p.entry.index):
            if not rest:
                break
            other = piece.entry
            if not any(box_meets(b, piece.box) for b in rest):
                continue
            if other.kind == "none" or not view.reached(other.index):
                continue  # passes the packet on, or is never reached (shadowed-rule says so)
            if other.kind == "term" and other.effect() == e.effect() and other.comp.pure:
                rest = space_sub_box(rest, piece.box)
                if other.rule not in same:
                    same.append(other.rule)
                continue
            return None
        if rest:
            if chain.policy is None or chain.policy != (e.verdict.kind if e.verdict else None):
                return None
            return tuple(same)
        return tuple(same)

    # ---------------------------------------------------------------- base chains

    def hooks(self, family: str, hook: str, kinds: tuple[str, ...]) -> list[_Hook]:
        """Base chains of one hook that see packets of ``family``, by priority."""
        memo = (family, hook, kinds)
        if memo not in self._hooks:
            self._hooks[memo] = self._find_hooks(family, hook, kinds)
        return self._hooks[memo]

    def _find_hooks(self, family: str, hook: str, kinds: tuple[str, ...]) -> list[_Hook]:
        out = []
        for key, (table, chain) in self.tables.items():
            if chain.hook != hook or (chain.type or "filter") not in kinds:
                continue
            if table.family not in (family, "inet"):
                continue
            out.append((chain.priority or 0, key[0], _Hook(table, chain, key)))
        out.sort(key=lambda x: (x[0], x[1]))
        return [h for _, _, h in out]

    def decisions(self, key: ChainKey) -> list[Decision]:
        """The terminal decisions of a base chain, flattened through jumps and gotos."""
        if key not in self._decisions:
            out: list[Decision] = []
            self._flatten(key, None, (), (), out, set())
            self._decisions[key] = out
        return self._decisions[key]

    def decision_index(self, key: ChainKey) -> BoxIndex:
        """The decisions of a base chain by (order, positive box, decision), built on first
        use: exposure and NAT rules read a nat chain's decisions in order, only single
        packets look them up (30k DNAT decisions on the 100k-rule benchmark)."""
        if key not in self._decision_index:
            index = BoxIndex()
            for order, decision in enumerate(self.decisions(key)):
                for b in decision.positive:
                    index.add(b, (order, b, decision))
            self._decision_index[key] = index
        return self._decision_index[key]

    def _flatten(self, key, positive: Optional[tuple[Box, ...]], minus: Minus,
                 steps: tuple[tuple[ChainView, Entry], ...], out: list[Decision],
                 stack: set) -> None:
        if key in stack:
            return
        stack.add(key)
        view = self.view(key)
        for e in view.entries:
            own = e.comp.boxes
            if not own or e.kind not in ("term", "jump", "goto"):
                continue
            if e.target is not None and not self.reaches_terminal(e.target):
                continue  # kube-proxy's jumps to KUBE-MARK-MASQ: nothing to flatten there
            site = own if positive is None else _meet(positive, own)
            if not site:
                continue
            site_minus = minus + ((view, e.index),) if e.index in view.hits else minus
            site_steps = steps + ((view, e),)
            if e.kind == "term":
                out.append(Decision(site, site_minus, e, site_steps))
            else:
                self._flatten(e.target, site, site_minus, site_steps, out, stack)
        stack.discard(key)

    def _decide(self, key, point: tuple[int, ...]) -> Optional[Decision]:
        best = None
        point_box = tuple(((v, v),) for v in point)
        for order, b, decision in self.decision_index(key).query(point_box):
            if (best is None or order < best[0]) and box_contains(b, point) \
                    and decision.contains(point):
                best = (order, decision)
        return best[1] if best else None

    # ---------------------------------------------------------------- one packet

    def encode(self, packet: Packet) -> tuple[int, ...]:
        """A packet as a point of the space."""
        d = self.domain
        flags = sum(TCP_FLAG_BITS.get(f.upper(), 0) for f in packet.tcp_flags)
        icmp = (packet.icmp_type or 0) * 256
        state = packet.ct_state.lower()
        return (0 if packet.family == "ip" else 1, int(packet.local), d.interface_class(packet.iif),
                0, int(ipaddress.ip_address(packet.saddr)), int(ipaddress.ip_address(packet.daddr)),
                packet.protocol, packet.sport or 0, packet.dport or 0, icmp, flags,
                ct_value(state if state in CT_BASE else "new"), d.mark_value(packet.mark))

    def verdict_for(self, packet: Packet) -> Outcome:
        point = list(self.encode(packet))
        rules: list[Rule] = []
        sure = True
        original_daddr = point[DADDR]
        redirected = False
        nat_done = False
        for hook in self.hooks(packet.family, "prerouting", ("filter", "nat", "route")):
            if hook.chain.type == "nat" and nat_done:
                continue
            decision, certain = self._decide_both(hook, tuple(point))
            sure = sure and certain
            verdict = self._verdict_of(hook, decision)
            if decision is not None and verdict in NAT_IN_KINDS:
                v = decision.verdict
                rules.append(decision.entry.rule)
                nat_done = True
                changed = bool(v.to_ports) and v.to_ports[0][0] != point[DPORT]
                if v.to_addresses and verdict == "dnat":
                    point[DADDR] = v.to_addresses[0][0]
                    point[LOCAL] = int(point[DADDR] == original_daddr or _loopback(point[DADDR]))
                    changed = changed or point[DADDR] != original_daddr
                if verdict == "redirect":
                    point[LOCAL] = 1
                    redirected = True
                if v.to_ports:
                    point[DPORT] = v.to_ports[0][0]
                untranslated = list(point)
                point[CT] |= 2
                # REDIRECT also moves daddr to the input interface's address, which the file
                # does not say: a REDIRECT to the same port counts as translated (ctstate
                # DNAT) only when the packet was not already sent to that address
                if verdict == "redirect" and not changed and \
                        self._filter(packet, untranslated)[0] != self._filter(packet, point)[0]:
                    sure = False
            elif verdict in ("drop", "reject"):
                if decision is not None:
                    rules.append(decision.entry.rule)
                return self._outcome(verdict, "prerouting", point, packet, rules,
                                     "definite" if sure else "possible")
        verdict, hook_name, filter_rules, certain = self._filter(packet, point)
        if redirected and certain and self._tests_daddr(packet.family, hook_name):
            certain = False
        return self._outcome(verdict, hook_name, point, packet, rules + filter_rules,
                             "definite" if sure and certain else "possible")

    def _filter(self, packet: Packet, point: list[int]) -> tuple[str, str, list[Rule], bool]:
        """The filter input/forward verdict for a packet after NAT."""
        hook_name = "input" if point[LOCAL] else "forward"
        rules: list[Rule] = []
        sure = True
        for hook in self.hooks(packet.family, hook_name, ("filter", "route")):
            decision, certain = self._decide_both(hook, tuple(point))
            sure = sure and certain
            verdict = self._verdict_of(hook, decision)
            if decision is not None:
                rules.append(decision.entry.rule)
            if verdict != "accept":
                return (verdict if verdict in ("drop", "reject") else "drop"), hook_name, \
                    rules, sure
        return "accept", hook_name, rules, sure

    def _tests_daddr(self, family: str, hook_name: str) -> bool:
        """Whether a filter chain of the hook looks at the destination address."""
        for hook in self.hooks(family, hook_name, ("filter", "route")):
            for _, e in self._walk(hook.key):
                if any(getattr(m, "field", "") == "daddr" for m in e.rule.matches):
                    return True
        return False

    def _decide_both(self, hook: _Hook, point: tuple[int, ...]) -> tuple[Optional[Decision], bool]:
        """The decision for a point, and whether it is certain."""
        decision = self._decide(hook.key, point)
        point_box = (tuple(((v, v),) for v in point),)
        if decision is not None:
            return decision, not decision.doubts(point_box)
        if self.pure(hook.key):
            return None, True
        for key, e in self._walk(hook.key):
            if e.comp.unknown and any(box_contains(b, point) for b in e.comp.boxes):
                return None, False
        return None, True

    @staticmethod
    def _verdict_of(hook: _Hook, decision: Optional[Decision]) -> str:
        if decision is None:
            return hook.chain.policy or "accept"
        kind = decision.verdict.kind
        return kind if kind in ("accept", "drop", "reject", "dnat", "redirect") else \
            ("accept" if kind in ("snat", "masquerade") else "drop")

    @staticmethod
    def _outcome(verdict, hook, point, packet: Packet, rules, certainty) -> Outcome:
        version = 4 if packet.family == "ip" else 6
        daddr = str(ipaddress.ip_address(point[DADDR])) if version == 4 else \
            str(ipaddress.IPv6Address(point[DADDR]))
        dport = point[DPORT] if packet.dport is not None or point[DPORT] else packet.dport
        return Outcome(verdict, hook, daddr, dport, tuple(rules), certainty)

    # ---------------------------------------------------------------- NAT rules

    def nat_rules(self) -> tuple[NatRule, ...]:
        out = []
        for family in self._families():
            code = FAMILY_NAMES.index(family)
            for hook in self.hooks(family, "prerouting", ("nat",)):
                possible: dict[int, list[Box]] = {}
                definite: dict[int, list[Box]] = {}
                for d in self.decisions(hook.key):
                    if d.verdict.kind in NAT_IN_KINDS:
                        possible.setdefault(id(d.entry), []).extend(d.positive)
                        if d.certain():
                            definite.setdefault(id(d.entry), []).extend(d.space)
                for key, e in self._walk(hook.key):
                    v = e.rule.verdict
                    if e.kind != "term" or v.kind not in NAT_IN_KINDS:
                        continue
                    boxes = _of_family(possible.get(id(e)) or e.comp.boxes, code)
                    sure = _of_family(definite.get(id(e), ()), code)
                    if boxes:
                        out.append(NatRule(hook.table.name, family, self.tables[key][1].name,
                                           e.rule, _proj(boxes, PROTOCOL), _proj(boxes, DADDR),
                                           _proj(boxes, DPORT), _nat_target(v, family),
                                           tuple(boxes), tuple(sure)))
        return tuple(out)

    def _walk(self, key, seen: Optional[set] = None):
        """(chain key, entry) of a chain and the chains it calls, each chain once, in order."""
        seen = set() if seen is None else seen
        if key in seen:
            return
        seen.add(key)
        for e in self.entries(key):
            yield key, e
            if e.target is not None:
                yield from self._walk(e.target, seen)

    def _families(self) -> list[str]:
        fams: set[str] = set()
        for table, _ in self.tables.values():
            fams.update(("ip", "ip6") if table.family == "inet" else (table.family,))
        return [f for f in FAMILY_NAMES if f in fams]

    # ---------------------------------------------------------------- exposure

    def exposure(self) -> tuple[Exposure, ...]:
        if self._exposure is None:
            from .exposure import compute_exposure
            self._exposure = compute_exposure(self)
        return self._exposure


def _meet(positive: tuple[Box, ...], own: tuple[Box, ...]) -> tuple[Box, ...]:
    """``space_and(positive, own)`` as a tuple: ``positive`` itself when each of its boxes
    lies in ``own`` (a call path through wider rules: a kube-proxy service's decisions share
    the tuple of its dispatch rule, 35,121 decisions of the 100k-rule benchmark 2 MB less)."""
    met = space_and(positive, own)
    if len(met) == len(positive) and all(a is b for a, b in zip(met, positive)):
        return positive
    return tuple(met)


def _of_family(boxes: Iterable[Box], code: int) -> list[Box]:
    """The boxes narrowed to one family (a box of that family alone is kept as it is)."""
    only = ((code, code),)
    return [b for b in (b if b[FAMILY] == only else restrict_box(b, FAMILY, only)
                        for b in boxes) if b is not None]


def _proj(boxes: list[Box], field: int) -> tuple[tuple[int, int], ...]:
    """The values ``field`` takes in ``boxes``: one box's own (normal) intervals as they are
    (three new interval sets a NAT rule otherwise, 12 MB at the peak of the 100k-rule
    benchmark, inside FW210)."""
    if len(boxes) == 1:
        return boxes[0][field]
    return normalize(iv for b in boxes for iv in b[field])


def _loopback(addr: int) -> bool:
    return (addr >> 24) == 127 or addr == 1


def _address_text(a: int, family: str) -> str:
    """An address as ``ipaddress`` writes it.  An IPv4 one is formatted here: through
    ``ipaddress`` it cost about 12,000 instructions (compiled), for each of the 25,000 NAT
    rules of the 100k-rule benchmark."""
    if family == "ip":
        if 0 <= a <= 0xFFFFFFFF:
            return f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"
        return str(ipaddress.ip_address(a))
    return str(ipaddress.IPv6Address(a))


def _nat_target(v: Verdict, family: str) -> str:
    addresses = ",".join(
        _address_text(lo, family) if lo == hi
        else f"{_address_text(lo, family)}-{_address_text(hi, family)}"
        for lo, hi in v.to_addresses)
    ports = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in v.to_ports)
    if v.kind == "redirect":
        return f"redirect:{ports or 'same port'}"
    return f"{addresses}{':' + ports if ports else ''}"
