"""Exposure through the prerouting filter chains (raw, mangle, nft ``type filter hook
prerouting``): what they drop is not exposed, chains after the nat chain see the translated
packet, and an unknown match or a packet rewrite there makes a class possible.

The kernel test at the end loads the same small rulesets and judges sampled packets as
``bench/differential.py --corpus`` does (it failed on such files before: issue 4).
"""

from __future__ import annotations

import pytest

from fwlint.analysis import analyze
from fwlint.parsing import parse_text

from netns import require_netns

INPUT_ACCEPT_22 = """
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    tcp dport 22 accept
  }
}
"""

POLICY_DROP = """
table inet global {
  chain prerouting {
    type filter hook prerouting priority filter; policy drop;
  }
}
"""

DROP_SOURCE_BEFORE_INPUT = """
table ip raw {
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    ip saddr 192.0.2.0/24 drop
  }
}
""" + INPUT_ACCEPT_22

FIB_DROP = """
table inet raw {
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    fib saddr . iif oif 0 drop
  }
}
""" + INPUT_ACCEPT_22

DADDR_REWRITE = """
table ip statelessnat {
  chain prerouting {
    type filter hook prerouting priority dstnat; policy accept;
    ip daddr set numgen inc mod 16 map { 0-7 : 10.0.1.1, 8-15 : 10.0.1.2 }
  }
}
""" + INPUT_ACCEPT_22

REDIRECT_THEN_FILTER = """
table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 2222 redirect to :22
    tcp dport 8022 redirect to :22
  }
}
table ip early {
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    tcp dport 8022 drop
  }
}
table ip late {
  chain prerouting {
    type filter hook prerouting priority filter; policy accept;
    tcp dport 22 ct status dnat accept
    tcp dport 22 drop
  }
}
table ip filter {
  chain input {
    type filter hook input priority filter; policy drop;
    tcp dport 22 accept
  }
}
"""

MANGLE_DROP = """*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 23 -j DROP
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp -m multiport --dports 22,23 -j ACCEPT
COMMIT
"""

EMPTY_MANGLE = """*mangle
:PREROUTING ACCEPT [0:0]
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
"""


def exposure(text: str, format: str = "nft"):
    parsed = parse_text(text, "t", format)
    assert not parsed.errors, parsed.errors
    return analyze(parsed.ruleset).exposure()


def tcp_ip(text: str, format: str = "nft"):
    return [e for e in exposure(text, format) if e.family == "ip" and e.protocol == 6]


def test_prerouting_policy_drop_exposes_nothing():
    assert exposure(POLICY_DROP) == ()


def test_prerouting_drop_narrows_the_sources():
    (ssh,) = tcp_ip(DROP_SOURCE_BEFORE_INPUT)
    assert ssh.ports == ((22, 22),) and ssh.certainty == "definite"
    low, high = 0xC0000200, 0xC00002FF
    assert ssh.sources == ((0, low - 1), (high + 1, 2**32 - 1))


def test_unknown_match_that_drops_in_prerouting_makes_the_class_possible():
    (ssh,) = tcp_ip(FIB_DROP)
    assert ssh.ports == ((22, 22),)
    assert ssh.certainty == "possible" and "fib saddr . iif oif 0" in ssh.reason


def test_rewrite_in_prerouting_makes_the_class_possible():
    (ssh,) = tcp_ip(DADDR_REWRITE)
    assert ssh.certainty == "possible" and "ip daddr set" in ssh.reason


def test_chains_before_nat_see_the_wire_and_after_it_the_translated_packet():
    """8022 is dropped before nat; 22 on the wire is dropped after nat; 2222 arrives on 22
    with the DNAT status the late chain accepts."""
    (ssh,) = tcp_ip(REDIRECT_THEN_FILTER)
    assert (ssh.ports, ssh.internal_ports, ssh.certainty) == (((2222, 2222),), ((22, 22),),
                                                              "definite")
    assert [r.text for r in ssh.rules] == ["tcp dport 22 accept"]


def test_iptables_mangle_prerouting_drop():
    (opened,) = tcp_ip(MANGLE_DROP, "iptables-save")
    assert opened.ports == ((22, 22),) and opened.certainty == "definite"


def test_empty_accepting_prerouting_changes_nothing():
    without = EMPTY_MANGLE.split("*filter", 1)[1]
    assert exposure(EMPTY_MANGLE, "iptables-save") == exposure("*filter" + without,
                                                               "iptables-save")


@pytest.mark.kernel
@pytest.mark.parametrize("name", ["POLICY_DROP", "DROP_SOURCE_BEFORE_INPUT", "FIB_DROP",
                                  "DADDR_REWRITE", "REDIRECT_THEN_FILTER", "MANGLE_DROP"])
def test_exposure_agrees_with_kernel(name, tmp_path):
    require_netns()
    from kernel.corpus import compare_file

    format = "iptables-save" if name == "MANGLE_DROP" else "nft"
    (tmp_path / "rules").write_text(globals()[name].lstrip())
    result = compare_file("rules", format, corpus_root=str(tmp_path))
    assert result.status == "compared", result.detail
    assert not result.disagreements, "\n".join(result.disagreements)
    assert result.agreed > 0
