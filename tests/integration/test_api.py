"""The Python API (fwlint.api): the same answers as the CLI, without a subprocess."""

from __future__ import annotations

import importlib.util

import pytest

from fwlint import api
from fwlint.findings import Finding

from .helpers import require_parser

DUPLICATE = """\
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
"""


def test_check_text_selects_and_keeps_suppressed_findings():
    require_parser("iptables")
    findings = api.check_text(DUPLICATE, path="rules.v4", policy=None, select=["duplicate-rule"])
    assert all(isinstance(f, Finding) for f in findings)
    assert [(f.code, f.span.line, f.suppressed) for f in findings] == [("FW303", 4, None)]
    marked = api.check_text(
        DUPLICATE.replace("COMMIT", "# fwlint: file-ignore[FW3]\nCOMMIT"),
        path="rules.v4", policy=None, select=["FW3"])
    assert [(f.code, f.suppressed.kind) for f in marked] == [("FW303", "file")]
    assert api.check_text(DUPLICATE, policy=None, select=["FW3"], ignore=["FW303"]) == []


def test_check_text_reports_parse_errors_as_findings():
    require_parser("iptables")
    findings = api.check_text("*filter\nCOMIT\n", path="rules.v4", policy=None, select=["FW001"])
    assert findings and {f.code for f in findings} == {"FW001"}


def test_check_paths_reads_configuration_and_baseline(tmp_path, monkeypatch):
    require_parser("iptables")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.v4").write_text(DUPLICATE, encoding="utf-8")
    (tmp_path / ".fwlint.toml").write_text('select = ["FW303"]\npolicy = "none"\n')
    findings = api.check_paths([str(tmp_path)])
    assert [(f.code, f.span.line) for f in findings] == [("FW303", 4)]
    assert api.check_paths([str(tmp_path)], isolated=True, select=["FW001"], policy=None) == []
    from fwlint.cli import main

    assert main(["baseline", "create", "base.json", "rules.v4"]) == 0
    baselined = api.check_paths(["rules.v4"], baseline="base.json")
    assert [(f.code, f.suppressed.kind) for f in baselined] == [("FW303", "baseline")]


def test_exposure_of_text_and_of_a_path(tmp_path):
    require_parser("iptables")
    if importlib.util.find_spec("fwlint.analysis.evaluate") is None:
        pytest.skip("fwlint.analysis is not complete yet")
    exposed = api.exposure(DUPLICATE)
    assert [(e.protocol, e.ports, e.any_source) for e in exposed] == [(6, ((22, 22),), True)]
    path = tmp_path / "rules.v4"
    path.write_text(DUPLICATE.replace("--dport 22", "--dport 443"), encoding="utf-8")
    assert [e.ports for e in api.exposure(str(path))] == [((443, 443),)]
