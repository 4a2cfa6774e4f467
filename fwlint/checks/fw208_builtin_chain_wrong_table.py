"""
## What it does
Reports a built-in chain used in a table where it does not exist.  For iptables: `PREROUTING` or
`POSTROUTING` in the iptables `filter` table, `FORWARD` in `nat` — and, for nftables, a
base chain whose type does not offer its hook or family (`type nat hook forward`,
`type route hook input`, `type nat` in a `bridge` table).  A hook the family has not at all
(`hook forward` in an `arp` table) is already a parse error (FW001).

## Why is this bad
Each iptables table has a fixed set of built-in chains: `filter` has INPUT, FORWARD and
OUTPUT only.  `iptables-restore` refuses a policy for a chain the table does not have, and a
chain that is merely created under that name is an ordinary user chain that no packet ever
reaches, so its rules silently never run.  nft refuses a base chain whose hook is not
supported for its type, so the whole file fails to load.

## Example
```
*filter
:INPUT DROP [0:0]
:PREROUTING - [0:0]
-A PREROUTING -i eth0 -s 10.0.0.0/8 -j DROP
COMMIT
```
```
table ip nat {
  chain fwd { type nat hook forward priority 0; policy accept;
    oifname "eth0" masquerade
  }
}
```

## Use instead
```
*raw
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -s 10.0.0.0/8 -j DROP
COMMIT
```
```
table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" masquerade
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem
from ..model import IPTABLES_BUILTIN_CHAINS

CODE = "FW208"
NAME = "builtin-chain-wrong-table"
SEVERITY = "high"
TARGET = "ruleset"
OPTIONS: dict = {}

_IPTABLES_BUILTIN_NAMES = frozenset(name for chains in IPTABLES_BUILTIN_CHAINS.values()
                                    for name in chains)
#: chain types other than filter: (families, hooks) where nft accepts them
NFT_TYPE_LIMITS = {
    "nat": (frozenset({"ip", "ip6", "inet"}),
            frozenset({"prerouting", "input", "output", "postrouting"})),
    "route": (frozenset({"ip", "ip6", "inet"}), frozenset({"output"})),
}


def check(ctx) -> Iterator[Problem]:
    nft = ctx.ruleset.format == "nft"
    for table in ctx.ruleset.tables:
        for chain in table.chains:
            if not nft and chain.name not in _IPTABLES_BUILTIN_NAMES:
                continue  # a user chain (most of a kube-proxy dump): nothing to judge
            message = _nft_problem(table, chain) if nft else _iptables_problem(table, chain)
            if message:
                span = chain.span if chain.span.line or not chain.rules else chain.rules[0].span
                yield Problem(span=span, message=message,
                              key=f"{table.family}/{table.name}/{chain.name}")


def _iptables_problem(table, chain) -> str:
    builtins = IPTABLES_BUILTIN_CHAINS.get(table.name)
    if builtins is None or chain.name in builtins or chain.name not in _IPTABLES_BUILTIN_NAMES:
        return ""
    owners = [name for name, chains in IPTABLES_BUILTIN_CHAINS.items() if chain.name in chains]
    return (f"table {table.name} has no built-in chain {chain.name} (its built-in chains are "
            f"{', '.join(builtins)}); {chain.name} is built in only in "
            f"{', '.join(owners)}, so no packet reaches this chain")


def _nft_problem(table, chain) -> str:
    if not chain.is_base:
        return ""
    families, type_hooks = NFT_TYPE_LIMITS.get(chain.type, (None, None))
    if families is not None and table.family not in families:
        return f"chains of type {chain.type} do not exist in family {table.family}; nft refuses this base chain"
    if type_hooks is not None and chain.hook not in type_hooks:
        return (f"chains of type {chain.type} cannot use hook {chain.hook} (only "
                f"{', '.join(sorted(type_hooks))}); nft refuses this base chain")
    return ""
