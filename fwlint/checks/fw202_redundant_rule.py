"""
## What it does
Reports a rule whose removal changes no packet's verdict: every packet it decides would get
the same verdict from the rules after it (or from the chain's policy), and no rule in
between with another verdict would catch those packets first.

## Why is this bad
Redundant rules make a ruleset longer and harder to review, and they mislead: someone
deleting the later catch-all expects this rule to keep the port open (or closed), but the
two were never meant to work together.  Rules that are never reached at all are reported
by `shadowed-rule` instead.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 23 -j DROP
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 23 drop
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related

CODE = "FW202"
NAME = "redundant-rule"
SEVERITY = "low"
TARGET = "analysis"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    for result in ctx.analysis.rule_results():
        if not result.redundant:
            continue
        rule = result.rule
        verdict = rule.verdict.kind if rule.verdict else "continue"
        if result.covering:
            lines = ", ".join(str(r.span.line) for r in result.covering)
            later = f"rule at line {lines} gives" if len(result.covering) == 1 \
                else f"rules at lines {lines} give"
            message = (f"rule is redundant: the later {later} the same verdict ({verdict}) to "
                       f"every packet it matches")
        else:
            message = (f"rule is redundant: the policy of chain {result.chain} gives the same "
                       f"verdict ({verdict}) to every packet it matches")
        related = tuple(Related(r.span, f"gives the same verdict ({verdict})")
                        for r in result.covering)
        yield Problem(span=rule.span, message=message, related=related,
                      key=f"{result.family}/{result.table}/{result.chain}/{rule.text}",
                      certainty=result.certainty)
