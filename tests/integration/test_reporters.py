"""Output formats checked against their published structure: SARIF 2.1.0 (the OASIS schema,
Draft 4), JUnit XML, GitLab code quality, GitHub workflow commands (issue 6, items 1 and 5)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from fwlint.checks import registry
from fwlint.reporters import get_reporter

from .helpers import require_parser

SARIF_SCHEMA = Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / \
    "sarif-schema-2.1.0.json"
OPTIONS = ("--isolated", "--policy", "none")

RULES_V4 = """\
# fwlint: file-ignore[FW304] reason="-m state is fine on these hosts"
*filter
:INPUT ACCEPT [0:0]
-A INPUT -m state --state ESTABLISHED -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 22 -m comment --comment "fwlint: ignore[FW303] reviewed" -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
# fwlint: ignore[FW303] reason="kept for the old monitoring"
-A INPUT -p tcp --dport 80 -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
COMMIT
"""
BROKEN = "*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMIT\n"
NFT = """\
table inet filter {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 443 accept
    tcp dport 443 accept # fwlint: ignore[FW303]
    udp dport 53 accept
    udp dport 53 accept
  }
}
"""


@pytest.fixture
def project(tmp_path):
    require_parser("iptables")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "rules.v4").write_text(RULES_V4, encoding="utf-8")
    (tmp_path / "etc" / "broken.v4").write_text(BROKEN, encoding="utf-8")
    paths = ["etc/rules.v4", "etc/broken.v4"]
    try:
        require_parser("nft")
        (tmp_path / "etc" / "fw.nft").write_text(NFT, encoding="utf-8")
        paths.append("etc/fw.nft")
    except pytest.skip.Exception:
        pass
    return tmp_path, paths


def sarif_validator():
    import jsonschema

    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SARIF_SCHEMA}")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    return jsonschema.Draft4Validator(schema)


def assert_valid_sarif(document: dict) -> None:
    errors = sorted(sarif_validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_sarif_validates_with_related_locations_and_suppressions(fwlint, project):
    folder, paths = project
    run = fwlint("check", *OPTIONS, "--output-format", "sarif", *paths, cwd=folder)
    assert run.code == 1
    document = json.loads(run.out)
    assert_valid_sarif(document)
    sarif_run = document["runs"][0]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(registry())
    for rule, info in zip(rules, registry().values()):
        assert rule["help"]["text"] == info.doc
        assert 0 < float(rule["properties"]["security-severity"]) <= 10
    results = sarif_run["results"]
    assert any(r.get("relatedLocations") for r in results), "FW303 names the first copy"
    kinds = {r["suppressions"][0]["properties"]["fwlintKind"]
             for r in results if "suppressions" in r}
    assert {"inline", "comment", "file"} <= kinds
    assert all(r["partialFingerprints"]["fwlint/v1"] for r in results)
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert {r["ruleId"] for r in results} >= {"FW001", "FW303"}
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "etc/rules.v4" in uris and "etc/broken.v4" in uris


def test_sarif_file_beside_normal_output_and_baseline_suppressions(fwlint, project):
    folder, paths = project
    assert fwlint("baseline", "create", "base.json", *paths, *OPTIONS, cwd=folder).code == 0
    run = fwlint("check", *OPTIONS, "--baseline", "base.json", "--sarif-file", "out.sarif",
                 "-o", "report.txt", *paths, cwd=folder)
    assert run.code == 0 and run.out == ""
    assert "suppressed" in (folder / "report.txt").read_text(encoding="utf-8")
    document = json.loads((folder / "out.sarif").read_text(encoding="utf-8"))
    assert_valid_sarif(document)
    kinds = {s["kind"] for r in document["runs"][0]["results"] for s in r.get("suppressions", ())}
    assert kinds == {"inSource", "external"}
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".fwlint-")]
    assert not leftovers, "atomic writes leave no temporary files"


def test_sarif_of_no_findings_and_of_stdin_validates(fwlint, tmp_path, monkeypatch):
    require_parser("iptables")
    (tmp_path / "ok.v4").write_text("*filter\n:INPUT DROP [0:0]\nCOMMIT\n", encoding="utf-8")
    run = fwlint("check", *OPTIONS, "--select", "FW303", "--output-format", "sarif", "ok.v4",
                 cwd=tmp_path)
    assert run.code == 0
    assert_valid_sarif(json.loads(run.out))
    assert_valid_sarif(json.loads(get_reporter("sarif")([], version="0")))


def test_junit_structure(fwlint, project):
    folder, paths = project
    run = fwlint("check", *OPTIONS, "--output-format", "junit", *paths, cwd=folder)
    root = ET.fromstring(run.out)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == paths
    totals = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    for suite in suites:
        cases = suite.findall("testcase")
        assert cases and all(set(c.attrib) >= {"classname", "name"} for c in cases)
        failures = [c.find("failure") for c in cases if c.find("failure") is not None]
        skipped = [c for c in cases if c.find("skipped") is not None]
        assert all(f.get("message") and f.get("type", "").startswith("FW") for f in failures)
        counts = {"tests": len(cases), "failures": len(failures), "skipped": len(skipped),
                  "errors": 0}
        assert {k: int(suite.get(k)) for k in counts} == counts
        for key, value in counts.items():
            totals[key] += value
    assert {k: int(root.get(k)) for k in totals} == totals
    assert totals["failures"] > 0 and totals["skipped"] >= 3
    broken = suites[paths.index("etc/broken.v4")]
    assert any(f.get("type") == "FW001" for f in broken.iter("failure"))


def test_junit_clean_file_is_a_passing_testcase(fwlint, tmp_path):
    require_parser("iptables")
    (tmp_path / "ok.v4").write_text("*filter\n:INPUT DROP [0:0]\nCOMMIT\n", encoding="utf-8")
    run = fwlint("check", *OPTIONS, "--select", "FW303", "--output-format", "junit", "ok.v4",
                 cwd=tmp_path)
    suite = ET.fromstring(run.out).find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 1 and list(cases[0]) == []
    assert suite.get("failures") == "0"


def test_gitlab_code_quality_fields(fwlint, project):
    folder, paths = project
    run = fwlint("check", *OPTIONS, "--output-format", "gitlab", *paths, cwd=folder)
    issues = json.loads(run.out)
    assert isinstance(issues, list) and issues
    for issue in issues:
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"]
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert issue["location"]["path"] in paths
        assert isinstance(issue["location"]["lines"]["begin"], int)
        assert issue["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues), "fingerprints are unique"
    json_run = fwlint("check", *OPTIONS, "--output-format", "json", *paths, cwd=folder)
    unsuppressed = [f for f in json_run.findings() if "suppressed" not in f]
    assert len(issues) == len(unsuppressed)


def test_github_workflow_commands(fwlint, project):
    folder, paths = project
    run = fwlint("check", *OPTIONS, "--output-format", "github", *paths, cwd=folder)
    lines = run.out.splitlines()
    command = re.compile(r"^::(error|warning|notice) file=([^,:]+),line=(\d+),col=(\d+)"
                         r"(,endLine=\d+)?(,endColumn=\d+)?,title=FW\d{3} [a-z0-9-]+::(.+)$")
    assert lines and all(command.match(line) for line in lines), lines
    assert {command.match(line).group(2) for line in lines} <= set(paths)
    assert any(line.startswith("::error file=etc/broken.v4") for line in lines)
    assert all("\n" not in line for line in lines)


def test_statistics_quiet_and_no_colour(fwlint, project, monkeypatch):
    folder, paths = project
    stats = fwlint("check", *OPTIONS, "--statistics", *paths, cwd=folder)
    rows = [line.split() for line in stats.out.splitlines() if re.match(r"^\s*\d+\s+FW", line)]
    full = fwlint("check", *OPTIONS, "--output-format", "json", *paths, cwd=folder).findings()
    counted = {row[1]: int(row[0]) for row in rows}
    for code, count in counted.items():
        assert count == sum(1 for f in full if f["code"] == code and "suppressed" not in f)
    quiet = fwlint("check", *OPTIONS, "-q", "--output-format", "concise", *paths, cwd=folder)
    assert quiet.out and "Found" not in quiet.out
    monkeypatch.setenv("NO_COLOR", "1")
    from fwlint.engine import lint_file
    from fwlint.reporters.text import render_full

    monkeypatch.chdir(folder)
    result = lint_file("etc/rules.v4")
    assert "\x1b[" not in render_full([result], colour=True)
    monkeypatch.delenv("NO_COLOR")
    assert "\x1b[" in render_full([result], colour=True)


def test_parallel_jobs_give_the_same_sorted_report(fwlint, project):
    folder, paths = project
    serial = fwlint("check", *OPTIONS, "--jobs", "1", "--output-format", "json", *paths,
                    cwd=folder)
    parallel = fwlint("check", *OPTIONS, "--jobs", "2", "--output-format", "json", *paths,
                      cwd=folder)
    assert parallel.out == serial.out
    assert parallel.code == serial.code == 1


def test_parallel_jobs_report_the_first_unreadable_file_in_path_order(fwlint, project):
    """Workers take the largest files first; the error is still the one a serial run meets."""
    folder, paths = project
    (folder / "missing-a.rules").symlink_to(folder / "nowhere-a")
    (folder / "missing-b.rules").symlink_to(folder / "nowhere-b")
    order = [*paths, "missing-b.rules", paths[0], "missing-a.rules"]
    serial = fwlint("check", *OPTIONS, "--jobs", "1", *order, cwd=folder)
    parallel = fwlint("check", *OPTIONS, "--jobs", "2", *order, cwd=folder)
    assert serial.code == parallel.code == 2
    assert "missing-b.rules" in serial.err
    assert parallel.err == serial.err


@pytest.mark.slow
def test_sarif_of_corpus_files_validates(fwlint, tmp_path):
    """Real rule files written by others (a slice of the small save files and nft files)."""
    require_parser("iptables")
    require_parser("nft")
    from netns import CORPUS, corpus_inventory

    rows = corpus_inventory()
    picked = [r["path"] for r in rows if r["format"] in ("iptables-save", "ip6tables-save")][::2]
    picked += [r["path"] for r in rows if r["format"] == "nft"][::40]
    paths = [path for path in (os.path.join(CORPUS, p) for p in picked)
             if os.path.isfile(path) and os.path.getsize(path) < 12_000]
    assert len(paths) > 20
    run = fwlint("check", "--isolated", "--jobs", "1", "--output-format", "sarif", *paths,
                 cwd=tmp_path)
    assert run.code in (0, 1), run.err
    document = json.loads(run.out)
    assert_valid_sarif(document)
    assert document["runs"][0]["results"]
