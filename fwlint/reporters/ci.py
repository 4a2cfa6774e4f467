"""CI annotations: GitHub Actions workflow commands and the GitLab code-quality report.

Suppressed findings are left out of both: they are not problems to annotate.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Sequence

_GITHUB_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "notice",
                 "info": "notice"}
#: GitLab code quality severities: info, minor, major, critical, blocker
GITLAB_SEVERITY = {"info": "info", "low": "minor", "medium": "major", "high": "critical",
                   "critical": "blocker"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _relative(path: str) -> str:
    """Paths relative to the working directory (the repository root in CI)."""
    if path.startswith("<"):
        return path
    if os.path.isabs(path):
        path = os.path.relpath(path)
    return os.path.normpath(path).replace(os.sep, "/")


def render_github(results: Sequence, **_) -> str:
    """One ``::error``/``::warning``/``::notice`` line per finding."""
    lines = []
    for result in results:
        for f in result.findings:
            if f.suppressed is not None:
                continue
            s = f.span
            props = [f"file={_escape_property(_relative(s.path))}"]
            if s.line >= 1:
                props += [f"line={s.line}", f"col={max(s.column, 1)}"]
                if s.end_line >= s.line:
                    props.append(f"endLine={s.end_line}")
                    if s.end_line == s.line and s.end_column >= s.column:
                        props.append(f"endColumn={s.end_column}")
            props.append(f"title={_escape_property(f'{f.code} {f.name}')}")
            message = f"[{f.severity}] {f.message}"
            for related in f.related:
                message += f"\n{_relative(related.span.path)}:{related.span.line}: {related.message}"
            lines.append(f"::{_GITHUB_LEVEL[str(f.severity)]} {','.join(props)}::"
                         f"{_escape_data(message)}")
    return "".join(line + "\n" for line in lines)


def render_gitlab(results: Sequence, **_) -> str:
    """A GitLab code-quality report (a JSON array of issues with unique fingerprints)."""
    issues = []
    seen: dict[str, int] = {}
    for result in results:
        for f in result.findings:
            if f.suppressed is not None:
                continue
            occurrence = seen.get(f.fingerprint, 0)
            seen[f.fingerprint] = occurrence + 1
            fingerprint = f.fingerprint if not occurrence else hashlib.sha256(
                f"{f.fingerprint}:{occurrence}".encode()).hexdigest()[:32]
            issues.append({
                "description": f"{f.code} {f.message}",
                "check_name": f"{f.code} {f.name}",
                "fingerprint": fingerprint,
                "severity": GITLAB_SEVERITY[str(f.severity)],
                "location": {"path": _relative(f.span.path),
                             "lines": {"begin": max(f.span.line, 1)}},
                "categories": ["Security"],
                "type": "issue",
                "engine_name": "fwlint",
            })
    return json.dumps(issues, indent=2) + "\n"
