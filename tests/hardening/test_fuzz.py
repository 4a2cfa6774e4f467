"""Fuzzing the front ends and the whole ``check`` pipeline with Hypothesis.

Inputs: rule files generated from firewall tokens, corpus files (../shared/corpus) with
Hypothesis-chosen mutations, and arbitrary bytes and text.  Each goes through every front
end and through ``engine.decode`` + ``engine.lint_text`` with every check and the built-in
baseline policy.  Nothing may raise, every parse error of a front end must come out as a
finding at its position (FW001, or FW010 for a resource limit), and every finding must
have a line and column.

The profile is derandomized so CI runs the same 2,100 examples each time in about a
minute; ``python bench/fuzz.py --examples 100000`` runs the long campaign.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fwlint.checks import registry
from fwlint.engine import decode, lint_text
from fwlint.parsing import FORMATS, parse_text
from fwlint.reporters import REPORTERS, get_reporter
from fwlint.settings import Settings
from netns import CORPUS, corpus_available

CI = settings(derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
MAX_SEED_BYTES = 32 * 1024

WORDS = (
    "*filter", "*nat", "COMMIT", ":INPUT", ":FORWARD", ":C1", "ACCEPT", "DROP", "-", "[0:0]",
    "-A", "-I", "-N", "-P", "-j", "-g", "-p", "-s", "-d", "-i", "-o", "!", "-m", "--dport",
    "--sport", "multiport", "--dports", "conntrack", "--ctstate", "NEW,ESTABLISHED", "tcp",
    "udp", "icmp", "RETURN", "DNAT", "REDIRECT", "--to-ports", "--to-destination", "LOG",
    "10.0.0.0/8", "::/0", "1.2.3.4", "22", "80:90", "0", "65535", "65536", "-1",
    "99999999999999999999", "table", "inet", "ip", "ip6", "bridge", "netdev", "chain", "set",
    "map", "type", "filter", "nat", "hook", "input", "prerouting", "forward", "priority",
    "policy", "accept", "drop", "reject", "jump", "goto", "return", "counter", "log", "ct",
    "state", "established,related", "dnat", "to", "redirect", "meta", "l4proto", "iifname",
    "saddr", "daddr", "dport", "{", "}", "{ 22, 80 }", "@s", "$v", "define", "v", "=",
    "include", '"x.nft"', "elements", "ipv4_addr", "flags", "interval", "vmap", ":", ";", ",",
    "add", "insert", "delete", "flush", "ruleset", "rule", "handle", "#", "\t", "\r", "\x00",
    '"', "\\", "\u00e9", "\ufeff",
)


def corpus_seeds() -> list[str]:
    if not corpus_available():
        return []
    seeds = []
    for root, dirs, files in os.walk(CORPUS):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if not name.endswith((".md", ".tsv")) and os.path.getsize(path) <= MAX_SEED_BYTES:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    seeds.append(handle.read())
    return seeds


SEEDS = corpus_seeds()

lines = st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)
generated = st.lists(lines, max_size=30).map("\n".join)
save_shaped = st.lists(lines, max_size=20).map(
    lambda ls: "*filter\n:INPUT DROP [0:0]\n" + "\n".join(f"-A INPUT {line}" for line in ls)
    + "\nCOMMIT\n")
nft_shaped = st.lists(lines, max_size=20).map(
    lambda ls: "table inet t {\n chain input {\n  type filter hook input priority 0;\n"
    + "\n".join(f"  {line}" for line in ls) + "\n }\n}\n")
formats = st.sampled_from((None,) + FORMATS)


@st.composite
def mutated_seed(draw) -> str:
    """A corpus file with a few line and token edits chosen by Hypothesis."""
    text = draw(st.sampled_from(SEEDS))
    lines_ = text.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines_) - 1))
        op = draw(st.integers(0, 5))
        if op == 0 and len(lines_) > 1:
            del lines_[i]
        elif op == 1:
            lines_.insert(i, lines_[draw(st.integers(0, len(lines_) - 1))])
        elif op == 2:
            words = lines_[i].split(" ")
            words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(WORDS)))
            lines_[i] = " ".join(words)
        elif op == 3:
            words = lines_[i].split(" ")
            words[draw(st.integers(0, len(words) - 1))] = draw(st.sampled_from(WORDS))
            lines_[i] = " ".join(words)
        elif op == 4:
            at = draw(st.integers(0, len(lines_[i])))
            lines_[i] = lines_[i][:at] + draw(st.text(max_size=3)) + lines_[i][at:]
        else:
            lines_ = lines_[:i + 1]
    return "\n".join(lines_)


def assert_pipeline_holds(data: bytes, fmt) -> None:
    """The invariants of the module docstring, for one input."""
    path = "fuzz.nft" if fmt == "nft" else "fuzz.rules"
    for each in FORMATS:
        parse_text(data.decode("utf-8", errors="replace"), path, each)
    text, decode_errors = decode(data, path)
    result = lint_text(text, path, Settings(format=fmt), extra_errors=decode_errors)
    errors = decode_errors + parse_text(text, path, result.format).errors
    reported = {(f.code, f.span.line, f.span.column) for f in result.findings}
    for error in errors:
        code = "FW010" if error.limit else "FW001"
        assert (code, error.span.line, error.span.column) in reported, error
    for finding in result.findings:
        assert finding.span.line >= 1 and finding.span.column >= 1, finding
    get_reporter("json")([result], version="fuzz")


@settings(CI, max_examples=600)
@given(st.one_of(generated, save_shaped, nft_shaped), formats)
@example("*filter\n:INPUT DROP [0:0]\n-I INPUT 99999999999999999999 -j ACCEPT\nCOMMIT\n", None)
@example("table inet t {\n\t} \\", None)  # found by bench/fuzz.py: both once raised
def test_generated_rule_files(text, fmt):
    assert_pipeline_holds(text.encode("utf-8"), fmt)


@settings(CI, max_examples=800)
@given(st.data())
def test_mutated_corpus_files(data):
    if not SEEDS:
        pytest.skip(f"corpus not found at {CORPUS}")
    text = data.draw(mutated_seed())
    assert_pipeline_holds(text.encode("utf-8", errors="surrogatepass"), data.draw(formats))


@settings(CI, max_examples=400)
@given(st.binary(max_size=2048), formats)
def test_arbitrary_bytes(blob, fmt):
    assert_pipeline_holds(blob, fmt)


@settings(CI, max_examples=300)
@given(st.text(max_size=1024), formats)
def test_arbitrary_text(text, fmt):
    assert_pipeline_holds(text.encode("utf-8", errors="surrogatepass"), fmt)


def test_every_reporter_renders_fuzzed_findings():
    """The reporters take what the fuzzed pipeline produces (one broken file of each kind)."""
    results = [lint_text(text, path) for text, path in (
        ("*filter\n-A INPUT -p tcp --dport 99999 -j ACCEPT\n", "a.rules"),
        ("table inet t { chain c { tcp dport { 22, } accept\n", "b.nft"),
        ("\ufeff\x00\u202e", "c.rules"))]
    for name in REPORTERS:
        assert get_reporter(name)(results, version="fuzz", checks=registry(), colour=False)
