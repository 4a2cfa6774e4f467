"""Issue 5, acceptance 2 (kernel part): the SSH remap scenarios, in iptables-save and nft.

Each scenario states which wire ports reach which host and port (the issue's expected
result).  The kernel must show exactly that, and so must fwlint's exposure: the same
reachable wire ports, the same port after NAT, through input (this host) or forward (the
inner host behind it).
"""

from __future__ import annotations

import ipaddress
from typing import Optional

import pytest

from netns import require_netns

from .oracle import INNER4, INNER6, Oracle, Probe

pytestmark = pytest.mark.kernel

SSH_PORTS = (21, 22, 23, 2221, 2222, 2223)
SOURCE = {"ip": "198.18.200.10", "ip6": "fd00:f0f0:200::10"}
INNER = {"ip": INNER4, "ip6": f"[{INNER6}]"}

# (iptables, nft) rule text; {inner} is the inner host ("[…]" for IPv6), {l3} "ip"/"ip6".
_ACCEPT_2222 = ("-A INPUT -p tcp --dport 2222 -j ACCEPT", "tcp dport 2222 accept")
_ACCEPT_22 = ("-A INPUT -p tcp --dport 22 -j ACCEPT", "tcp dport 22 accept")
_ACCEPT_22_DNAT = ("-A INPUT -p tcp --dport 22 -m conntrack --ctstate DNAT -j ACCEPT",
                   "tcp dport 22 ct status dnat accept")
_REDIRECT = ("-A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22",
             "tcp dport 2222 redirect to :22")
_DNAT_INNER = ("-A PREROUTING -p tcp --dport 2222 -j DNAT --to-destination {inner}:22",
               "tcp dport 2222 dnat to {inner}:22")
_FORWARD_INNER = ("-A FORWARD -d {bare} -p tcp --dport 22 -m conntrack --ctstate DNAT "
                  "-j ACCEPT", "{l3} daddr {bare} tcp dport 22 ct status dnat accept")

#: name -> (nat PREROUTING rules, filter INPUT rules, filter FORWARD rules, expected map
#: wire port -> (host, port after NAT))
SCENARIOS = {
    "open-2222-only": ((), (_ACCEPT_2222,), (), {2222: ("rx", 2222)}),
    "open-22-and-2222": ((), (_ACCEPT_22, _ACCEPT_2222), (),
                         {22: ("rx", 22), 2222: ("rx", 2222)}),
    "open-22-only": ((), (_ACCEPT_22,), (), {22: ("rx", 22)}),
    "redirect-2222-input-ctstate-dnat": ((_REDIRECT,), (_ACCEPT_22_DNAT,), (),
                                         {2222: ("rx", 22)}),
    "redirect-2222-input-accepts-22": ((_REDIRECT,), (_ACCEPT_22,), (),
                                       {22: ("rx", 22), 2222: ("rx", 22)}),
    "dnat-2222-to-inner-host": ((_DNAT_INNER,), (), (_FORWARD_INNER,),
                                {2222: ("inner", 22)}),
}
FORMATS = {"ip": ("iptables-save", "nft"), "ip6": ("ip6tables-save", "nft")}
CASES = [(name, family, format) for name in SCENARIOS for family in FORMATS
         for format in FORMATS[family]]


def render(name: str, family: str, format: str) -> str:
    """The scenario's ruleset: input and forward default-deny, the listed rules."""
    nat, inputs, forwards, _expected = SCENARIOS[name]
    pick = 1 if format == "nft" else 0
    inner = INNER[family]
    values = {"inner": inner, "bare": inner.strip("[]"), "l3": family}

    def rules(group):
        return [rule[pick].format(**values) for rule in group]

    if pick == 0:
        lines = []
        if nat:
            lines += ["*nat", ":PREROUTING ACCEPT [0:0]", *rules(nat), "COMMIT"]
        lines += ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]",
                  *rules(inputs), *rules(forwards), "COMMIT"]
        return "\n".join(lines) + "\n"
    lines = []
    if nat:
        lines += [f"table {family} nat {{", "\tchain prerouting {",
                  "\t\ttype nat hook prerouting priority dstnat; policy accept;",
                  *(f"\t\t{r}" for r in rules(nat)), "\t}", "}"]
    lines += [f"table {family} filter {{", "\tchain input {",
              "\t\ttype filter hook input priority filter; policy drop;",
              *(f"\t\t{r}" for r in rules(inputs)), "\t}", "\tchain forward {",
              "\t\ttype filter hook forward priority filter; policy drop;",
              *(f"\t\t{r}" for r in rules(forwards)), "\t}", "}"]
    return "\n".join(lines) + "\n"


def _internal_port(exposure, port: int) -> Optional[int]:
    """The port after NAT; None for a range-to-range remap (no scenario uses one)."""
    if exposure.internal_ports is None:
        return port
    (low, high), = exposure.internal_ports
    return low if low == high else None


def fwlint_map(text: str, family: str, format: str) -> dict[int, tuple[str, Optional[int]]]:
    """Wire port -> (host, port after NAT) for TCP from SOURCE, read off fwlint's exposure."""
    from fwlint.analysis import analyze
    from fwlint.parsing import parse_text

    result = parse_text(text, f"scenario.{format}", format)
    assert not result.errors, result.errors
    reachable: dict[int, tuple[str, Optional[int]]] = {}
    source = int(ipaddress.ip_address(SOURCE[family]))
    for exposure in analyze(result.ruleset).exposure():
        if exposure.family != family or exposure.protocol != 6:
            continue
        if not any(low <= source <= high for low, high in exposure.sources):
            continue
        host = "inner" if exposure.hook == "forward" else "rx"
        for port in SSH_PORTS:
            if any(low <= port <= high for low, high in exposure.ports):
                assert port not in reachable, f"port {port} in two exposure classes"
                reachable[port] = (host, _internal_port(exposure, port))
    return reachable


def kernel_map(oracle: Oracle, text: str, family: str,
               format: str) -> dict[int, tuple[str, Optional[int]]]:
    oracle.load(text, format)
    probes = [Probe(family, "tcp", SOURCE[family], oracle.address("eth0", family), port,
                    40000 + port) for port in SSH_PORTS]
    return {probe.dport: (arrival.host, arrival.dport)
            for probe, arrival in zip(probes, oracle.send(probes)) if arrival.arrived}


@pytest.fixture(scope="module")
def router():
    require_netns()
    with Oracle(router=True) as kernel:
        yield kernel


@pytest.mark.parametrize("name,family,format", CASES)
def test_kernel_shows_the_expected_reachability(router: Oracle, name: str, family: str,
                                                format: str) -> None:
    expected = SCENARIOS[name][3]
    assert kernel_map(router, render(name, family, format), family, format) == expected


@pytest.mark.parametrize("name,family,format", CASES)
def test_fwlint_exposure_matches_kernel(router: Oracle, name: str, family: str,
                                        format: str) -> None:
    text = render(name, family, format)
    kernel = kernel_map(router, text, family, format)
    assert fwlint_map(text, family, format) == kernel, f"kernel reaches {kernel}\n{text}"
