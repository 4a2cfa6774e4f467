"""
## What it does
Reports a port open to NEW connections that the policy's IANA range rules do not allow.
The policy's `ports:` rule for the port's IANA range is `deny` (never open),
`deny-unlisted` or `warn-unlisted` (open only where a service lists it), and no service
lists it.  The finding names the accepting rule(s), the port's service name and its range.
Ports that are forbidden, the standard port of a remapped service, and ports a service
allows only on the other protocol are reported by FW402, FW403 and FW405 instead.

## Why is this bad
A port nobody wrote into the policy is a service nobody reviewed: a debug listener, a
database bound to all interfaces, a forgotten test rule.  Keeping the open ports equal to
the listed ones is what makes the policy a reliable description of the host.

## Example
With a policy listing only `https`, and `well-known: deny-unlisted`:
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 443 -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport { 80, 443 } accept
  }
}
```

## Use instead
Open only what the policy lists, or add the service to the policy (`http: {}`):
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 443 -j ACCEPT
COMMIT
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

from ..findings import Problem, Related, Severity
from ..policy.checking import (accepted_by, categories, describe_ports, forbidden_hits,
                               listed_ports, merge_key, mismatch_hits, normalize, open_classes,
                               policy_ref, remap_hits, responsible_span, rules_related, subtract,
                               uncertain)

CODE = "FW401"
NAME = "unlisted-port-open"
SEVERITY = "high"
TARGET = "policy"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    policy = ctx.policy
    groups: dict[tuple, dict] = {}
    for item in open_classes(ctx):
        reported = normalize(r for hits in (forbidden_hits(policy, item), remap_hits(policy, item),
                                            mismatch_hits(policy, item))
                             for _, ports in hits for r in ports)
        for category, ports in categories(item.ports):
            setting = policy.range_action(category)
            if setting is None or setting.value == "allow":
                continue
            if setting.value != "deny":
                ports = subtract(ports, listed_ports(policy, item.protocol, item.hook))
            ports = subtract(ports, reported)
            if not ports:
                continue
            span = responsible_span(ctx, item)
            group = groups.setdefault(merge_key(span, category),
                                      {"span": span, "setting": setting, "items": [], "ports": {}})
            group["items"].append(item)
            group["ports"].setdefault(item.protocol, []).extend(ports)
    for (_, _, _, category), group in groups.items():
        span, setting, items = group["span"], group["setting"], group["items"]
        by_protocol = {protocol: normalize(ranges)
                       for protocol, ranges in sorted(group["ports"].items())}
        certainty, reason = uncertain(items)
        single = len(by_protocol) == 1 and all(len(r) == 1 and r[0][0] == r[0][1]
                                            for r in by_protocol.values())
        listed = "never allowed" if setting.value == "deny" else "not listed by any service"
        message = (f"{', '.join(describe_ports(p, r) for p, r in by_protocol.items())} "
                   f"{'is' if single else 'are'} open but {listed} in policy "
                   f"{policy_ref(policy, setting.span)} ({category}: {setting.value}); "
                   f"{accepted_by(items[0])}")
        if reason:
            message += f" (possible: {reason})"
        related: tuple[Related, ...] = (
            Related(setting.span, f"policy {policy.name}: {category}: {setting.value}"),)
        for item in items:
            related += tuple(r for r in rules_related(item, span) if r not in related)
        yield Problem(span=span, message=message, related=related, certainty=certainty,
                      key=f"{policy.name}|{category}|{sorted(by_protocol.items())}",
                      severity=Severity.MEDIUM if setting.value == "warn-unlisted" else None)
