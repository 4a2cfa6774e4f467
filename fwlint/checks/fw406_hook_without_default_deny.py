"""
## What it does
Reports a hook listed in the policy's `default-deny:` that accepts what no rule accepted.
For every hook the policy lists in `default-deny:` (input, forward, output), reports the
address family whose filter chains on that hook accept what no rule accepted: no base
chain on the hook at all, or base chains whose policy is accept and that do not end with
an unconditional drop or reject.

## Why is this bad
The policy promises that anything not explicitly allowed is dropped.  Without a dropping
default, every port the rules forget is open, so the exposure the other policy checks
compute is only as good as the rules someone remembered to write.  (FW101 reports
accepting input and forward policies whatever the policy says; this check follows the
policy's list, covers output too, and also reports hooks with no chain at all.)

## Example
With `default-deny: [input, forward]`:
```
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
  }
  chain forward { type filter hook forward priority 0; policy drop;
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related
from ..model import Chain
from ..policy.checking import base_chains, chain_span, policy_ref, present_families

CODE = "FW406"
NAME = "hook-without-default-deny"
SEVERITY = "high"
TARGET = "policy"
OPTIONS: dict = {}

_FAMILY_NAMES = {"ip": "IPv4", "ip6": "IPv6"}
_CONDITIONAL_STATEMENTS = frozenset({"limit", "quota", "opaque"})


def check(ctx) -> Iterator[Problem]:
    policy, ruleset = ctx.policy, ctx.ruleset
    for setting in policy.default_deny:
        hook = setting.value
        chains = list(base_chains(ruleset, hook))
        for family in present_families(ruleset):
            mine = [chain for table_family, chain in chains if table_family in (family, "inet")]
            if any(_drops_by_default(chain) for chain in mine):
                continue
            related = (Related(setting.span, f"policy {policy.name} requires default-deny "
                                             f"on {hook}"),)
            if mine:
                chain = mine[0]
                span = chain.span if chain.span.line else chain_span(ruleset, hook)
                problem = (f"{hook} chain {chain.name} accepts {_FAMILY_NAMES[family]} packets "
                           f"no rule accepted (policy {chain.policy or 'accept'}, no final drop)")
            else:
                span = chain_span(ruleset, hook)
                problem = f"no {_FAMILY_NAMES[family]} filter chain on hook {hook}, so " \
                          "everything is accepted there"
            ref = policy_ref(policy, setting.span)
            yield Problem(span=span, message=f"{problem}; policy {ref} requires default-deny on "
                                             f"{hook}",
                          related=related, key=f"{policy.name}|default-deny|{hook}|{family}")


def _drops_by_default(chain: Chain) -> bool:
    if (chain.policy or "accept").lower() == "drop":
        return True
    if not chain.rules:
        return False
    last = chain.rules[-1]
    return (not last.matches and last.verdict is not None
            and last.verdict.kind in ("drop", "reject")
            and not any(s.kind in _CONDITIONAL_STATEMENTS for s in last.statements))
