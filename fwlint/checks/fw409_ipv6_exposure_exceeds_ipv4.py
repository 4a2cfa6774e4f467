"""
## What it does
Reports ports IPv6 exposes that IPv4 does not, when the policy requires parity.
When the policy has `require: [ipv6-parity]` and the ruleset filters both IPv4 and IPv6
(an nft `inet` table, or `ip` and `ip6` tables, or a script with both `iptables` and
`ip6tables` commands), reports ports NEW IPv6 connections can reach on a hook where IPv4
ones cannot.

## Why is this bad
The same host answers on both families.  Rules written for IPv4 and copied carelessly (or
never copied) to IPv6 leave services that the IPv4 rules close reachable over IPv6, and
IPv6 addresses are often not where reviewers and scanners look.

## Example
With `require: [ipv6-parity]`:
```
iptables -P INPUT DROP
iptables -A INPUT -p tcp --dport 443 -j ACCEPT
ip6tables -P INPUT DROP
ip6tables -A INPUT -p tcp -m multiport --dports 443,5432 -j ACCEPT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 443 accept
    meta nfproto ipv6 tcp dport 5432 accept
  }
}
```

## Use instead
```
iptables -P INPUT DROP
iptables -A INPUT -p tcp --dport 443 -j ACCEPT
ip6tables -P INPUT DROP
ip6tables -A INPUT -p tcp --dport 443 -j ACCEPT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 443 accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related
from ..policy.checking import (accepted_by, describe_ports, merge_key, normalize, open_classes,
                               policy_ref, present_families, responsible_span, subtract, uncertain)

CODE = "FW409"
NAME = "ipv6-exposure-exceeds-ipv4"
SEVERITY = "medium"
TARGET = "policy"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    policy = ctx.policy
    requirement = policy.requirement("ipv6-parity")
    if requirement is None or present_families(ctx.ruleset) != ("ip", "ip6"):
        return
    everything = open_classes(ctx, trusted=False)
    v4: dict[tuple, list] = {}
    for item in everything:
        if item.family == "ip":
            v4.setdefault((item.hook, item.protocol), []).extend(item.ports)
    groups: dict[tuple, dict] = {}
    for item in everything:
        if item.family != "ip6":
            continue
        extra = subtract(item.ports, normalize(v4.get((item.hook, item.protocol), ())))
        if not extra:
            continue
        span = responsible_span(ctx, item)
        group = groups.setdefault(merge_key(span, item.hook, item.protocol),
                                  {"span": span, "items": [], "ports": []})
        group["items"].append(item)
        group["ports"].extend(extra)
    for (_, _, _, hook, protocol), group in groups.items():
        ports = normalize(group["ports"])
        certainty, reason = uncertain(group["items"])
        message = (f"IPv6 exposes {describe_ports(protocol, ports)} on {hook} that IPv4 does "
                   f"not: {accepted_by(group['items'][0])}; policy "
                   f"{policy_ref(policy, requirement.span)} requires ipv6-parity")
        if reason:
            message += f" (possible: {reason})"
        yield Problem(span=group["span"], message=message, certainty=certainty,
                      related=(Related(requirement.span,
                                       f"policy {policy.name} requires ipv6-parity"),),
                      key=f"{policy.name}|ipv6-parity|{hook}|{protocol}|{ports}")
