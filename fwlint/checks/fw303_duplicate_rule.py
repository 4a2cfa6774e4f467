"""
## What it does
Reports a rule that is the same as an earlier rule of the same chain.  Equal matches, equal
actions and the same verdict make the same rule, however it is written (`-s 10.0.0.1` and `-s 10.0.0.1/32`,
`-p tcp --dport 22` and `-p tcp -m tcp --dport 22` are the same rule).

## Why is this bad
The second copy never changes what the chain does, so it is dead weight at best.  More
often it is the trace of an edit that went wrong: a script run twice, a rule meant to be
changed that was copied instead, so what the author thinks they changed is not in the file.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 443 -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 443 accept
    ip saddr 10.0.0.0/8 tcp dport 22 accept
    tcp dport 443 accept
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 443 -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 443 accept
    ip saddr 10.0.0.0/8 tcp dport 22 accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related
from ..model import Rule

CODE = "FW303"
NAME = "duplicate-rule"
SEVERITY = "medium"
TARGET = "ruleset"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    for table in ctx.ruleset.tables:
        for chain in table.chains:
            first_copy: dict[tuple, Rule] = {}
            for rule in chain.rules:
                same = (rule.matches, rule.statements, rule.verdict)
                original = first_copy.setdefault(same, rule)
                if original is rule:
                    continue
                yield Problem(
                    span=rule.span,
                    message=f"rule repeats the rule at line {original.span.line} of chain "
                            f"{chain.name}",
                    related=(Related(original.span, "first copy of this rule"),),
                    key=f"{table.family}/{table.name}/{chain.name}/{rule.text}",
                )
