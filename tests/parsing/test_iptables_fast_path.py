"""The iptables-save fast paths (fwlint.parsing.iptables._read_structure for the file
structure, _FastRules for rule and chain lines) give exactly what the reference paths give
(``fast=False``: the Lark grammar and the general rule reader): the same model values with
the same spans, texts and counters (which model equality ignores, so the comparison walks
every field), and the same errors.

Inputs: every iptables corpus file (save files, listings, and iptables' own
``extensions/*.t`` rule specs turned into save files, which include the rules iptables
refuses), the 1,000- and 10,000-rule benchmark files when they were generated (the
100,000-rule one takes 6 s through the general path), random file structures, and
hand-written lines at the edges of what the fast paths take.
"""

from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import given, settings, strategies as st

from netns import CORPUS, corpus_available, corpus_inventory, iptables_t_files, t_file_rules

from fwlint.parsing.iptables import parse_iptables_save

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench")


def _bench_file(size: int) -> str:
    """The kube-proxy-like file bench/run.py times, generated here (same generator, same
    seed) so a clean clone tests it too."""
    import sys

    sys.path.insert(0, BENCH)
    try:
        import gen_iptables
    finally:
        sys.path.remove(BENCH)
    return gen_iptables.generate(size, seed=1)


def _differences(fast, general, where="result"):
    """Every place where two model values differ, spans and uncompared fields included."""
    if dataclasses.is_dataclass(fast) and not isinstance(fast, type):
        if type(fast) is not type(general):
            return [f"{where}: {type(fast).__name__} != {type(general).__name__}"]
        found = []
        for f in dataclasses.fields(fast):
            found += _differences(getattr(fast, f.name), getattr(general, f.name),
                                  f"{where}.{f.name}")
        return found
    if isinstance(fast, (tuple, list)) and isinstance(general, (tuple, list)):
        if type(fast) is not type(general) or len(fast) != len(general):
            return [f"{where}: {fast!r} != {general!r}"]
        found = []
        for index, (a, b) in enumerate(zip(fast, general)):
            found += _differences(a, b, f"{where}[{index}]")
        return found
    if type(fast) is not type(general) or fast != general:
        return [f"{where}: {fast!r} != {general!r}"]
    return []


def _assert_same(text: str, path: str, ipv6: bool = False):
    fast = parse_iptables_save(text, path, ipv6=ipv6)
    general = parse_iptables_save(text, path, ipv6=ipv6, fast=False)
    differences = _differences(fast, general)
    assert not differences, "\n".join(differences[:20])
    return fast


def _iptables_files() -> list[tuple[str, bool]]:
    if not corpus_available():
        return []
    return [(row["path"], row["format"] == "ip6tables-save") for row in corpus_inventory()
            if row["format"] in ("iptables-save", "ip6tables-save", "iptables-S")]


@pytest.mark.parametrize("name,ipv6", _iptables_files(), ids=lambda value: str(value))
def test_corpus_files_read_the_same_through_both_paths(name, ipv6):
    path = os.path.join(CORPUS, name)
    with open(path, encoding="utf-8", errors="replace") as handle:
        _assert_same(handle.read(), path, ipv6)


def _t_file_as_save(path: str) -> str:
    """An extensions/*.t file as iptables-save input: one table per ``*table`` section, its
    chains declared, one ``-A`` line per rule spec (OK and FAIL ones alike)."""
    tables: dict[str, list[str]] = {}
    for _, table, chains, fields in t_file_rules(path):
        tables.setdefault(table, []).extend(f"-A {chain} {fields[0]}" for chain in chains)
    return "".join(f"*{name}\n" + "\n".join(lines) + "\nCOMMIT\n"
                   for name, lines in tables.items())


@pytest.mark.parametrize("path", iptables_t_files(), ids=os.path.basename)
def test_iptables_extension_tests_read_the_same_through_both_paths(path):
    text = _t_file_as_save(path)
    _assert_same(text, path, ipv6=os.path.basename(path).startswith("libip6t_"))


@pytest.mark.parametrize("size", [1000, 10000])
def test_benchmark_files_read_the_same_through_both_paths(size):
    result = _assert_same(_bench_file(size), f"iptables-{size}.rules")
    assert not result.errors


EDGE_LINES = [
    '-A INPUT -m comment --comment "two  spaces" -j ACCEPT',
    '-A INPUT -m comment --comment "" -j ACCEPT',
    '-A INPUT -m comment --comment "a\\"b" -j ACCEPT',
    '-A INPUT -m comment --comment ab"c d"e -j ACCEPT',
    '-A INPUT -m comment --comment "x" -m comment --comment y -j ACCEPT',
    '-A INPUT -m comment --comment ! -j ACCEPT',
    '-A INPUT -m comment --comment "' + "c" * 256 + '" -j ACCEPT',
    '-A INPUT -m comment --comment "unterminated -j ACCEPT',
    "-A INPUT -p tcp --dport 22 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 80,443,8080 -j ACCEPT",
    "-A INPUT -p udp -m multiport --dports 53,053,0 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 81,80,82,80,65535 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 80,65536 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 80:90,100 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 80, -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports http,80 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 8\u0660 -j ACCEPT",
    "-A INPUT -p tcp -m multiport ! --dports 80 -j ACCEPT",
    "-A INPUT ! -p tcp -m multiport --dports 80 -j ACCEPT",
    "-A INPUT -p sctp -m multiport --dports 80 -j ACCEPT",
    "-A INPUT -m multiport --dports 80 -j ACCEPT",
    "-A INPUT -s 10.0.0.1/32 -p tcp -m multiport --dports 22,80 -m comment --comment x -j ACCEPT",
    "-A INPUT -p tcp -m tcp ! --dport 22 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport ! 22 -j ACCEPT",
    "-A INPUT -p ! tcp -j ACCEPT",
    "-A INPUT ! -p tcp -m tcp --dport 22 -j ACCEPT",
    "-A INPUT -m tcp --dport 22 -p tcp -j ACCEPT",
    "-A INPUT -p tcp -p udp -j ACCEPT",
    "-A INPUT -p all -j ACCEPT",
    "-A INPUT ! -p all -j ACCEPT",
    "-A INPUT -p 999 -j ACCEPT",
    "-A INPUT -s 10.0.0.1/8 -d 10.0.0.0/255.0.255.0 -j DROP",
    "-A INPUT -s 10.0.0.1,10.0.0.2 -j DROP",
    "-A INPUT ! -s host.example -j DROP",
    "-A INPUT -s 300.1.1.1 -j DROP",
    "-A INPUT -i eth+ -o + ! -i lo -j ACCEPT",
    "-A INPUT -i + ! -o + -j ACCEPT",
    "-A INPUT -i averyveryverylongname -j ACCEPT",
    "-A INPUT -m tcp -p tcp --dport 22 -m comment --comment c --sport 1 -j ACCEPT",
    "-A INPUT -m state --state NEW,ESTABLISHED -m conntrack --ctstate DNAT -j ACCEPT",
    "-A INPUT -m foo --bar 1 -j ACCEPT",
    "-A INPUT -m rateest --rateest1 x -j ACCEPT",
    "-A INPUT -m owner --uid-owner 0 -j ACCEPT",
    "-A OUTPUT -m owner --uid-owner 0 -j ACCEPT",
    "-A INPUT -j ACCEPT -m tcp --dport 22",
    "-A INPUT -j ACCEPT -j DROP",
    "-A INPUT -j MYCHAIN --foo bar",
    "-A INPUT -g MYCHAIN",
    "-A INPUT -g MYCHAIN --foo",
    "-A INPUT -p tcp -j REJECT --reject-with tcp-reset",
    "-A INPUT -p udp -j REJECT --reject-with tcp-reset",
    "-A INPUT -j LOG --log-prefix \"fw: \" --log-level 4",
    "-A INPUT -j MARK --set-xmark 0x4000/0x4000",
    "-A INPUT -j TARPIT --tarpit-opt 1",
    "-A INPUT -j DNAT --to-destination 10.0.0.1:80",
    "-A INPUT -f -j DROP",
    "-A INPUT -c 1 2 -j DROP",
    "-A INPUT -4 -j DROP",
    "-A INPUT -6 -j DROP",
    "-A INPUT --protocol tcp -j DROP",
    "-A INPUT -ptcp -j DROP",
    "-A INPUT -j",
    "-A INPUT !",
    "-A INPUT",
    "-A INPUT -A FOO",
    "-A INPUT  -j ACCEPT",
    "-A INPUT -j ACCEPT ",
    "-A INPUT\t-j ACCEPT",
    "-A INPUT -j ACCEPT\r",
    "[1:2] -A INPUT -j ACCEPT",
    '-A INPUT -m comment --comment "a -j b" -j ACCEPT',
    '-A INPUT -m comment --comment "a ! -s b" -j ACCEPT',
    '-A INPUT -m comment --comment "ns/svc:tcp -> 10.0.0.1:80" -j ACCEPT',
    '-A INPUT -m comment --comment "!" -j ACCEPT',
    '-A INPUT -m comment --comment "\u00e9 \u00fc" -j ACCEPT',
    "-A INPUT -m comment --comment -p -j ACCEPT",
    "-A INPUT -m comment --comment -p tcp -j ACCEPT",
    '-A INPUT -m comment --comment "x" -m tcp -p tcp ! --dport 22 -j ACCEPT',
    "-A INPUT -m tcp -m udp --dport 22 -p tcp -j ACCEPT",
    "-A INPUT -m tcp --dport 22 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 22 -f -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 22 --protocol tcp -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 22 -4 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 22 -6 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 22 -w -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 22 --jump ACCEPT",
    "-A INPUT -j ACCEPT -c 1 2",
    "-A INPUT -j ACCEPT --match tcp",
    '-A INPUT -i "eth0" -j ACCEPT',
    '-A INPUT -j "MYCHAIN"',
    '-A "INPUT" -j ACCEPT',
    "-A INPUT -p 6 -j ACCEPT",
    "-A INPUT -p TCP -j ACCEPT",
    "-A INPUT -p tcp -j DNAT --to-destination 10.0.0.1:80",
    "-A INPUT -m -j ACCEPT",
    "-A INPUT -j ACCEPT -p",
    "-A INPUT ! -m tcp -j ACCEPT",
    "-A INPUT ! -j ACCEPT",
    "-A INPUT -s 10.0.0.1 ! -d 10.0.0.2 ! -s 10.0.0.3 -j DROP",
    "-A INPUT -s ! 10.0.0.1 -j DROP",
    "-A INPUT -s 10.0.0.1/33 -j DROP",
    "-A INPUT -s 10.0.0.1/032 -d 010.0.0.1 -j DROP",
    "-A INPUT -s 10.0.0.1/ -j DROP",
    "-A INPUT -s 10.9.8.7/0 ! -d 255.255.255.255/32 -j DROP",
    "-A INPUT -s 10.0.0.1/255.255.255.0 -d fd00::1/64 -j DROP",
    "-A INPUT -s 10.0.0.1/\u0663 -j DROP",
    # a "!" before an option: the split leaves it at the end of the piece before
    "-A INPUT ! -s 10.0.0.1 ! -d 10.0.0.2 -j DROP",
    "-A INPUT ! ! -s 10.0.0.1 -j DROP",
    "-A INPUT -s 10.0.0.1 ! -i eth0 ! -o eth1 ! -p udp -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 22 ! -s 10.0.0.0/8 -j ACCEPT",
    "-A INPUT -m tcp ! -p tcp -j ACCEPT",
    "-A INPUT -p tcp ! -m tcp -j ACCEPT",
    "-A INPUT -j ACCEPT ! -s 10.0.0.1",
    "-A INPUT -m comment --comment x ! -s 10.0.0.1 -j ACCEPT",
    "-A INPUT -m comment --comment ! -s 10.0.0.1 -j ACCEPT",
    '-A INPUT -m comment --comment "x !" -s 10.0.0.1 -j ACCEPT',
    '-A INPUT -m comment --comment "x ! -s y" ! -s 10.0.0.1 -j ACCEPT',
    "-A INPUT -s 10.0.0.1 !-d 10.0.0.2 -j DROP",
    "-A INPUT -s 10.0.0.1 ! -d",
    "-A INPUT -m -s 10.0.0.1 -j DROP",
    "-A INPUT ! -j DROP",
    "-A INPUT ! -g X",
]

NAT_LINES = [
    "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:80",
    "-A PREROUTING -j DNAT --to-destination 10.0.0.1:80",
    "-A PREROUTING ! -p tcp -j DNAT --to-destination 10.0.0.1:80",
    "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1",
    "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1-10.0.0.9:80-90/100",
    "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:99999",
    "-A PREROUTING -p tcp -j DNAT --to-destination :80",
    "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:80 --random",
    "-A POSTROUTING -j MASQUERADE --random-fully",
    "-A POSTROUTING -p tcp -j SNAT --to-source 10.0.0.1:1000-2000",
    "-A PREROUTING -p tcp -j DNAT --to-destination 010.0.0.1:80",
    "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:080",
    "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1-10.0.0.2:80",
    "-A PREROUTING -p udp -j DNAT --to-destination 10.0.0.1:\u0668\u0660",
]


@pytest.mark.parametrize("line", EDGE_LINES)
def test_edge_lines_read_the_same_through_both_paths(line):
    _assert_same(f"*filter\n:INPUT DROP [0:0]\n{line}\n-A INPUT -j ACCEPT\nCOMMIT\n", "f")
    _assert_same(f"*filter\n:INPUT DROP [0:0]\n{line}\n-A INPUT -j ACCEPT\nCOMMIT\n", "f",
                 ipv6=True)


@pytest.mark.parametrize("line", NAT_LINES)
def test_nat_lines_read_the_same_through_both_paths(line):
    _assert_same(f"*nat\n{line}\nCOMMIT\n*filter\n{line}\nCOMMIT\n", "f")
    _assert_same(f"*nat\n{line.replace('10.0.0.1', '[fd00::1]')}\nCOMMIT\n", "f", ipv6=True)


@pytest.mark.parametrize("plain", [False, True])
def test_the_fast_path_takes_the_common_lines(plain):
    """The benchmark's lines do go through the fast path (else the tests above prove
    nothing about it).  _FastRules is called directly: a compiled build calls its methods
    natively, so wrapping them would see nothing."""
    from fwlint.model import NO_SPAN
    from fwlint.parsing import iptables

    builder = iptables._Builder("f", "iptables-save")
    fast = iptables._FastRules(builder, 4)
    fast.plain = plain  # as _plain_text says of the whole file, or not
    nat = builder.table("ip", "nat", NO_SPAN, True)
    filter_table = builder.table("ip", "filter", NO_SPAN, True)
    assert fast.declare(nat, ":KUBE-SVC-X - [0:0]", 1)
    assert fast.append(nat, '-A KUBE-SVC-X ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m '
                       'comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp '
                       "--dport 53 -j KUBE-MARK-MASQ", 2)
    assert fast.append(nat, "-A KUBE-SVC-X -p tcp -m tcp -j DNAT --to-destination "
                       "10.1.1.1:53", 3)
    assert fast.append(filter_table, "-A KUBE-FORWARD -s 10.244.0.0/16 -p tcp -m multiport "
                       '--dports 80,443 -m comment --comment "x" -j ACCEPT', 4)
    assert [len(chain.rules) for chain in nat.chains.values()] == [2]
    assert [len(chain.rules) for chain in filter_table.chains.values()] == [1]
    assert not builder.errors


DECLARATIONS = [":INPUT DROP [0:0]", ":INPUT - [0:0]", ":INPUT", ":MINE - [0:0]", ":MINE ACCEPT",
                ":MINE BAD [0:0]", ":", ": MINE", ":MINE  DROP", ':"MINE" DROP', ":MINE DROP ",
                ":MINE DROP [0:0] extra", ":MINE\tDROP"]


@pytest.mark.parametrize("line", DECLARATIONS)
def test_chain_declarations_read_the_same_through_both_paths(line):
    _assert_same(f"*filter\n-A MINE -j ACCEPT\n{line}\n-A INPUT -j MINE\n{line}\nCOMMIT\n", "f")
    _assert_same(f"*nat\n{line}\n-A INPUT -j ACCEPT\nCOMMIT\n", "f")


_STRUCTURE_LINES = st.sampled_from([
    "*filter", "*nat", "*bogus", " *raw", "\t*mangle", "\r*filter", "*", "COMMIT", " COMMIT \r",
    "\tCOMMIT", "COMMITX", "COMMIT\r", "-A INPUT -j ACCEPT", "-A INPUT -p tcp --dport 22 -j DROP",
    "-A FOO -j BAR", ":INPUT DROP [0:0]", ":FOO - [0:0]", "", "  ", "\r", "# comment",
    " # indented", "junk line", "[0:0] -A INPUT -j ACCEPT", "-P INPUT DROP", "-N X",
    '-A INPUT -m comment --comment "x" -j ACCEPT', "\t-A INPUT -j DROP"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_STRUCTURE_LINES, max_size=12), st.booleans(), st.booleans())
def test_file_structure_reads_as_the_grammar_reads_it(lines, final_newline, ipv6):
    """_read_structure against the Lark grammar: tables, COMMIT in and out of tables,
    stray lines, blank and carriage-return lines, a missing COMMIT."""
    text = "\n".join(lines) + ("\n" if final_newline and lines else "")
    _assert_same(text, "s.rules", ipv6)


def test_reading_iptables_save_does_not_import_lark():
    """The structure is read without Lark: importing it and building the parser cost 0.1 s."""
    import subprocess
    import sys

    code = ("import sys; from fwlint.parsing import parse_text; "
            "parse_text('*filter\\n-A INPUT -j ACCEPT\\nCOMMIT\\n', 'f', 'iptables-save'); "
            "print('lark' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_crlf_files_read_the_same_through_both_paths():
    lines = ["*nat", ":PREROUTING ACCEPT [0:0]", ":KUBE-SEP-X - [0:0]", *NAT_LINES, "COMMIT",
             "*filter", ":INPUT DROP [0:0]", *EDGE_LINES, "COMMIT", ""]
    _assert_same("\r\n".join(lines), "crlf.rules")
    _assert_same(_bench_file(1000).replace("\n", "\r\n"), "iptables-1000.rules")


@pytest.mark.parametrize("odd", ["", "\t", "\x7f", "\x00", "\u00e9", "\u2028", "\\", "\r", " ",
                                 "  "])
def test_files_with_an_odd_character_anywhere_read_the_same_through_both_paths(odd):
    """_plain_text lets _FastRules skip most checks of a line when the whole text passes
    them: one odd character on another line must not let a line it spoils through."""
    from fwlint.parsing.iptables import _plain_text

    lines = ["*nat", ":PREROUTING ACCEPT [0:0]", ":KUBE-SEP-X - [0:0]", *NAT_LINES, "COMMIT",
             "*filter", ":INPUT DROP [0:0]", f":ODD{odd} - [0:0]", *EDGE_LINES,
             f'-A INPUT -m comment --comment "x{odd}y" -j ACCEPT', f"-A INPUT -j DROP{odd}",
             f"-A INPUT{odd} -s 10.0.0.1 -j DROP", "COMMIT", ""]
    _assert_same("\n".join(lines), "odd.rules")
    assert _plain_text(f"*filter\n-A INPUT -j DROP{odd}\nCOMMIT\n") == (odd in ("", " ", "  "))
