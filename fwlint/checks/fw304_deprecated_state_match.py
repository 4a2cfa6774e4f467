"""
## What it does
Reports the iptables `state` match (`-m state --state …`).

## Why is this bad
The `state` module is an old alias kept for compatibility: since Linux 2.6.x the
`conntrack` module does the same and more (`--ctstate DNAT`, `--ctstatus`, directions), and
nftables only knows `ct state`.  Mixing both in one ruleset makes rules that mean the same
thing look different, and tools translating to nftables (`iptables-translate`) handle
`conntrack` directly.  nftables has no deprecated form, so nft input never triggers this.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
COMMIT
```
```
# nothing to report in nft: ct state is the only way to write it
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem
from ..model import CtStateMatch

CODE = "FW304"
NAME = "deprecated-state-match"
SEVERITY = "low"
TARGET = "rule"
#: called only for rules with one of these matches
MATCHES = (CtStateMatch,)
OPTIONS: dict = {}


def check(ctx, table, chain, rule) -> Iterator[Problem]:
    for match in rule.matches:
        if isinstance(match, CtStateMatch) and match.module == "state":
            yield Problem(
                span=match.span if match.span.line else rule.span,
                message="-m state is deprecated: use -m conntrack --ctstate "
                        + ",".join(sorted(s.upper() for s in match.states)),
                key=f"{table.family}/{table.name}/{chain.name}/{rule.text}",
            )
