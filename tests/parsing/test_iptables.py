"""Unit tests of the iptables front end: normalisation, spans, errors, shell scripts, and
input that must never produce a traceback."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from fwlint.model import (AddressMatch, CtStateMatch, IcmpTypeMatch, InterfaceMatch,
                          OpaqueMatch, PortMatch, ProtocolMatch, Verdict)
from fwlint.parsing import detect_format, parse_text
from fwlint.parsing.iptables import parse_iptables_save, parse_iptables_script


def save(*lines: str, table: str = "filter", ipv6: bool = False):
    text = f"*{table}\n" + "".join(line + "\n" for line in lines) + "COMMIT\n"
    return parse_iptables_save(text, "t.rules", ipv6=ipv6)


def rules(result):
    return [rule for _, _, rule in result.ruleset.iter_rules()]


def one_rule(spec: str, table: str = "filter", chain: str = "INPUT", ipv6: bool = False):
    result = save(f"-A {chain} {spec}", table=table, ipv6=ipv6)
    assert not result.errors, [e.message for e in result.errors]
    [rule] = rules(result)
    return rule


# --------------------------------------------------------------------------- normalisation


def test_implicit_and_explicit_protocol_module_are_equal():
    assert one_rule("-p tcp --dport 22 -j ACCEPT") == one_rule("-p tcp -m tcp --dport 22 -j ACCEPT")


def test_host_address_equals_slash_32_and_option_order_does_not_matter():
    a = one_rule("-p tcp --dport 22 -s 10.0.0.1 -j ACCEPT")
    b = one_rule("-s 10.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT")
    assert a == b
    address = next(m for m in a.matches if isinstance(m, AddressMatch))
    assert address.intervals == ((0x0A000001, 0x0A000001),)


def test_host_bits_are_masked_but_kept_as_written():
    rule = one_rule("-s 10.1.2.3/8 -j DROP")
    address = rule.matches[0]
    assert address.intervals == ((0x0A000000, 0x0AFFFFFF),)
    assert address.raw == ("10.1.2.3/8",)
    assert rule == one_rule("-s 10.0.0.0/255.0.0.0 -j DROP")


def test_multiport_is_a_merged_port_set_equal_to_single_port():
    rule = one_rule("-p tcp -m multiport --dports 443,80,81:90,1024: -j ACCEPT")
    ports = next(m for m in rule.matches if isinstance(m, PortMatch))
    assert ports.ranges == ((80, 90), (443, 443), (1024, 65535))
    assert one_rule("-p udp -m multiport --dports 53 -j ACCEPT") == \
        one_rule("-p udp --dport 53 -j ACCEPT")


def test_full_port_range_is_no_match_but_its_negation_is_kept():
    assert one_rule("-p tcp --sport : -j ACCEPT") == one_rule("-p tcp -j ACCEPT")
    negated = one_rule("-p tcp ! --sport : -j ACCEPT")
    assert PortMatch("sport", ((0, 65535),), True) in negated.matches


def test_old_style_negation_long_options_and_attached_values():
    assert one_rule("-p tcp --dport ! 22 -j DROP") == one_rule("-p tcp ! --dport 22 -j DROP")
    assert one_rule("--protocol=tcp --source=1.2.3.4 --in-interface=eth0 --jump=ACCEPT") == \
        one_rule("-ptcp -s1.2.3.4 -ieth0 -jACCEPT")


def test_protocol_names_and_numbers_service_names_and_icmp_names():
    assert one_rule("-p 6 --dport ssh -j ACCEPT") == one_rule("-p tcp --dport 22 -j ACCEPT")
    assert one_rule("-p icmp --icmp-type echo-request -j ACCEPT") == \
        one_rule("-p icmp -m icmp --icmp-type 8 -j ACCEPT")
    icmp = next(m for m in one_rule("-p icmp --icmp-type port-unreachable").matches
                if isinstance(m, IcmpTypeMatch))
    assert (icmp.types, icmp.codes) == (((3, 3),), ((3, 3),))
    assert one_rule("-p all -j ACCEPT").matches == ()


def test_interfaces_wildcards_and_conntrack_states():
    rule = one_rule("-i eth+ -o wg0 -m state --state NEW,ESTABLISHED -j ACCEPT")
    assert InterfaceMatch("iif", ("eth",), (True,)) in rule.matches
    assert InterfaceMatch("oif", ("wg0",), (False,)) in rule.matches
    assert CtStateMatch(frozenset({"new", "established"})) in rule.matches
    assert one_rule("-m conntrack --ctstate NEW,ESTABLISHED -i eth+ -o wg0 -j ACCEPT") == rule
    assert one_rule("-i + -j ACCEPT") == one_rule("-j ACCEPT")


def test_targets_defaults_and_nat():
    assert one_rule("-j REJECT") == one_rule("-j REJECT --reject-with icmp-port-unreachable")
    assert one_rule("-j REJECT") == one_rule("-j REJECT --reject-with port-unreach")
    dnat = one_rule("-p tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080",
                    table="nat", chain="PREROUTING")
    assert dnat.verdict == Verdict("dnat", to_addresses=((0x0A000002, 0x0A000002),),
                                   to_ports=((8080, 8080),))
    redirect = one_rule("-p tcp --dport 2222 -j REDIRECT --to-ports 22", table="nat",
                        chain="PREROUTING")
    assert redirect.verdict.kind == "redirect" and redirect.verdict.to_ports == ((22, 22),)
    assert one_rule("-j MARK --set-mark 1", table="mangle", chain="PREROUTING") == \
        one_rule("-j MARK --set-xmark 0x1/0xffffffff", table="mangle", chain="PREROUTING")
    log = one_rule("-j LOG --log-prefix \"in: \" --log-level warning")
    assert log.verdict is None and log.statements[0].kind == "log"
    assert one_rule("-j USERCHAIN").verdict == Verdict("jump", "USERCHAIN")
    assert one_rule("-g USERCHAIN").verdict == Verdict("goto", "USERCHAIN")


def test_unmodelled_modules_are_opaque_and_comments_are_kept():
    rule = one_rule('-m limit --limit 5/minute -m comment --comment "rate \\"limited\\"" -j LOG')
    assert rule.comment == 'rate "limited"'
    limit = next(m for m in rule.matches if isinstance(m, OpaqueMatch))
    assert (limit.module, limit.options) == ("limit", (("--limit", "5/min"),))


def test_out_of_range_and_reversed_ports_are_kept_raw_not_errors():
    rule = one_rule("-p tcp --dport 70000 -j ACCEPT")
    port = next(m for m in rule.matches if isinstance(m, PortMatch))
    assert port.ranges == () and port.raw == ("70000",)
    reversed_ = next(m for m in one_rule("-p tcp --sport 4:3").matches if isinstance(m, PortMatch))
    assert reversed_.ranges == () and reversed_.raw == ("4:3",)


def test_ipv6_addresses_and_icmpv6():
    rule = one_rule("-s 2001:db8::/32 -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT",
                    ipv6=True)
    address = next(m for m in rule.matches if isinstance(m, AddressMatch))
    assert address.version == 6 and address.intervals[0][0] == 0x20010DB8 << 96
    assert ProtocolMatch(frozenset({58})) in rule.matches


def test_commands_apply_in_order_and_counters():
    result = save(":INPUT DROP [5:600]", ":FOO - [0:0]", "[3:180] -A FOO -j ACCEPT",
                  "-A FOO -j DROP", "-I FOO 2 -j RETURN", "-D FOO -j DROP",
                  "-R FOO 1 -p udp -j ACCEPT", "-A INPUT -j FOO", "-N BAR", "-X BAR")
    assert not result.errors
    table = result.ruleset.tables[0]
    assert [c.name for c in table.chains] == ["INPUT", "FOO"]
    assert table.chain("INPUT").policy == "drop" and table.chain("INPUT").hook == "input"
    assert table.chain("FOO").policy is None and not table.chain("FOO").is_base
    assert [r.verdict.kind for r in table.chain("FOO").rules] == ["accept", "return"]
    counted = one_rule("-j ACCEPT")
    assert counted.counters is None
    assert rules(save("[3:180] -A INPUT -j ACCEPT"))[0].counters == (3, 180)


def test_several_tables_and_the_listing_form():
    text = "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n"
    result = parse_iptables_save(text, "x")
    assert [(t.family, t.name) for t in result.ruleset.tables] == [("ip", "filter"), ("ip", "nat")]
    listing = parse_iptables_save("-P INPUT DROP\n-N DOCKER\n-A INPUT -j DOCKER\n", "x")
    assert not listing.errors
    assert listing.ruleset.tables[0].name == "filter"
    assert listing.ruleset.tables[0].chain("INPUT").policy == "drop"
    nat = parse_iptables_save("-P PREROUTING ACCEPT\n-A POSTROUTING -j MASQUERADE\n", "x")
    assert not nat.errors and nat.ruleset.tables[0].name == "nat"


# --------------------------------------------------------------------------- spans


def test_spans_point_at_rules_and_matches():
    result = parse_iptables_save("*filter\n:INPUT ACCEPT [0:0]\n"
                                 "-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n", "f")
    [rule] = rules(result)
    assert (rule.span.line, rule.span.column, rule.span.end_column) == (3, 1, 36)
    port = next(m for m in rule.matches if isinstance(m, PortMatch))
    assert (port.span.line, port.span.column, port.span.end_column) == (3, 17, 26)
    assert result.ruleset.tables[0].chain("INPUT").span.line == 2
    assert rule.text == "-A INPUT -p tcp --dport 22 -j ACCEPT"


# --------------------------------------------------------------------------- errors


def test_unknown_option_is_an_error_at_its_column_and_parsing_goes_on():
    result = parse_iptables_save("*filter\n-A INPUT -p tcp --dprot 22 -j ACCEPT\n"
                                 "-A INPUT -j DROP\nCOMMIT\n", "f")
    [error] = result.errors
    assert (error.span.line, error.span.column) == (2, 17)
    assert error.found == "--dprot" and "unknown option" in error.message
    assert error.source_line == "-A INPUT -p tcp --dprot 22 -j ACCEPT"
    assert len(rules(result)) == 1


def test_module_option_without_its_module_and_bad_values_are_errors():
    for spec, column in (("-m tcp --dport 1", 10), ("--dport 22", 10),
                         ("-p tcp --dport -1", 25), ("-m mark --mark 4294967296", 25),
                         ("-m conntrack --ctstate WRONG", 33), ("-m comment", 13)):
        result = save(f"-A INPUT {spec}")
        assert result.errors, spec
        assert result.errors[0].span.column == column, (spec, result.errors[0])


def test_structure_errors():
    missing = parse_iptables_save("*filter\n-A INPUT -j ACCEPT\n", "f")
    assert [e.expected for e in missing.errors] == [("COMMIT",)]
    assert len(rules(missing)) == 1
    stray = parse_iptables_save("*filter\nthis is not a rule\nCOMMIT\nCOMMIT\n", "f")
    assert [(e.span.line, e.span.column) for e in stray.errors] == [(2, 1), (4, 1)]
    quote = parse_iptables_save('*filter\n-A INPUT -m comment --comment "open\nCOMMIT\n', "f")
    assert quote.errors[0].span.line == 2 and "quote" in quote.errors[0].message


def test_crlf_gives_the_same_model():
    text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -m comment --comment x " \
           "-j ACCEPT\nCOMMIT\n"
    lf = parse_iptables_save(text, "f")
    crlf = parse_iptables_save(text.replace("\n", "\r\n"), "f")
    assert not crlf.errors and crlf.ruleset == lf.ruleset
    assert rules(crlf)[0].comment == "x"


def test_empty_file_and_huge_line():
    empty = parse_iptables_save("", "f")
    assert not empty.errors and empty.ruleset.tables == ()
    huge = parse_iptables_save("*filter\n-A INPUT " + "x" * 1_000_000 + "\nCOMMIT\n", "f")
    assert len(huge.errors) == 1 and huge.errors[0].span.line == 2


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["*filter", "*nat", "COMMIT", ":INPUT DROP [0:0]", ":X - [1:2]",
                                 "-A INPUT", "-p", "tcp", "--dport", "22", "!", "-m", "multiport",
                                 "--dports", "1:", "-j", "ACCEPT", '"', "\\", "\n", "\r\n",
                                 "-s", "10.0.0.1/33", "-I", "X", "0", "[1:2]", "-t", "nat", " ",
                                 "#", "-N", "--comment", "$IPT", "iptables", "sudo"]),
                max_size=40))
def test_random_input_never_raises(pieces):
    text = " ".join(pieces)
    for fmt in ("iptables-save", "ip6tables-save", "iptables-script"):
        result = parse_text(text, "fuzz", fmt)
        for error in result.errors:
            assert error.span.line >= 1 and error.message


# --------------------------------------------------------------------------- scripts


SCRIPT = """#!/bin/sh
IPT=/sbin/iptables
WAN="eth0"
$IPT -F
$IPT -P INPUT DROP
${IPT} -A INPUT -i lo -j ACCEPT
sudo iptables -A INPUT -i $WAN -p tcp \\
    --dport 22 -j ACCEPT   # ssh
ip6tables -A INPUT -p ipv6-icmp -j ACCEPT
iptables-legacy -t nat -A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22 || true
echo "firewall loaded"
"""


def test_shell_script_forms():
    result = parse_iptables_script(SCRIPT, "fw.sh")
    assert not result.errors
    ruleset = result.ruleset
    assert ruleset.format == "iptables-script"
    assert ruleset.skipped_lines == 3  # two assignments and the echo
    by_table = {(t.family, t.name): t for t in ruleset.tables}
    filter4 = by_table[("ip", "filter")].chain("INPUT")
    assert filter4.policy == "drop"
    assert [r.text for r in filter4.rules] == ["-A INPUT -i lo -j ACCEPT",
                                               "-A INPUT -i $WAN -p tcp --dport 22 -j ACCEPT"]
    ssh = filter4.rules[1]
    assert InterfaceMatch("iif", ("eth0",), (False,)) in ssh.matches
    assert (ssh.span.line, ssh.span.column, ssh.span.end_line) == (7, 1, 8)
    assert by_table[("ip6", "filter")].chain("INPUT").rules
    nat = by_table[("ip", "nat")].chain("PREROUTING").rules[0]
    assert nat.verdict.kind == "redirect"


def test_script_rule_equals_save_rule():
    script = parse_iptables_script("iptables -A INPUT -p tcp --dport 22 -j ACCEPT\n"
                                   "iptables -A INPUT -p tcp --dport 22 -j ACCEPT; echo ok\n"
                                   "iptables -A INPUT -p tcp --dport 22 -j ACCEPT >/dev/null\n",
                                   "s")
    assert rules(script) == [one_rule("-p tcp -m tcp --dport 22 -j ACCEPT")] * 3


def test_script_unresolved_variable_is_an_error():
    result = parse_iptables_script("iptables -A INPUT -s $TRUSTED -j ACCEPT\n", "s")
    assert result.errors[0].span.column == 22 and "$TRUSTED" in result.errors[0].message


def test_format_detection():
    assert detect_format("*filter\n-A INPUT -j ACCEPT\nCOMMIT\n") == "iptables-save"
    assert detect_format("#!/bin/sh\niptables -A INPUT -j ACCEPT\n") == "iptables-script"
    assert detect_format("$IPT -A INPUT -j ACCEPT\n") == "iptables-script"
    assert detect_format("-P INPUT ACCEPT\n-A INPUT -j ACCEPT\n") == "iptables-save"
    assert detect_format("*filter\n-A INPUT -s 2001:db8::1/128 -j ACCEPT\nCOMMIT\n") == \
        "ip6tables-save"


def test_canonical_order_is_match_sort_key_order():
    from fwlint.model import match_sort_key
    from fwlint.parsing.iptables import canonical_order
    rule = one_rule("-m limit --limit 1/sec -m limit --limit 2/sec -p tcp --sport 1 -m multiport "
                    "--dports 3,4 -s 10.0.0.1 -d 10.0.0.2 -i eth0 -o eth1 "
                    "-m conntrack --ctstate NEW -m mark --mark 1 -m set --match-set s src "
                    "--syn -j ACCEPT")
    shuffled = list(reversed(rule.matches))
    assert canonical_order(shuffled) == tuple(sorted(shuffled, key=match_sort_key))
    assert rule.matches == tuple(sorted(rule.matches, key=match_sort_key))
