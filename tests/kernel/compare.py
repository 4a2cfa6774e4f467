"""Compare the kernel's answer for a probe with fwlint's ``Analysis.verdict_for``.

Shared by the differential tests and ``bench/differential.py``.  A disagreement carries
everything a bug report needs: the ruleset text, the probe, both answers and the rules
fwlint says decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .oracle import Arrival, Oracle, Probe

_PROTOCOL_NUMBERS = {("ip", "tcp"): 6, ("ip", "udp"): 17, ("ip", "icmp"): 1,
                     ("ip6", "tcp"): 6, ("ip6", "udp"): 17, ("ip6", "icmp"): 58}
_ECHO_REQUEST = {"ip": 8, "ip6": 128}


@dataclass(frozen=True)
class Answer:
    """What happened to a probe: delivered or not, through which hook (input: this host,
    forward: the inner host), and on which port after NAT."""

    arrived: bool
    dport: Optional[int] = None
    hook: Optional[str] = None

    def __str__(self) -> str:
        if not self.arrived:
            return "not delivered"
        port = f" on port {self.dport}" if self.dport is not None else ""
        return f"delivered through {self.hook}{port}"


@dataclass(frozen=True)
class Disagreement:
    probe: Probe
    kernel: Answer
    fwlint: Answer
    detail: str  # fwlint's deciding rules, or the exception it raised

    def __str__(self) -> str:
        return (f"  {self.probe}\n    kernel: {self.kernel}\n    fwlint: {self.fwlint}"
                f"\n    fwlint detail: {self.detail}")


def to_packet(probe: Probe):
    """The analysis' Packet for a probe (imported lazily: the oracle works without fwlint)."""
    from fwlint.analysis import Packet

    ports = probe.protocol in ("tcp", "udp")
    return Packet(
        family=probe.family,
        protocol=_PROTOCOL_NUMBERS[probe.family, probe.protocol],
        saddr=probe.saddr,
        daddr=probe.daddr,
        sport=probe.sport if ports else None,
        dport=probe.dport if ports else None,
        iif=probe.iif,
        icmp_type=None if ports else _ECHO_REQUEST[probe.family],
        tcp_flags=frozenset({"SYN"}) if probe.protocol == "tcp" else frozenset(),
    )


def kernel_answer(probe: Probe, arrival: Arrival) -> Answer:
    if not arrival.arrived:
        return Answer(False)
    ports = probe.protocol in ("tcp", "udp")
    return Answer(True, arrival.dport if ports else None,
                  "forward" if arrival.host == "inner" else "input")


def fwlint_answers(analysis, probes: Sequence[Probe]) -> list[tuple[Answer, str]]:
    """fwlint's answer for every probe, with the deciding rules (or the error) as detail."""
    answers = []
    for probe in probes:
        try:
            outcome = analysis.verdict_for(to_packet(probe))
        except Exception as error:  # a crash is a disagreement to report, not a test error
            answers.append((Answer(False), f"verdict_for raised {error!r}"))
            continue
        arrived = outcome.verdict == "accept"
        ports = probe.protocol in ("tcp", "udp")
        rules = "; ".join(rule.text or repr(rule) for rule in outcome.rules) or "(policy)"
        answer = Answer(True, outcome.dport if ports else None, outcome.hook) if arrived \
            else Answer(False)
        answers.append((answer,
                        f"{outcome.verdict} in {outcome.hook} ({outcome.certainty}) by {rules}"))
    return answers


def parse_and_analyze(text: str, format: str, path: str = "generated"):
    """fwlint's analysis of a ruleset; raises AssertionError with the parse errors."""
    from fwlint.analysis import analyze
    from fwlint.parsing import parse_text

    result = parse_text(text, path, format)
    if result.errors:
        errors = "\n".join(f"  {error.span}: {error.message}" for error in result.errors[:5])
        raise AssertionError(f"fwlint could not parse this {format} ruleset:\n{errors}\n"
                             f"--- ruleset ---\n{text}")
    return analyze(result.ruleset)


def disagreements(oracle: Oracle, text: str, format: str,
                  probes: Sequence[Probe]) -> tuple[list[Disagreement], list[Answer]]:
    """Load the ruleset in the kernel and in fwlint; returns the disagreements and the
    kernel's answers (so callers can also compare two renderings in the kernel)."""
    analysis = parse_and_analyze(text, format)
    oracle.load(text, format)
    kernel = [kernel_answer(p, a) for p, a in zip(probes, oracle.send(probes))]
    found = []
    for probe, kernel_said, (fwlint_said, detail) in zip(probes, kernel,
                                                         fwlint_answers(analysis, probes)):
        if kernel_said != fwlint_said:
            found.append(Disagreement(probe, kernel_said, fwlint_said, detail))
    return found, kernel


def report(text: str, format: str, found: Sequence[Disagreement], limit: int = 8) -> str:
    """The assertion message: the ruleset and the first disagreements."""
    shown = "\n".join(str(d) for d in found[:limit])
    more = f"\n  ... and {len(found) - limit} more" if len(found) > limit else ""
    return (f"kernel and fwlint disagree on {len(found)} packet(s) for this {format} "
            f"ruleset:\n{shown}{more}\n--- ruleset ---\n{text}")
