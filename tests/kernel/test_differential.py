"""Issue 4, acceptance 1: random rulesets, the kernel's verdicts against fwlint's.

Each seed gives one ruleset rendered in iptables-save and in nft syntax; both are loaded in
a private namespace and 100 packets go through a veth pair.  The kernel must agree with
itself across the two renderings (else the generator is wrong) and fwlint must agree with
the kernel on every packet: delivered or not, and the destination port after NAT.
"""

from __future__ import annotations

import pytest

from netns import require_netns

from .compare import disagreements, report
from .gen_rulesets import generate, probes_for
from .oracle import Oracle

RULESETS = 30
PACKETS = 100

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def oracle():
    require_netns()
    with Oracle() as kernel:
        yield kernel


@pytest.mark.parametrize("seed", range(RULESETS))
def test_fwlint_agrees_with_kernel(oracle: Oracle, seed: int) -> None:
    ruleset = generate(seed)
    probes = probes_for(ruleset, PACKETS, seed)
    kernel_answers = {}
    for format in (ruleset.save_format, "nft"):
        text = ruleset.render(format)
        found, kernel_answers[format] = disagreements(oracle, text, format, probes)
        assert not found, report(text, format, found)
    by_save, by_nft = kernel_answers.values()
    assert by_save == by_nft, "generator bug: the two renderings differ in the kernel\n" + \
        ruleset.iptables_save() + ruleset.nft()


def test_oracle_sees_exactly_the_accepted_port(oracle: Oracle) -> None:
    """The oracle itself: a ruleset accepting only tcp/22 lets exactly 22 through."""
    from .oracle import Probe

    oracle.load("*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
                "iptables-save")
    ports = [21, 22, 23, 2222]
    probes = [Probe("ip", "tcp", "198.18.7.7", oracle.address("eth0"), port, 40000 + port)
              for port in ports]
    probes.append(Probe("ip", "udp", "198.18.7.7", oracle.address("eth0"), 22, 40000))
    arrived = [(p.protocol, p.dport) for p, a in zip(probes, oracle.send(probes)) if a.arrived]
    assert arrived == [("tcp", 22)]
