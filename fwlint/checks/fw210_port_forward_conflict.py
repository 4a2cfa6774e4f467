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
    from ..analysis.space import BoxIndex, box_and

    translated = BoxIndex()  # what the earlier rules certainly translate, by box
    for position, later in enumerate(ctx.analysis.nat_rules()):
        conflicts = {id(earlier): (order, earlier) for b in later.boxes
                     for order, box, earlier in translated.query(b)
                     if earlier.target != later.target and box_and(box, b) is not None}
        if conflicts:
            earlier = min(conflicts.values(), key=lambda item: item[0])[1]
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
        for b in later.definite:
            translated.add(b, (position, b, later))
