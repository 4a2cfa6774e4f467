"""
## What it does
Reports a remapped service whose standard port is still reachable or whose custom port
is not.
Checks every service the policy moves off its IANA port (`ssh: {port: 2222}`): reports the
standard port when NEW connections can still reach it (at the rule that accepts it), and
the custom port when nothing accepts NEW connections to it (at the input chain).  A nat
REDIRECT or DNAT from the custom port to the standard one satisfies the remap as long as
the standard port is not reachable directly too (for example by accepting port 22 only for
connections in conntrack state DNAT).

## Why is this bad
Moving SSH to another port only helps if the old port is closed: with both open, scanners
still find port 22, and the policy no longer describes the host.  A custom port nothing
accepts means the service is unreachable: the remap was written in the policy but not in
the rules (or the other way round).

## Example
With `services: {ssh: {port: 2222}}`:
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 2222 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 22 accept
  }
}
```

## Use instead
```
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -m conntrack --ctstate DNAT -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 2222 accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related
from ..policy.checking import (accepted_by, chain_span, describe_ports, intersect, nat_note,
                               normalize, open_classes, policy_ref, remap_hits, service_groups,
                               service_related, uncertain)
from ..policy.model import format_protocols, format_ranges

CODE = "FW403"
NAME = "broken-port-remap"
SEVERITY = "high"
TARGET = "policy"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    policy = ctx.policy
    everything = open_classes(ctx, trusted=False)
    for group in service_groups(ctx, everything, remap_hits):
        service, protocol = group.service, group.protocol
        ports = normalize(group.ports)
        certainty, reason = uncertain(group.items)
        message = (f"{service.name} is remapped to {format_ranges(service.ports)}/"
                   f"{format_protocols(service.protocols)} by policy "
                   f"{policy_ref(policy, service.span)}, but its standard port "
                   f"{describe_ports(protocol, ports)} is still reachable"
                   f"{nat_note(group.items[0])}: {accepted_by(group.items[0])}")
        if reason:
            message += f" (possible: {reason})"
        yield Problem(span=group.span, message=message,
                      related=service_related(policy, service, group.items, group.span),
                      certainty=certainty,
                      key=f"{policy.name}|remap-standard|{service.name}|{protocol}|{ports}")
    for service in policy.services:
        if not service.remapped:
            continue
        for protocol in service.protocols:
            if any(item.protocol == protocol and item.hook in service.hooks
                   and intersect(item.ports, service.ports) for item in everything):
                continue
            yield Problem(
                span=chain_span(ctx.ruleset, "input"),
                message=(f"{service.name} is remapped to {describe_ports(protocol, service.ports)}"
                         f" by policy {policy_ref(policy, service.span)}, but no rule lets "
                         "NEW connections reach that port"),
                related=(Related(service.span, f"{service.label()} (policy {policy.name})"),),
                key=f"{policy.name}|remap-custom|{service.name}|{protocol}")
