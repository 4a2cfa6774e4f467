"""Hostile and broken input (issue 8's table): one test per row, each through
``python -m fwlint check`` as a user runs it.  Every row ends in findings with
file:line:column or in exit 2 with a one-line message, never a traceback, within the
subprocess timeout (helpers.TIMEOUT): a hang fails the test.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from fwlint.limits import DEFAULTS

from .helpers import assert_usage_error, check, max_rss_kib

SAVE = """*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
COMMIT
"""
NFT = """table inet filter {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 22 accept
  }
}
"""


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def positions(run, code: str | None = None) -> list[tuple[int, int]]:
    return [(f.line, f.column) for f in run.findings if code is None or f.code == code]


def summary(run) -> list[tuple[str, int]]:
    """Codes and lines, for comparing two spellings of the same file."""
    return sorted((f.code, f.line) for f in run.findings)


# --------------------------------------------------------------------------- bytes


def test_empty_file(tmp_path):
    run = check(str(write(tmp_path / "empty.rules", b"")))
    assert run.returncode == 1
    assert [(f.code, f.line, f.column) for f in run.findings] == [("FW305", 1, 1)]


def test_binary_file(tmp_path):
    data = bytes(range(256)) * 64
    run = check(str(write(tmp_path / "blob.rules", data)))
    assert run.returncode == 1
    errors = run.of("FW001")
    assert errors and "binary" in errors[0].message
    assert all(f.line >= 1 and f.column >= 1 for f in run.findings)
    assert "FW101" not in run.codes()  # nothing was guessed from the bytes


def test_nul_bytes(tmp_path):
    text = SAVE.replace("--dport 80", "--dport\x0080")
    run = check(str(write(tmp_path / "nul.rules", text)))
    assert run.returncode == 1
    nul_line = text[:text.index("\x00")].count("\n") + 1
    assert [f.line for f in run.of("FW001")] == [nul_line]


def test_non_utf8_bytes(tmp_path):
    data = SAVE.encode().replace(b"-j ACCEPT\n-A INPUT -p tcp --dport 80",
                                 b"-j ACCEPT\n-A INPUT -p tcp --dport 80 -m comment "
                                 b"--comment caf\xe9")
    run = check(str(write(tmp_path / "latin1.rules", data)))
    assert run.returncode == 1
    line = data[:data.index(b"\xe9")].count(b"\n") + 1
    column = data.index(b"\xe9") - data.rfind(b"\n", 0, data.index(b"\xe9"))
    assert (line, column) in positions(run, "FW001")
    assert "UTF-8" in run.of("FW001")[0].message
    # the rest of the file was still read: the same findings as the clean file, plus FW001
    clean = check(str(write(tmp_path / "clean.rules", SAVE)))
    assert set(summary(clean)) <= set(summary(run))


def test_utf8_bom(tmp_path):
    plain = check(str(write(tmp_path / "plain.nft", NFT)))
    bom = check(str(write(tmp_path / "bom.nft", b"\xef\xbb\xbf" + NFT.encode())))
    assert "FW001" not in bom.codes()
    assert summary(bom) == summary(plain) and plain.findings


@pytest.mark.parametrize("text", [SAVE, NFT], ids=["iptables-save", "nft"])
def test_crlf_and_mixed_line_endings(tmp_path, text):
    suffix = ".nft" if text is NFT else ".rules"
    plain = check(str(write(tmp_path / f"lf{suffix}", text)))
    crlf = check(str(write(tmp_path / f"crlf{suffix}", text.replace("\n", "\r\n"))))
    lines = text.split("\n")
    mixed_text = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines[:-1]))
    mixed = check(str(write(tmp_path / f"mixed{suffix}", mixed_text)))
    assert plain.findings and "FW001" not in plain.codes()
    assert summary(crlf) == summary(plain)
    assert summary(mixed) == summary(plain)


def test_lone_carriage_return_is_a_positioned_finding(tmp_path):
    text = SAVE.replace("-j ACCEPT\n-A INPUT -p tcp --dport 80", "-j ACCEPT\r-A INPUT -p tcp --dport 80")
    run = check(str(write(tmp_path / "cr.rules", text)))
    assert run.returncode == 1
    assert run.of("FW001") and all(f.line >= 1 and f.column >= 1 for f in run.findings)


def test_one_megabyte_single_line(tmp_path):
    sources = " ".join(f"-s 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in range(70000))
    rule = f"-A INPUT {sources[:1 << 20].rsplit(' -s', 1)[0]} -p tcp --dport 22 -j ACCEPT"
    assert len(rule) > 1_000_000
    ipt = check(str(write(tmp_path / "long.rules", f"*filter\n:INPUT DROP [0:0]\n{rule}\nCOMMIT\n")))
    assert ipt.returncode in (0, 1)
    elements = ", ".join(f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in range(80000))
    line = f"table inet t {{ chain c {{ type filter hook input priority 0; ip saddr {{ {elements} }} accept; }} }}"
    assert len(line) > 1_000_000
    nft = check(str(write(tmp_path / "long.nft", line + "\n")))
    assert nft.returncode in (0, 1)
    assert all(f.line == 1 for f in nft.findings)


def test_hundred_megabyte_file_is_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.rules"
    line = b"-A INPUT -s 10.0.0.1 -p tcp --dport 22 -j ACCEPT\n"
    with open(path, "wb") as handle:
        handle.write(b"*filter\n:INPUT DROP [0:0]\n")
        block = line * (1 << 14)
        while handle.tell() < 100 * 1024 * 1024:
            handle.write(block)
        handle.write(b"COMMIT\n")
    assert path.stat().st_size > DEFAULTS["max-file-bytes"]
    run = check(str(path), measure=True)
    assert run.returncode == 1
    limit = run.of("FW010")
    assert [(f.line, f.column) for f in limit] == [(1, 1)]
    assert str(path.stat().st_size) in limit[0].message
    assert max_rss_kib(run) < 100 * 1024  # the file was never read into memory


# --------------------------------------------------------------------------- nft structure


def test_ten_thousand_nested_braces(tmp_path):
    text = "table inet t {\n  chain c {\n" + "{" * 10000 + "}" * 10000 + "\n  }\n}\n"
    run = check(str(write(tmp_path / "braces.nft", text)))
    assert run.returncode == 1
    assert 3 in [f.line for f in run.of("FW001")]


def test_include_cycle(tmp_path):
    write(tmp_path / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(tmp_path / "a.nft", 'include "b.nft"\n' + NFT)
    write(tmp_path / "b.nft", 'include "a.nft"\n')
    run = check(str(tmp_path / "a.nft"))
    cycle = [f for f in run.of("FW001") if "cycle" in f.message]
    assert len(cycle) == 1 and cycle[0].path.endswith("b.nft") and cycle[0].line == 1
    assert "FW101" in run.codes()  # the ruleset after the include was still read


def test_include_of_a_missing_file(tmp_path):
    path = write(tmp_path / "main.nft", 'table inet t {\n  include "nowhere.nft"\n}\n')
    run = check(str(path))
    assert run.returncode == 1
    missing = run.of("FW001")
    assert [(f.line, f.column) for f in missing] == [(2, 3)]
    assert "nowhere.nft" in missing[0].message


def test_include_outside_the_repository_needs_a_flag(tmp_path):
    repo, outside = tmp_path / "repo", tmp_path / "elsewhere"
    write(repo / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(outside / "open.nft", "table ip leaked {\n  chain input {\n"
                                "    type filter hook input priority 0; policy accept;\n  }\n}\n")
    write(repo / "sub" / "inner.nft", "table ip inner { }\n")
    main = write(repo / "fw" / "main.nft", 'include "../../elsewhere/open.nft"\n'
                                             'include "../sub/inner.nft"\n' + NFT)
    refused = check(str(main))
    limit = refused.of("FW010")
    assert [(f.line, f.column) for f in limit] == [(1, 1)]
    assert "outside" in limit[0].message and "-I" in limit[0].message
    assert not any("leaked" in f.message for f in refused.findings)
    assert "FW001" not in refused.codes()  # the include inside the repository was read

    allowed = check("-I", str(outside), str(main))
    assert "FW010" not in allowed.codes()
    assert any("leaked" in f.message and f.path.endswith("open.nft")
               for f in allowed.findings)


def test_absolute_include_of_a_system_file_is_not_read(tmp_path):
    write(tmp_path / ".git" / "HEAD", "ref: refs/heads/main\n")
    main = write(tmp_path / "main.nft", 'include "/proc/self/environ"\ninclude "/etc/passwd"\n'
                 + NFT)
    run = check(str(main), measure=True)
    assert sorted(positions(run, "FW010")) == [(1, 1), (2, 1)]
    assert not any("PATH=" in f.message or "root:" in f.message for f in run.findings)


def test_glob_include_of_thousands_of_files(tmp_path):
    write(tmp_path / ".git" / "HEAD", "ref: refs/heads/main\n")
    for i in range(DEFAULTS["max-includes"] + 1500):
        write(tmp_path / "parts" / f"p{i:05}.nft", f"table inet t{i} {{ }}\n")
    main = write(tmp_path / "main.nft", NFT + 'include "parts/*.nft"\n')
    run = check(str(main))
    limit = run.of("FW010")
    assert [(f.line, f.column) for f in limit] == [(NFT.count("\n") + 1, 1)]
    assert str(DEFAULTS["max-includes"]) in limit[0].message


def test_include_nested_deeper_than_the_limit(tmp_path):
    depth = DEFAULTS["max-include-depth"] + 4
    for i in range(depth):
        write(tmp_path / f"d{i}.nft", f'include "d{i + 1}.nft"\n')
    write(tmp_path / f"d{depth}.nft", NFT)
    write(tmp_path / ".git" / "HEAD", "ref: refs/heads/main\n")
    run = check(str(tmp_path / "d0.nft"))
    limit = run.of("FW010")
    assert len(limit) == 1 and limit[0].line == 1 and "nested" in limit[0].message


def test_define_that_refers_to_itself(tmp_path):
    text = "define ports = { 22, $ports }\n" + NFT.replace("tcp dport 22", "tcp dport $ports")
    run = check(str(write(tmp_path / "define.nft", text)))
    assert run.returncode == 1
    assert (1, 1) <= min(positions(run, "FW001"))
    assert 1 in [f.line for f in run.of("FW001")]


def test_defines_that_double_forty_times(tmp_path):
    """A "billion laughs" of nft variables: each define twice the one before."""
    defines = "define a0 = 22\n" + "".join(f"define a{i} = {{ $a{i - 1}, $a{i - 1} }}\n"
                                           for i in range(1, 40))
    text = defines + NFT.replace("tcp dport 22", "tcp dport $a39")
    run = check(str(write(tmp_path / "laughs.nft", text)), measure=True)
    limit = run.of("FW010")
    assert len(limit) == 1 and "variables" in limit[0].message
    line = text.split("\n")[limit[0].line - 1]
    assert line[limit[0].column - 1:].startswith(limit[0].message.split(":")[0])
    assert max_rss_kib(run) < 400 * 1024


@pytest.mark.parametrize("fmt", ["nft", "iptables-save"])
def test_jump_cycle_across_a_thousand_chains(tmp_path, fmt):
    count = 1000
    if fmt == "nft":
        chains = "\n".join(f"  chain c{i} {{ jump c{(i + 1) % count} }}" for i in range(count))
        text = ("table inet t {\n  chain input { type filter hook input priority 0; "
                f"policy drop; jump c0; }}\n{chains}\n}}\n")
        path = write(tmp_path / "cycle.nft", text)
    else:
        text = "*filter\n:INPUT DROP [0:0]\n" + "".join(f":C{i} - [0:0]\n" for i in range(count)) \
            + "-A INPUT -j C0\n" + "".join(f"-A C{i} -j C{(i + 1) % count}\n" for i in range(count)) \
            + "COMMIT\n"
        path = write(tmp_path / "cycle.rules", text)
    run = check(str(path))
    assert run.returncode == 1
    assert run.of("FW204"), run.stdout[-2000:]
    limit = run.of("FW010")
    assert len(limit) == 1 and "skipped" in limit[0].message and limit[0].line >= 1


def test_limits_are_configurable(tmp_path):
    depth = 6
    text = "*filter\n:INPUT DROP [0:0]\n" + "".join(f":C{i} - [0:0]\n" for i in range(depth)) \
        + "-A INPUT -j C0\n" + "".join(f"-A C{i} -j C{i + 1}\n" for i in range(depth - 1)) \
        + "COMMIT\n"
    rules = write(tmp_path / "r.rules", text)
    assert "FW010" not in check(str(rules)).codes()
    write(tmp_path / "fwlint.toml", "[options.FW010]\nmax-jump-depth = 3\n")
    limited = check(str(rules), isolated=False)
    assert len(limited.of("FW010")) == 1 and "limit of 3" in limited.of("FW010")[0].message
    write(tmp_path / "fwlint.toml", "[options.FW010]\nmax-jump-depth = 'deep'\n")
    assert_usage_error(check(str(rules), isolated=False), "fwlint.toml")


# --------------------------------------------------------------------------- policies


def test_yaml_alias_bomb_in_a_policy(tmp_path):
    lines = ['fwlint-policy: 1', 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    lines += ["services: {ssh: {hooks: [input]}}"]
    policy = write(tmp_path / "bomb.yaml", "\n".join(lines) + "\n")
    rules = write(tmp_path / "r.rules", SAVE)
    run = check("--policy", str(policy), str(rules), measure=True)
    message = assert_usage_error(run)
    assert "bomb.yaml:" in message
    assert max_rss_kib(run) < 300 * 1024


def test_yaml_python_object_tags_are_not_constructed(tmp_path):
    marker = tmp_path / "executed"
    policy = write(tmp_path / "evil.yaml",
                   "fwlint-policy: 1\n"
                   f"description: !!python/object/apply:os.system ['touch {marker}']\n")
    run = check("--policy", str(policy), str(write(tmp_path / "r.rules", SAVE)))
    message = assert_usage_error(run, "evil.yaml:2:")
    assert "python" in message
    assert not marker.exists()


def test_policy_extends_ten_levels_deep_and_a_cycle(tmp_path):
    write(tmp_path / "p0.yaml", "fwlint-policy: 1\nextends: baseline\n")
    for i in range(1, 11):
        write(tmp_path / f"p{i}.yaml", f"fwlint-policy: 1\nextends: p{i - 1}.yaml\n"
                                       f"description: level {i}\n")
    rules = write(tmp_path / "r.rules", SAVE)
    deep = check("--policy", str(tmp_path / "p10.yaml"), str(rules))
    direct = check("--policy", "baseline", str(rules))
    assert "FW402" in direct.codes()  # baseline forbids ssh from anywhere
    assert summary(deep) == summary(direct)  # read through all eleven levels

    write(tmp_path / "c1.yaml", "fwlint-policy: 1\nextends: c2.yaml\n")
    write(tmp_path / "c2.yaml", "fwlint-policy: 1\nextends: c1.yaml\n")
    cycle = check("--policy", str(tmp_path / "c1.yaml"), str(rules))
    assert_usage_error(cycle, "cycle", ".yaml:2:")


# --------------------------------------------------------------------------- paths


def test_path_that_is_a_directory(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    rules = write(tmp_path / "r.rules", SAVE)
    for option in ("--policy", "--baseline", "--config", "--sarif-file", "-o"):
        assert_usage_error(check(option, str(folder), str(rules), isolated=False), "folder")
    walked = check(str(folder))  # a directory argument is walked for rule files
    assert walked.returncode == 0 and not walked.findings
    write(tmp_path / "inc" / "dir.nft" / "x", "")
    included = check(str(write(tmp_path / "inc" / "main.nft", 'include "dir.nft"\n' + NFT)))
    assert [(f.line, f.column) for f in included.of("FW001")] == [(1, 1)]


def test_fifo_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.rules"
    os.mkfifo(fifo)
    run = check(str(fifo))
    assert run.returncode == 1
    assert [(f.code, f.line, f.column) for f in run.findings] == [("FW305", 1, 1)]


def test_dangling_symlink(tmp_path):
    link = tmp_path / "gone.rules"
    link.symlink_to(tmp_path / "missing-target.rules")
    assert_usage_error(check(str(link)), "gone.rules", "cannot read")


def test_unreadable_file():
    """Root reads mode-000 files, so use a file whose read fails for root too."""
    if not os.path.exists("/proc/self/mem"):
        pytest.skip("needs /proc/self/mem (a file whose read fails at offset 0)")
    assert_usage_error(check("/proc/self/mem"), "/proc/self/mem", "cannot read")


def test_file_that_changes_while_it_is_read(tmp_path):
    path = write(tmp_path / "moving.rules", SAVE)
    versions = [SAVE.encode(), b"", SAVE.encode() * 200, b"*filter\n:INPUT DROP [0:0]\n-A IN",
                NFT.encode()]
    stop = threading.Event()

    def rewrite() -> None:
        i = 0
        while not stop.is_set():
            with open(path, "r+b") as handle:
                handle.truncate(0)
                handle.write(versions[i % len(versions)])
            i += 1

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        runs = [check(str(path)) for _ in range(5)]
    finally:
        stop.set()
        writer.join()
    for run in runs:
        assert run.returncode in (0, 1), run.stderr
        assert all(f.line >= 1 and f.column >= 1 and f.path == str(path) for f in run.findings)
