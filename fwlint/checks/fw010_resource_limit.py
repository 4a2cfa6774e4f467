"""
## What it does
Reports input that fwlint did not read or follow completely because it went past a
resource limit: a file larger than `max-file-bytes`, nft includes nested deeper than
`max-include-depth` or more than `max-includes` of them, an include that points outside
the repository (or the folders given with `-I`), nft variables that expand to more than
a million tokens in one file (defines that double each other), or jumps between chains
nested deeper than `max-jump-depth` (then the analysis and policy checks are skipped for
the file).

## Why is this bad
A linter that silently skips what it could not read makes "no findings" mean less than
it says.  Files from a repository fwlint does not control may be built to exhaust the
machine (a glob include of thousands of files, an include of `/proc/kcore`, a jump chain
a thousand levels deep); the limits stop that, and this finding says what was left out.
The kernel itself refuses jumps nested deeper than 16 chains.

## Example
```
*filter
:INPUT DROP [0:0]
:C1 - [0:0]
:C2 - [0:0]
-A INPUT -j C1
-A C1 -j C2
-A C2 -j C1
COMMIT
```
(a jump path through more than `max-jump-depth` chains, here a cycle of many chains)
```
table inet filter {
  include "/etc/nftables/secrets.nft"
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:C1 - [0:0]
-A INPUT -j C1
-A C1 -p tcp --dport 22 -j ACCEPT
COMMIT
```
```
table inet filter {
  include "rules/common.nft"
}
```
Keep included files inside the repository, or pass their folder with `-I DIR`; raise a
limit in the configuration when a real ruleset needs it:
```
[tool.fwlint.options.FW010]
max-file-bytes = 134217728
```

## Options
- `max-file-bytes` (integer, default 67108864): largest rule or include file read.
- `max-include-depth` (integer, default 16): how deep nft includes may nest.
- `max-includes` (integer, default 512): how many files one nft file may include in all.
- `max-jump-depth` (integer, default 64): chains on the longest jump path (a cycle counts
  all its chains) before the analysis is skipped.
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem
from ..limits import DEFAULTS

CODE = "FW010"
NAME = "resource-limit"
SEVERITY = "high"
TARGET = "parse"
OPTIONS: dict = dict(DEFAULTS)


def check(ctx) -> Iterator[Problem]:
    for error in ctx.errors:
        if error.limit:
            yield Problem(span=error.span, message=error.message,
                          key=f"{error.limit}|{error.source_line.strip()}")
