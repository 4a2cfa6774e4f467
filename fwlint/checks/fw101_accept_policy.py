"""
## What it does
Reports an input or forward filter base chain whose default policy accepts.  That is iptables
`filter` INPUT or FORWARD with policy ACCEPT (also when a script never sets one, since
ACCEPT is the kernel's default), nft `type filter hook input|forward` with `policy accept`
or no policy — unless the chain ends with an unconditional drop or reject rule, or (nft)
another filter base chain on the same hook closes it for the same IP versions.

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
from ..model import Chain, Ruleset, Table

CODE = "FW101"
NAME = "accept-policy"
SEVERITY = "high"
TARGET = "ruleset"
OPTIONS: dict = {}

_IPTABLES_CHAINS = ("INPUT", "FORWARD")
_NFT_HOOKS = ("input", "forward")
#: the IP versions a base chain of each nft family sees
_NFT_VERSIONS = {"ip": frozenset({4}), "ip6": frozenset({6}), "inet": frozenset({4, 6})}
_CONDITIONAL_STATEMENTS = frozenset({"limit", "quota", "opaque"})


def check(ctx) -> Iterator[Problem]:
    nft = ctx.ruleset.format == "nft"
    closed = _nft_closed_versions(ctx.ruleset) if nft else {}
    for table in ctx.ruleset.tables:
        for chain in table.chains:
            if nft:
                applies = (_is_nft_filter_chain(table, chain)
                           and not _NFT_VERSIONS[table.family] <= closed.get(chain.hook, set()))
            else:
                applies = table.name == "filter" and chain.name in _IPTABLES_CHAINS
            if not applies or not _accepts_by_default(chain):
                continue
            stated = "policy accept" if chain.policy else "no policy (so it accepts by default)"
            yield Problem(
                span=chain.span if chain.span.line or not chain.rules else chain.rules[0].span,
                message=f"{chain.name} chain of table {table.family} {table.name} has {stated}: "
                        "packets that no rule drops are let through",
                key=f"{table.family}/{table.name}/{chain.name}",
            )


def _is_nft_filter_chain(table: Table, chain: Chain) -> bool:
    return (chain.is_base and chain.type == "filter" and chain.hook in _NFT_HOOKS
            and table.family in _NFT_VERSIONS)


def _nft_closed_versions(ruleset: Ruleset) -> dict[str, set[int]]:
    """IP versions whose input/forward hook some base chain closes by default.

    Every nft base chain on a hook must accept a packet, so one default-deny chain (fw4's
    ``input``) makes an accepting chain at another priority (fw4's ``mangle_input``) harmless.
    """
    closed: dict[str, set[int]] = {}
    for table in ruleset.tables:
        for chain in table.chains:
            if _is_nft_filter_chain(table, chain) and not _accepts_by_default(chain):
                closed.setdefault(chain.hook, set()).update(_NFT_VERSIONS[table.family])
    return closed


def _accepts_by_default(chain: Chain) -> bool:
    return (chain.policy or "accept").lower() == "accept" and not _ends_with_catch_all_drop(chain)


def _ends_with_catch_all_drop(chain: Chain) -> bool:
    if not chain.rules:
        return False
    last = chain.rules[-1]
    return (not last.matches and last.verdict is not None
            and last.verdict.kind in ("drop", "reject")
            and not any(s.kind in _CONDITIONAL_STATEMENTS for s in last.statements))
