"""
## What it does
Reports a port open on one protocol for a service the policy allows only on the other.
The policy says UDP and the rules open TCP, or the reverse.  (When a rule opens a wider
range, the ports in it are judged by FW401.)

## Why is this bad
TCP and UDP are different services on the same number (IANA lists them separately):
`domain` on UDP is name resolution, a TCP listener on the same port can be something
else entirely, and a rule written with the wrong `-p` both opens a port nobody reviewed
and leaves the intended service closed.

## Example
With `services: {ntp: {}}` (123/udp):
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 123 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 123 accept
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -p udp --dport 123 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    udp dport 123 accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related
from ..policy.checking import (accepted_by, describe_ports, merge_key, mismatch_hits, normalize,
                               open_classes, policy_ref, responsible_span, rules_related, uncertain)
from ..policy.model import format_protocols

CODE = "FW405"
NAME = "service-protocol-mismatch"
SEVERITY = "medium"
TARGET = "policy"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    policy = ctx.policy
    groups: dict[tuple, dict] = {}
    for item in open_classes(ctx):
        for service, ports in mismatch_hits(policy, item):
            span = responsible_span(ctx, item)
            group = groups.setdefault(merge_key(span, item.protocol, service.name),
                                      {"span": span, "service": service, "items": [], "ports": []})
            group["items"].append(item)
            group["ports"].extend(ports)
    for (_, _, _, protocol, _), group in groups.items():
        span, service, items = group["span"], group["service"], group["items"]
        ports = normalize(group["ports"])
        certainty, reason = uncertain(items)
        message = (f"{describe_ports(protocol, ports)} is open, but policy "
                   f"{policy_ref(policy, service.span)} allows {service.name} there only on "
                   f"{format_protocols(service.protocols)}; "
                   f"{accepted_by(items[0])}")
        if reason:
            message += f" (possible: {reason})"
        related = (Related(service.span, f"{service.label()} (policy {policy.name})"),)
        for item in items:
            related += tuple(r for r in rules_related(item, span) if r not in related)
        yield Problem(span=span, message=message, related=related, certainty=certainty,
                      key=f"{policy.name}|protocol|{service.name}|{protocol}|{ports}")
