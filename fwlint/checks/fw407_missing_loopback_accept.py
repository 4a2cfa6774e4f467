"""
## What it does
Reports loopback traffic that input does not accept when the policy requires it.
When the policy has `require: [loopback-accept]`, reports a ruleset in which NEW
connections over the loopback interface (`lo`, 127.0.0.1 or ::1, to local ports 5432 and
6010) are not accepted by the input hook.

## Why is this bad
Local programs talk to each other over loopback: databases, caches, DNS resolvers, the
X server, monitoring agents.  A default-deny input chain without a loopback exception
breaks them in ways that look like application bugs, and people "fix" it by opening the
ports to everyone.

## Example
With `require: [loopback-accept]`:
```
*filter
:INPUT DROP [0:0]
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

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    iif "lo" accept
    tcp dport 22 accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem
from ..policy.checking import required_packet_problems

CODE = "FW407"
NAME = "missing-loopback-accept"
SEVERITY = "medium"
TARGET = "policy"
OPTIONS: dict = {}

_LOOPBACK = {"ip": "127.0.0.1", "ip6": "::1"}
#: ports local programs listen on only for each other (PostgreSQL, X11 forwarded over SSH)
_LOCAL_PORTS = (5432, 6010)


def check(ctx) -> Iterator[Problem]:
    from ..analysis import Packet

    yield from required_packet_problems(
        ctx, "loopback-accept",
        lambda family: [Packet(family, 6, _LOOPBACK[family], _LOOPBACK[family], sport=40000,
                               dport=port, iif="lo") for port in _LOCAL_PORTS],
        "NEW TCP connections over lo to port {dport}")
