"""
## What it does
Reports a port the policy's `forbidden:` list names (by service or by number) that NEW
connections can reach, whatever else allows it.  An entry with `world-open: true` counts
only when the port is reachable from a public (not private, loopback or link-local)
source address.

## Why is this bad
Forbidden services are the ones an organisation has decided must never face the network
this firewall guards: cleartext logins (telnet, rsh), remote desktops and databases open
to the internet.  One accepting rule anywhere in the evaluation path is enough to expose
them.

## Example
With `forbidden: [telnet]`:
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp -m multiport --dports 22,23 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport { 22, 23 } accept
  }
}
```

## Use instead
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
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related
from ..policy.checking import (accepted_by, describe_addresses, describe_ports, forbidden_hits,
                               merge_key, nat_note, normalize, open_classes, public_sources,
                               responsible_span, rules_related, uncertain)

CODE = "FW402"
NAME = "forbidden-port-open"
SEVERITY = "critical"
TARGET = "policy"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    policy = ctx.policy
    groups: dict[tuple, dict] = {}
    for item in open_classes(ctx):
        for entry, ports in forbidden_hits(policy, item):
            span = responsible_span(ctx, item)
            group = groups.setdefault(merge_key(span, item.protocol, entry.span),
                                      {"span": span, "entry": entry, "items": [], "ports": []})
            group["items"].append(item)
            group["ports"].extend(ports)
    for (_, _, _, protocol, _), group in groups.items():
        span, entry, items = group["span"], group["entry"], group["items"]
        ports = normalize(group["ports"])
        certainty, reason = uncertain(items)
        scope = ""
        if entry.world_open:
            first = items[0]
            scope = " from public sources (" + describe_addresses(
                public_sources(first.sources, first.family), first.family, 2) + ")"
        message = (f"forbidden {describe_ports(protocol, ports)} is reachable{scope}"
                   f"{nat_note(items[0])}: {accepted_by(items[0])}; {entry.label()}")
        if reason:
            message += f" (possible: {reason})"
        related = (Related(entry.span, f"{entry.label()} (policy {policy.name})"),)
        for item in items:
            related += tuple(r for r in rules_related(item, span) if r not in related)
        yield Problem(span=span, message=message, related=related, certainty=certainty,
                      key=f"{policy.name}|forbidden|{protocol}|{ports}")
