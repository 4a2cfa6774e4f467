"""Generate a kube-proxy-like nftables ruleset of a given size, and time fwlint against nft.

The shape follows kube-proxy's nftables mode: a filter chain with conntrack rules, a
dispatch chain matching each service's cluster IP and port (with a comment naming the
service), one chain per service that picks an endpoint with ``numgen``, and one chain per
endpoint that marks hairpin traffic for masquerade and DNATs to the pod; named sets of
cluster IPs and node ports.

    python bench/gen_nft.py 100000 -o /tmp/kube-100k.nft          # write a file
    python bench/gen_nft.py 100000 --time                          # write and time both tools
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

RULES_PER_SERVICE = 7  # 1 dispatch + 2 in the service chain + 2 x 2 endpoint rules
ENDPOINTS_PER_SERVICE = 2


def _ip(prefix: int, index: int) -> str:
    return f"{prefix}.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"


def generate(rules: int) -> str:
    """An nft file with about ``rules`` rules (never fewer)."""
    services = max(1, -(-rules // RULES_PER_SERVICE))
    out = ["#!/usr/sbin/nft -f", "flush ruleset", "", "table ip kube-proxy {",
           "\tset cluster-ips {", "\t\ttype ipv4_addr", "\t\telements = {"]
    out.append(",\n".join(f"\t\t\t{_ip(10, s + 1)}" for s in range(min(services, 1000))))
    out += ["\t\t}", "\t}", "",
            "\tchain filter-input {",
            "\t\ttype filter hook input priority filter; policy accept;",
            "\t\tct state new jump services",
            "\t\tct state invalid drop",
            "\t}", "",
            "\tchain nat-prerouting {",
            "\t\ttype nat hook prerouting priority dstnat; policy accept;",
            "\t\tjump services",
            "\t}", "",
            "\tchain mark-for-masquerade {",
            "\t\tmeta mark set meta mark | 0x00004000",
            "\t}", "",
            "\tchain services {"]
    for s in range(services):
        name = f"svc-{s:06d}-ns{s % 50}-web-tcp-p{80 + s % 20}"
        out.append(f"\t\tip daddr {_ip(10, s + 1)} tcp dport {80 + s % 20} "
                   f"jump {name} comment \"ns{s % 50}/web{s}:http cluster IP\"")
    out += ["\t}", ""]
    for s in range(services):
        name = f"svc-{s:06d}-ns{s % 50}-web-tcp-p{80 + s % 20}"
        endpoints = [f"ep-{s:06d}-{e}" for e in range(ENDPOINTS_PER_SERVICE)]
        out += [f"\tchain {name} {{",
                f"\t\tip daddr {_ip(10, s + 1)} ip saddr != 10.244.0.0/16 jump "
                f"mark-for-masquerade",
                f"\t\tnumgen random mod {ENDPOINTS_PER_SERVICE} vmap {{ "
                + ", ".join(f"{i} : goto {ep}" for i, ep in enumerate(endpoints)) + " }",
                "\t}"]
        for e, endpoint in enumerate(endpoints):
            pod = _ip(172, (s * ENDPOINTS_PER_SERVICE + e) % (1 << 20) + 1)
            out += [f"\tchain {endpoint} {{",
                    f"\t\tip saddr {pod} jump mark-for-masquerade",
                    f"\t\tmeta l4proto tcp counter dnat to {pod}:8080 comment "
                    f"\"ns{s % 50}/web{s}:http endpoint {e}\"",
                    "\t}"]
    out.append("}")
    return "\n".join(out) + "\n"


def _timed(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    return time.perf_counter() - start, proc.returncode


def time_both(path: str) -> dict[str, float]:
    """Seconds for ``fwlint check`` and for ``nft -c -f`` (in a private namespace)."""
    fwlint_s, fwlint_rc = _timed([sys.executable, "-m", "fwlint", "check", "--exit-zero",
                                  "--output-format", "json", path])
    nft_s, nft_rc = _timed(["unshare", "-n", "nft", "-c", "-f", path])
    return {"fwlint_s": round(fwlint_s, 2), "fwlint_rc": fwlint_rc, "nft_s": round(nft_s, 2),
            "nft_rc": nft_rc, "ratio": round(fwlint_s / nft_s, 2) if nft_s else float("inf")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rules", type=int, help="number of rules (1000, 10000, 100000)")
    parser.add_argument("-o", "--output", help="file to write (default: a temporary file)")
    parser.add_argument("--time", action="store_true",
                        help="time fwlint check against nft -c -f on the file")
    args = parser.parse_args(argv)
    path = args.output or os.path.join(tempfile.gettempdir(), f"kube-{args.rules}.nft")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(generate(args.rules))
    print(path)
    if args.time:
        print(time_both(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
