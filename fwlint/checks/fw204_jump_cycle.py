"""
## What it does
Reports chains that jump (or go) to each other in a cycle.  It reports once per cycle,
naming the chains and pointing at every jump that closes it.

## Why is this bad
A packet entering the cycle would loop for ever, so the kernel refuses the ruleset:
`iptables-restore` and `nft -f` fail with "Too many levels of symbolic links" (ELOOP) and
nothing in the file is loaded.  In a shell script the closing command fails and the
firewall is left half built.

## Example
```
*filter
:INPUT DROP [0:0]
:WEB - [0:0]
:LOGDROP - [0:0]
-A INPUT -p tcp --dport 80 -j WEB
-A WEB -s 192.0.2.0/24 -j LOGDROP
-A LOGDROP -j WEB
COMMIT
```
```
table inet filter {
  chain web { ip saddr 192.0.2.0/24 jump logdrop }
  chain logdrop { jump web }
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 80 jump web
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:WEB - [0:0]
:LOGDROP - [0:0]
-A INPUT -p tcp --dport 80 -j WEB
-A WEB -s 192.0.2.0/24 -j LOGDROP
-A WEB -j ACCEPT
-A LOGDROP -j LOG --log-prefix "web-drop: "
-A LOGDROP -j DROP
COMMIT
```
```
table inet filter {
  chain logdrop { log prefix "web-drop: " drop }
  chain web { ip saddr 192.0.2.0/24 jump logdrop; accept }
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 80 jump web
  }
}
```
"""

from __future__ import annotations

from collections import deque
from typing import Iterator

from ..findings import Problem, Related
from .fw203_undefined_jump_target import JumpReference, jump_references

CODE = "FW204"
NAME = "jump-cycle"
SEVERITY = "high"
TARGET = "ruleset"
OPTIONS: dict = {}

_KEEP = 8


def check(ctx) -> Iterator[Problem]:
    for table in ctx.ruleset.tables:
        order = {chain.name: i for i, chain in enumerate(table.chains)}
        edges: dict[str, list[JumpReference]] = {name: [] for name in order}
        targets: dict[str, list[str]] = {name: [] for name in order}
        for ref in jump_references(table):
            if ref.rule is not None and ref.target in order:
                edges[ref.source].append(ref)
                targets[ref.source].append(ref.target)
        for component in _cycles(order, targets):
            members = set(component)
            inside = sorted((ref for name in component for ref in edges[name]
                             if ref.target in members),
                            key=lambda ref: (ref.span.line, ref.span.column))
            first = inside[0]
            path = _shortest_cycle(first.source, members, edges)
            named = sorted(members, key=order.__getitem__)
            message = "jump cycle " + _shorten(path, " -> ")
            if len(named) > len(path) - 1:
                message += f" (the loop joins {len(named)} chains: {_shorten(named, ', ')})"
            elif len(named) > _KEEP:
                message += f" ({len(named)} chains)"
            message += "; the kernel refuses a ruleset whose jumps loop"
            yield Problem(
                span=first.span,
                message=message,
                related=tuple(Related(ref.span, f"{ref.kind} from {ref.source} to {ref.target}")
                              for ref in inside[1:]),
                key=f"{table.family}/{table.name}/cycle/{','.join(sorted(members))}",
            )


def _cycles(order: dict[str, int], targets: dict[str, list[str]]) -> Iterator[list[str]]:
    """Strongly connected components that hold a cycle (Tarjan, iterative: no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start in order:
        if start in index or not targets[start]:
            continue  # a chain that jumps nowhere is in no cycle unless a DFS reaches it
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work = [(start, iter(targets[start]))]
        while work:
            node, pending = work[-1]
            for target in pending:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(targets[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in targets[node]:
                        yield sorted(component, key=order.__getitem__)


def _shortest_cycle(start: str, members: set[str],
                    edges: dict[str, list[JumpReference]]) -> list[str]:
    """The shortest path of chain names from ``start`` back to itself inside one component."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for ref in edges[node]:
            target = ref.target
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1] + [start]
            if target in members and target not in came_from:
                came_from[target] = node
                queue.append(target)
    return [start, start]


def _shorten(names: list[str], separator: str) -> str:
    """Name at most ``_KEEP`` chains: a cycle through 1,000 chains makes no readable message."""
    if len(names) <= _KEEP:
        return separator.join(names)
    return separator.join(names[:_KEEP - 1]) + f"{separator}…{separator}" + names[-1]
