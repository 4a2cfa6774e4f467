"""
## What it does
Reports a `fwlint: ignore[…]` or `fwlint: file-ignore[…]` directive (in a `#` comment or
in a rule's own comment) that suppresses nothing: the check it names found nothing there,
the name is not a known check, or the directive names no check at all.  A directive for a
check that is switched off (by `select`/`ignore` or `per-file-ignores`) is not reported.

## Why is this bad
A suppression outlives the problem it was written for.  Left behind, it silently hides
the next, different problem of the same kind on that rule, and readers take it as a
statement that the rule is risky when it no longer is.

## Example
```
# fwlint: ignore[FW201] reason="was shadowed before the ssh rule moved"
-A INPUT -p tcp --dport 22 -j ACCEPT
```
```
tcp dport 22 accept # fwlint: ignore[FW201]
```

## Use instead
```
-A INPUT -p tcp --dport 22 -j ACCEPT
```
```
tcp dport 22 accept
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem

CODE = "FW002"
NAME = "unused-suppression"
SEVERITY = "low"
TARGET = "suppression"
OPTIONS: dict = {}


def check(ctx, report) -> Iterator[Problem]:
    from . import lookup
    from ..config import is_prefix

    for directive in report.invalid:
        yield Problem(span=directive.span, message=f"suppression {directive.invalid}",
                      key=f"{directive.kind}|{','.join(directive.selectors)}|invalid")
    for directive, selector in report.unused:
        if selector != "ALL" and lookup(selector) is None and not is_prefix(selector):
            message = f"suppression names unknown check {selector!r}"
        else:
            message = f"unused suppression of {selector}: no such finding here"
        yield Problem(span=directive.span, message=message,
                      key=f"{directive.kind}|{selector}|{directive.reason}")
