"""The full text format: its code frames read the source as text mode would, and the
severity shown and coloured is the finding's."""

from __future__ import annotations

from fwlint.findings import Finding, Severity
from fwlint.model import Span
from fwlint.reporters import text


def test_source_lines_match_a_text_mode_read(tmp_path):
    """Read as bytes and decoded at once: the same lines as ``open(encoding="utf-8",
    errors="replace")`` (newline translation) and ``splitlines()``, whatever the line ends."""
    path = tmp_path / "rules.txt"
    path.write_bytes(b"\xef\xbb\xbfone\r\ntwo\rthree\n\nfour\x0cfive\xe2\x80\xa8six\r\r\n"
                     b"bad \xff byte\tand tab\xc3\nlast")
    text._source_lines.cache_clear()
    with open(path, encoding="utf-8", errors="replace") as handle:
        expected = tuple(handle.read().splitlines())
    assert text._source_lines(str(path)) == expected
    assert len(expected) == 10 and expected[0] == "\ufeffone" and "\ufffd" in expected[8]


def _finding(path, severity: Severity) -> Finding:
    return Finding(code="FW206", name="invalid-port", severity=severity, message="port 0",
                   span=Span(str(path), 2, 3, 2, 4))


def test_full_format_names_and_colours_each_severity(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    path = tmp_path / "rules.txt"
    path.write_text("*filter\n-A INPUT --dport 0 -j DROP\n", encoding="utf-8")

    class Result:
        findings = [_finding(path, severity) for severity in Severity]

    plain = text.render_full([Result()], colour=False).splitlines()
    for severity in Severity:
        assert f"{path}:2:3: FW206 [{severity.name.lower()}] port 0" in plain
    painted = text.render_full([Result()], colour=True)
    for severity, code in (("critical", "1;31"), ("high", "31"), ("info", "2")):
        assert f"\x1b[{code}m{path}:2:3: FW206 [{severity}] port 0\x1b[0m" in painted
    assert "  2 | -A INPUT --dport 0 -j DROP" in plain
