"""Each built-in policy has rule files that pass it and rule files that fail it (iptables
and nft), checked through the real linter; policy re-grading and the policy line as a
related location in every output format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fwlint.engine import lint_file
from fwlint.findings import Severity
from fwlint.policy import builtin_policies
from fwlint.settings import Settings

RULESETS = Path(__file__).resolve().parent / "rulesets"

#: file -> the (code, line) findings the FW4xx checks must give under the policy it is named after
EXPECTED = {
    "baseline-pass.rules": [],
    "baseline-pass.nft": [],
    "baseline-fail.rules": [("FW402", 6), ("FW402", 7), ("FW407", 8)],
    "baseline-fail.nft": [("FW402", 2), ("FW402", 4), ("FW406", 2), ("FW406", 2)],
    "web-server-pass.rules": [],
    "web-server-pass.nft": [],
    "web-server-fail.rules": [("FW401", 9), ("FW402", 10), ("FW404", 8), ("FW406", 3)],
    "web-server-fail.nft": [("FW401", 7), ("FW409", 7)],
    "workstation-pass.rules": [],
    "workstation-pass.nft": [],
    "workstation-fail.rules": [("FW401", 7), ("FW404", 8), ("FW406", 3)],
    "workstation-fail.nft": [("FW402", 5), ("FW407", 2)],
    "router-pass.rules": [],
    "router-pass.nft": [],
    "router-fail.rules": [("FW401", 19), ("FW404", 16)],
    "router-fail.nft": [("FW404", 7), ("FW404", 7), ("FW406", 9), ("FW406", 9)],
}


def test_every_builtin_has_passing_and_failing_rulesets():
    for name in builtin_policies():
        for outcome in ("pass", "fail"):
            for suffix in ("rules", "nft"):
                assert f"{name}-{outcome}.{suffix}" in EXPECTED


@pytest.mark.parametrize("filename", sorted(EXPECTED))
def test_builtin_policy_verdicts(filename):
    policy = filename.rsplit("-", 1)[0]
    result = lint_file(str(RULESETS / filename), Settings(select=("FW4",), policy=policy))
    assert sorted((f.code, f.span.line) for f in result.findings) == sorted(EXPECTED[filename]), \
        "\n".join(f"{f.code} {f.span.line} {f.message}" for f in result.findings)
    for finding in result.findings:
        assert any(r.span.path.endswith(".yaml") and r.span.line > 0 for r in finding.related)


def test_policy_findings_regrade_analysis_findings(tmp_path):
    rules = tmp_path / "shadow.rules"
    rules.write_text("*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -j ACCEPT\n"
                     "-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("fwlint-policy: 1\nfindings:\n  shadowed-rule: critical\n"
                      "  FW202: info\n")
    plain = lint_file(str(rules), Settings(select=("FW201",), policy=None)).findings
    graded = lint_file(str(rules), Settings(select=("FW201",), policy=str(policy))).findings
    assert [f.code for f in plain] == [f.code for f in graded] == ["FW201"]
    assert plain[0].severity != Severity.CRITICAL
    assert graded[0].severity == Severity.CRITICAL
    # the path is shown relative to the working directory when that is shorter
    related = graded[0].related[-1].span
    assert (os.path.abspath(related.path), related.line) == (str(policy), 3)
    configured = Settings(select=("FW201",), policy=str(policy),
                          severity={"FW201": Severity.LOW})
    assert lint_file(str(rules), configured).findings[0].severity == Severity.LOW


def _check(fmt: str, cwd: Path) -> str:
    return subprocess.run(
        [sys.executable, "-m", "fwlint", "check", "--policy", "web-server", "--select", "FW402",
         "--output-format", fmt, str(RULESETS / "web-server-fail.rules")],
        capture_output=True, text=True, cwd=cwd).stdout


@pytest.mark.parametrize("fmt", ["full", "concise", "json", "sarif", "junit", "github", "gitlab"])
def test_policy_line_shown_in_every_output_format(fmt, tmp_path):
    from fwlint.policy import load_policy
    entry = next(f for f in load_policy("web-server").forbidden if f.service == "mysql")
    out = _check(fmt, tmp_path)
    assert "3306/tcp" in out
    if fmt == "sarif":
        result = json.loads(out)["runs"][0]["results"][0]
        regions = [(loc["physicalLocation"]["artifactLocation"]["uri"],
                    loc["physicalLocation"]["region"]["startLine"])
                   for loc in result["relatedLocations"]]
        assert any(uri.endswith("baseline.yaml") and line == entry.span.line
                   for uri, line in regions), regions
    elif fmt == "json":
        finding = json.loads(out)["findings"][0]
        assert entry.span.line in [r["location"]["line"] for r in finding["related"]
                                   if r["location"]["path"].endswith("baseline.yaml")], finding
    else:
        assert f"baseline.yaml:{entry.span.line}" in out


@pytest.mark.parametrize("name", builtin_policies())
def test_bundled_policy_reads_the_same_through_libyaml(name):
    """Bundled policies are composed by libyaml when PyYAML has it: the values and every
    key's and value's position must be what PyYAML's Python parser gives."""
    from fwlint.policy.yamldoc import read_document
    from fwlint.resources import policies_dir

    text = (policies_dir() / f"{name}.yaml").read_text(encoding="utf-8")
    fast = read_document(text, f"{name}.yaml", bundled=True)
    plain = read_document(text, f"{name}.yaml", bundled=False)
    assert (fast.data, fast.values, fast.keys) == (plain.data, plain.values, plain.keys)
