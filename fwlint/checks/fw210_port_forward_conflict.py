"""
## What it does
Reports a DNAT or REDIRECT rule in a prerouting nat chain that translates the same
destination (address, protocol and port) as an earlier DNAT/REDIRECT rule, but to a
different target.  For the packets both match, the first rule wins and the second never
applies.

## Why is this bad
Two port-forwards for one external port usually come from two people (or two tools, such
as Docker and a hand-written script) publishing different services on the same port.
Only the first one works; the second service is silently unreachable on that port.

## Example
```
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80
-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.6:80
COMMIT
```
```
table ip nat {
  chain prerouting { type nat hook prerouting priority -100;
    tcp dport 8080 dnat to 10.0.0.5:80
    tcp dport 8080 redirect to :8081
  }
}
```

## Use instead
Give each service its own external port:
```
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80
-A PREROUTING -p tcp --dport 8081 -j DNAT --to-destination 10.0.0.6:80
COMMIT
```
```
table ip nat {
  chain prerouting { type nat hook prerouting priority -100;
    tcp dport 8080 dnat to 10.0.0.5:80
    tcp dport 8081 redirect to :8081
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related
from ..analysis.space import space_and
from ..model import PROTOCOL_NAMES

CODE = "FW210"
NAME = "port-forward-conflict"
SEVERITY = "medium"
TARGET = "analysis"
OPTIONS: dict = {}


def _overlap(a, b) -> tuple:
    out = []
    for lo, hi in a:
        for lo2, hi2 in b:
            if max(lo, lo2) <= min(hi, hi2):
                out.append((max(lo, lo2), min(hi, hi2)))
    return tuple(out)


def check(ctx) -> Iterator[Problem]:
    by_port: dict[tuple[str, int, int], list] = {}
    wide: list = []  # earlier rules over many ports or protocols: compared with every rule
    reported: set[int] = set()
    for later in ctx.analysis.nat_rules():
        keys = _keys(later)
        candidates = {id(e): e for e in wide}
        if keys is None:
            candidates.update((id(e), e) for rules in by_port.values() for e in rules)
            wide.append(later)
        else:
            for key in keys:
                candidates.update((id(e), e) for e in by_port.get(key, ()))
                by_port.setdefault(key, []).append(later)
        for earlier in sorted(candidates.values(), key=lambda e: e.rule.span):
            if earlier.target == later.target or id(later.rule) in reported:
                continue
            if not space_and(earlier.boxes, later.boxes):
                continue
            reported.add(id(later.rule))
            proto = _overlap(earlier.protocols, later.protocols)[0][0]
            port = _overlap(earlier.dports, later.dports)[0][0]
            yield Problem(
                span=later.rule.span,
                message=f"port-forward of {PROTOCOL_NAMES.get(proto, proto)} port {port} to "
                        f"{later.target} conflicts with the earlier one to {earlier.target} "
                        f"(line {earlier.rule.span.line}); for the packets both match it never "
                        f"applies",
                related=(Related(earlier.rule.span, f"forwards the same port to {earlier.target}"),),
                key=f"{later.family}/{later.table}/{later.chain}/{later.rule.text}")


def _keys(nat) -> list[tuple[str, int, int]] | None:
    """(family, protocol, port) slots of a NAT rule; None when it spans too many."""
    protocols = [p for lo, hi in nat.protocols for p in range(lo, hi + 1)]
    ports = [p for lo, hi in nat.dports for p in range(lo, min(hi, lo + 256) + 1)]
    if len(protocols) > 8 or len(ports) > 256:
        return None
    return [(nat.family, proto, port) for proto in protocols for port in ports]
