"""The jump graph of one table: which chains jump (or go) to which, built in one pass over the
rules and shared by FW203 (undefined-jump-target), FW204 (jump-cycle), FW301 (unused-chain)
and the jump-depth limit of FW010.

Each of the four used to walk every rule and build its own references and its own strongly
connected components.  On bench/out/iptables-100000.rules (35,904 nat chains, 69,886 jumps)
that cost 0.68 s CPU together (limit 0.26, FW204 0.24, FW301 0.10, FW203 0.08); one shared
graph over integer chain numbers costs 0.1 s (0.05 to build, 0.05 for the components).
Jump references with their spans are built only where a finding needs them (a missing
target, a cycle), which are rare.

Not compiled with mypyc: compiled, building the graphs took 0.062 s instead of 0.052 (the
rule and verdict attributes read slower than by CPython 3.11's bytecode) and the components
0.041 s instead of 0.043.
"""

from __future__ import annotations

from itertools import chain as _concat
from typing import Optional

from ..model import Chain, Table

_JUMP_KINDS = ("jump", "goto")


class JumpGraph:
    """Chain names in file order and the jump/goto targets of each chain's rules."""

    __slots__ = ("table", "order", "targets", "last_targets", "unique_names", "_walks",
                 "_map_references")

    def __init__(self, table: Table) -> None:
        self.table = table
        #: chain name -> position of its last definition (names keep first-seen order)
        self.order: dict[str, int] = {}
        #: chain name -> jump/goto targets of its rules in rule order, defined or not
        #: (chains defined twice under one name: all their rules)
        self.targets: dict[str, list[str]] = {}
        #: the same for the last chain of each name only (what the jump-depth limit reads)
        self.last_targets: dict[str, list[str]] = self.targets
        kinds = _JUMP_KINDS
        own_lists = []
        order = self.order
        for position, chain in enumerate(table.chains):
            own = []
            for rule in chain.rules:
                verdict = rule.verdict
                if verdict is not None and verdict.kind in kinds and verdict.target:
                    own.append(verdict.target)
            own_lists.append(own)
            order[chain.name] = position
        self.unique_names = len(self.order) == len(table.chains)
        if self.unique_names:
            self.targets = {chain.name: own for chain, own in zip(table.chains, own_lists)}
            self.last_targets = self.targets
        else:
            merged: dict[str, list[str]] = {}
            last: dict[str, list[str]] = {}
            for chain, own in zip(table.chains, own_lists):
                merged.setdefault(chain.name, []).extend(own)
                last[chain.name] = own
            self.targets, self.last_targets = merged, last
        self._walks: dict[tuple[bool, bool], tuple[list[list[str]], int, str]] = {}
        self._map_references: Optional[list] = None

    def has_missing_target(self) -> bool:
        """True when some rule or verdict-map element names a chain the table lacks."""
        order = self.order
        return (not set(_concat.from_iterable(self.targets.values())) <= order.keys()
                or any(ref.target not in order for ref in self.map_references()))

    def map_references(self) -> list:
        """The jump references of named verdict maps (FW203's JumpReference, rule None)."""
        if self._map_references is None:
            from .fw203_undefined_jump_target import JumpReference

            found = []
            for named in self.table.sets:
                if not named.is_map:
                    continue
                for element in named.elements:
                    words = (element.value or "").split()
                    if len(words) == 2 and words[0] in _JUMP_KINDS:
                        found.append(JumpReference("@" + named.name, words[1], words[0],
                                                   element.span))
            self._map_references = found
        return self._map_references

    def referenced_from_elsewhere(self) -> set[str]:
        """Chain names some other chain or a verdict map jumps to (a chain jumping to itself
        does not count)."""
        referenced = set(_concat.from_iterable(self.targets.values()))
        for source in [source for source, found in self.targets.items() if source in found]:
            if not any(source in found for other, found in self.targets.items()
                       if other != source):
                referenced.discard(source)  # only it jumps to itself
        referenced.update(ref.target for ref in self.map_references())
        return referenced

    def chains_named(self, name: str) -> list[Chain]:
        return [chain for chain in self.table.chains if chain.name == name]

    def depth(self) -> int:
        """How many chains the longest jump path passes, each strongly connected component
        counting all its chains (see fwlint.limits.jump_depth_errors)."""
        return self._walk(self.last_targets, False)[1]

    def deepest(self) -> tuple[int, str]:
        """(depth, the chain the deepest path starts from): the one the jump-depth limit
        names, found by visiting targets in name order."""
        _, depth, start = self._walk(self.last_targets, True)
        return depth, start

    def cycles(self) -> list[list[str]]:
        """Strongly connected components that hold a cycle (more than one chain, or a chain
        that jumps to itself), each in chain order."""
        groups = self._walk(self.last_targets if self.unique_names else self.targets, False)[0]
        order = self.order
        return [sorted(group, key=order.__getitem__) for group in groups]

    def _walk(self, targets: dict[str, list[str]], in_name_order: bool
              ) -> tuple[list[list[str]], int, str]:
        key = (targets is self.targets, in_name_order)
        if key not in self._walks:
            self._walks[key] = _components(self.order, targets, in_name_order)
        return self._walks[key]


def _components(order: dict[str, int], targets: dict[str, list[str]], in_name_order: bool
                ) -> tuple[list[list[str]], int, str]:
    """(the strongly connected components that hold a cycle, the depth of the deepest
    component, the first name in it): Tarjan with roots in chain order.  A component's
    depth is its size plus the deepest component it jumps to; Tarjan finishes a component
    after every component it reaches, so depths are known at once, and the deepest is the
    first finished of those deepest.  Which one that is depends on the order targets are
    visited in: ``in_name_order`` visits each chain's targets in name order, each once, as
    the limit's message always has; without it the components and the depth are the same
    and come without sorting (0.01 s less on 35,904 chains).

    Iterative (no recursion limit), over integer chain numbers, and a chain that jumps only
    to finished chains (or nowhere) is finished where it is met instead of going through
    the work stack: most kube-proxy chains hold one jump, to a chain without jumps.
    35,904 chains: 0.2 s CPU over names and dicts, 0.06 s so.
    """
    names = list(order)  # ``targets`` has the same keys in the same order
    number = {name: i for i, name in enumerate(names)}
    graph: list[tuple[int, ...]] = []
    empty = ()
    for found in targets.values():
        if not found:
            graph.append(empty)
        elif len(found) == 1:
            graph.append((number[found[0]],) if found[0] in number else empty)
        elif in_name_order:
            graph.append(tuple([number[t] for t in sorted(set(found)) if t in number]))
        else:
            graph.append(tuple([number[t] for t in found if t in number]))
    count = len(names)
    index = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    component = [-1] * count
    depth = [0] * count  # of each chain's component
    cycles: list[list[int]] = []
    stack: list[int] = []
    counter = 0
    components = 0
    best_depth, best_group = 0, []
    for root in range(count):
        if index[root] >= 0:
            continue
        below = 0
        for after in graph[root]:
            if index[after] < 0:
                break
            if depth[after] > below:
                below = depth[after]
        else:  # jumps only to finished chains (the stack is empty between roots)
            index[root] = low[root] = counter
            counter += 1
            component[root] = components
            components += 1
            depth[root] = below + 1
            if below + 1 > best_depth:
                best_depth, best_group = below + 1, [root]
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        work = [(root, iter(graph[root]))]
        while work:
            node, pending = work[-1]
            for succ in pending:
                if index[succ] < 0:
                    below = 0
                    for after in graph[succ]:
                        if index[after] < 0 or on_stack[after]:
                            break
                        if depth[after] > below:
                            below = depth[after]
                    else:  # jumps only to finished chains: a component of its own, done
                        index[succ] = low[succ] = counter
                        counter += 1
                        component[succ] = components
                        components += 1
                        depth[succ] = below + 1
                        if below + 1 > best_depth:
                            best_depth, best_group = below + 1, [succ]
                        continue
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack[succ] = True
                    work.append((succ, iter(graph[succ])))
                    break
                if on_stack[succ] and index[succ] < low[node]:
                    low[node] = index[succ]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                if low[node] != index[node]:
                    continue
                group = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component[member] = components
                    group.append(member)
                    if member == node:
                        break
                below = 0
                for member in group:
                    for succ in graph[member]:
                        if component[succ] != components and depth[succ] > below:
                            below = depth[succ]
                size = len(group) + below
                for member in group:
                    depth[member] = size
                components += 1
                if size > best_depth:
                    best_depth, best_group = size, group
                if len(group) > 1 or node in graph[node]:
                    cycles.append(group)
    start = min(names[m] for m in best_group) if best_group else ""
    return [[names[m] for m in group] for group in cycles], best_depth, start
