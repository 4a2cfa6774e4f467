"""
## What it does
Reports a suppression whose `until=YYYY-MM-DD` date has passed.  From the day after that
date the directive no longer hides anything: the findings it covered are reported again,
and this finding points at the directive itself.

## Why is this bad
A dated suppression is a promise to fix a rule by a deadline.  When the deadline passes,
the exception should be reviewed, renewed on purpose or removed, not forgotten.

## Example
```
# fwlint: ignore[FW101] until=2024-01-31 reason="vendor VPN, removed after migration"
-A INPUT -p tcp --dport 3389 -j ACCEPT
```
```
tcp dport 3389 accept comment "fwlint: ignore[FW101] until=2024-01-31"
```

## Use instead
```
-A INPUT -s 192.0.2.0/24 -p tcp --dport 3389 -j ACCEPT
```
```
ip saddr 192.0.2.0/24 tcp dport 3389 accept
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem

CODE = "FW003"
NAME = "expired-suppression"
SEVERITY = "medium"
TARGET = "suppression"
OPTIONS: dict = {}


def check(ctx, report) -> Iterator[Problem]:
    for directive in report.expired:
        codes = ", ".join(directive.selectors)
        yield Problem(span=directive.span,
                      message=f"suppression of {codes} expired on {directive.until.isoformat()}",
                      key=f"{directive.kind}|{codes}|{directive.until.isoformat()}")
