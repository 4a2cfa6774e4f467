"""``fwlint exposure``: text, JSON and Markdown of the same classes, with NAT and services."""

from __future__ import annotations

import json

from fwlint.cli import main

RULES = """*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22
-A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p tcp --dport 22 -m conntrack --ctstate DNAT -j ACCEPT
-A INPUT -s 192.0.2.0/24 -p udp --dport 161 -j ACCEPT
-A INPUT -p tcp --dport 443 -m limit --limit 10/s -j ACCEPT
-A FORWARD -d 172.17.0.2 -p tcp --dport 80 -j ACCEPT
COMMIT
"""


def run(tmp_path, capsys, *args):
    path = tmp_path / "rules.v4"
    path.write_text(RULES)
    assert main(["exposure", str(path), *args]) == 0
    return str(path), capsys.readouterr().out


def test_json_lists_every_class_with_nat_services_and_rules(tmp_path, capsys):
    path, out = run(tmp_path, capsys, "--output-format", "json")
    items = json.loads(out)["files"][0]["exposures"]
    by_port = {(i["hook"], i["protocol_name"], i["ports"][0]["first"]): i for i in items}
    assert set(by_port) == {("input", "tcp", 2222), ("input", "udp", 161), ("input", "tcp", 443),
                            ("forward", "tcp", 8080)}
    ssh = by_port[("input", "tcp", 2222)]
    assert ssh["internal_ports"][0]["service"] == "ssh"
    assert ssh["internal_ports"][0]["category"] == "well-known"
    assert ssh["ports"][0]["category"] == "registered"
    assert [r["line"] for r in ssh["nat_rules"]] == [3]
    assert [r["line"] for r in ssh["rules"]] == [10]
    assert ssh["sources"] == ["any"] and ssh["certainty"] == "definite"
    snmp = by_port[("input", "udp", 161)]
    assert snmp["sources"] == ["192.0.2.0/24"] and snmp["ports"][0]["service"] == "snmp"
    https = by_port[("input", "tcp", 443)]
    assert https["certainty"] == "possible" and "limit" in https["reason"]
    forwarded = by_port[("forward", "tcp", 8080)]
    assert forwarded["internal_addresses"] == ["172.17.0.2/32"]
    assert forwarded["interfaces"] == ["eth0"]
    assert all(r["path"] == path for i in items for r in i["rules"] + i["nat_rules"])


def test_text_and_markdown_show_the_same_classes(tmp_path, capsys):
    _, text = run(tmp_path, capsys)
    _, markdown = run(tmp_path, capsys, "--output-format", "markdown")
    assert "2222 (registered) -> 22 (ssh, well-known)" in text
    assert "possible (-m limit --limit 10/s)" in text
    rows = [line for line in markdown.splitlines() if line.startswith("| input") or
            line.startswith("| forward")]
    assert len(rows) == 4
    assert any("172.17.0.2/32:80 (http, well-known)" in row for row in rows)


def test_unreadable_file_is_a_usage_error(tmp_path, capsys):
    assert main(["exposure", str(tmp_path / "missing.rules")]) == 2
    assert "no such file" in capsys.readouterr().err
