"""
## What it does
Reports a rule that comes after an unconditional terminal rule in the same chain.  That is a
rule with no match at all whose verdict ends the chain (accept, drop, reject, return, goto, a NAT
verdict or another target that ends evaluation).

## Why is this bad
Every packet that reaches the terminal rule stops there, so the rules after it are never
evaluated.  This usually means a rule was appended (`-A`, `add rule`) to a chain that
already ends with a catch-all, and the new rule silently does nothing.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -j DROP
-A INPUT -p tcp --dport 443 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 22 accept
    drop
    tcp dport 443 accept
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 443 -j ACCEPT
-A INPUT -j DROP
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 22 accept
    tcp dport 443 accept
    drop
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related
from ..model import Rule

CODE = "FW205"
NAME = "rule-after-terminal"
SEVERITY = "medium"
TARGET = "ruleset"
OPTIONS: dict = {}

#: statements that can stop a rule (nft ``limit``/``quota`` placed before the verdict)
_CONDITIONAL_STATEMENTS = frozenset({"limit", "quota", "opaque"})


def is_unconditional_terminal(rule: Rule) -> bool:
    """True when every packet reaching ``rule`` stops there."""
    verdict = rule.verdict
    return (not rule.matches and verdict is not None and verdict.ends_chain
            and verdict.kind != "queue"
            and not any(s.kind in _CONDITIONAL_STATEMENTS for s in rule.statements))


def check(ctx) -> Iterator[Problem]:
    for table in ctx.ruleset.tables:
        for chain in table.chains:
            terminal = None
            for rule in chain.rules:
                if terminal is not None:
                    yield Problem(
                        span=rule.span,
                        message=f"rule is never reached: the rule at line {terminal.span.line} "
                                f"ends chain {chain.name} for every packet",
                        related=(Related(terminal.span, "unconditional terminal rule"),),
                        key=f"{table.family}/{table.name}/{chain.name}/{rule.text}",
                    )
                elif is_unconditional_terminal(rule):
                    terminal = rule
