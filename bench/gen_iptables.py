"""Generate kube-proxy-like iptables-save files for benchmarks.

The shape follows what kube-proxy (iptables mode) writes on a large cluster: a nat table
with one KUBE-SVC- chain per service port and one KUBE-SEP- chain per endpoint (DNAT,
``statistic --mode random`` load balancing, masquerade marks), NodePorts, and a filter
table with conntrack, ``addrtype`` and ``multiport`` rules.  Deterministic for a seed.

    python bench/gen_iptables.py 10000 > out.rules
"""

from __future__ import annotations

import argparse
import random
import sys

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_NAMESPACES = ("default", "kube-system", "monitoring", "payments", "search", "web", "batch")
_WORDS = ("api", "db", "cache", "frontend", "worker", "auth", "metrics", "queue", "search",
          "gateway", "billing", "profile", "media", "report")


def _chain_hash(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(16))


def generate(rules: int, seed: int = 1) -> str:
    """An iptables-save file with about ``rules`` rules (never fewer)."""
    rng = random.Random(seed)
    nat_chains: list[str] = ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING",
                             "KUBE-MARK-MASQ"]
    nat: list[str] = [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" '
        '-j KUBE-POSTROUTING',
        "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE --random-fully",
    ]
    filter_chains = ["KUBE-FORWARD", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES",
                     "KUBE-FIREWALL"]
    filt: list[str] = [
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service '
        'portals" -j KUBE-SERVICES',
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-'
        'visible service portals" -j KUBE-EXTERNAL-SERVICES',
        "-A INPUT -j KUBE-FIREWALL",
        '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" '
        "-m mark --mark 0x4000/0x4000 -j ACCEPT",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" '
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "
        '"block incoming localnet connections" -m conntrack ! --ctstate '
        "RELATED,ESTABLISHED,DNAT -j DROP",
        "-A OUTPUT -j KUBE-FIREWALL",
    ]
    total = len(nat) + len(filt)
    service = 0
    while total < rules:
        service += 1
        ns = rng.choice(_NAMESPACES)
        name = f"{rng.choice(_WORDS)}-{service}"
        proto = "udp" if rng.random() < 0.1 else "tcp"
        port = rng.choice((80, 443, 8080, 9090, 5432, 6379, 53, 8443, 3000))
        target_port = port + rng.choice((0, 0, 1000))
        cluster_ip = f"10.96.{service // 250 % 256}.{service % 250 + 1}"
        label = f"{ns}/{name}:{proto}-{port}"
        svc = "KUBE-SVC-" + _chain_hash(rng)
        nat_chains.append(svc)
        endpoints = rng.choice((0, 1, 2, 3, 3, 5))
        if endpoints == 0:
            node_port = 30000 + rng.randrange(2768)
            filt.append(f'-A KUBE-EXTERNAL-SERVICES -p {proto} -m comment --comment '
                        f'"{label} has no endpoints" -m addrtype --dst-type LOCAL '
                        f"-m {proto} --dport {node_port} -j REJECT --reject-with "
                        "icmp-port-unreachable")
            filt.append(f'-A KUBE-SERVICES -d {cluster_ip}/32 -p {proto} -m comment '
                        f'--comment "{label} has no endpoints" -m {proto} --dport {port} '
                        "-j REJECT --reject-with icmp-port-unreachable")
            total += 2
            continue
        nat.append(f'-A KUBE-SERVICES -d {cluster_ip}/32 -p {proto} -m comment --comment '
                   f'"{label} cluster IP" -m {proto} --dport {port} -j {svc}')
        nat.append(f"-A {svc} ! -s 10.244.0.0/16 -d {cluster_ip}/32 -p {proto} -m comment "
                   f'--comment "{label} cluster IP" -m {proto} --dport {port} '
                   "-j KUBE-MARK-MASQ")
        total += 2
        if rng.random() < 0.2:
            node_port = 30000 + rng.randrange(2768)
            nat.append(f"-A KUBE-NODEPORTS -p {proto} -m comment --comment \"{label}\" "
                       f"-m {proto} --dport {node_port} -j {svc}")
            total += 1
        if rng.random() < 0.15:
            ports = ",".join(str(p) for p in sorted(rng.sample(range(8000, 8100), 3)))
            filt.append(f"-A KUBE-FORWARD -s 10.244.0.0/16 -p {proto} -m multiport "
                        f'--dports {ports} -m comment --comment "{label} extra ports" '
                        "-j ACCEPT")
            total += 1
        for index in range(endpoints):
            sep = "KUBE-SEP-" + _chain_hash(rng)
            nat_chains.append(sep)
            pod_ip = f"10.244.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            remaining = endpoints - index
            balance = (f"-m statistic --mode random --probability {1 / remaining:.11f} "
                       if remaining > 1 else "")
            nat.append(f'-A {svc} -m comment --comment "{label} -> {pod_ip}:{target_port}" '
                       f"{balance}-j {sep}")
            nat.append(f'-A {sep} -s {pod_ip}/32 -m comment --comment "{label}" '
                       "-j KUBE-MARK-MASQ")
            nat.append(f'-A {sep} -p {proto} -m comment --comment "{label}" -m {proto} '
                       f"-j DNAT --to-destination {pod_ip}:{target_port}")
            total += 3
    nat.append('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: '
               'this must be the last rule in this chain" -m addrtype --dst-type LOCAL '
               "-j KUBE-NODEPORTS")
    lines = ["# Generated by fwlint bench/gen_iptables.py", "*nat",
             ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
             ":POSTROUTING ACCEPT [0:0]"]
    lines += [f":{chain} - [0:0]" for chain in nat_chains]
    lines += nat
    lines += ["COMMIT", "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]",
              ":OUTPUT ACCEPT [0:0]"]
    lines += [f":{chain} - [0:0]" for chain in filter_chains]
    lines += filt
    lines += ["COMMIT", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rules", type=int, help="how many rules (about)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.stdout.write(generate(args.rules, args.seed))


if __name__ == "__main__":
    main()
