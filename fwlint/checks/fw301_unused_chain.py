"""
## What it does
Reports a user-defined chain that no rule jumps or goes to (and, in nftables, that no
verdict map refers to).

## Why is this bad
Packets enter a user chain only through a jump, a goto or a verdict map (an nft chain
named `input` without a `type … hook …` line is such a user chain, not a base chain).  A chain nothing
refers to never runs: its rules look like protection in review but do nothing.  It is often
left behind when a jump was deleted or its target renamed.

## Example
```
*filter
:INPUT DROP [0:0]
:SSH_IN - [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A SSH_IN -s 10.0.0.0/8 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain ssh_in {
    ip saddr 10.0.0.0/8 accept
  }
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 22 accept
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:SSH_IN - [0:0]
-A INPUT -p tcp --dport 22 -j SSH_IN
-A SSH_IN -s 10.0.0.0/8 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain ssh_in {
    ip saddr 10.0.0.0/8 accept
  }
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 22 jump ssh_in
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem
from ..model import IPTABLES_BUILTIN_CHAINS

CODE = "FW301"
NAME = "unused-chain"
SEVERITY = "low"
TARGET = "ruleset"
OPTIONS: dict = {}

_NFT_HOOKS = frozenset({"prerouting", "input", "forward", "output", "postrouting", "ingress",
                        "egress"})
_IPTABLES_BUILTIN_NAMES = frozenset(name for chains in IPTABLES_BUILTIN_CHAINS.values()
                                    for name in chains)


def check(ctx) -> Iterator[Problem]:
    nft = ctx.ruleset.format == "nft"
    for table in ctx.ruleset.tables:
        referenced = ctx.jump_graph(table).referenced_from_elsewhere()
        for chain in table.chains:
            if chain.is_base or chain.name in referenced:
                continue
            if not nft and chain.name in _IPTABLES_BUILTIN_NAMES:
                continue  # a built-in chain (or one in the wrong table: FW208 says so)
            hint = ""
            if nft and chain.name.lower() in _NFT_HOOKS:
                hint = (f"; to hook it into the kernel, give it "
                        f"'type filter hook {chain.name.lower()} priority 0;'")
            yield Problem(
                span=chain.span if chain.span.line or not chain.rules else chain.rules[0].span,
                message=f"chain {chain.name} is never jumped to"
                        + (f", so its {len(chain.rules)} rule(s) never run" if chain.rules else "")
                        + hint,
                key=f"{table.family}/{table.name}/{chain.name}",
            )
