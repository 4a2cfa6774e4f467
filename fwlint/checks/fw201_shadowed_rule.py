"""
## What it does
Reports a rule that no packet can reach and match, because the rules before it on the same
evaluation path together match every packet it matches.  The earlier rules are compared as
sets of packets, so a rule covered only by several earlier rules together (two /9 networks
covering a /8, two port ranges covering a list) is found too.  The finding names the fewest
earlier rules that cover it, always including one with a different verdict when there is
one, and says whether the shadowing is a *conflict* (a covering rule decides differently, so
the rule's own verdict never applies) or only dead weight.  A rule after an unconditional
terminal rule (`-j DROP` with no match) is the simplest case.

Rules with unknown matches (`-m limit`, `-m recent`, ipsets) before the rule count as
covering only when the finding would hold whatever those matches answer: the finding is
then definite.  Jumps count for the packets the called chain surely ends.  Every packet is
considered (NEW and established), so an early `ct state established,related accept` never
shadows the rules after it.

## Why is this bad
A shadowed rule does nothing.  When it conflicts, the ruleset does not do what it says:
the `DROP` written for a network is never applied because broader `ACCEPT` rules came
first, or a port opened late in the chain stays closed.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -s 10.0.0.0/9 -p tcp --dport 80 -j ACCEPT
-A INPUT -s 10.128.0.0/9 -p tcp --dport 80 -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p tcp --dport 80 -j DROP
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport { 22, 80 } accept
    tcp dport 22 ip saddr 192.0.2.0/24 drop
  }
}
```

## Use instead
Put the specific rule before the broader ones, or delete it:
```
*filter
:INPUT DROP [0:0]
-A INPUT -s 10.0.0.0/8 -p tcp --dport 80 -j DROP
-A INPUT -p tcp --dport 80 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 22 ip saddr 192.0.2.0/24 drop
    tcp dport { 22, 80 } accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related

CODE = "FW201"
NAME = "shadowed-rule"
SEVERITY = "medium"
TARGET = "analysis"
OPTIONS: dict = {}
ALIASES = ("rule-after-terminal",)


def _verdict(rule) -> str:
    v = rule.verdict
    if v is None:
        return "continue"
    return f"{v.kind} {v.target}" if v.target else v.kind


def check(ctx) -> Iterator[Problem]:
    for result in ctx.analysis.rule_results():
        if not result.shadowed:
            continue
        rule = result.rule
        lines = ", ".join(str(r.span.line) for r in result.covering)
        if len(result.covering) == 1:
            message = (f"rule is never reached: the earlier rule at line {lines} matches every "
                       f"packet it matches in chain {result.chain}")
        elif result.covering:
            message = (f"rule is never reached: the earlier rules at lines {lines} together "
                       f"match every packet it matches in chain {result.chain}")
        else:
            message = f"rule is never reached in chain {result.chain}"
        if result.conflict:
            message += f" (conflict: its verdict {_verdict(rule)} never applies)"
        share = "covers it" if len(result.covering) == 1 else "covers part of it"
        related = tuple(Related(r.span, f"{share} ({_verdict(r)})") for r in result.covering)
        yield Problem(span=rule.span, message=message, related=related,
                      key=f"{result.family}/{result.table}/{result.chain}/{rule.text}",
                      certainty=result.certainty)
