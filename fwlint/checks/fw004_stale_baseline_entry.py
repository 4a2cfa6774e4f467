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
```
{"path": "rules.v4", "code": "FW201", "fingerprint": "9f1c…", "message": "…"}
```
(for a rule that has since been removed from rules.v4)

## Use instead
Regenerate the baseline with `fwlint baseline create .fwlint-baseline.json PATHS…`, or
delete the entry.
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
        yield Problem(span=entry_span(baseline, entry),
                      message=f"baseline entry for {entry.code} in {entry.path} matches no "
                              f"finding any more ({entry.message})" if entry.message else
                              f"baseline entry for {entry.code} in {entry.path} matches no "
                              "finding any more",
                      key=f"{entry.path}|{entry.code}|{entry.fingerprint}")
