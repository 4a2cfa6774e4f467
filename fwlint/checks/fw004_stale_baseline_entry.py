"""
## What it does
Reports an entry of the baseline file (`fwlint check --baseline FILE`) that matches no
finding any more in a file that was checked in this run.  Entries for files not checked in
this run are left alone, so running on a few files (as pre-commit does) reports nothing.
This check needs a baseline file beside the rule file, so it has no single-file test
cases; tests/integration/test_baseline.py covers it.

## Why is this bad
A baseline entry is a finding someone chose to live with.  Once the rule is fixed the entry
is dead weight, and if the same problem comes back in that place it will be hidden
without anyone deciding so.

## Example
An entry for a duplicate rule of rules.v4 that has since been deleted:
```
{"path": "rules.v4", "code": "FW303", "fingerprint": "9f1c…", "message": "rule repeats the rule at line 4 of chain INPUT"}
```
and one for a rule of nftables.conf that was fixed:
```
{"path": "nftables.conf", "code": "FW303", "fingerprint": "51ab…", "message": "rule repeats the rule at line 5 of chain input"}
```

## Use instead
Delete the entries, or regenerate the baseline for the files that have it:
```
fwlint baseline create .fwlint-baseline.json rules.v4
```
```
fwlint baseline create .fwlint-baseline.json nftables.conf
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem

CODE = "FW004"
NAME = "stale-baseline-entry"
SEVERITY = "info"
TARGET = "baseline"
OPTIONS: dict = {}


def check(ctx, baseline, entries) -> Iterator[Problem]:
    from ..baseline import entry_span

    for entry in entries:
        message = f"baseline entry for {entry.code} in {entry.path} matches no finding any more"
        if entry.message:
            message += f" (was: {entry.message})"
        yield Problem(span=entry_span(baseline, entry), message=message,
                      key=f"{entry.path}|{entry.code}|{entry.fingerprint}")
