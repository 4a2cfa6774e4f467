"""Issue 4, acceptance 1: random rulesets, the kernel's verdicts against fwlint's.

Each seed gives one ruleset rendered in iptables-save and in nft syntax; both are loaded in
a private namespace (with an inner host behind it for DNAT through FORWARD) and 100 packets
go through veth pairs.  The kernel must agree with itself across the two renderings (else
the generator is wrong) and fwlint must agree with the kernel on every packet: delivered or
not, to this host (input) or the inner host (forward), and on which port after NAT.
"""

from __future__ import annotations

import pytest

from netns import require_netns

from .compare import disagreements, report
from .gen_rulesets import generate, probes_for
from .oracle import Oracle, Probe

RULESETS = 30
PACKETS = 100

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def oracle():
    require_netns()
    with Oracle(router=True) as kernel:
        yield kernel


@pytest.mark.parametrize("seed", range(RULESETS))
def test_fwlint_agrees_with_kernel(oracle: Oracle, seed: int) -> None:
    ruleset = generate(seed)
    probes = probes_for(ruleset, PACKETS, seed)
    kernel_answers, reports = {}, []
    for format in (ruleset.save_format, "nft"):
        text = ruleset.render(format)
        found, kernel_answers[format] = disagreements(oracle, text, format, probes)
        if found:
            reports.append(report(text, format, found))
    by_save, by_nft = kernel_answers.values()
    assert by_save == by_nft, "generator bug: the two renderings differ in the kernel\n" + \
        ruleset.iptables_save() + ruleset.nft()
    assert not reports, "\n\n".join(reports)


def test_oracle_sees_exactly_the_accepted_port(oracle: Oracle) -> None:
    """The oracle itself: a ruleset accepting only tcp/22 lets exactly 22 through."""
    oracle.load("*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
                "iptables-save")
    ports = [21, 22, 23, 2222]
    probes = [Probe("ip", "tcp", "198.18.7.7", oracle.address("eth0"), port, 40000 + port)
              for port in ports]
    probes.append(Probe("ip", "udp", "198.18.7.7", oracle.address("eth0"), 22, 40000))
    arrived = [(p.protocol, p.dport) for p, a in zip(probes, oracle.send(probes)) if a.arrived]
    assert arrived == [("tcp", 22)]


_NFT_REDIRECT_2222 = """table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 2222 redirect to :22
	}
}
table ip filter {
	chain input {
		type filter hook input priority filter; policy drop;
		RULE
	}
}
"""
_IPT_REDIRECT = """*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22
-A PREROUTING -p tcp --dport 8022 -j REDIRECT --to-ports 8022
COMMIT
*filter
:INPUT DROP [0:0]
RULE
COMMIT
"""

#: Hand-written corners where the text is easy to misread; the kernel decides.
#: name -> (format, ruleset, depends on the host's addresses): where the answer depends on
#: addresses a ruleset does not contain, fwlint may answer "possible" instead of agreeing.
HANDWRITTEN = {
    # nft compiles "!=" on a flag type to an exact compare of the whole word.
    "nft ct status != dnat": ("nft", _NFT_REDIRECT_2222.replace(
        "RULE", "ct status != dnat accept"), False),
    "nft ct state != a,b": ("nft", _NFT_REDIRECT_2222.replace(
        "RULE", "ct state != new,established accept"), False),
    "nft ct state != {a, b}": ("nft", _NFT_REDIRECT_2222.replace(
        "RULE", "ct state != { new, established } accept"), False),
    "nft ct status dnat": ("nft", _NFT_REDIRECT_2222.replace(
        "RULE", "tcp dport 22 ct status dnat accept"), False),
    # A REDIRECT that changes nothing (same address, same port) sets no DNAT status.
    "iptables identity REDIRECT": ("iptables-save", _IPT_REDIRECT.replace(
        "RULE", "-A INPUT -p tcp -m conntrack --ctstate DNAT -j ACCEPT"), True),
    # REDIRECT sends to the primary address of the input interface.
    "iptables REDIRECT rewrites daddr": ("iptables-save", _IPT_REDIRECT.replace(
        "RULE", "-A INPUT -d 198.18.1.1 -p tcp -j ACCEPT"), True),
}


@pytest.mark.parametrize("name", list(HANDWRITTEN))
def test_handwritten_corners_agree_with_kernel(oracle: Oracle, name: str) -> None:
    format, text, host_dependent = HANDWRITTEN[name]
    probes = [Probe("ip", "tcp", "198.18.7.7", oracle.address(iif), port, 40000 + port, iif)
              for iif in ("eth0", "eth1") for port in (22, 80, 2222, 8022)]
    probes.append(Probe("ip", "tcp", "198.18.7.8", oracle.address("eth1"), 2222, 41999, "eth0"))
    found, _kernel = disagreements(oracle, text, format, probes)
    if host_dependent:
        found = [d for d in found if "(possible)" not in d.detail]
    assert not found, report(text, format, found)
