"""Past ``_MAX_PARTS`` accepted classes in one chain, exposure merges the rest into one
possible class instead of dropping them: a port opened to anyone after thousands of narrow
rules used to go unreported (the cap is lowered here so the case stays small)."""

from __future__ import annotations

import pytest

from fwlint.analysis import analyze, exposure as exposure_module
from fwlint.analysis.space import iv_subset
from fwlint.parsing import parse_text

NARROW_RULES = 12


def ruleset() -> str:
    lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f"-A INPUT -s 10.0.{n}.0/24 -p tcp --dport {1000 + n} -j ACCEPT"
              for n in range(NARROW_RULES)]
    lines += ["-A INPUT -p tcp --dport 22 -j ACCEPT", "COMMIT", ""]
    return "\n".join(lines)


def tcp_exposure(cap: int, monkeypatch) -> list:
    monkeypatch.setattr(exposure_module, "_MAX_PARTS", cap)
    parsed = parse_text(ruleset(), "many.rules", "iptables-save")
    return [e for e in analyze(parsed.ruleset).exposure() if e.protocol == 6]


def opened_to(exposures, port: int, source: int) -> list:
    return [e for e in exposures if iv_subset(((port, port),), e.ports)
            and iv_subset(((source, source),), e.sources)]


def test_without_the_cap_every_class_is_exact(monkeypatch):
    exposures = tcp_exposure(10_000, monkeypatch)
    assert len(exposures) == NARROW_RULES + 1
    assert all(e.certainty == "definite" for e in exposures)


@pytest.mark.parametrize("cap", [3, 5, NARROW_RULES])
def test_classes_past_the_cap_are_merged_not_dropped(cap, monkeypatch):
    exact = tcp_exposure(10_000, monkeypatch)
    capped = tcp_exposure(cap, monkeypatch)
    assert len(capped) <= cap
    anyone = 0x08080808
    ssh = opened_to(capped, 22, anyone)
    assert ssh, "ssh open to anyone must stay in the exposure"
    assert all(e.certainty == "possible" and exposure_module.TOO_MANY_CLASSES in e.reason
               for e in ssh)
    for e in exact:  # every exact class is still covered by some reported class
        port, source = e.ports[0][0], e.sources[0][0]
        assert opened_to(capped, port, source), (port, source)
