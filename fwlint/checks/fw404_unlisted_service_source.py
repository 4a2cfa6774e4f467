"""
## What it does
Reports a service reachable from sources outside its `from` list.  The finding names the
extra sources and the rule that accepts NEW connections from them.

## Why is this bad
Source limits are what keep administration and database ports away from the internet.
A rule with a missing or too wide `-s`/`saddr` (or an IPv6 rule next to a restricted IPv4
one) opens the service to everyone the policy meant to keep out.

## Example
With `services: {ssh: {from: [10.0.0.0/8]}}`:
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
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
*filter
:INPUT DROP [0:0]
-A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ip saddr 10.0.0.0/8 tcp dport 22 accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem
from ..policy.checking import (accepted_by, describe_addresses, describe_ports, family_version,
                               intersect, merge_key, nat_note, network_intervals, normalize,
                               open_classes, policy_ref, responsible_span, service_related,
                               subtract, uncertain)

CODE = "FW404"
NAME = "unlisted-service-source"
SEVERITY = "high"
TARGET = "policy"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    policy = ctx.policy
    groups: dict[tuple, dict] = {}
    for item in open_classes(ctx):
        for service in policy.services:
            if not service.sources or item.hook not in service.hooks \
                    or item.protocol not in service.protocols:
                continue
            ports = intersect(item.ports, service.ports)
            allowed = network_intervals(service.sources, family_version(item.family))
            extra = subtract(item.sources, allowed)
            if not ports or not extra:
                continue
            span = responsible_span(ctx, item)
            group = groups.setdefault(merge_key(span, item.protocol, service.name, item.family),
                                      {"span": span, "service": service, "items": [],
                                       "ports": [], "extra": []})
            group["items"].append(item)
            group["ports"].extend(ports)
            group["extra"].extend(extra)
    for (_, _, _, protocol, _, family), group in groups.items():
        span, service, items = group["span"], group["service"], group["items"]
        ports, extra = normalize(group["ports"]), normalize(group["extra"])
        certainty, reason = uncertain(items)
        beyond = "any source" if any(item.any_source for item in items) else \
            describe_addresses(extra, family)
        allowed = ", ".join(str(n) for n in service.sources)
        message = (f"{service.name} ({describe_ports(protocol, ports)}) is reachable from "
                   f"{beyond}{nat_note(items[0])}, but policy "
                   f"{policy_ref(policy, service.span)} allows it only from {allowed}; "
                   f"{accepted_by(items[0])}")
        if reason:
            message += f" (possible: {reason})"
        yield Problem(span=span, message=message,
                      related=service_related(policy, service, items, span), certainty=certainty,
                      key=f"{policy.name}|source|{service.name}|{family}|{protocol}")
