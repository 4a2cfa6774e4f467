"""
## What it does
Reports an administration or database service that a NEW connection from any source
address can reach: ssh (22/tcp), telnet (23/tcp), rdp (3389), vnc (5900-5903/tcp), smb
(139, 445/tcp), mysql (3306/tcp), postgres (5432/tcp), redis (6379/tcp), mongodb
(27017/tcp), memcached (11211/tcp and udp), elasticsearch (9200, 9300/tcp) and others
(see Options).  It reads the exposure the analysis computes, after NAT: a
`REDIRECT --to-ports 22` from 2222 counts as ssh on 2222, and a Docker-style DNAT to
another host counts too.  TCP and UDP are different services.

## Why is this bad
These services are scanned for continuously and brute-forced within minutes of appearing
on the internet; several (redis, memcached, mongodb, elasticsearch) have no
authentication by default.  They should be reachable only from management networks or a
VPN.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 6379 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport { 22, 5432 } accept
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ip saddr 192.0.2.0/24 tcp dport { 22, 5432 } accept
  }
}
```

## Options
- `ports` (list of "PORT/PROTO" or "FIRST-LAST/PROTO", default: the list above): the
  admin and database ports to report.
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Problem, Related
from ..model import PROTOCOL_NAMES

CODE = "FW102"
NAME = "any-source-admin-port"
SEVERITY = "high"
TARGET = "analysis"

#: (protocol, first port, last port, service)
ADMIN_PORTS = (
    (6, 22, 22, "ssh"), (6, 23, 23, "telnet"), (6, 3389, 3389, "rdp"), (17, 3389, 3389, "rdp"),
    (6, 5900, 5903, "vnc"), (6, 139, 139, "netbios-ssn"), (6, 445, 445, "smb"),
    (17, 137, 138, "netbios"), (6, 3306, 3306, "mysql"), (6, 5432, 5432, "postgres"),
    (6, 6379, 6379, "redis"), (6, 27017, 27019, "mongodb"), (6, 11211, 11211, "memcached"),
    (17, 11211, 11211, "memcached"), (6, 9200, 9200, "elasticsearch"),
    (6, 9300, 9300, "elasticsearch"), (6, 1433, 1433, "mssql"), (6, 1521, 1521, "oracle"),
    (6, 5984, 5984, "couchdb"), (6, 2375, 2376, "docker"), (6, 2379, 2380, "etcd"),
    (6, 10250, 10250, "kubelet"), (6, 6443, 6443, "kubernetes-api"), (17, 161, 161, "snmp"),
    (6, 5985, 5986, "winrm"), (6, 111, 111, "rpcbind"), (17, 111, 111, "rpcbind"),
    (6, 2049, 2049, "nfs"), (17, 2049, 2049, "nfs"), (6, 8086, 8086, "influxdb"),
    (6, 9042, 9042, "cassandra"), (6, 5601, 5601, "kibana"), (6, 15672, 15672, "rabbitmq-mgmt"),
)
OPTIONS: dict = {"ports": None}


def _configured(option) -> tuple[tuple[int, int, int, str], ...]:
    if not option:
        return ADMIN_PORTS
    out = []
    for item in option:
        port, _, proto = str(item).partition("/")
        first, _, last = port.partition("-")
        number = 17 if proto.lower() == "udp" else 6
        out.append((number, int(first), int(last or first), str(item)))
    return tuple(out)


def _service(protocol: int, port: int, fallback: str) -> str:
    from ..services import service_name
    return service_name(protocol, port) or fallback


def check(ctx) -> Iterator[Problem]:
    admin = _configured(ctx.options.get("ports"))
    seen: set[str] = set()
    for exposure in ctx.analysis.exposure():
        if not exposure.any_source or not (exposure.rules or exposure.nat_rules):
            continue  # opened by an accept policy alone: accept-policy (FW101) reports that
        inside = exposure.internal_ports
        for proto, first, last, name in admin:
            if proto != exposure.protocol:
                continue
            for lo, hi in exposure.ports if inside is None else inside:
                if hi < first or lo > last:
                    continue
                port = max(lo, first)
                problem = _problem(exposure, port, _service(proto, port, name))
                if problem.key not in seen:
                    seen.add(problem.key)
                    yield problem
                break


def _problem(exposure, port: int, service: str) -> Problem:
    proto = PROTOCOL_NAMES.get(exposure.protocol, str(exposure.protocol))
    rule = exposure.nat_rules[0] if exposure.nat_rules else exposure.rules[-1]
    wire = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in exposure.ports)
    via = f" (reached on {proto} port {wire} through NAT)" if exposure.internal_ports else ""
    where = "" if exposure.interfaces is None else f" on {', '.join(exposure.interfaces)}"
    message = f"{service} ({port}/{proto}) is open to any source{where}{via}"
    if exposure.certainty == "possible":
        message += f"; possibly, depending on {exposure.reason}"
    related = tuple(Related(r.span, "opens it") for r in exposure.rules if r is not rule)
    related += tuple(Related(r.span, "translates it") for r in exposure.nat_rules
                     if r is not rule)
    return Problem(span=rule.span, message=message, related=related,
                   key=f"{exposure.hook}/{port}/{proto}/{rule.text}",
                   certainty=exposure.certainty)
