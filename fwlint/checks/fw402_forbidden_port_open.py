"""
## What it does
Reports a forbidden service or port that NEW connections can reach.  Entries name a
service or port numbers; any accepting rule counts, whatever else the policy allows.  An
entry with `world-open: true` counts only when the port is reachable from most of the
internet: at least half of the public (not private, loopback or link-local) addresses, so
a rule limited to a few admin hosts passes while a rule with no `-s` (or only `! -s`) does
not.

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
                               merge_key, nat_note, normalize, open_classes, policy_ref,
                               public_sources, responsible_span, rules_related, uncertain)

CODE = "FW402"
NAME = "forbidden-port-open"
SEVERITY = "critical"
TARGET = "policy"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    policy = ctx.policy
    groups: dict[tuple, dict] = {}
    for item in open_classes(ctx):
        span = responsible_span(ctx, item)
        for entry, ports in forbidden_hits(policy, item):
            group = groups.setdefault(merge_key(span), {"span": span, "items": [], "hits": {}})
            if item not in group["items"]:
                group["items"].append(item)
            group["hits"].setdefault((entry, item.protocol), []).extend(ports)
    for group in groups.values():
        span, items, hits = group["span"], group["items"], group["hits"]
        first_entry = next(iter(hits))[0]
        certainty, reason = uncertain(items)
        parts = []
        for (entry, protocol), ranges in hits.items():
            scope = ""
            if entry.world_open:
                first = next(i for i in items if i.protocol == protocol)
                scope = " from most of the internet (" + describe_addresses(
                    public_sources(first.sources, first.family), first.family, 2) + ")"
            parts.append(f"{describe_ports(protocol, normalize(ranges))}{scope}"
                         + (f" ({entry.reason})" if entry.reason else ""))
        shown = "; ".join(parts[:6]) + (f"; and {len(parts) - 6} more" if len(parts) > 6 else "")
        noun = "forbidden port is" if len(parts) == 1 else f"{len(parts)} forbidden ports are"
        message = (f"{noun} reachable: {shown}{nat_note(items[0])}; "
                   f"{accepted_by(items[0])} (policy {policy_ref(policy, first_entry.span)})")
        if reason:
            message += f" (possible: {reason})"
        related = tuple(Related(entry.span, f"{entry.label()} (policy {policy.name})")
                        for entry, _ in hits)
        related = tuple(dict.fromkeys(related))
        for item in items:
            related += tuple(r for r in rules_related(item, span) if r not in related)
        yield Problem(span=span, message=message, related=related, certainty=certainty,
                      key=f"{policy.name}|forbidden|" + ",".join(
                          sorted(f"{e.label()}/{p}" for e, p in hits)))
