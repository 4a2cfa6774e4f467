"""The same ruleset written as iptables and as nft gives the same findings (issue 3 line 4).

Findings are compared by code and by rule position (table, chain, index of the rule in its
chain), since line numbers differ between the two formats.
"""

import os
from collections import Counter

import pytest

from fwlint.engine import lint_file
from fwlint.settings import Settings

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
PAIRS = [("web-server.rules", "web-server.nft"),
         ("router-nat.rules", "router-nat.nft"),
         ("workstation.rules", "workstation.nft")]
#: checks about how a format spells something, which the other format cannot spell
FORMAT_SPECIFIC = {"FW001", "FW304"}


def positions(path):
    result = lint_file(path, Settings(policy="baseline"))
    where = {}
    for table in result.ruleset.tables:
        for chain in table.chains:
            where[(chain.span.path, chain.span.line)] = (table.name, chain.name, None)
            for index, rule in enumerate(chain.rules):
                for line in range(rule.span.line, rule.span.end_line + 1):
                    where[(rule.span.path, line)] = (table.name, chain.name, index)
    found = Counter()
    for finding in result.findings:
        if finding.code in FORMAT_SPECIFIC:
            continue
        found[(finding.code, where.get((finding.span.path, finding.span.line), "elsewhere"))] += 1
    return found


@pytest.mark.parametrize("iptables_file,nft_file", PAIRS)
def test_twins_give_the_same_findings(iptables_file, nft_file):
    from_iptables = positions(os.path.join(EXAMPLES, iptables_file))
    from_nft = positions(os.path.join(EXAMPLES, nft_file))
    assert from_iptables, "the example should have findings to compare"
    assert from_iptables == from_nft, (
        f"only in {iptables_file}: {sorted((from_iptables - from_nft).elements())}\n"
        f"only in {nft_file}: {sorted((from_nft - from_iptables).elements())}")
