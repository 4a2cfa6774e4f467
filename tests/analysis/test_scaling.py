"""The analysis grows linearly on kube-proxy-like rulesets: counted in box operations, not
timed (timings on shared CI machines are noise).

cProfile counts calls of Python functions only, so the counting runs in a child process
that loads the analysis from its sources (``FWLINT_PURE_PYTHON``) even where it is installed
compiled."""

from __future__ import annotations

import cProfile
import os
import pstats
import subprocess
import sys

from fwlint.analysis import analyze
from fwlint.parsing import parse_text

COUNTED = ("box_and", "box_sub", "iv_and", "iv_sub", "query")


def kube_like(services: int) -> str:
    """nat KUBE-SERVICES -> KUBE-SVC (random endpoint) -> KUBE-SEP DNAT, as kube-proxy writes."""
    chains, rules = [], []
    for i in range(services):
        ip, port = f"10.96.{i // 250}.{i % 250 + 1}", (80, 443, 8080, 5432)[i % 4]
        svc = f"KUBE-SVC-{i:08X}"
        chains.append(svc)
        rules.append(f"-A KUBE-SERVICES -d {ip}/32 -p tcp -m tcp --dport {port} -j {svc}")
        for k in range(2):
            sep = f"KUBE-SEP-{i:08X}{k}"
            chains.append(sep)
            chance = " -m statistic --mode random --probability 0.5" if k == 0 else ""
            rules.append(f"-A {svc}{chance} -j {sep}")
            rules.append(f"-A {sep} -s 10.244.{i % 250}.{k + 1}/32 -j KUBE-MARK-MASQ")
            rules.append(f"-A {sep} -p tcp -m tcp -j DNAT --to-destination "
                         f"10.244.{i % 250}.{k + 1}:{8000 + k}")
    rules.append("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
    head = ["*nat", ":PREROUTING ACCEPT [0:0]", ":KUBE-SERVICES - [0:0]",
            ":KUBE-NODEPORTS - [0:0]", ":KUBE-MARK-MASQ - [0:0]"]
    tail = ["-A PREROUTING -j KUBE-SERVICES", "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
            "COMMIT", "*filter", ":INPUT DROP [0:0]", ":FORWARD ACCEPT [0:0]",
            "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            "-A INPUT -p tcp --dport 22 -j ACCEPT", "-A INPUT -j DROP", "COMMIT"]
    return "\n".join(head + [f":{c} - [0:0]" for c in chains] + rules + tail) + "\n"


def operations(services: int) -> int:
    ruleset = parse_text(kube_like(services), "kube.rules").ruleset
    profile = cProfile.Profile()
    profile.enable()
    analysis = analyze(ruleset)
    analysis.rule_results()
    analysis.exposure()
    analysis.nat_rules()
    profile.disable()
    stats = pstats.Stats(profile).stats
    return sum(calls for (_, _, name), (_, calls, *_rest) in stats.items() if name in COUNTED)


def counted_in_pure_python(services: int) -> int:
    env = dict(os.environ, FWLINT_PURE_PYTHON="1")
    done = subprocess.run([sys.executable, __file__, str(services)], env=env, check=True,
                          capture_output=True, text=True)
    return int(done.stdout)


def test_box_operations_grow_linearly_with_the_rule_count():
    small, large = counted_in_pure_python(100), counted_in_pure_python(400)
    assert small > 0
    assert large <= 4 * small * 1.5, (small, large)


if __name__ == "__main__":
    print(operations(int(sys.argv[1])))
