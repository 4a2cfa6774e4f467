"""The policy language: every sketch field, extends, conflicts, and invalid policies giving
exit 2 with file:line:column (through the real CLI, in a subprocess)."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from fwlint.errors import UsageError
from fwlint.findings import Severity
from fwlint.policy import builtin_policies, load_policy
from fwlint.policy.loader import schema
from fwlint.resources import policies_dir
from fwlint.services import service_ports

HERE = Path(__file__).resolve().parent
TCP, UDP = 6, 17


def validate(tmp_path: Path, *files: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fwlint", "policy", "validate", *files],
                          capture_output=True, text=True, cwd=tmp_path)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return name


def test_schema_is_a_valid_json_schema():
    from jsonschema import Draft202012Validator
    Draft202012Validator.check_schema(schema())


def test_every_sketch_field_is_loaded():
    policy = load_policy(str(HERE / "sketch.yaml"))
    assert policy.name == "web-server"
    assert policy.description.startswith("Public web server")
    assert [s.value for s in policy.default_deny] == ["input", "forward"]
    ssh, http, https = policy.services
    assert (ssh.name, ssh.ports, ssh.protocols) == ("ssh", ((2222, 2222),), (TCP,))
    assert ssh.sources == (ipaddress.ip_network("10.0.0.0/8"),
                           ipaddress.ip_network("2001:db8:a::/48"))
    assert ssh.remapped and ssh.standard_closed == service_ports("ssh")
    assert http.ports == ((80, 80),) and http.protocols == (TCP,) and http.sources == ()
    assert not http.remapped
    assert https.protocols == (TCP, UDP) and https.ports == ((443, 443),)
    assert dict((k, s.value) for k, s in policy.ports) == {
        "well-known": "deny-unlisted", "registered": "warn-unlisted", "dynamic": "deny"}
    telnet, rdp, netbios = policy.forbidden
    assert telnet.service == "telnet" and telnet.covers(TCP, 23)
    assert rdp.covers(TCP, 3389) and not rdp.covers(UDP, 3389)
    assert rdp.reason == "RDP only through the VPN"
    assert netbios.ports == ((135, 139),) and netbios.protocols == (TCP, UDP)
    assert [r.value for r in policy.require] == ["loopback-accept", "established-accept",
                                                 "ipv6-parity"]
    assert policy.severity_for("FW201", "shadowed-rule").severity == Severity.HIGH
    assert policy.severity_for("FW202", "redundant-rule").severity == Severity.LOW


def test_entries_carry_their_policy_line():
    policy = load_policy(str(HERE / "sketch.yaml"))
    lines = (HERE / "sketch.yaml").read_text().splitlines()
    for entry in (*policy.services, *policy.forbidden, *policy.default_deny, *policy.require,
                  *policy.findings):
        assert entry.span.path.endswith("sketch.yaml")
        assert entry.span.line >= 1
        source = lines[entry.span.line - 1][entry.span.column - 1:]
        name = getattr(entry, "name", None) or getattr(entry, "check", None) \
            or getattr(entry, "value", None) or getattr(entry, "service", None)
        if name:
            assert source.startswith(name) or name in source, (entry, source)


def test_loading_is_cached_by_path():
    path = str(HERE / "sketch.yaml")
    assert load_policy(path) is load_policy(path)


def test_inline_mapping_and_builtin_extends():
    policy = load_policy({"fwlint-policy": 1, "extends": "baseline",
                          "services": {"ssh": {"port": 2222}}})
    assert [s.name for s in policy.services] == ["ssh"]
    assert policy.requirement("loopback-accept") is not None
    assert any(f.service == "telnet" for f in policy.forbidden)
    assert policy.services[0].span.path == "<inline policy>"


def test_extends_relative_path_and_later_keys_override(tmp_path):
    write(tmp_path, "common/base.yaml", """\
        fwlint-policy: 1
        description: base
        services:
          http: {}
          ssh: {}
        ports: {well-known: deny, registered: deny}
        forbidden: [telnet, {port: 8080, proto: tcp}]
        """)
    write(tmp_path, "child.yaml", """\
        fwlint-policy: 1
        extends: [common/base.yaml]
        services:
          ssh: {port: 2222}
          http-alt: {}
        ports: {well-known: deny-unlisted}
        """)
    policy = load_policy(str(tmp_path / "child.yaml"))
    services = {s.name: s for s in policy.services}
    assert services["ssh"].ports == ((2222, 2222),)
    assert services["http"].ports == ((80, 80),)
    assert policy.range_action("well-known").value == "deny-unlisted"
    assert policy.range_action("registered").value == "deny"
    assert policy.description == "base"
    assert [f.service for f in policy.forbidden] == ["telnet"]  # 8080 now allowed by http-alt
    assert policy.files[1].endswith("base.yaml")


@pytest.mark.parametrize("name", ["baseline", "web-server", "workstation", "router"])
def test_builtin_policy_show_round_trips(name, tmp_path):
    assert name in builtin_policies()
    shown = subprocess.run([sys.executable, "-m", "fwlint", "policy", "show", name],
                           capture_output=True, text=True, check=True).stdout
    (tmp_path / "shown.yaml").write_text(shown)
    again = load_policy(str(tmp_path / "shown.yaml"))
    original = load_policy(name)
    assert again.to_data() == original.to_data()
    assert [(s.name, s.ports, s.protocols, s.sources) for s in again.services] == \
        [(s.name, s.ports, s.protocols, s.sources) for s in original.services]


def test_builtin_policies_validate_against_the_schema(tmp_path):
    files = [str(p) for p in sorted(policies_dir().glob("*.yaml"))]
    assert len(files) == len(builtin_policies()) >= 4
    result = validate(tmp_path, *files)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok (policy") == len(files)


def test_policy_list_names_every_builtin():
    out = subprocess.run([sys.executable, "-m", "fwlint", "policy", "list"],
                         capture_output=True, text=True, check=True).stdout
    assert [line.split()[0] for line in out.splitlines()] == list(builtin_policies())


INVALID = {
    "unknown-key": ("fwlint-policy: 1\nservices:\n  http: {}\ncolour: blue\n",
                    4, 1, "unknown key 'colour'"),
    "unknown-nested-key": ("fwlint-policy: 1\nservices:\n  http: {prot: tcp}\n",
                           3, 10, "unknown key 'prot'"),
    "wrong-type": ("fwlint-policy: 1\ndefault-deny: input\n", 2, 15, "is not of type 'array'"),
    "wrong-type-port": ("fwlint-policy: 1\nservices:\n  ssh: {port: [22]}\n",
                        3, 15, "is not of type"),
    "port-70000": ("fwlint-policy: 1\nservices:\n  ssh: {port: 70000}\n",
                   3, 15, "greater than the maximum of 65535"),
    "port-range-70000": ("fwlint-policy: 1\nforbidden:\n  - {ports: 100-70000}\n",
                         3, 13, "within 1-65535"),
    "port-0": ("fwlint-policy: 1\nservices:\n  ssh: {port: 0}\n", 3, 15, "minimum"),
    "bad-cidr": ("fwlint-policy: 1\nservices:\n  ssh: {from: [10.0.0.0/8, 10.0.0.300/32]}\n",
                 3, 28, "bad address or CIDR '10.0.0.300/32'"),
    "cidr-host-bits": ("fwlint-policy: 1\nservices:\n  ssh: {from: [10.0.0.1/8]}\n",
                       3, 16, "host bits set"),
    "unknown-service": ("fwlint-policy: 1\nservices:\n  http: {}\n  sshh: {}\n",
                        4, 3, "unknown service 'sshh' (did you mean ssh"),
    "unknown-forbidden-service": ("fwlint-policy: 1\nforbidden:\n  - telnett\n",
                                  3, 5, "unknown service 'telnett'"),
    "two-services-one-port": ("fwlint-policy: 1\nservices:\n  mysql: {}\n"
                              "  app: {port: 3306, proto: tcp}\n",
                              4, 3, "both claim 3306/tcp"),
    "allowed-and-forbidden": ("fwlint-policy: 1\nservices:\n  telnet: {}\n"
                              "forbidden: [telnet]\n", 3, 3, "both allowed here and forbidden"),
    "forbidden-without-port": ("fwlint-policy: 1\nforbidden:\n  - {proto: tcp}\n", 3, 5,
                               "needs one of the keys service, port, ports"),
    "yaml-syntax": ("fwlint-policy: 1\nservices:\n  ssh: {port: 22\n", 4, 1, "YAML syntax error"),
    "yaml-tab": ("fwlint-policy: 1\nservices:\n\tssh: {}\n", 3, 1, "YAML syntax error"),
    "object-tag": ("fwlint-policy: 1\nname: !!python/object/apply:os.system [echo hi]\n",
                   2, 7, "not allowed in a policy"),
    "duplicate-key": ("fwlint-policy: 1\nservices:\n  ssh: {}\n  ssh: {port: 2222}\n",
                      4, 3, "duplicate key 'ssh'"),
    "version": ("fwlint-policy: 2\n", 1, 16, "fwlint-policy: 1 was expected"),
    "missing-version": ("name: x\n", 1, 1, "'fwlint-policy' is a required property"),
    "unknown-extends": ("fwlint-policy: 1\nextends: [no-such-policy]\n", 2, 11,
                        "no such file or built-in policy"),
    "alias-bomb": ("fwlint-policy: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
                   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                   "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n", None, None, "too large"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_policy_exits_2_with_position(case, tmp_path):
    text, line, column, message = INVALID[case]
    write(tmp_path, "bad.yaml", text)
    result = validate(tmp_path, "bad.yaml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    where = rf"{line}:{column}" if line else r"\d+:\d+"
    assert re.match(rf"fwlint: error: bad\.yaml:{where}: ", first), result.stderr
    assert message in result.stderr


def test_extends_cycle_exits_2_naming_the_cycle(tmp_path):
    write(tmp_path, "a.yaml", "fwlint-policy: 1\nextends: sub/b.yaml\n")
    write(tmp_path, "sub/b.yaml", "fwlint-policy: 1\nservices: {http: {}}\nextends: [../a.yaml]\n")
    result = validate(tmp_path, "a.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.match(r"fwlint: error: sub/b\.yaml:3:11: extends cycle: a\.yaml -> sub/b\.yaml "
                    r"-> a\.yaml", result.stderr), result.stderr


def test_conflict_across_files_names_both_locations(tmp_path):
    write(tmp_path, "base.yaml", "fwlint-policy: 1\nservices:\n  mysql: {}\n")
    write(tmp_path, "child.yaml", "fwlint-policy: 1\nextends: base.yaml\nservices:\n"
                                  "  app: {port: 3306, proto: tcp}\n")
    result = validate(tmp_path, "child.yaml")
    assert result.returncode == 2
    assert re.match(r"fwlint: error: child\.yaml:4:3: services 'mysql' \(base\.yaml:3:3\) "
                    r"and 'app' both claim 3306/tcp", result.stderr), result.stderr


def test_child_allow_overrides_inherited_forbidden(tmp_path):
    write(tmp_path, "base.yaml", "fwlint-policy: 1\nforbidden: [telnet, rdp]\n")
    write(tmp_path, "child.yaml", "fwlint-policy: 1\nextends: base.yaml\nservices:\n"
                                  "  rdp: {from: [10.8.0.0/16]}\n")
    policy = load_policy(str(tmp_path / "child.yaml"))
    assert [f.service for f in policy.forbidden] == ["telnet"]


def test_world_open_forbidden_does_not_conflict_with_restricted_service():
    policy = load_policy({"fwlint-policy": 1, "services": {"ssh": {"from": ["10.0.0.0/8"]}},
                          "forbidden": [{"service": "ssh", "world-open": True}]})
    assert policy.forbidding(TCP, 22)[0].world_open
    with pytest.raises(UsageError, match="both allowed here and forbidden"):
        load_policy({"fwlint-policy": 1, "services": {"ssh": {}},
                     "forbidden": [{"service": "ssh", "world-open": True}]})


def test_every_error_line_starts_with_a_position(tmp_path):
    write(tmp_path, "bad.yaml", "fwlint-policy: 1\nservices:\n  ssh: {port: 70000}\n"
                                "  sshh: {}\ncolour: blue\n")
    result = validate(tmp_path, "bad.yaml")
    lines = result.stderr.removeprefix("fwlint: error: ").splitlines()
    assert len(lines) == 2  # schema errors first; unknown names once the shape is right
    assert all(re.match(r"bad\.yaml:\d+:\d+: ", line) for line in lines), lines


def test_policy_files_are_loaded_without_executing_tags(tmp_path):
    marker = tmp_path / "executed"
    write(tmp_path, "evil.yaml", f"fwlint-policy: 1\ndescription: !!python/object/apply:"
                                 f"os.system ['touch {marker}']\n")
    assert validate(tmp_path, "evil.yaml").returncode == 2
    assert not marker.exists()
    assert yaml  # PyYAML is what reads policies


def test_valid_files_print_ok_and_exit_0(tmp_path):
    result = validate(tmp_path, str(HERE / "sketch.yaml"))
    assert result.returncode == 0, result.stderr
    assert "ok (policy 'web-server'" in result.stdout
