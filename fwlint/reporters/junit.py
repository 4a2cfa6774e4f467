"""JUnit XML for CI test-report views: one testsuite per file, one testcase per finding.

A file without findings is one passing testcase, so clean files show up as passed;
suppressed findings are skipped testcases carrying the reason.
"""

from __future__ import annotations

from typing import Sequence
from xml.etree import ElementTree as ET


def _testcase(suite: ET.Element, path: str, name: str, line: int = 0) -> ET.Element:
    case = ET.SubElement(suite, "testcase", classname=path, name=name, file=path)
    if line:
        case.set("line", str(line))
    return case


def render(results: Sequence, **_) -> str:
    root = ET.Element("testsuites", name="fwlint")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results:
        suite = ET.SubElement(root, "testsuite", name=result.path)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for finding in result.findings:
            s = finding.span
            case = _testcase(suite, result.path,
                             f"{finding.code} {finding.name} at {s.line}:{s.column}", s.line)
            counts["tests"] += 1
            if finding.suppressed is not None:
                counts["skipped"] += 1
                reason = finding.suppressed.reason or finding.suppressed.kind
                ET.SubElement(case, "skipped", message=f"suppressed ({reason})")
                continue
            counts["failures"] += 1
            failure = ET.SubElement(case, "failure", type=finding.code,
                                    message=f"[{finding.severity}] {finding.message}")
            lines = [f"{s}: {finding.code} {finding.name} [{finding.severity}] {finding.message}"]
            lines += [f"  note: {r.span}: {r.message}" for r in finding.related]
            failure.text = "\n".join(lines)
        if not result.findings:
            _testcase(suite, result.path, "fwlint")
            counts["tests"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
