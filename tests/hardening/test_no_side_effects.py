"""fwlint runs no program, opens no network connection and writes only where it was asked.

In-process: every way to start a program or open a socket is replaced by a function that
raises, every open for writing is recorded, then the commands run on iptables and nft
input with a policy, exposure, a baseline and every output format.
"""

from __future__ import annotations

import builtins
import os
import socket
import subprocess

import pytest

from fwlint.cli import main
from fwlint.reporters import REPORTERS

IPTABLES = """*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 3306 -j ACCEPT
COMMIT
"""
NFT = """table inet filter {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established,related accept
    tcp dport { 22, 80, 443 } accept
    ip saddr 10.0.0.1/8 udp dport 53 accept
  }
}
"""
POLICY = """fwlint-policy: 1
extends: baseline
services:
  https: {hooks: [input]}
"""
FORBIDDEN = {
    socket: ("socket", "create_connection", "create_server", "getaddrinfo", "socketpair",
             "fromfd"),
    subprocess: ("Popen", "run", "call", "check_call", "check_output", "getoutput",
                 "getstatusoutput"),
    os: ("system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp", "execv", "execve",
         "execvp", "execvpe", "execl", "execle", "execlp", "execlpe", "spawnv", "spawnve",
         "spawnvp", "spawnvpe", "startfile"),
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


@pytest.fixture
def sandbox(monkeypatch, tmp_path):
    """Forbid programs and sockets; return the list of paths opened for writing."""
    def forbidden(name):
        def refuse(*args, **kwargs):
            raise AssertionError(f"fwlint called {name}{args[:2]!r}")
        return refuse

    for module, names in FORBIDDEN.items():
        for name in names:
            if hasattr(module, name):
                monkeypatch.setattr(module, name, forbidden(f"{module.__name__}.{name}"))
    import _posixsubprocess
    monkeypatch.setattr(_posixsubprocess, "fork_exec", forbidden("fork_exec"))

    written: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+"):
            written.append(os.path.abspath(os.fsdecode(file)))
        return real_open(file, mode, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & WRITE_FLAGS:
            written.append(os.path.abspath(os.fsdecode(path)))
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    import fwlint.parsing.nft
    monkeypatch.setattr(fwlint.parsing.nft, "_PARSER", None)  # built here: no disk cache
    return written


def test_sandbox_refuses(sandbox):
    """The fixture really catches what it claims to."""
    with pytest.raises(AssertionError):
        subprocess.run(["true"])
    with pytest.raises(AssertionError):
        socket.create_connection(("127.0.0.1", 9))
    with pytest.raises(AssertionError):
        os.system("true")


@pytest.mark.parametrize("name,text", [("rules.v4", IPTABLES), ("nftables.conf", NFT)])
def test_commands_run_nothing_and_write_only_where_asked(sandbox, tmp_path, capsys, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    sandbox.clear()
    asked = set()
    for fmt in REPORTERS:
        code = main(["check", "--isolated", "--policy", "policy.yaml", "--output-format", fmt,
                     name])
        assert code == 1
        assert capsys.readouterr().out.strip()
    for fmt in REPORTERS:
        report, sarif = out / f"report.{fmt}", out / f"{fmt}.sarif"
        asked |= {str(report), str(sarif)}
        assert main(["check", "--isolated", "--policy", "policy.yaml", "--output-format", fmt,
                     "-o", str(report), "--sarif-file", str(sarif), name]) == 1
        assert report.read_text(encoding="utf-8").strip() and sarif.stat().st_size
    baseline = out / "baseline.json"
    asked.add(str(baseline))
    assert main(["baseline", "create", str(baseline), "--isolated", "--policy", "policy.yaml",
                 name]) == 0
    assert main(["check", "--isolated", "--policy", "policy.yaml", "--baseline", str(baseline),
                 name]) == 0
    for fmt in ("text", "json", "markdown"):
        assert main(["exposure", "--output-format", fmt, name]) == 0
        assert capsys.readouterr().out.strip()
    assert main(["policy", "validate", "policy.yaml"]) == 0
    assert main(["dump", name]) == 0
    capsys.readouterr()

    def allowed(path: str) -> bool:
        """The reports asked for and their temporary files; nothing else (no caches)."""
        return path in asked or (
            os.path.dirname(path) == str(out) and os.path.basename(path).startswith(".fwlint-"))

    assert any(allowed(p) for p in sandbox)  # the recording sees fwlint's own writes
    assert [p for p in sandbox if not allowed(p)] == []
    assert sorted(os.listdir(out)) == sorted(os.path.basename(p) for p in asked)
    created = {os.path.join(root, name) for root, _, names in os.walk(tmp_path) for name in names}
    inputs = {str(tmp_path / name), str(tmp_path / "policy.yaml")}
    assert [p for p in created - inputs if p not in asked] == []
