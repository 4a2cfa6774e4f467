"""Exposure: the NEW packets from outside that input (directly, or after a REDIRECT/DNAT to
this host) or forward (after a DNAT to another host) accept, grouped into classes.

Packets meet the prerouting filter chains first (raw, mangle, nft ``type filter hook
prerouting``), in the kernel's priority order around the nat prerouting chain: those before
it see every arriving packet, those after it the packet as translated.  What they drop is
not exposed; where an unknown match or a statement that rewrites the packet may change
that, the classes it touches are possible, not definite.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Callable, Final, Optional

from ..model import Rule
from . import Exposure
from .compile import restrict_box, with_field
from .space import (CT, DADDR, DPORT, ICMP, IIF, LOCAL, MARK, OIF, PROTOCOL, SADDR, SPORT,
                    TCPFLAGS, Box, BoxIndex, Intervals, box_and, box_meets, box_sub, ct_value,
                    iv_contains, iv_or, iv_sub, iv_subset, normalize, points, space_and)

from .evaluate import subtract, taken_whole

if TYPE_CHECKING:
    from .evaluate import Decision, Evaluation, _Hook

REPORTED_PROTOCOLS = {"ip": (6, 17, 132, 33, 136, 1), "ip6": (6, 17, 132, 33, 136, 58)}
PORTED: Final = frozenset({6, 17, 132, 33, 136})
_SYN = ((2, 2),)
_MAX_PARTS = 20000
_MAX_REMAINDER: Final = 400
_MAX_TAKERS: Final = 8
APPROXIMATE = "too many overlapping rules to subtract exactly"
#: why a class is merged into the over-approximation of the parts past ``_MAX_PARTS``
TOO_MANY_CLASSES = f"more than {_MAX_PARTS} accepted classes in one chain; the rest merged"
_ALWAYS_HIDDEN: Final[tuple[int, ...]] = (SPORT, OIF, ICMP)
#: packet fields whose rewriting (``ip daddr set …``) in prerouting changes what later chains see
_REWRITTEN = frozenset({"saddr", "daddr", "sport", "dport", "protocol", "nexthdr", "l4proto",
                        "pkttype", "iif", "iifname"})

_first = itemgetter(0)  # the order of an (order, ...) item
#: the conntrack state of a NEW packet after DNAT
_NEW_DNAT: Final = ((ct_value("new", dnat=True),) * 2,)

# (box, accepting rules, certain?, reasons)
Part = tuple[Box, tuple[Rule, ...], bool, tuple[str, ...]]


def compute_exposure(ev: "Evaluation") -> tuple[Exposure, ...]:
    """Every exposure class of every family of the ruleset."""
    classes: dict[tuple, list] = {}
    labels = ev.domain.if_labels
    for family in ev._families():
        new = ct_value("new")
        start = with_field(with_field(with_field(ev.domain.universe(family), CT, ((new, new),)),
                                      TCPFLAGS, _SYN), MARK, ((0, 0),))
        if "lo" in ev.domain.if_names:  # packets from outside never arrive on loopback
            lo = ev.domain.interface_class("lo")
            start = with_field(start, IIF, iv_sub(start[IIF], ((lo, lo),)))
        before_nat, after_nat = _prerouting_filters(ev, family)
        arriving = _accept_parts(ev, family, before_nat, [(start, (), True, ())], final=False)
        dnats = _dnat_decisions(ev, family)
        local_parts = [(local, rules, certain, reasons)
                       for box, rules, certain, reasons in arriving
                       if (local := restrict_box(box, LOCAL, ((1, 1),))) is not None]
        input_hooks = after_nat + ev.hooks(family, "input", ("filter", "route"))
        translated = _Translated(dnats)
        # where a translated packet goes: input when it is local, forward when not
        targets = (("input", 1, input_hooks),
                   ("forward", 0, after_nat + ev.hooks(family, "forward", ("filter", "route"))))
        # parts opened the same way (by the same rule objects: the rules are not hashed)
        alike: dict[tuple, tuple[tuple[Rule, ...], list[Box]]] = {}
        for box, rules, certain, reasons in _accept_parts(ev, family, input_hooks, local_parts):
            opened = (tuple([id(rule) for rule in rules]), certain, reasons)
            group = alike.get(opened)
            if group is None:
                group = alike[opened] = (rules, [])
            group[1].append(box)
        for (_, certain, reasons), (rules, boxes) in alike.items():
            plain_boxes, approximate = _minus_dnat(boxes, translated)
            if approximate:
                certain, reasons = False, reasons + (APPROXIMATE,)
            for plain in plain_boxes:
                _add(classes, labels, "input", family, plain, plain, rules, (), certain, reasons)
        for decision in dnats:
            _expose_dnat(ev, family, arriving, targets, decision, classes, labels)
    # merge classes that differ in one shown field only: ports, then sources, then interfaces
    by_ports: dict[tuple, list] = {}
    for key, ports in classes.items():
        merged = key[:5] + (normalize(ports),) + key[6:]
        by_ports.setdefault(merged, []).extend(key[5])
    by_sources: dict[tuple, list] = {}
    for key, sources in by_ports.items():
        merged = key[:6] + (normalize(sources),) + key[7:]
        by_sources.setdefault(merged, []).extend(key[6])
    out = []
    for key, interfaces in by_sources.items():
        hook, family, protocol, internal_ports, internal_addresses, wire_ports, \
            allowed_sources, certainty, reason, rules, nat_rules = key
        out.append(Exposure(hook, family, protocol, wire_ports if protocol in PORTED else (),
                            internal_ports, internal_addresses, allowed_sources,
                            _interfaces(labels, normalize(interfaces)), certainty, reason,
                            rules, nat_rules))
    out.sort(key=lambda x: (x.hook != "input", x.family, x.protocol, x.ports, x.sources))
    return tuple(out)


def _prerouting_filters(ev: "Evaluation", family: str) -> tuple[list["_Hook"], list["_Hook"]]:
    """The prerouting base chains other than nat, before and after the nat chain that
    translates (by priority, as the kernel runs them; all "before" without one)."""
    before: list["_Hook"] = []
    after: list["_Hook"] = []
    nat_seen = False
    for hook in ev.hooks(family, "prerouting", ("filter", "nat", "route")):
        if hook.chain.type == "nat":
            nat_seen = True
        else:
            (after if nat_seen else before).append(hook)
    return before, after


def _dnat_decisions(ev: "Evaluation", family: str) -> list["Decision"]:
    for hook in ev.hooks(family, "prerouting", ("nat",)):
        # the first nat chain that translates wins; later ones are not consulted
        return [d for d in ev.decisions(hook.key)
                if d.verdict.kind in ("dnat", "redirect")]
    return []


class _Translated:
    """The DNAT/REDIRECT decisions of one family, indexed by their boxes on first use: the
    remainders of input that are too fragmented to subtract from need no index (the 100k-rule
    benchmark's one remainder, 401 boxes, against 30,111 decisions; exposure 0.52 -> 0.43 s
    of CPU, compiled)."""

    def __init__(self, decisions: list["Decision"]) -> None:
        self.decisions = decisions
        self._index: Optional[BoxIndex] = None

    def index(self) -> BoxIndex:
        """(order, decision) under each positive box of each decision."""
        if self._index is None:
            self._index = BoxIndex()
            for order, decision in enumerate(self.decisions):
                for b in decision.positive:
                    self._index.add(b, (order, decision))
        return self._index


def _minus_dnat(boxes: list[Box], dnats: _Translated) -> tuple[list[Box], bool]:
    """The packets of ``boxes`` that no DNAT translates, as far as the exposure shows them,
    and whether that is approximate (too fragmented to finish)."""
    rest = _Remainder(boxes)
    if rest.full():
        # nothing can be taken: approximate as soon as one DNAT that may meet ``boxes`` (by
        # the index, as below) translates anything
        for decision in dnats.decisions:
            if any(rest.near(b) for b in decision.positive) and decision.space:
                return rest.boxes(), True
        return rest.boxes(), False
    found = {id(d): (order, d) for order, d in dnats.index().query_all(boxes)}
    for _, decision in sorted(found.values(), key=_first):
        if not rest or rest.approximate:  # once approximate, no take changes ``rest``
            break
        positive = decision.positive
        for b in decision.space if len(decision.space) <= len(positive) else positive:
            rest.take(b, keep=lambda box: all(_keeps_projection(box, p, (DADDR,))
                                              for p in positive))
    return rest.boxes(), rest.approximate


class _Remainder:
    """A space that boxes are taken from, indexed so that taking a narrow box only touches
    the boxes it meets (a policy's remainder after thousands of narrow rules)."""

    def __init__(self, boxes: list[Box]) -> None:
        self.approximate = False  # set when fragmentation stopped the exact subtraction
        self._boxes: dict[int, Box] = {}
        self._index = BoxIndex()
        self._next = 0
        for box in boxes:
            self._put(box)

    def __bool__(self) -> bool:
        return bool(self._boxes)

    def _put(self, box: Box) -> None:
        self._boxes[self._next] = box
        self._index.add(box, self._next)
        self._next += 1

    def full(self) -> bool:
        """Too fragmented to take from: ``take`` only marks the remainder approximate."""
        return len(self._boxes) > _MAX_REMAINDER

    def near(self, box: Box) -> bool:
        """Whether the index finds a box left that may meet ``box``."""
        for key in self._index.query(box):
            if key in self._boxes:
                return True
        return False

    def boxes(self, near: Optional[Box] = None) -> list[Box]:
        """The boxes left (those that may meet ``near``)."""
        if near is None:
            return list(self._boxes.values())
        return [self._boxes[k] for k in self._index.query(near) if k in self._boxes]

    def take(self, taken: Box, keep=None) -> None:
        """Remove ``taken`` (from the boxes for which ``keep(box)`` is not true)."""
        if self.full():
            self.approximate = True
            return
        for key in list(self._index.query(taken)):
            box = self._boxes.get(key)
            if box is not None and box_meets(box, taken) and \
                    not (keep is not None and keep(box)):
                del self._boxes[key]
                for part in box_sub(box, taken):
                    self._put(part)


def _keeps_projection(box: Box, taken: Box, hidden: tuple[int, ...]) -> bool:
    """True when ``box`` minus any part of ``taken`` shows the same classes as ``box``.

    Exposure classes do not show some fields (the destination address of a packet that is
    not translated, the source port, ...).  When ``taken`` leaves out part of such a field
    for every packet of ``box``, every class of ``box`` keeps a packet, so subtracting (any
    part of) it changes nothing that is reported, and the subtraction (and its
    fragmentation) is skipped.  Known limit: several such rules that together cover the
    field (``-d 0/1 -j DROP`` and ``-d 128/1 -j DROP``) still leave the class shown.
    """
    for f in hidden:  # loops, not any() of a generator: see ``BoxIndex.query``
        if not iv_subset(box[f], taken[f]):
            return True
    for f in _ALWAYS_HIDDEN:
        if not iv_subset(box[f], taken[f]):
            return True
    return False


def _keeps_untranslated(box: Box, taken: Box) -> bool:
    """``_keeps_projection`` of a packet whose destination address is not shown."""
    return _keeps_projection(box, taken, (DADDR,))


def _keeps_translated(box: Box, taken: Box) -> bool:
    """``_keeps_projection`` of a packet whose destination address is shown (after DNAT)."""
    return _keeps_projection(box, taken, ())


def _expose_dnat(ev: "Evaluation", family: str, arriving: list[Part],
                 targets: tuple[tuple[str, int, list["_Hook"]], ...], decision: "Decision",
                 classes: dict, labels: tuple[str, ...]) -> None:
    """The classes one DNAT/REDIRECT decision opens: ``arriving`` (what the prerouting
    chains before nat let through) translated, then the chains after nat and input or
    forward (``targets``: hook name, LOCAL value, base chains).

    The fields the translation sets are the same for every packet of the decision, so they
    are found once and each image is built as one tuple (exposure of the 100k-rule
    benchmark, 30,111 decisions: 0.43 -> 0.37 s of CPU, compiled)."""
    verdict = decision.verdict
    new_addresses = verdict.kind == "dnat" and bool(verdict.to_addresses)
    redirect = verdict.kind == "redirect"
    to_ports = normalize(verdict.to_ports) if verdict.to_ports else None
    sets: list[tuple[int, Intervals]] = []  # (field, values) the translation sets
    if new_addresses:
        sets.append((DADDR, normalize(verdict.to_addresses)))
        loopback = all(lo >> 24 == 127 for lo, _ in verdict.to_addresses) if family == "ip" \
            else all(lo == hi == 1 for lo, hi in verdict.to_addresses)
        sets.append((LOCAL, ((1, 1),) if loopback else ((0, 0),)))
    if redirect:  # to the input interface's address: not in the file
        sets.append((LOCAL, ((1, 1),)))
        sets.append((DADDR, ev.domain.universe(family)[DADDR]))
    if to_ports is not None:
        sets.append((DPORT, to_ports))
    sets.append((CT, _NEW_DNAT))
    for original in decision.space:
        for arrived, _, arrived_certain, arrived_reasons in arriving:
            box = box_and(original, arrived)
            if box is None:
                continue
            fields = list(box)
            for field, values in sets:
                fields[field] = values
            image = tuple(fields)
            for hook, local, hooks in targets:
                if not iv_contains(image[LOCAL], local):
                    continue
                only = ((local, local),)
                part = image if image[LOCAL] == only else with_field(image, LOCAL, only)
                for accepted, rules, certain, reasons in _accept_parts(
                        ev, family, hooks, [(part, (), arrived_certain, arrived_reasons)],
                        translated=new_addresses):
                    before = accepted
                    if new_addresses or to_ports is not None:  # the packet as it arrived
                        fields = list(accepted)
                        if new_addresses:
                            fields[DADDR] = box[DADDR]
                        if to_ports is not None:
                            fields[DPORT] = box[DPORT]
                        before = tuple(fields)
                    doubts = decision.doubts()
                    if redirect and accepted[DADDR] != image[DADDR]:
                        doubts += ("the address REDIRECT sends to (the input interface's)",)
                    _add(classes, labels, hook, family, before, accepted, rules,
                         (decision.entry.rule,), certain and not doubts, reasons + doubts,
                         internal_ports=to_ports is not None, internal_addresses=new_addresses)


def _accept_parts(ev: "Evaluation", family: str, hooks: list["_Hook"], parts: list[Part],
                  translated: bool = False, final: bool = True) -> list[Part]:
    """The parts of ``parts`` that every base chain of ``hooks`` (in order) accepts.

    ``translated``: the destination address is shown (after DNAT), so it is never hidden.
    ``final``: no chain follows, so the last chain may skip subtractions that change no
    reported class.  The accepting rules of prerouting chains are not the rules that open
    a class (input's and forward's are), so they are not added to a part's rules.
    """
    for position, hook in enumerate(hooks):
        last = final and position == len(hooks) - 1
        shown = hook.chain.hook != "prerouting"
        hidden = () if translated else (DADDR,)
        index = ev.decision_index(hook.key)
        pure = ev.pure(hook.key)
        policy_accept = (hook.chain.policy or "accept") == "accept"
        exact = policy_accept or not pure  # the pieces are also taken from ``rest``
        new_parts: list[Part] = []
        keep: Optional[Callable[[Box, Box], bool]] = None
        if last and not exact:
            keep = _keeps_translated if translated else _keeps_untranslated
        for box, rules, certain, reasons in parts:
            if exact:
                found = [item for item in index.query(box) if box_meets(box, item[1])]
            else:  # only the accepted pieces count, so dead decisions need no look (where
                # ``rest`` is kept, they are few and looking costs more than it saves)
                found = [item for item in index.query(box)
                         if not _dead(ev, item) and box_meets(box, item[1])]
            found.sort(key=_first)
            # what no decision takes: kept only where the pieces are taken from it (a
            # policy-drop chain without unknown matches, forward after each DNAT, needs none)
            rest = _Remainder([box]) if exact else None
            # a rule narrower than ``box`` in a field the classes do not show cannot remove a
            # class from the policy's remainder, unless other rules cover the rest of that
            # field (a catch-all REJECT after it): then the remainder is computed exactly
            skip_narrow = exact and pure and last
            if skip_narrow:
                for _, b, _ in found:
                    if not _keeps_projection(box, b, hidden):
                        skip_narrow = False
                        break
            # pieces that took the whole of an earlier decision's part of ``box``: many
            # DNATs to one port meet the forward rules opening that port, and each rule after
            # the first is covered by the first (on the 100k-rule benchmark 64,647 such
            # subtractions, each a query of the chain's index, became one containment test)
            takers: list = []
            for item in found:
                order, b, d = item
                if not pure and not rest:  # not pure: ``rest`` is kept
                    break
                if pure:
                    met = box_and(box, b)
                    assert met is not None  # ``found`` holds only boxes that meet ``box``
                    if takers and taken_whole(met, d.minus, takers):
                        continue
                    pieces = subtract([met], d.minus, keep, takers)
                    del takers[:-_MAX_TAKERS]
                else:
                    assert rest is not None  # kept whenever the chain is not pure
                    start = space_and(rest.boxes(b), [b])
                    pieces = subtract(start, d.minus, keep) if start else []
                if not pieces:
                    continue
                # a decision with unknown matches on its path only may take them
                if rest is not None and all(e.comp.pure for _, e in d.steps):
                    if not (skip_narrow and _keeps_projection(box, b, hidden)):
                        for p in pieces:
                            rest.take(p)
                if d.verdict.kind != "accept":
                    continue
                doubts = () if pure else d.doubts(pieces)
                opened = rules + (d.entry.rule,) if shown else rules
                for p in pieces:
                    new_parts.append((p, opened, certain and not doubts, reasons + doubts))
                if len(new_parts) > 2 * _MAX_PARTS:
                    new_parts = _capped(new_parts)
            if rest is not None and policy_accept:
                doubts = () if pure else ev.unknowns(hook.key)
                if rest.approximate:
                    doubts += (APPROXIMATE,)
                new_parts.extend((p, rules, certain and not doubts, reasons + doubts)
                                 for p in rest.boxes())
        parts = _capped(new_parts)
        if not shown:
            parts = _mark_rewrites(ev, hook, parts)
    return parts


def _capped(parts: list[Part]) -> list[Part]:
    """At most ``_MAX_PARTS`` parts, none of their packets lost: the parts past the cap are
    merged into one box, field by field (a superset of their union), which may be open.

    A chain of 20,000 narrow accept rules would otherwise be reported without the rules
    after them (a port opened to anyone after them went unreported before this)."""
    if len(parts) <= _MAX_PARTS:
        return parts
    kept, rest = parts[:_MAX_PARTS - 1], parts[_MAX_PARTS - 1:]
    merged = tuple(normalize(iv for box, _, _, _ in rest for iv in box[field])
                   for field in range(len(rest[0][0])))
    rules = tuple(dict.fromkeys(rule for _, opened, _, _ in rest for rule in opened))
    kept.append((merged, rules, False, (TOO_MANY_CLASSES,)))
    return kept


def _dead(ev: "Evaluation", item: tuple) -> bool:
    """Whether a decision's box (an item of a decision index) is taken whole by the earlier
    pieces of its one chain, even counting only the pieces no ``keep`` of ``subtract`` can
    skip for any part of it (those that contain it in every field exposure may hide).

    Then ``subtract`` gives nothing for any part of the box, whatever ``keep``: with one
    chain in ``minus`` every part meets the same pieces, each containing the part in the
    hidden fields.  A rule after others that open its ports is such (on the 100k-rule
    benchmark 1,209 of the 1,329 forward rules; 36 of the 42 that DNAT images meet, so a
    DNAT to port 8080 looks at 4 rules instead of 40; exposure 9.6 -> 8.9 s).
    """
    dead = ev.dead_items.get(id(item))
    if dead is None:
        _, box, decision = item
        dead = len(decision.minus) == 1 and not subtract(
            [box], decision.minus, _keeps_untranslated)
        ev.dead_items[id(item)] = dead
    return dead


def _mark_rewrites(ev: "Evaluation", hook: "_Hook", parts: list[Part]) -> list[Part]:
    """Parts that a rule of a prerouting chain may rewrite (a mark the rules test, notrack,
    ``ip daddr set …``, tproxy) are possible: later chains may see another packet."""
    rewrites = [(e.comp.boxes, statement.text or statement.kind)
                for _, e in ev._walk(hook.key) for statement in e.rule.statements
                if _rewrites(ev, statement)]
    if not rewrites:
        return parts
    out: list[Part] = []
    for box, rules, certain, reasons in parts:
        why = tuple(f"{text} (rewrites the packet in prerouting)" for boxes, text in rewrites
                    if any(box_meets(box, b) for b in boxes))
        out.append((box, rules, certain and not why, reasons + why))
    return out


def _rewrites(ev: "Evaluation", statement) -> bool:
    """Whether a statement may change what later chains match: a mark the rules test,
    notrack (the state), tproxy, or an nft ``… set`` of an address, port, protocol or raw
    payload (``ct helper set``, ``ip dscp set`` and the like change nothing matched)."""
    if statement.kind == "mark":
        return ev.domain.mark_max > 0
    if statement.kind == "notrack":
        return True
    if statement.kind != "opaque":
        return False
    text = statement.text or ""
    if text.startswith("tproxy"):
        return True
    left, found, _ = text.partition(" set ")
    words = left.split()
    return bool(found and words) and (words[0].startswith("@") or words[-1] in _REWRITTEN)


def _add(classes: dict, labels: tuple[str, ...], hook: str, family: str, before: Box,
         after: Box, rules: tuple[Rule, ...], nat_rules: tuple[Rule, ...], certain: bool,
         reasons: tuple[str, ...], internal_ports: bool = False,
         internal_addresses: bool = False) -> None:
    protocols = before[PROTOCOL]
    sources = before[SADDR]
    reason = "; ".join(dict.fromkeys(reasons)) if not certain else ""
    for protocol in REPORTED_PROTOCOLS[family]:
        if not any(lo <= protocol <= hi for lo, hi in protocols):
            continue
        key = (hook, family, protocol,
               after[DPORT] if internal_ports and protocol in PORTED else None,
               after[DADDR] if internal_addresses else None,
               sources, before[IIF], "definite" if certain else "possible", reason, rules,
               nat_rules)
        classes.setdefault(key, []).extend(before[DPORT] if protocol in PORTED else ())


def _interfaces(labels: tuple[str, ...], values) -> Optional[tuple[str, ...]]:
    """None for any interface from outside; else the names (``eth*`` a prefix, ``!eth1`` all
    but eth1)."""
    loopback = points(i for i, label in enumerate(labels) if label == "lo")
    everything = ((0, len(labels) - 1),)
    if iv_subset(everything, values) or iv_subset(everything, iv_or(values, loopback)):
        return None
    inside = [labels[i] for lo, hi in values for i in range(lo, hi + 1)]
    missing = [labels[i] for lo, hi in iv_sub(everything, values) for i in range(lo, hi + 1)]
    if len(missing) < len(inside):
        return tuple("!" + m for m in missing)
    return tuple(inside)
