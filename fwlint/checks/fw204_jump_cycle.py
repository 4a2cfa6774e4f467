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
from .fw203_undefined_jump_target import JumpReference
from .jumps import JumpGraph

CODE = "FW204"
NAME = "jump-cycle"
SEVERITY = "high"
TARGET = "ruleset"
OPTIONS: dict = {}

_KEEP = 8


def check(ctx) -> Iterator[Problem]:
    for table in ctx.ruleset.tables:
        graph = ctx.jump_graph(table)
        for named in graph.cycles():
            members = set(named)
            edges = _edges(graph, named)
            inside = sorted((ref for name in named for ref in edges[name]
                             if ref.target in members),
                            key=lambda ref: (ref.span.line, ref.span.column))
            first = inside[0]
            path = _shortest_cycle(first.source, members, edges)
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


def _edges(graph: JumpGraph, names: list[str]) -> dict[str, list[JumpReference]]:
    """The rule jumps from each of ``names`` to a defined chain, in rule order: built only for
    the chains of a cycle (a kube-proxy dump has tens of thousands of jumps and no cycle)."""
    edges: dict[str, list[JumpReference]] = {}
    for name in names:
        found = edges[name] = []
        for chain in graph.chains_named(name):
            for rule in chain.rules:
                verdict = rule.verdict
                if (verdict is not None and verdict.kind in ("jump", "goto") and verdict.target
                        and verdict.target in graph.order):
                    found.append(JumpReference(name, verdict.target, verdict.kind, rule.span,
                                               rule))
    return edges


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
