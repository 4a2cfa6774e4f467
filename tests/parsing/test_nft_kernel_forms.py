"""Forms nft lists differently from how people write them are kept as the kernel keeps them."""

import pytest

from fwlint.parsing import parse_text


def set_value(rule_text):
    text = f"table ip t {{ chain c {{ type filter hook input priority 0; {rule_text}; }} }}"
    result = parse_text(text, "t.nft", "nft")
    assert not result.errors, result.errors
    (rule,) = result.ruleset.tables[0].chains[0].rules
    (statement,) = rule.statements
    return statement.kind, dict(statement.options)["set"]


@pytest.mark.parametrize("written,listed", [
    ("meta mark set mark and 0xffff0054 xor 0xab", "meta mark set meta mark & 0xffff00ff | 0x000000ab"),
    ("meta mark set mark and 0xae", "meta mark set meta mark & 0x000000ae"),
    ("meta mark set mark or 0xaf", "meta mark set meta mark | 0x000000af"),
    ("meta mark set 0xaa", "meta mark set 0x000000aa"),
    ("ct mark set mark", "ct mark set meta mark"),
])
def test_written_and_listed_forms_are_equal(written, listed):
    assert set_value(written) == set_value(listed)


def test_different_arithmetic_stays_different():
    assert set_value("meta mark set mark xor 0xab") != set_value("meta mark set mark or 0xab")
    assert set_value("ct mark set ct mark") != set_value("ct mark set meta mark")


def test_ct_status_bit_clear_is_the_negated_virtual_state():
    text = ("table ip t { chain c { type filter hook input priority 0; "
            "ct status ! dnat accept; ct status dnat accept; } }")
    rules = parse_text(text, "t.nft", "nft").ruleset.tables[0].chains[0].rules
    (not_dnat,), (dnat,) = rules[0].matches, rules[1].matches
    assert not_dnat.states == dnat.states == frozenset({"dnat"})
    assert not_dnat.negated and not dnat.negated
