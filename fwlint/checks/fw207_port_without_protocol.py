"""
## What it does
Reports a port match in a rule that does not restrict the layer-4 protocol to protocols
that have ports (tcp, udp, sctp, dccp, udplite).

## Why is this bad
A port only means something inside a TCP, UDP, SCTP, DCCP or UDP-Lite header.  iptables
refuses `--dport` without `-p tcp` (or another port protocol) and `-m multiport` without
one, so the file does not load.  nft `th dport 53` compares two bytes of whatever transport
header the packet has, so it also matches ICMP, GRE or ESP packets whose bytes happen to
look like port 53.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -m multiport --dports 53,853 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    th dport { 53, 853 } accept
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -p udp -m multiport --dports 53,853 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 53,853 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    meta l4proto { tcp, udp } th dport { 53, 853 } accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterable

from ..findings import Problem
from ..model import PORT_PROTOCOLS, PROTOCOL_NAMES, PortMatch, ProtocolMatch

CODE = "FW207"
NAME = "port-without-protocol"
SEVERITY = "high"
TARGET = "rule"
#: called only for rules with one of these matches
MATCHES = (PortMatch,)
OPTIONS: dict = {}


def check(ctx, table, chain, rule) -> Iterable[Problem]:
    """Problems of one rule; an empty tuple at once when its protocols all have ports (not
    a generator: FW207 runs on every rule with a port match)."""
    ports = []
    protocols = []
    for m in rule.matches:
        if isinstance(m, PortMatch):
            ports.append(m)
        elif isinstance(m, ProtocolMatch) and not m.negated:
            protocols.append(m.protocols)
    if not ports:
        return ()
    if protocols:
        allowed = frozenset.intersection(*protocols)
        if allowed and allowed <= PORT_PROTOCOLS:
            return ()
        extra = sorted(PROTOCOL_NAMES.get(p, str(p)) for p in allowed - PORT_PROTOCOLS)
        why = (f"the protocol match also allows {', '.join(extra)}, which has no ports" if extra
               else "the protocol matches leave no protocol at all")
    else:
        why = "no protocol match restricts the rule to tcp, udp, sctp, dccp or udplite"
    return [Problem(
        span=match.span if match.span.line else rule.span,
        message=f"{match.field} match without a port protocol: {why}",
        key=f"{table.family}/{table.name}/{chain.name}/{rule.text}|{match.field}",
    ) for match in ports]
