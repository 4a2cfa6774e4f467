"""
## What it does
Reports a rule that partly overlaps an earlier rule with a different verdict: some NEW
packets match both (the earlier rule decides them), some match only one.  Neither rule
contains the other, so the order of the two silently decides the overlap.

## Why is this bad
Correlated rules are often intended, but they are where reordering or editing one rule
changes the meaning of the other.  A reviewer should know that the verdict of this rule
does not apply to the packets the earlier rule takes first.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -s 192.0.2.0/24 -j ACCEPT
-A INPUT -p tcp --dport 22 -j DROP
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ip saddr 192.0.2.0/24 accept
    tcp dport 22 drop
  }
}
```

## Use instead
Make the intent explicit, for example by narrowing one rule so they no longer overlap:
```
*filter
:INPUT DROP [0:0]
-A INPUT -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 22 -j DROP
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ip saddr 192.0.2.0/24 tcp dport 22 accept
    tcp dport 22 drop
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related

CODE = "FW209"
NAME = "correlated-rules"
SEVERITY = "info"
TARGET = "analysis"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    for result in ctx.analysis.rule_results():
        if not result.correlated:
            continue
        rule = result.rule
        lines = ", ".join(str(r.span.line) for r in result.correlated)
        yield Problem(
            span=rule.span,
            message=f"rule partly overlaps the earlier rule{'s' if len(result.correlated) > 1 else ''}"
                    f" at line{'s' if len(result.correlated) > 1 else ''} {lines} with a different "
                    f"verdict; the overlap gets the earlier verdict",
            related=tuple(Related(r.span, f"overlaps it ({r.verdict.kind if r.verdict else '-'})")
                          for r in result.correlated),
            key=f"{result.family}/{result.table}/{result.chain}/{rule.text}")
