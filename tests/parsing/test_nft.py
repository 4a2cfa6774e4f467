"""The nft front end: model values, commands, defines, includes and errors."""

from __future__ import annotations

import pytest

from fwlint.model import (AddressMatch, FamilyMatch, InterfaceMatch, OpaqueMatch, PortMatch,
                          ProtocolMatch, SetMatch, Verdict)
from fwlint.parsing import parse_text
from fwlint.parsing.nft import parse_nft


def _rules(text: str, path: str = "t.nft"):
    result = parse_nft(text, path)
    assert not result.errors, result.errors
    return [rule for _table, _chain, rule in result.ruleset.iter_rules()]


def _chain(body: str, family: str = "ip", header: str = "type filter hook input priority 0;"):
    return f"table {family} t {{\n chain c {{\n  {header}\n{body}\n }}\n}}\n"


IPTABLES_AND_NFT = [
    ("-A INPUT -p tcp --dport 22 -j ACCEPT", "tcp dport 22 accept"),
    ("-A INPUT -s 10.0.0.0/8 -j DROP", "ip saddr 10.0.0.0/8 drop"),
    ("-A INPUT -d 10.0.0.1/32 -j RETURN", "ip daddr 10.0.0.1 return"),
    ("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
     "ct state established,related accept"),
    ("-A INPUT -i eth+ -j ACCEPT", 'iifname "eth*" accept'),
    ("-A INPUT -p icmp --icmp-type 8 -j ACCEPT", "icmp type echo-request accept"),
    ("-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT", "tcp dport { 443, 80 } accept"),
    ("-A INPUT -p tcp --syn -j DROP", "tcp flags & (fin|syn|rst|ack) == syn drop"),
    ("-A INPUT -m mark --mark 0x1/0xff -j ACCEPT", "meta mark & 0xff == 0x1 accept"),
    ("-A INPUT -p tcp ! --dport 22 -j REJECT --reject-with tcp-reset",
     "tcp dport != 22 reject with tcp reset"),
    ("-A INPUT -p udp --sport 1024:65535 -j ACCEPT", "udp sport 1024-65535 accept"),
]


@pytest.mark.parametrize("iptables, nft", IPTABLES_AND_NFT)
def test_an_nft_rule_equals_the_iptables_rule_that_means_the_same(iptables, nft):
    saved = parse_text(f"*filter\n:INPUT DROP [0:0]\n{iptables}\nCOMMIT\n", "a.rules",
                       "iptables-save")
    assert not saved.errors
    (from_iptables,) = [rule for _t, _c, rule in saved.ruleset.iter_rules()]
    (from_nft,) = _rules(_chain(nft))
    assert from_nft == from_iptables


def test_dnat_equals_iptables_dnat():
    saved = parse_text("*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i eth0 -p tcp --dport 8080 "
                       "-j DNAT --to-destination 192.168.10.20:80\nCOMMIT\n", "a.rules",
                       "iptables-save")
    (from_iptables,) = [rule for _t, _c, rule in saved.ruleset.iter_rules()]
    (from_nft,) = _rules(_chain('iifname "eth0" tcp dport 8080 dnat to 192.168.10.20:80',
                                header="type nat hook prerouting priority dstnat;"))
    assert from_nft == from_iptables
    assert from_nft.verdict.to_ports == ((80, 80),)


def test_inet_rules_say_which_family_they_narrow_to():
    by_address, by_nfproto, both = _rules(_chain(
        "ip saddr 1.2.3.4 accept\nmeta nfproto ipv6 accept\ntcp dport 22 accept", "inet"))
    assert FamilyMatch("ip") in by_address.matches
    assert by_nfproto.matches == (FamilyMatch("ip6"),)
    assert not any(isinstance(m, FamilyMatch) for m in both.matches)


def test_vmap_becomes_one_rule_per_key_in_key_order():
    rules = _rules(_chain("tcp dport vmap { 443 : drop, 80 : accept, 22 : jump ssh }\n"
                          "}\n chain ssh {"))
    assert [r.verdict.kind for r in rules] == ["jump", "accept", "drop"]
    assert rules[0].verdict.target == "ssh"
    assert [m.ranges for r in rules for m in r.matches if isinstance(m, PortMatch)] == [
        ((22, 22),), ((80, 80),), ((443, 443),)]
    assert len({r.span for r in rules}) == 1


def test_set_reference_is_a_set_match_and_an_unknown_set_is_an_error():
    text = ("table inet t {\n set admins { type ipv4_addr; elements = { 10.0.0.1, 10.0.0.0/8 } }\n"
            " chain c {\n  ip saddr @admins accept\n  ip saddr @nope accept\n }\n}\n")
    result = parse_nft(text, "t.nft")
    (rule,) = [r for _t, _c, r in result.ruleset.iter_rules()]
    assert SetMatch("admins", ("saddr",)) in rule.matches
    (error,) = result.errors
    assert (error.span.line, "nope" in error.message) == (5, True)
    assert [e.key for e in result.ruleset.tables[0].sets[0].elements] == [("10.0.0.0/8",),
                                                                          ("10.0.0.1",)]


@pytest.mark.parametrize("priority, number", [("filter + 10", 10), ("dstnat - 5", -105),
                                              ("mangle", -150), ("-300", -300)])
def test_named_priorities_and_arithmetic(priority, number):
    header = f"type filter hook prerouting priority {priority}; policy drop;"
    result = parse_nft(_chain("", header=header), "t.nft")
    chain = result.ruleset.tables[0].chains[0]
    assert (chain.priority, chain.policy, chain.hook) == (number, "drop", "prerouting")


def test_commands_apply_in_order():
    text = ("add table ip t\nadd chain ip t c { type filter hook input priority 0; }\n"
            "add rule ip t c tcp dport 1 accept\nadd rule ip t c tcp dport 2 accept\n"
            "insert rule ip t c tcp dport 0 accept\n"
            "add rule ip t c position 4 tcp dport 3 accept\n"
            "delete rule ip t c handle 3\n")
    # handles count per table: chain 1, rules 2 (port 1), 3 (port 2), 4 (port 0), 5 (port 3)
    ports = [m.ranges[0][0] for r in _rules(text) for m in r.matches if isinstance(m, PortMatch)]
    assert ports == [0, 3, 1]
    assert _rules(text + "flush chain ip t c\n") == []
    assert parse_nft(text + "flush ruleset\n", "t.nft").ruleset.tables == ()


def test_defines_expand_nested_sets_and_can_be_redefined():
    text = ("define web = { 80, 443 }\ndefine ports = { $web, 8080 }\n"
            + _chain("tcp dport $ports accept") + "redefine web = 81\n"
            + "add rule ip t c tcp dport $web accept\nundefine web\n"
            + "add rule ip t c tcp dport $web accept\n")
    result = parse_nft(text, "t.nft")
    first, second = [r for _t, _c, r in result.ruleset.iter_rules()]
    assert PortMatch("dport", ((80, 80), (443, 443), (8080, 8080))) in first.matches
    assert PortMatch("dport", ((81, 81),)) in second.matches
    (error,) = result.errors
    assert "$web" in error.message and error.span.line == 12


def test_includes_resolve_relative_to_the_file_and_in_include_dirs(tmp_path):
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "a.nft").write_text("tcp dport 22 accept\n")
    (tmp_path / "rules.d" / "b.nft").write_text("tcp dport 80 accept\n")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "tail.nft").write_text("drop\n")
    main = tmp_path / "main.nft"
    main.write_text(_chain('include "rules.d/*.nft"\ninclude "tail.nft"'))
    result = parse_nft(main.read_text(), str(main), include_dirs=[str(tmp_path / "extra")])
    assert not result.errors
    rules = [r for _t, _c, r in result.ruleset.iter_rules()]
    assert [r.span.path for r in rules] == [str(tmp_path / "rules.d" / "a.nft"),
                                            str(tmp_path / "rules.d" / "b.nft"),
                                            str(tmp_path / "extra" / "tail.nft")]
    assert rules[2].verdict == Verdict("drop") and rules[2].span.line == 1
    assert len(result.ruleset.sources) == 4


def test_missing_include_and_include_cycle_are_errors(tmp_path):
    (tmp_path / "a.nft").write_text('include "b.nft"\n')
    (tmp_path / "b.nft").write_text('include "a.nft"\n')
    cycle = parse_nft((tmp_path / "a.nft").read_text(), str(tmp_path / "a.nft"))
    assert any("cycle" in e.message for e in cycle.errors)
    missing = parse_nft('\n\ninclude "nowhere.nft"\n', str(tmp_path / "m.nft"))
    (error,) = missing.errors
    assert error.span.line == 3 and "not found" in error.message


def test_errors_have_positions_and_parsing_goes_on():
    text = _chain("tcp dport 22 acept\ntcp dport 80 accept")
    result = parse_nft(text, "t.nft")
    (error,) = result.errors
    assert (error.span.line, error.span.column, error.found) == (4, 14, "acept")
    (rule,) = [r for _t, _c, r in result.ruleset.iter_rules()]
    assert PortMatch("dport", ((80, 80),)) in rule.matches


def test_a_missing_closing_brace_is_named():
    result = parse_nft("table ip t {\n chain c {\n  accept\n }\n", "t.nft")
    assert any("missing '}'" in e.message for e in result.errors)
    assert [r.verdict.kind for _t, _c, r in result.ruleset.iter_rules()] == ["accept"]


def test_an_unclosed_anonymous_set_is_an_error_at_its_brace():
    result = parse_nft(_chain("tcp dport { 22, 80 accept\ntcp dport 443 accept"), "t.nft")
    assert result.errors and result.errors[0].span.line == 4
    assert "'}' missing" in result.errors[0].message


@pytest.mark.parametrize("text", ["}", "table", "table ip {", "add rule", "define = 1",
                                  "table ip t { chain c { tcp dport 99999 accept } }",
                                  "table ip t { chain c { ip saddr 300.1.1.1 accept } }",
                                  '\x00\x01 "unterminated', "table ip t { chain c { @ll,0,0 1 } }"])
def test_bad_input_never_raises(text):
    result = parse_nft(text, "t.nft")
    assert result.errors


def test_unmodelled_expressions_stay_opaque_with_their_span():
    (rule,) = _rules(_chain("ip ttl 64 meta skuid 0 accept"))
    opaque = [m for m in rule.matches if isinstance(m, OpaqueMatch)]
    assert [m.options[0][0] for m in opaque] == ["ip ttl", "meta skuid"]
    assert all(m.span.line == 4 for m in opaque)


def test_chain_binding_becomes_a_named_chain():
    result = parse_nft(_chain("tcp dport 22 jump { ip saddr 10.0.0.0/8 accept; drop }"), "t.nft")
    assert not result.errors
    chains = result.ruleset.tables[0].chains
    assert chains[0].rules[0].verdict.target == chains[1].name
    assert [r.verdict.kind for r in chains[1].rules] == ["accept", "drop"]
    assert isinstance(chains[1].rules[0].matches[0], AddressMatch)


def test_interface_and_protocol_sets():
    (rule,) = _rules(_chain('iifname { "eth0", "wg*" } meta l4proto { tcp, udp } th dport 53 accept',
                            "inet"))
    assert InterfaceMatch("iif", ("eth0", "wg"), (False, True)) in rule.matches
    assert ProtocolMatch(frozenset({6, 17})) in rule.matches


def test_not_equal_on_flag_words_is_an_exact_compare_as_in_the_kernel():
    # nft compiles "!=" on a flag type to a compare of the whole word
    status, states, one_state, flags_exact, flags_bit = _rules(_chain(
        "ct status != dnat accept\nct state != new,established accept\n"
        "ct state != established accept\ntcp flags != syn accept\ntcp flags syn accept"))
    assert status.matches == ()
    assert states.matches[0].states == {"new", "established", "related", "invalid", "untracked"}
    assert one_state.matches[0].negated and one_state.matches[0].states == {"established"}
    flags = [m for m in flags_exact.matches + flags_bit.matches if hasattr(m, "comp")]
    assert [(len(m.mask), m.comp, m.negated) for m in flags] == [(8, {"syn"}, True),
                                                                 (1, {"syn"}, False)]


@pytest.mark.parametrize("text", ["10.0.0.1", "10.0.0.0/8", "10.1.2.3/24", "0.0.0.0/0",
                                  "255.255.255.255/32", "1.2.3.4/31"])
def test_fast_ipv4_reading_agrees_with_ipaddress(text):
    import ipaddress

    from fwlint.parsing.nft_values import ipv4_interval
    network = ipaddress.IPv4Network(text, strict=False)
    assert ipv4_interval(text) == (int(network.network_address), int(network.broadcast_address))


@pytest.mark.parametrize("text", ["256.0.0.1", "010.0.0.1", "1.2.3.4/33"])
def test_bad_ipv4_addresses_are_errors(text):
    assert parse_nft(_chain(f"ip saddr {text} accept"), "t.nft").errors


def test_named_objects_must_exist_before_a_rule_uses_them():
    text = ("table ip t {\n counter seen { }\n quota q { 25 mbytes }\n chain c {\n"
            '  counter name "seen" accept\n  quota name "q" drop\n  counter name "unseen"\n }\n}\n')
    result = parse_nft(text, "t.nft")
    (error,) = result.errors
    assert error.span.line == 7 and "unseen" in error.message
    counted, limited = [r for _t, _c, r in result.ruleset.iter_rules()]
    assert counted.statements[0].kind == "counter"
    assert limited.matches[0].module == "quota"


def test_a_set_of_concatenations_becomes_one_rule_per_element():
    first, second = _rules(_chain("ip saddr . tcp dport { 10.0.0.2 . 80, 10.0.0.1 . 22 } accept"))
    assert [(m.intervals[0][0] & 255, p.ranges) for r in (first, second)
            for m in r.matches if isinstance(m, AddressMatch)
            for p in r.matches if isinstance(p, PortMatch)] == [(1, ((22, 22),)), (2, ((80, 80),))]
    assert ProtocolMatch(frozenset({6})) in first.matches
