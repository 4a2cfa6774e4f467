"""
## What it does
Reports a file that holds no chain and no rule at all: an empty file, or one with only
comments and blank lines.

## Why is this bad
Nothing in such a file can be checked, so a clean result says nothing about the firewall.
It is often a sign that the wrong file was passed, that a generator wrote nothing, or that
`iptables-save` ran where no rules were loaded; loading it leaves the host unprotected (or
keeps whatever was there before).

## Example
```
# iptables rules for web01
# (generated)
```
```
#!/usr/sbin/nft -f
# nothing here yet
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    iif "lo" accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem
from ..model import Span

CODE = "FW305"
NAME = "empty-ruleset"
SEVERITY = "info"
TARGET = "ruleset"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    if ctx.errors or any(table.chains for table in ctx.ruleset.tables):
        return
    skipped = ctx.ruleset.skipped_lines
    detail = f" ({skipped} shell line(s) were not iptables commands)" if skipped else ""
    yield Problem(span=Span(ctx.ruleset.path, 1, 1, 1, 1),
                  message=f"the file defines no chain and no rule{detail}: nothing was checked",
                  key="empty")
