"""Machine-readable output (versioned: consumers check ``"version"``)."""

from __future__ import annotations

import json
from typing import Sequence

SCHEMA_VERSION = 1


def span_dict(span) -> dict:
    return {"path": span.path, "line": span.line, "column": span.column,
            "end_line": span.end_line, "end_column": span.end_column}


def finding_dict(finding) -> dict:
    data = {
        "code": finding.code,
        "name": finding.name,
        "severity": str(finding.severity),
        "message": finding.message,
        "certainty": finding.certainty,
        "location": span_dict(finding.span),
        "related": [{"message": r.message, "location": span_dict(r.span)}
                    for r in finding.related],
        "fingerprint": finding.fingerprint,
    }
    if finding.suppressed is not None:
        data["suppressed"] = {"kind": finding.suppressed.kind,
                              "reason": finding.suppressed.reason}
        if finding.suppressed.span is not None:
            data["suppressed"]["location"] = span_dict(finding.suppressed.span)
    return data


def summary(results: Sequence) -> dict:
    """Counts of unsuppressed findings by severity and of suppressed ones by kind."""
    by_severity: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    for result in results:
        for finding in result.findings:
            if finding.suppressed is None:
                key = str(finding.severity)
                by_severity[key] = by_severity.get(key, 0) + 1
            else:
                by_kind[finding.suppressed.kind] = by_kind.get(finding.suppressed.kind, 0) + 1
    return {"files": len(results), "findings": sum(by_severity.values()),
            "by_severity": by_severity, "suppressed": sum(by_kind.values()),
            "suppressed_by_kind": by_kind}


def render(results: Sequence, version: str = "", **_) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "fwlint", "version": version},
        "files": [{"path": r.path, "format": r.format} for r in results],
        "findings": [finding_dict(f) for r in results for f in r.findings],
        "summary": summary(results),
    }
    return json.dumps(document, indent=2) + "\n"
