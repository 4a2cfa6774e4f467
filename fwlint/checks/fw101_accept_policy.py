"""
## What it does
Reports an input or forward filter base chain whose default policy accepts.  That is iptables
`filter` INPUT or FORWARD with policy ACCEPT (also when a script never sets one, since
ACCEPT is the kernel's default), nft `type filter hook input|forward` with `policy accept`
or no policy — unless the chain ends with an unconditional drop or reject rule.

## Why is this bad
With an accepting policy, everything the rules forgot is let in (or routed through): a new
service, a database bound to all interfaces, a port opened by a package update.  A firewall
should say what is allowed and drop the rest, so that forgetting a rule closes a port
rather than opening one.

## Example
```
*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 443 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy accept;
    tcp dport 443 accept
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p tcp --dport 443 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    iif "lo" accept
    ct state established,related accept
    tcp dport 443 accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem
from ..model import Chain

CODE = "FW101"
NAME = "accept-policy"
SEVERITY = "high"
TARGET = "ruleset"
OPTIONS: dict = {}

_IPTABLES_CHAINS = ("INPUT", "FORWARD")
_NFT_HOOKS = ("input", "forward")
_NFT_FAMILIES = ("ip", "ip6", "inet")
_CONDITIONAL_STATEMENTS = frozenset({"limit", "quota", "opaque"})


def check(ctx) -> Iterator[Problem]:
    nft = ctx.ruleset.format == "nft"
    for table in ctx.ruleset.tables:
        for chain in table.chains:
            if nft:
                applies = (chain.is_base and chain.type == "filter" and chain.hook in _NFT_HOOKS
                           and table.family in _NFT_FAMILIES)
            else:
                applies = table.name == "filter" and chain.name in _IPTABLES_CHAINS
            if not applies or (chain.policy or "accept").lower() != "accept" \
                    or _ends_with_catch_all_drop(chain):
                continue
            stated = "policy accept" if chain.policy else "no policy (so it accepts by default)"
            yield Problem(
                span=chain.span if chain.span.line or not chain.rules else chain.rules[0].span,
                message=f"{chain.name} chain of table {table.family} {table.name} has {stated}: "
                        "packets that no rule drops are let through",
                key=f"{table.family}/{table.name}/{chain.name}",
            )


def _ends_with_catch_all_drop(chain: Chain) -> bool:
    if not chain.rules:
        return False
    last = chain.rules[-1]
    return (not last.matches and last.verdict is not None
            and last.verdict.kind in ("drop", "reject")
            and not any(s.kind in _CONDITIONAL_STATEMENTS for s in last.statements))
