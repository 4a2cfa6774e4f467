"""SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps).

Rule metadata comes from the registry: the check's docstring is the help text, and
``security-severity`` follows GitHub's bands (critical >= 9.0, high >= 7.0, medium >= 4.0,
low > 0).  Suppressed findings are kept with a ``suppressions`` entry (inline directives
are "inSource", baselines "external"), so code scanning shows them as dismissed.
"""

from __future__ import annotations

import json
import os
from typing import Sequence
from urllib.parse import quote

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/fwlint/fwlint"
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0",
                     "info": "1.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note",
         "info": "note"}
_IN_SOURCE = ("inline", "comment", "file")


def artifact_uri(path: str) -> str:
    """A relative URI with forward slashes (absolute paths become file: URIs)."""
    if os.path.isabs(path):
        return "file://" + quote(path.replace(os.sep, "/"))
    return quote(os.path.normpath(path).replace(os.sep, "/"))


def physical_location(span) -> dict:
    location: dict = {"artifactLocation": {"uri": artifact_uri(span.path)}}
    if span.line >= 1:
        region = {"startLine": span.line, "startColumn": max(span.column, 1)}
        if span.end_line >= span.line:
            region["endLine"] = span.end_line
            if span.end_line > span.line or span.end_column >= span.column:
                region["endColumn"] = max(span.end_column, 1) + 1
        location["region"] = region
    return location


def _rule(info) -> dict:
    severity = str(info.severity)
    return {
        "id": info.code,
        "name": info.name,
        "shortDescription": {"text": info.summary or info.name},
        "fullDescription": {"text": info.summary or info.name},
        "help": {"text": info.doc, "markdown": info.doc},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[severity],
                       "tags": ["security", "firewall"], "precision": "high"},
    }


def _result(finding, rule_index: dict[str, int]) -> dict:
    severity = str(finding.severity)
    result = {
        "ruleId": finding.code,
        "level": LEVEL[severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": physical_location(finding.span)}],
        "partialFingerprints": {"fwlint/v1": finding.fingerprint},
        "properties": {"severity": severity, "certainty": finding.certainty,
                       "security-severity": SECURITY_SEVERITY[severity]},
    }
    if finding.code in rule_index:
        result["ruleIndex"] = rule_index[finding.code]
    if finding.related:
        result["relatedLocations"] = [
            {"id": number, "message": {"text": related.message},
             "physicalLocation": physical_location(related.span)}
            for number, related in enumerate(finding.related, 1)]
    if finding.suppressed is not None:
        suppression = {"kind": "inSource" if finding.suppressed.kind in _IN_SOURCE
                       else "external", "status": "accepted",
                       "properties": {"fwlintKind": finding.suppressed.kind}}
        if finding.suppressed.reason:
            suppression["justification"] = finding.suppressed.reason
        if finding.suppressed.span is not None and finding.suppressed.span.line >= 1:
            suppression["location"] = {
                "physicalLocation": physical_location(finding.suppressed.span)}
        result["suppressions"] = [suppression]
    return result


def render(results: Sequence, version: str = "", checks=None, **_) -> str:
    """One SARIF log with one run: every registered check as a rule, every finding."""
    if checks is None:
        from ..checks import registry
        checks = registry()
    rules = [_rule(info) for info in checks.values()]
    rule_index = {info.code: number for number, info in enumerate(checks.values())}
    document = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "fwlint", "version": version or "0",
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "invocations": [{"executionSuccessful": True}],
            "columnKind": "unicodeCodePoints",
            "results": [_result(f, rule_index) for r in results for f in r.findings],
        }],
    }
    return json.dumps(document, indent=2) + "\n"
