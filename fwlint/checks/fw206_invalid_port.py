"""
## What it does
Reports a port that cannot match what the author meant: port 0, a port above 65535, or a
range written backwards (`--dport 4:3`, `tcp dport 5-3`).

## Why is this bad
Ports are 16-bit numbers from 1 to 65535; port 0 is reserved and never used by a real
connection.  `iptables-restore` and `nft -f` refuse a port above 65535 or a reversed range
and load nothing, and a rule that accepts port 0 silently matches nothing useful.  Port 0 in a rule that
drops or rejects is the usual guard against port-0 scans and is not reported.  A typo in a port
is also a typo in the exposure the file claims.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 8443:8080 -j ACCEPT
-A INPUT -p udp --dport 0 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 8443-8080 accept
    udp dport 70000 accept
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 8080:8443 -j ACCEPT
-A INPUT -p udp --dport 1194 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 8080-8443 accept
    udp dport 1194 accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterable, Iterator

from ..findings import Problem
from ..model import PortMatch

CODE = "FW206"
NAME = "invalid-port"
SEVERITY = "high"
TARGET = "rule"
#: called only for rules with one of these matches
MATCHES = (PortMatch,)
OPTIONS: dict = {}

MAX_PORT = 65535
_DROPPING = ("drop", "reject")


def port_errors(value: str, zero_ok: bool = False) -> Iterator[str]:
    """What is wrong with one written port or range (service names are not judged here).

    ``zero_ok``: port 0 is what the rule is about (dropping port-0 scans), not a typo.
    """
    text = value.strip().lstrip("!").strip()
    separator = ":" if ":" in text else "-" if "-" in text else None
    if separator is None:
        if not text.isdigit():
            return
        port = int(text)
        if port == 0 and not zero_ok:
            yield "port 0 is not a usable port"
        elif port > MAX_PORT:
            yield f"port {port} is above {MAX_PORT}"
        return
    low_text, high_text = (part.strip() for part in text.split(separator, 1))
    if not all(part == "" or part.isdigit() for part in (low_text, high_text)):
        return
    low = int(low_text) if low_text else 0
    high = int(high_text) if high_text else MAX_PORT
    for port in (low, high):
        if port > MAX_PORT:
            yield f"port {port} in range {text} is above {MAX_PORT}"
    if low > high:
        yield f"range {text} is reversed (its first port is greater than its last)"
    elif high == 0 and not zero_ok:
        yield f"range {text} holds only port 0, which is not a usable port"


def check(ctx, table, chain, rule) -> Iterable[Problem]:
    """Problems of one rule; an empty tuple at once when every port is a plain number in
    range (not a generator: FW206 runs on every rule with a port match)."""
    for match in rule.matches:
        if isinstance(match, PortMatch):
            for written in match.raw:
                for value in written.split(","):
                    if not (value.isdigit() and 0 < int(value) <= MAX_PORT):
                        return list(_problems(table, chain, rule))
    return ()


def _problems(table, chain, rule) -> Iterator[Problem]:
    zero_ok = rule.verdict is not None and rule.verdict.kind in _DROPPING
    for match in rule.matches:
        if not isinstance(match, PortMatch):
            continue
        for written in match.raw:
            for value in written.split(","):
                for error in port_errors(value, zero_ok):
                    yield Problem(
                        span=match.span if match.span.line else rule.span,
                        message=f"{match.field} {error}",
                        key=f"{table.family}/{table.name}/{chain.name}/{rule.text}|{value.strip()}",
                    )
