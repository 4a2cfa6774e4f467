"""
## What it does
Reports text that fwlint cannot read as a rule file: a line or token that the
iptables-restore or nft grammar does not allow, at its line and column, with what was
expected there.

## Why is this bad
`iptables-restore` and `nft -f` refuse the whole file on the first syntax error, so a
ruleset with one typo is never loaded and the host keeps its previous (or an empty)
firewall.  Everything fwlint says about the rest of the file is only as good as what it
could read.

## Example
```
*filter
-A INPUT -p tcp --dport 22 -j ACEPT
COMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop
    tcp dport 22 accept
}
```

## Use instead
```
*filter
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 22 accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem

CODE = "FW001"
NAME = "parse-error"
SEVERITY = "critical"
TARGET = "parse"
OPTIONS: dict = {}


def check(ctx) -> Iterator[Problem]:
    for error in ctx.errors:
        if error.limit:
            continue
        message = error.message
        if error.found and "found" not in message:
            message += f"; found {error.found!r}"
        if error.expected and "expected" not in message:
            message += "; expected " + " or ".join(error.expected)
        yield Problem(span=error.span, message=message, key=f"{error.source_line.strip()}|{message}")
