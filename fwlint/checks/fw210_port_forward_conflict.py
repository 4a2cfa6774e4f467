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
    nat_rules = ctx.analysis.nat_rules()
    by_port: dict[tuple[str, int, int], list] = {}
    reported: set[int] = set()
    for later in nat_rules:
        candidates = {}
        for proto_lo, proto_hi in later.protocols:
            if proto_hi - proto_lo > 8:
                continue
            for proto in range(proto_lo, proto_hi + 1):
                for lo, hi in later.dports:
                    for port in (range(lo, hi + 1) if hi - lo < 64 else (lo,)):
                        for earlier in by_port.get((later.family, proto, port), ()):
                            candidates[id(earlier)] = earlier
                        by_port.setdefault((later.family, proto, port), []).append(later)
        for earlier in candidates.values():
            if earlier is later or earlier.target == later.target or id(later.rule) in reported:
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
