"""The shipped port/service table and IANA port ranges."""

import subprocess
import sys
from pathlib import Path

import pytest

from fwlint import services

DATA = Path(services.__file__).resolve().parent / "data"


def test_tcp_and_udp_are_separate():
    assert services.service_ports("ssh") == ((6, 22),)
    assert (17, 22) not in services.service_ports("ssh")
    assert {p for p, _ in services.service_ports("domain")} == {6, 17}
    assert services.service_name(17, 22) is None


def test_admin_and_database_services_present():
    for name in ("rdp", "vnc", "redis", "mongodb", "memcached", "elasticsearch",
                 "postgresql", "mysql"):
        pairs = services.service_ports(name)
        assert pairs, name
        assert all(services.service_name(proto, port) == name for proto, port in pairs)


def test_aliases_resolve_to_the_same_ports():
    assert services.service_ports("www") == services.service_ports("http")
    assert services.service_ports("postgres") == services.service_ports("postgresql")
    assert services.service_ports("no-such-service") == ()


@pytest.mark.parametrize("port,category", [(0, "well-known"), (1023, "well-known"),
                                           (1024, "registered"), (49151, "registered"),
                                           (49152, "dynamic"), (65535, "dynamic")])
def test_port_category_boundaries(port, category):
    assert services.port_category(port) == category


@pytest.mark.parametrize("port", [-1, 65536, 70000])
def test_port_category_rejects_out_of_range(port):
    with pytest.raises(ValueError):
        services.port_category(port)


def test_generator_merges_netbase_with_extras(tmp_path):
    sys.path.insert(0, str(DATA))
    try:
        import make_services
    finally:
        sys.path.remove(str(DATA))
    source = tmp_path / "services"
    source.write_text("ssh\t\t22/tcp\t\t\t# SSH\n"
                      "ms-wbt-server\t3389/tcp\n"
                      "fsp\t\t21/udp\t\tfspd\n"
                      "at-rtmp\t\t1/ddp\n")
    rows = {(name, port, proto): aliases for name, port, proto, aliases
            in make_services.build(str(source))}
    assert rows[("ssh", 22, "tcp")] == []
    assert rows[("fsp", 21, "udp")] == ["fspd"]
    assert "ms-wbt-server" in rows[("rdp", 3389, "tcp")]
    assert not any(name == "at-rtmp" for name, _, _ in rows)
    assert ("mongodb", 27017, "tcp") in rows


def test_shipped_table_is_well_formed():
    lines = (DATA / "services.tsv").read_text().splitlines()
    assert lines[0].startswith("#")
    for line in lines[1:]:
        name, port, proto, _aliases = line.split("\t")
        assert name and proto in ("tcp", "udp", "sctp") and 0 <= int(port) <= 65535


def test_importing_fwlint_services_does_not_read_the_table():
    code = ("import fwlint.services as s; print(s._load.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
