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

from ..findings import Problem
from ..policy.checking import (accepted_by, describe_ports, mismatch_hits, normalize, open_classes,
                               policy_ref, service_groups, service_related, uncertain)
from ..policy.model import format_protocols

CODE = "FW405"
NAME = "service-protocol-mismatch"
SEVERITY = "medium"
TARGET = "policy"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    policy = ctx.policy
    for group in service_groups(ctx, open_classes(ctx), mismatch_hits):
        service, protocol = group.service, group.protocol
        ports = normalize(group.ports)
        certainty, reason = uncertain(group.items)
        message = (f"{describe_ports(protocol, ports)} is open, but policy "
                   f"{policy_ref(policy, service.span)} allows {service.name} there only on "
                   f"{format_protocols(service.protocols)}; "
                   f"{accepted_by(group.items[0])}")
        if reason:
            message += f" (possible: {reason})"
        yield Problem(span=group.span, message=message,
                      related=service_related(policy, service, group.items, group.span),
                      certainty=certainty,
                      key=f"{policy.name}|protocol|{service.name}|{protocol}|{ports}")
