"""
## What it does
Reports replies of established connections that input does not accept when the policy
requires it.
When the policy has `require: [established-accept]`, reports a ruleset whose input hook
does not accept packets of established connections (a TCP reply from port 443 and a UDP
reply from port 53 arriving on a high port) — typically because
`ct state established,related accept` is missing or comes after rules that drop them.

## Why is this bad
Without it the host cannot receive replies to its own connections (package updates, DNS,
NTP), and the usual workaround is to open the whole dynamic port range to everyone.  Put
first, it also keeps the restrictive rules that follow about NEW connections only.

## Example
With `require: [established-accept]`:
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
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    tcp dport 22 accept
  }
}
```
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem
from ..policy.checking import required_packet_problems

CODE = "FW408"
NAME = "missing-established-accept"
SEVERITY = "medium"
TARGET = "policy"
OPTIONS: dict = {}

_REMOTE = {"ip": "198.51.100.7", "ip6": "2001:db8:ffff::7"}
_LOCAL = {"ip": "192.0.2.1", "ip6": "2001:db8::1"}


def check(ctx) -> Iterator[Problem]:
    from ..analysis import Packet

    yield from required_packet_problems(
        ctx, "established-accept",
        lambda family: [
            Packet(family, 6, _REMOTE[family], _LOCAL[family], sport=443, dport=51000,
                   ct_state="established", tcp_flags=frozenset({"ACK"})),
            Packet(family, 17, _REMOTE[family], _LOCAL[family], sport=53, dport=51000,
                   ct_state="established", tcp_flags=frozenset())],
        "replies of established {protocol} connections")
