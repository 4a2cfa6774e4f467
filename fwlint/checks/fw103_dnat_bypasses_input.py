"""
## What it does
Reports a DNAT port-forward that sends NEW connections from outside to another host,
where the forward path accepts them: the traffic never passes the INPUT chain, so the
host's input filtering (source restrictions, default drop) does not apply to it.  This is
how Docker's published ports (`-p 8080:80`) and Kubernetes NodePorts reach containers.

## Why is this bad
Administrators often harden INPUT (`policy drop`, ssh only from the office) and believe
the host is closed, while a DNAT rule in `nat PREROUTING` plus an accepting FORWARD chain
publishes a service to the whole internet.  Tools that only read INPUT miss it.

## Example
```
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
COMMIT
```
```
table ip nat {
  chain prerouting { type nat hook prerouting priority -100;
    tcp dport 8080 dnat to 172.17.0.2:80
  }
}
```

## Use instead
Filter forwarded traffic explicitly (for Docker: rules in `DOCKER-USER`), or restrict the
DNAT rule itself to the sources that need it:
```
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -s 192.0.2.0/24 -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A FORWARD -s 192.0.2.0/24 -d 172.17.0.2 -p tcp --dport 80 -j ACCEPT
COMMIT
```
```
table ip nat {
  chain prerouting { type nat hook prerouting priority -100;
    ip saddr 192.0.2.0/24 tcp dport 8080 dnat to 172.17.0.2:80
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related
from ..model import PROTOCOL_NAMES

CODE = "FW103"
NAME = "dnat-bypasses-input"
SEVERITY = "medium"
TARGET = "analysis"
OPTIONS: dict = {}


def _ports(ranges) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)


def check(ctx) -> Iterator[Problem]:
    seen: set[str] = set()
    for exposure in ctx.analysis.exposure():
        if exposure.hook != "forward" or not exposure.nat_rules:
            continue
        nat = exposure.nat_rules[0]
        key = f"{exposure.family}/{nat.text}"
        if key in seen:
            continue
        seen.add(key)
        proto = PROTOCOL_NAMES.get(exposure.protocol, str(exposure.protocol))
        inside = f" to port {_ports(exposure.internal_ports)}" if exposure.internal_ports else ""
        sources = "any source" if exposure.any_source else "some sources"
        message = (f"port-forward of {proto} port {_ports(exposure.ports)}{inside} reaches "
                   f"another host through FORWARD from {sources}; INPUT filtering does not apply")
        if exposure.certainty == "possible":
            message += f" (possibly, depending on {exposure.reason})"
        related = tuple(Related(r.span, "accepts the forwarded packets") for r in exposure.rules)
        yield Problem(span=nat.span, message=message, related=related, key=key,
                      certainty=exposure.certainty)
